"""A memory's relevance features as one metadata string, written once when it is stored.

Recall ranks tens of candidates a turn; working their features out from the text each time
would cost milliseconds, so the background writer stores them beside the record and recall
reads them back. A version number retires what an older lexicon wrote.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from evotr.domain.memory import MetadataValue
from evotr.domain.relevance.features import TextFeatures
from evotr.domain.relevance.kinship import KinPhrase

FEATURES_KEY = "recall_features"
# Bump when the lexicon or the rules change what features() returns: older strings are ignored
# and the features are worked out again from the text.
VERSION = "5"  # 2: kin phrases (kinship.py); 3: spellings (spelling.py); 4: colloquial relations;
# 5: enişte, yenge, plural yeğenler / torunlar (aliases.py)
_SEP = "|"


def encode(features: TextFeatures) -> str:
    """The metadata value of ``features`` (every part is folded letters and digits but the marks,
    which are lower-case letters, digits and "*")."""
    parts = [VERSION, " ".join(features.terms), " ".join(sorted(features.concepts)),
             " ".join(sorted(features.holds)), " ".join(f"{r}:{n}" for r, n in features.aliases),
             " ".join(sorted(features.relations)), "1" if features.about_other else "0",
             " ".join(f"{k.owner}:{k.owner_relation}:{k.owned}:{'+'.join(k.relations)}:{k.name}"
                      for k in features.kin), " ".join(features.marks)]
    return _SEP.join(parts)


def decode(value: MetadataValue | None) -> TextFeatures | None:
    """The features :func:`encode` wrote, or None (missing, another version, or damaged)."""
    if not isinstance(value, str):
        return None
    return _decode(value)


def stored_terms(metadata: Mapping[str, MetadataValue] | None) -> tuple[str, ...]:
    """The content terms in a record's stored features (none when it has no current ones)."""
    found = decode((metadata or {}).get(FEATURES_KEY))
    return found.terms if found is not None else ()


# The same memories are ranked turn after turn; parsing their strings again cost ~0.5 ms a turn.
@functools.lru_cache(maxsize=65_536)
def _decode(value: str) -> TextFeatures | None:
    parts = value.split(_SEP)
    if len(parts) != 9 or parts[0] != VERSION:
        return None
    _version, terms, kinds, holds, aliases, relations, other, kin_text, marks = parts
    pairs = tuple(tuple(a.split(":", 1)) for a in aliases.split())
    kin = [k.split(":") for k in kin_text.split()]
    spelled = tuple(marks.split())
    if any(len(p) != 2 for p in pairs) or any(len(k) != 5 for k in kin) \
            or len(spelled) not in (0, len(terms.split())):
        return None
    return TextFeatures(tuple(terms.split()), frozenset(kinds.split()), frozenset(), frozenset(holds.split()),
                        pairs, frozenset(relations.split()), other == "1",  # type: ignore[arg-type]
                        tuple(KinPhrase(k[0], k[1], k[2], tuple(k[3].split("+")), k[4]) for k in kin),
                        spelled)
