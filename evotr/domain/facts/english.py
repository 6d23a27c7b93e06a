"""Rules for facts said in English ("My name is Kaan", "I live in Izmir", "I love pizza")."""

from __future__ import annotations

from collections.abc import Callable

from evotr.domain.facts.common import (
    date_text,
    fact,
    is_date_start,
    joined,
    name_text,
    profession_stem,
    proper_run,
    usable,
)
from evotr.domain.facts.lexicon import DIETS, FILLERS, NOT_A_NAME, RELATIONS, TOPICS
from evotr.domain.facts.model import Fact, Slot
from evotr.domain.facts.tokens import Clause, Token, phrase_value

_CONTRACTIONS = {"i'm": ("i", "am"), "im": ("i", "am"), "i've": ("i", "have"), "don't": ("do", "not"),
                 "dont": ("do", "not"), "can't": ("can", "not"), "cant": ("can", "not"),
                 "name's": ("name", "is"), "i'd": ("i", "would")}
_LIKE = ("like", "love", "enjoy", "adore", "prefer", "likes")
_DISLIKE_AFTER_NOT = ("like", "enjoy", "love")
_DISLIKE = ("hate", "dislike", "detest", "loathe")
_STOP = {"because", "when", "since", "so", "but", "though", "although", "while"}
_SPLIT = {"and", "or", "&"}
_ADVERBS = {"really", "also", "just", "now", "still", "actually", "totally", "absolutely", "truly",
            "currently", "already", "do", "definitely", "kind", "of", "sort", "quite", "originally"}


def _expand(clause: Clause) -> Clause:
    """The clause with contractions as two words ("I'm" → "I am"), so rules see one spelling."""
    tokens: list[Token] = []
    for token in clause.tokens:
        parts = _CONTRACTIONS.get(token.fold)
        if parts is None:
            tokens.append(token)
        else:
            tokens.extend(Token(part if part != "i" else "I", part) for part in parts)
    return Clause(clause.text, tuple(tokens), clause.question)


def _after_i(clause: Clause, verbs: tuple[str, ...]) -> int:
    """Index of the word after "I [adverbs] VERB", or -1."""
    folds = clause.folds
    for i, word in enumerate(folds):
        if word != "i":
            continue
        j = i + 1
        while j < len(folds) and folds[j] in _ADVERBS:
            j += 1
        if j < len(folds) and folds[j] in verbs:
            return j + 1
    return -1


def _phrase(clause: Clause, start: int, limit: int = 5) -> list[list[Token]]:
    """The items after ``start`` up to a conjunction that ends the thought, split at "and"/"or"."""
    items: list[list[Token]] = [[]]
    for token in clause.tokens[start:]:
        if token.fold in _STOP:
            break
        if token.fold in _SPLIT:
            items.append([])
        else:
            items[-1].append(token)
    return [words for item in items if (words := phrase_value(item, limit))]


def _name(clause: Clause) -> list[Fact]:
    folds, tokens = clause.folds, clause.tokens
    for phrase in ("my name is", "call me", "people call me", "i am called"):
        i = clause.find(phrase)
        if i >= 0:
            run = proper_run(tokens, i + len(phrase.split()))
            if run:
                return [fact(clause, Slot.NAME, name_text(run))]
    i = clause.find("i am")
    if i >= 0 and i + 2 < len(tokens) + 1 and i + 2 < len(folds) + 1:
        run = proper_run(tokens, i + 2, limit=2)
        rest = folds[i + 2 + len(run):]
        if run and all(t.capitalised for t in run) and (not rest or rest[0] == "and") \
                and not any(t.base in NOT_A_NAME or profession_stem(t.base) or t.base in DIETS for t in run):
            return [fact(clause, Slot.NAME, name_text(run))]
    return []


