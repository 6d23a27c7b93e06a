"""What a text is about (kinds from the lexicon) and what kind of answer it asks for or holds.

"Ne zaman doğum günümü kutlamalısın?" asks *when*, about a *birthday*; "Doğum günüm 12 Mart"
holds a date, about a birthday. Recall boosts a memory whose kinds and answer match the question's
(see ``rank.py``); these rules read folded words only, so typing without Turkish letters changes
nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

import attrs

from evotr.domain.facts.lexicon import MONTHS, PLACES, PROFESSIONS
from evotr.domain.facts.model import USER as USER_SUBJECT
from evotr.domain.relevance.aliases import aliases, canonical, relations
from evotr.domain.relevance.kinship import KinPhrase, phrases
from evotr.domain.relevance.lexicon import (
    ASKS,
    CONCEPTS,
    FROM_ENDINGS,
    NUMBER_WORDS,
    PLACE_ENDINGS,
    TIME_WORDS,
    TITLES,
)
from evotr.domain.relevance.spelling import marks
from evotr.domain.relevance.terms import STOPWORDS, content, tokens, words

WHEN, WHERE, WHO, AMOUNT, INSTRUCTION = "when", "where", "who", "amount", "instruction"
# A number with a case ending is a time or date: "6'da", "15'inde", "saat 10'da".
_DATED = re.compile(r"\d+'(?:d|t|i|ı|u|ü|n)")
# "…-meni isterim", "…-manı istiyorum": the user telling the assistant how to behave.
_WISH = re.compile(r"\w(?:meni|mani|menizi|manizi|mesini|masini|meyi|mayi)\s+(?:ister|istiyor)"
                   r"|\bwant you to\b|\bplease always\b")
_GENITIVE = ("in", "un", "nin", "nun")
# Verb endings of the first person singular: "-yorum", past "-dim", aorist "-erim", "-mem".
_FIRST_PERSON = ("yorum", "dim", "dum", "tim", "tum", "erim", "arim", "irim", "urum", "orum", "mem",
                 "mam", "ecegim", "acagim")
_SOFT = {"k": "g", "p": "b", "t": "d"}
# Things the assistant must respect without being told again: a diet, an allergy, a refusal
# ("et yemiyorum", "sevmem"), a stated preference ("tercih ederim").
_CONSTRAINT = re.compile(r"\b(?:vejetaryen|vegan|alerj|intolerans|tercih ed|istemiyor|istemem)"
                         r"|\b\w{2,}(?:m[iu]yorum|mem|mam)\b|\bi (?:don't|do not|never|prefer)\b")
_LOCATIVE = ("da", "de", "ta", "te", "daki", "deki", "taki", "teki", "dan", "den", "tan", "ten")
_SHOULD = ("melisin", "malisin")  # "meli misin" is a phrase: lexicon.ASKS
_CLOCK = re.compile(r"^\d{1,2}[.:]\d{2}$|^(?:19|20)\d{2}$")


def _index(table: dict[str, str], extra: dict[str, tuple[str, ...]] | None = None,
           ) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """(prefix → kinds, whole word or phrase → kinds) from the ``word*`` / ``word`` entries.

    A prefix ending in k, p or t also stands for its softened form: ``meslek*`` matches
    "mesleği" (folded "meslegi"), ``kitap*`` "kitabı". ``extra`` adds plain prefixes per kind.
    """
    prefixes: dict[str, set[str]] = {}
    exact: dict[str, set[str]] = {}
    items = [(kind, entry) for kind, entries in table.items() for entry in entries.split()]
    items += [(kind, f"{stem}*") for kind, stems in (extra or {}).items() for stem in stems]
    for kind, entry in items:
        key = entry.rstrip("*").replace("_", " ")
        if not entry.endswith("*"):
            exact.setdefault(key, set()).add(kind)
            continue
        prefixes.setdefault(key, set()).add(kind)
        if len(key) >= 4 and key[-1] in _SOFT:
            prefixes.setdefault(key[:-1] + _SOFT[key[-1]], set()).add(kind)
    return ({k: frozenset(v) for k, v in prefixes.items()}, {k: frozenset(v) for k, v in exact.items()})


_PREFIX, _EXACT = _index(CONCEPTS, {"work": PROFESSIONS})
_ASK_PREFIX, _ASK_EXACT = _index(ASKS)
_HEADS = frozenset(k.split()[0] for k in (*_PREFIX, *_EXACT) if " " in k)
_ASK_HEADS = frozenset(k.split()[0] for k in (*_ASK_PREFIX, *_ASK_EXACT) if " " in k)
_LONGEST = max(len(k) for k in (*_PREFIX, *_EXACT, *_ASK_PREFIX, *_ASK_EXACT))


def _named(key: str, start: int, prefixes: dict[str, frozenset[str]],
           exact: dict[str, frozenset[str]]) -> set[str]:
    """Kinds of a word or phrase ``key``: listed whole, or starting with a listed prefix that
    reaches past ``start`` (the phrase's last word)."""
    found = set(exact.get(key, ()))
    for end in range(max(start + 1, 2), min(len(key), _LONGEST) + 1):
        found |= prefixes.get(key[:end], frozenset())
    return found


@functools.lru_cache(maxsize=65_536)
def _word_kinds(word: str) -> frozenset[str]:
    """The kinds one word names (cached: the same words come back in every text)."""
    found = _named(word, 0, _PREFIX, _EXACT)
    if _from_place(word):
        found.add("hometown")
    return frozenset(found)


def _lookup(items: list[str], prefixes: dict[str, frozenset[str]], exact: dict[str, frozenset[str]],
            heads: frozenset[str], single: Callable[[str], Iterable[str]]) -> set[str]:
    """Kinds named by single words (``single``) and by runs of two or three words from ``heads``."""
    found: set[str] = set()
    for i, word in enumerate(items):
        found.update(single(word))
        if word in heads:
            for span in (2, 3):
                if i + span <= len(items):
                    key = " ".join(items[i:i + span])
                    found |= _named(key, len(key) - len(items[i + span - 1]), prefixes, exact)
    return found


@attrs.frozen(slots=True)
class TextFeatures:
    """A text's content terms, the kinds it is about, what it asks for and what answers it holds."""

    terms: tuple[str, ...]
    concepts: frozenset[str]
    asks: frozenset[str]
    holds: frozenset[str]
    aliases: tuple[tuple[str, str], ...] = ()
    relations: frozenset[str] = frozenset()
    about_other: bool = False
    kin: tuple[KinPhrase, ...] = ()
    # How each term was spelled, when the text used Turkish letters (spelling.py); () otherwise.
    marks: tuple[str, ...] = ()


def features(text: str) -> TextFeatures:
    """Everything recall compares between a question and a memory, from the text alone."""
    toks = tokens(text)
    folded = words(toks)
    concepts = _lookup(folded, _PREFIX, _EXACT, _HEADS, _word_kinds)
    found = content(folded)
    return TextFeatures(found, frozenset(concepts), frozenset(_asks(folded)),
                        frozenset(_holds(text, toks, folded, concepts)), aliases(toks), relations(folded),
                        _about_other(toks, folded), phrases(toks), marks(text, found))


def _about_other(toks: list[tuple[str, str, str]], folded: list[str]) -> bool:
    """"Burak'ın doğum günü 3 Ağustos": about someone else (a name in the genitive leads, and no
    verb says "I"). "Barış Manço'nun şarkılarını severim" stays about the user."""
    if not toks or not (toks[0][0][:1].isupper() and toks[0][2] in _GENITIVE):
        return False
    if _a_thing(toks[0][1]):
        return False  # "Egea'nın plakası", "Dio'nun sigortası": a model, a brand, not a person
    return not any(len(w) >= 5 and w.endswith(_FIRST_PERSON) for w in folded)


def _a_thing(word: str) -> bool:
    """Whether the thesaurus knows ``word`` as a member of a category (a car model, a brand)."""
    from evotr.domain.relevance.thesaurus import offered  # the thesaurus imports terms, not features

    return any(token.startswith("m:") for token in offered((word,)))


def _asks(folded: list[str]) -> set[str]:
    asks = _lookup(folded, _ASK_PREFIX, _ASK_EXACT, _ASK_HEADS,
                   lambda w: _named(w, 0, _ASK_PREFIX, _ASK_EXACT))
    if any(w.endswith(_SHOULD) for w in folded):
        asks.add(INSTRUCTION)  # "konuşmalısın", "eklemelisin": how the assistant should behave
    if AMOUNT in asks and WHEN in asks and any(w in ("kacta", "saat") for w in folded):
        asks.discard(AMOUNT)  # "kaçta" is a time, not a number
    return asks


@functools.lru_cache(maxsize=65_536)
def _from_place(word: str) -> bool:
    """"trabzonluyum", "izmirli": a known place with a "-li/-lu" ending."""
    return any(word.endswith(e) and word[: len(word) - len(e)] in PLACES for e in FROM_ENDINGS)


def _holds(text: str, toks: list[tuple[str, str, str]], folded: list[str], concepts: set[str]) -> set[str]:
    """The kinds of answer a statement contains: a time, a place, a person, an amount, a wish."""
    holds: set[str] = set()
    if any(w in TIME_WORDS or w in MONTHS or _CLOCK.match(w) for w in folded) or _DATED.search(text):
        holds.add(WHEN)
    if any(w.isdigit() or w in NUMBER_WORDS for w in folded):
        holds.add(AMOUNT)
    for i, (typed, word, ending) in enumerate(toks):
        capital = typed[:1].isupper() and not typed.split("'", 1)[0].isupper()
        if word in PLACES or _from_place(word) or (ending in PLACE_ENDINGS and capital):
            holds.add(WHERE)
        elif capital and (i > 0 or ending) and word not in STOPWORDS and word not in MONTHS \
                and word not in TIME_WORDS:
            holds.add(WHO)  # a capitalised word past the sentence's start: a name
        if word in TITLES:
            holds.add(WHO)
        elif len(word) >= 5 and word.endswith(_LOCATIVE) and word not in TIME_WORDS and word.isalpha():
            holds.add(WHERE)  # "bankada", "sahilde", "universitede": somewhere
    if {"family", "friend"} & concepts:
        holds.add(WHO)
    joined = " ".join(folded)
    if _WISH.search(joined) or _CONSTRAINT.search(joined):
        holds.add(INSTRUCTION)
    return holds


def about(features: TextFeatures, subject: str, name: str | None = None) -> TextFeatures:
    """``features`` of a stored fact, told whom the fact is about (a relation key of the facts,
    or "user") and, for a name fact, the name: "Eşimin adı Ayşe" is about the spouse, Ayşe."""
    if subject == USER_SUBJECT:
        return features
    relation = canonical(subject)
    pairs = (*features.aliases, (relation, name)) if name else features.aliases
    return attrs.evolve(features, relations=features.relations | {relation},
                        aliases=tuple(dict.fromkeys(pairs)))
