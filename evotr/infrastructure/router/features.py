"""Turkish-aware sparse features: folded character n-grams plus word uni/bigrams, TF-IDF weighted.

Text is folded first (Turkish casing, diacritics stripped), so "nasılsın", "nasilsin" and
"NASILSIN" give the same features. A message's vector is L2-normalised over *all* its features,
unknown ones included: text the vocabulary barely covers keeps a short known part, so its logits
stay near the bias and its confidence stays low.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from evotr.domain.text import words

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@attrs.frozen(slots=True)
class FeatureConfig:
    """Which n-grams are extracted and how much unknown features weigh in the norm."""

    char_min: int = 2
    char_max: int = 5
    word_max: int = 2
    min_df: int = 1
    oov_weight: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        """Plain values for the saved metadata."""
        return attrs.asdict(self)


def extract(text: str, config: FeatureConfig) -> Counter[str]:
    """Raw feature counts of ``text``: ``c:`` character n-grams, ``w:`` words, ``b:`` bigrams."""
    tokens = words(text)
    counts: Counter[str] = Counter()
    for token in tokens:
        counts["w:" + token] += 1
        if len(token) == 1 and not token.isalnum():
            continue  # a punctuation mark is already fully described by its word feature
        padded = f" {token} "
        for n in range(config.char_min, min(config.char_max, len(padded)) + 1):
            for start in range(len(padded) - n + 1):
                counts["c:" + padded[start:start + n]] += 1
    for n in range(2, config.word_max + 1):
        for start in range(len(tokens) - n + 1):
            counts["b:" + " ".join(tokens[start:start + n])] += 1
    return counts


@attrs.frozen(slots=True, eq=False)
class SparseRows:
    """A CSR matrix: row ``r`` holds ``data[indptr[r]:indptr[r+1]]`` at ``indices[...]``."""

    indptr: IntArray
    indices: IntArray
    data: FloatArray
    n_features: int

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self.indptr) - 1

    @property
    def row_ids(self) -> IntArray:
        """The row of every stored value."""
        return np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(self.indptr))


class Vectorizer:
    """Vocabulary + IDF learnt from training texts; encodes a text to sparse TF-IDF values."""

    def __init__(self, config: FeatureConfig, vocabulary: Sequence[str],
                 idf: Sequence[float] | FloatArray, oov_idf: float) -> None:
        self.config = config
        self.terms: tuple[str, ...] = tuple(vocabulary)
        self.index = {term: i for i, term in enumerate(self.terms)}
        self.idf = np.asarray(idf, dtype=np.float64)
        self._idf = self.idf.tolist()  # Python floats: per-term lookups stay cheap at predict time
        self.oov_idf = float(oov_idf)

    @classmethod
    def fit(cls, texts: Sequence[str], config: FeatureConfig) -> Vectorizer:
        """Vocabulary = every feature seen (sorted, so indices are deterministic); smoothed IDF."""
        document_frequency: Counter[str] = Counter()
        for text in texts:
            document_frequency.update(extract(text, config).keys())
        vocabulary = sorted(t for t, df in document_frequency.items() if df >= config.min_df)
        n = len(texts)
        idf = [math.log((1 + n) / (1 + document_frequency[t])) + 1.0 for t in vocabulary]
        return cls(config, vocabulary, idf, math.log(1 + n) + 1.0)

    def encode(self, text: str) -> tuple[list[int], list[float]]:
        """Indices and values of ``text``'s known features, normalised with unknown ones counted."""
        indices: list[int] = []
        values: list[float] = []
        unknown = 0.0
        for feature, count in extract(text, self.config).items():
            tf = 1.0 + math.log(count)
            j = self.index.get(feature)
            if j is None:
                unknown += (tf * self.oov_idf) ** 2
            else:
                indices.append(j)
                values.append(tf * self._idf[j])
        norm = math.sqrt(sum(v * v for v in values) + self.config.oov_weight * unknown)
        if norm > 0.0:
            values = [v / norm for v in values]
        return indices, values

    def encode_many(self, texts: Sequence[str]) -> SparseRows:
        """Encode every text into one CSR matrix."""
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for text in texts:
            idx, val = self.encode(text)
            indices += idx
            data += val
            indptr.append(len(indices))
        return SparseRows(np.asarray(indptr, dtype=np.int64), np.asarray(indices, dtype=np.int64),
                          np.asarray(data, dtype=np.float64), len(self.terms))