def _places(clause: Clause) -> list[Fact]:
    out = []
    for verbs, prep, slot in (
        (("live", "reside", "stay"), "in", Slot.RESIDENCE), (("living",), "in", Slot.RESIDENCE),
        (("moved", "relocated"), "to", Slot.RESIDENCE), (("based",), "in", Slot.RESIDENCE),
        (("from",), None, Slot.HOMETOWN), (("come",), "from", Slot.HOMETOWN),
        (("born",), "in", Slot.BIRTHPLACE), (("born",), "on", Slot.BIRTHDAY),
    ):
        after_be = verbs[0] in ("from", "born", "based", "living")
        i = _after_i(clause, ("am", "was", "have", "now")) if after_be else -1
        while 0 <= i < len(clause.tokens) and clause.folds[i] in _ADVERBS:
            i += 1
        if i >= 0 and (i >= len(clause.tokens) or clause.folds[i] not in verbs):
            i = -1
        elif i >= 0:
            i += 1
        i = i if i >= 0 else _after_i(clause, verbs)
        if i < 0:
            continue
        if prep is not None:
            if i >= len(clause.tokens) or clause.folds[i] != prep:
                continue
            i += 1
        if i >= len(clause.tokens):
            continue
        if is_date_start(clause.tokens[i]) and slot in (Slot.BIRTHPLACE, Slot.BIRTHDAY):
            out.append(fact(clause, Slot.BIRTHDAY, date_text(list(clause.tokens[i:i + 3]))))
        elif slot is not Slot.BIRTHDAY:
            run = proper_run(clause.tokens, i + (clause.folds[i] == "the"))
            if run:
                out.append(fact(clause, slot, name_text(run)))
    i = clause.find("my hometown is")
    if i >= 0:
        run = proper_run(clause.tokens, i + 3)
        if run:
            out.append(fact(clause, Slot.HOMETOWN, name_text(run)))
    return [f for f in out if usable(f.value)]


def _work(clause: Clause) -> list[Fact]:
    tokens, out = clause.tokens, []
    for phrase in ("my job is", "my profession is", "my occupation is"):
        i = clause.find(phrase)
        if i >= 0:
            words = phrase_value([t for t in tokens[i + 3:] if t.fold not in ("a", "an")], limit=4)
            if words:
                out.append(fact(clause, Slot.JOB, joined(words, words[-1].orig)))
    i = _after_i(clause, ("work", "working"))
    if i >= 0 and i < len(tokens):
        if tokens[i].fold == "as":
            items = _phrase(clause, i + 1, limit=4)
            if items:
                out.append(fact(clause, Slot.JOB, joined(items[0], items[0][-1].orig)))
        elif tokens[i].fold in ("at", "for") and i + 1 < len(tokens):
            run = proper_run(tokens, i + 1 + (tokens[i + 1].fold == "the"))
            if run:
                out.append(fact(clause, Slot.WORKPLACE, name_text(run)))
            as_ = clause.find("as", i + 1)  # "I work at Google as an engineer"
            items = _phrase(clause, as_ + 1, limit=4) if as_ > 0 else []
            if items:
                out.append(fact(clause, Slot.JOB, joined(items[0], items[0][-1].orig)))
    i = clause.find("i am")
    if i >= 0 and not out:
        words = [t for t in tokens[i + 2:i + 6] if t.fold not in ("a", "an")]
        stop = next((n for n, t in enumerate(words) if profession_stem(t.base)), None)
        if stop is not None and len(tokens) > i + 2 and tokens[i + 2].fold in ("a", "an", "retired"):
            job = phrase_value(words[:stop + 1], limit=3)
            if job:
                out.append(fact(clause, Slot.JOB, joined(job, job[-1].orig)))
        diet = next((DIETS[t.base] for t in words[:2] if t.base in DIETS), None)
        if diet:
            out.append(fact(clause, Slot.DIET, diet))
    return [f for f in out if usable(f.value)]


def _age_and_birthday(clause: Clause) -> list[Fact]:
    tokens, out = clause.tokens, []
    for phrase in ("i am", "my age is", "i turned", "i just turned", "i have just turned"):
        i = clause.find(phrase)
        n = i + len(phrase.split())
        if i >= 0 and n < len(tokens) and tokens[n].base.isdigit():
            rest = clause.folds[n + 1:n + 3]
            if not rest or rest[0] in ("years", "yo", "and") or phrase != "i am":
                out.append(fact(clause, Slot.AGE, tokens[n].base))
    for phrase in ("my birthday is", "my date of birth is", "my birthday's"):
        i = clause.find(phrase)
        n = i + len(phrase.split())
        if i >= 0 and n < len(tokens):
            n += tokens[n].fold == "on"
            if any(is_date_start(t) for t in tokens[n:n + 2]):
                out.append(fact(clause, Slot.BIRTHDAY, date_text(list(tokens[n:n + 4]))))
    return out


