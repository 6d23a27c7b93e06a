"""Clauses and tokens: every rule matches folded words and takes its value from the original ones.

Folding token by token (not the whole string) keeps each folded word beside the word the user
typed, so "izmirde yasiyorum" and "İzmir'de yaşıyorum" match the same rule and both give a
properly spelt value where the user spelt it properly.
"""

from __future__ import annotations

import re

import attrs

from evotr.domain.facts.lexicon import ENGLISH_AUXILIARIES, FILLERS, GREETINGS, HYPOTHETICAL, QUESTION_WORDS
from evotr.domain.text import fold

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_EDGE = "\"“”«»()[]{}<>.,;:!?…*_~-–—"
_SENTENCE = re.compile(r"(?<=[.!?;…])\s+|\n+")
_PARTS = re.compile(r",\s*|\s+(?:ama|fakat|ancak|but|however)\s+", re.IGNORECASE)


@attrs.frozen(slots=True)
class Token:
    """One word as typed (``orig``) and folded (``fold``), edge punctuation gone, apostrophes kept."""

    orig: str
    fold: str

    @property
    def base(self) -> str:
        """The folded word before an apostrophe: ``izmir'de`` → ``izmir``."""
        return self.fold.split("'", 1)[0]

    @property
    def suffix(self) -> str:
        """The folded ending after an apostrophe (``de``), or ``""``."""
        return self.fold.split("'", 1)[1] if "'" in self.fold else ""

    @property
    def orig_base(self) -> str:
        """The typed word before an apostrophe: ``İzmir'de`` → ``İzmir``."""
        return self.orig.split("'", 1)[0]

    @property
    def capitalised(self) -> bool:
        """True when typed with a capital first letter (names, places).

        A word in capitals ("KAAN", "AY") says nothing: in shouted text every word is.
        """
        return self.orig[:1].isupper() and not (len(self.orig) > 1 and self.orig.isupper())


@attrs.frozen(slots=True)
class Clause:
    """A part of a sentence that can hold one or more facts."""

    text: str
    tokens: tuple[Token, ...]
    question: bool

    @property
    def folds(self) -> list[str]:
        """The folded words, in order."""
        return [t.fold for t in self.tokens]

    def find(self, phrase: str, start: int = 0) -> int:
        """Index of the first token where the folded words ``phrase`` begin, or -1."""
        words = phrase.split()
        folds = self.folds
        for i in range(start, len(folds) - len(words) + 1):
            if folds[i:i + len(words)] == words:
                return i
        return -1


def tokenize(text: str) -> tuple[Token, ...]:
    """Whitespace-separated words with their edge punctuation stripped."""
    tokens = []
    for raw in text.translate(_APOSTROPHES).split():
        word = raw.strip(_EDGE).strip("'")
        if word:
            tokens.append(Token(word, fold(word)))
    return tuple(tokens)


def clauses(message: str) -> list[Clause]:
    """Sentences split at . ! ? ; and newlines, then at commas and "ama/but"; questions marked.

    Hypothetical or reported clauses ("eğer…", "if…", "… dedi") are left out: they state nothing.
    """
    result = []
    for sentence in _SENTENCE.split(message.strip()):
        question = sentence.rstrip().endswith("?")
        greeting: tuple[Token, ...] = ()
        for part in _PARTS.split(sentence):
            tokens = greeting + tokenize(part)
            # "Merhaba, ben Deniz": a greeting alone goes with the words after it.
            greeting = tokens if tokens and all(t.fold in GREETINGS for t in tokens) else ()
            if greeting:
                continue
            if not tokens or any(t.fold in HYPOTHETICAL for t in tokens):
                continue
            asks = question or any(t.base in QUESTION_WORDS for t in tokens) \
                or tokens[0].fold in ENGLISH_AUXILIARIES
            result.append(Clause(part.strip(), tokens, asks))
    return result


def turkish_capitalize(word: str) -> str:
    """First letter upper-cased by Turkish rules (i → İ, ı → I); the rest as typed."""
    if not word:
        return word
    first = {"i": "İ", "ı": "I"}.get(word[0], word[0].upper())
    return first + word[1:]


def strip_ending(token: Token, endings: tuple[str, ...], min_stem: int = 2) -> str:
    """The typed word without its case ending: after an apostrophe, or one of folded ``endings``.

    ``Ankara'da`` → ``Ankara``; ``izmirde`` with ("de", "da", "te", "ta") → ``izmir``. The stem
    must keep ``min_stem`` letters, so a short word is never cut to nothing.
    """
    if "'" in token.orig:
        return token.orig_base
    if len(token.fold) == len(token.orig):  # folding kept the length: cut the typed word alike
        for ending in endings:
            if token.fold.endswith(ending) and len(token.fold) - len(ending) >= min_stem:
                stem = token.orig[: len(token.orig) - len(ending)]
                # Consonant softening before a vowel ending: müziği → müzik, kitabı → kitap.
                soft = {"ğ": "k", "Ğ": "K"}
                return stem[:-1] + soft[stem[-1]] if stem[-1] in soft else stem
    return token.orig


def phrase_value(tokens: tuple[Token, ...] | list[Token], limit: int = 5) -> list[Token]:
    """The tokens without leading/trailing fillers ("ben", "çok", "really"); at most ``limit``."""
    words = list(tokens)
    while words and words[0].fold in FILLERS:
        words.pop(0)
    while words and words[-1].fold in FILLERS:
        words.pop()
    return words if 0 < len(words) <= limit else []
