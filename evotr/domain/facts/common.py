"""Helpers both languages' rules share: names, places and phrases read from tokens."""

from __future__ import annotations

from evotr.domain.facts.lexicon import (
    FILLERS,
    MONTHS,
    NOT_A_VALUE,
    POINTING,
    PROFESSIONS,
    RELATIONS,
    Relation,
)
from evotr.domain.facts.model import USER, Fact, Slot
from evotr.domain.facts.tokens import Clause, Token, phrase_value, strip_ending, turkish_capitalize
from evotr.domain.text import turkish_lower

LOCATIVE = ("de", "da", "te", "ta")
DATIVE = ("ye", "ya", "e", "a")
ABLATIVE = ("den", "dan", "ten", "tan")
ACCUSATIVE = ("yi", "yu")
COPULA = ("dir", "dur", "tir", "tur")


def fact(clause: Clause, slot: Slot, value: str, subject: Relation | None = None, topic: str = "") -> Fact:
    """A Fact said in ``clause`` (about the user unless ``subject`` names a relation)."""
    return Fact(USER if subject is None else subject.key, slot, value.strip(), clause.text,
                topic, "" if subject is None else subject.label)


def usable(value: str) -> bool:
    """A value worth storing: some letters or digits, not a pronoun or question word."""
    from evotr.domain.text import fold

    folded = fold(value).strip()
    first = folded.split()[0] if folded else ""
    # "I like your answer", "bu fikri seviyorum": about the conversation, not about the user.
    return bool(folded) and folded not in NOT_A_VALUE | FILLERS and first not in POINTING \
        and any(c.isalnum() for c in folded)


def proper_run(tokens: tuple[Token, ...], start: int, limit: int = 3) -> list[Token]:
    """A name or place starting at ``start``: capitalised words (up to ``limit``), else one word.

    The run stops after a word with an apostrophe ending ("Kaan'ım", "New York'ta").
    """
    if start >= len(tokens) or tokens[start].fold in FILLERS:
        return []
    if not tokens[start].capitalised:
        # Typed in lower case (or capitals): the words reaching the clause's end are the name
        # ("adim mehmet ali"); anything after them ("adim kaan bu arada") leaves one word.
        rest = tokens[start:]
        if len(rest) <= limit and all(t.base.isalpha() and t.fold not in FILLERS | NOT_A_VALUE for t in rest):
            return list(rest)
        return [tokens[start]]
    run = []
    for token in tokens[start:start + limit]:
        if not token.capitalised or token.fold in FILLERS:
            break
        run.append(token)
        if "'" in token.fold:
            break
    return run


def proper_run_left(tokens: tuple[Token, ...], end: int, limit: int = 3) -> list[Token]:
    """The name or place ending at token ``end`` (inclusive): extend left over capitalised words."""
    if end < 0 or tokens[end].fold in FILLERS:
        return []
    run = [tokens[end]]
    if not tokens[end].capitalised:
        return run
    i = end - 1
    while i >= 0 and len(run) < limit and tokens[i].capitalised and tokens[i].fold not in FILLERS \
            and "'" not in tokens[i].fold:
        run.insert(0, tokens[i])
        i -= 1
    return run


def name_text(run: list[Token], last: str | None = None) -> str:
    """The words of a run as a proper noun: capitalised, the last word's apostrophe ending cut."""
    words = [t.orig for t in run[:-1]] + [last if last is not None else run[-1].orig_base]
    # SHOUTED names ("BENİM ADIM KAAN") are stored as names are written: Kaan.
    words = [turkish_capitalize(turkish_lower(w)) if len(w) > 1 and w.isupper() else w for w in words]
    return " ".join(turkish_capitalize(w) for w in words if w)


def joined(run: list[Token], last: str | None = None) -> str:
    """The words of a run as typed, the last one replaced by ``last`` (a cut form) if given."""
    if not run:
        return ""
    return " ".join([t.orig for t in run[:-1]] + [last if last is not None else run[-1].orig_base])


def is_date_start(token: Token) -> bool:
    """A day or year number, or a month name: "3", "1990'da", "mayıs"."""
    return token.base[:1].isdigit() or token.base in MONTHS


def date_text(tokens: list[Token]) -> str:
    """A date phrase as typed, its last word's case ending cut ("3 Mayıs'ta" → "3 Mayıs")."""
    words = phrase_value(tokens, limit=4)
    if not words:
        return ""
    return joined(words, strip_ending(words[-1], LOCATIVE + COPULA, min_stem=1))


def profession_stem(word: str) -> str | None:
    """The profession a folded word starts with, or None."""
    return next((p for p in sorted(PROFESSIONS, key=len, reverse=True) if word.startswith(p)), None)


def relation_at(clause: Clause, endings: tuple[str, ...] = ("",)) -> list[tuple[Relation, int, int]]:
    """Every Turkish relation form in the clause followed by one of ``endings``: (relation, start, end)."""
    found: list[tuple[Relation, int, int]] = []
    taken: set[int] = set()
    for relation in RELATIONS:
        for form in relation.turkish:
            words = form.split()
            for ending in endings:
                i = clause.find(" ".join([*words[:-1], words[-1] + ending]))
                if i >= 0 and i + len(words) - 1 not in taken:
                    found.append((relation, i, i + len(words)))
                    taken.update(range(i, i + len(words)))
    return found