def _likes(clause: Clause) -> list[Fact]:
    out = []
    for verbs, slot in ((_DISLIKE, Slot.DISLIKES), (_LIKE, Slot.LIKES)):
        i = _after_i(clause, verbs)
        if i < 0:
            continue
        if slot is Slot.LIKES and clause.folds[i - 2:i - 1] == ["not"]:
            slot = Slot.DISLIKES
        for words in _phrase(clause, i + (i < len(clause.tokens) and clause.folds[i] == "to")):
            if usable(joined(words)):
                out.append(fact(clause, slot, joined(words, words[-1].orig)))
    for phrase in ("i am a fan of", "i am a big fan of", "i am into", "i can not stand", "i cannot stand",
                   "i am not a fan of", "i am not into", "i am not a big fan of"):
        i = clause.find(phrase)
        if i >= 0:
            slot = Slot.DISLIKES if "stand" in phrase or "not" in phrase.split()[2:] else Slot.LIKES
            items = _phrase(clause, i + len(phrase.split()))
            out.extend(fact(clause, slot, joined(w, w[-1].orig)) for w in items)
    if not out:
        i = _after_i(clause, ("not", "never"))
        if i >= 0 and i < len(clause.tokens) and clause.folds[i] in _DISLIKE_AFTER_NOT:
            out.extend(fact(clause, Slot.DISLIKES, joined(w, w[-1].orig)) for w in _phrase(clause, i + 1))
    return [f for f in out if usable(f.value)]


def _favorite(clause: Clause) -> list[Fact]:
    for spelling in ("favorite", "favourite", "fav"):
        i = clause.find(f"my {spelling}")
        if i >= 0 and i + 3 < len(clause.tokens):
            topic = TOPICS.get(clause.tokens[i + 2].base)
            j = i + 3
            if topic and clause.folds[j] in ("is", "are", "was"):
                items = _phrase(clause, j + 1, limit=4)
                if items and usable(joined(items[0])):
                    return [fact(clause, Slot.FAVORITE, joined(items[0], items[0][-1].orig), topic=topic)]
    return []


def _people(clause: Clause) -> list[Fact]:
    tokens, folds, out = clause.tokens, clause.folds, []
    for relation in RELATIONS:
        for noun in relation.english:
            words = noun.split()
            for i in range(len(tokens) - len(words) + 1):
                head = folds[i:i + len(words)]
                if i == 0 or folds[i - 1] not in ("my", "a", "our") or head[:-1] != words[:-1]:
                    continue
                last = head[-1]
                n = i + len(words)
                after = folds[n:n + 2]
                possessive = last in (words[-1] + "'s", words[-1] + "s'") and after == ["name", "is"]
                if possessive or (last == words[-1] and after in (["is", "called"], ["is", "named"])):
                    run = proper_run(tokens, n + 2)
                elif last == words[-1] and n < len(folds) and folds[n] in ("called", "named"):
                    run = proper_run(tokens, n + 1)
                elif last == words[-1] and folds[n:n + 1] == ["is"] and n + 1 < len(tokens) \
                        and tokens[n + 1].base.isdigit():
                    out.append(fact(clause, Slot.AGE, tokens[n + 1].base, relation))
                    continue
                else:
                    continue
                if run and tokens[n].fold not in FILLERS | {"a"}:
                    out.append(fact(clause, Slot.NAME, name_text(run), relation))
    return [f for f in out if usable(f.value)]


RULES: tuple[Callable[[Clause], list[Fact]], ...] = (_name, _places, _work, _age_and_birthday, _likes,
                                                     _favorite, _people)


def apply(clause: Clause) -> list[Fact]:
    """Every English rule on ``clause`` (contractions expanded first)."""
    expanded = _expand(clause)
    return [f for rule in RULES for f in rule(expanded)]
