"""Answer-only logits in LoRA training: the same loss and gradients as mlx-lm's default loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evotr.infrastructure.mlx.answer_loss import BUCKET, answer_positions, training_loss
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lora_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import mlx_lm
    from mlx_lm.tuner.utils import linear_to_lora_layers

    model = mlx_lm.load(str(ensure_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny")))[0]
    model.freeze()
    linear_to_lora_layers(model, 2, {"rank": 4, "scale": 20.0, "dropout": 0.0})
    rng = np.random.default_rng(0)  # non-zero B so the LoRA terms matter to the gradients
    import mlx.core as mx

    for layer in model.layers[-2:]:
        layer.self_attn.q_proj.lora_b = mx.array(rng.normal(0, 0.05, layer.self_attn.q_proj.lora_b.shape),
                                                 dtype=mx.float32)
    return model


def _batches(seed: int) -> Any:
    """mlx-lm-shaped batches: rows of different lengths, prompt offsets, padding to 1 + 32·k."""
    import mlx.core as mx

    rng = np.random.default_rng(seed)
    for _ in range(3):
        lengths = rng.integers(6, 40, size=3)
        width = 1 + 32 * int(np.ceil(lengths.max() / 32))
        tokens = np.zeros((3, width), np.int32)
        for row, length in enumerate(lengths):
            tokens[row, :length] = rng.integers(1, 200, size=length)
        offsets = [int(rng.integers(0, length - 1)) for length in lengths]
        yield mx.array(tokens), mx.array([[o, int(n)] for o, n in zip(offsets, lengths, strict=True)])


def test_answer_positions_are_the_default_masks_kept_targets_padded_to_a_bucket() -> None:
    import mlx.core as mx

    batch = mx.zeros((2, 9), dtype=mx.int32)
    index, weight = answer_positions(batch, mx.array([[3, 5], [0, 8]]))
    kept = np.array(index)[np.array(weight) > 0]
    # row 0: steps 3..5 → targets 2..4; row 1: steps 1..8 → targets 0..7, offset by 8 per row
    assert kept.tolist() == [2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15]
    assert len(np.array(index)) % BUCKET == 0 and np.array(weight).sum() == len(kept)


def test_loss_and_gradients_equal_mlx_lms_default_loss(lora_model: Any) -> None:
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten
    from mlx_lm.tuner.trainer import default_loss

    loss, _ = training_loss(lora_model, list(range(1, 12)), lambda: iter(()), default_loss)
    assert loss is not default_loss
    from evotr.infrastructure.mlx.answer_loss import with_answer_positions

    trimmed = with_answer_positions(lambda: _batches(seed=1))()
    for (batch, lengths), ours in zip(_batches(seed=1), trimmed, strict=True):
        assert ours[0].shape[1] <= batch.shape[1]
        (want, want_n), want_g = nn.value_and_grad(lora_model, default_loss)(lora_model, batch, lengths)
        (got, got_n), got_g = nn.value_and_grad(lora_model, loss)(lora_model, *ours)
        assert int(got_n.item()) == int(want_n.item())
        assert got.item() == pytest.approx(want.item(), rel=1e-5)
        want_flat, got_flat = dict(tree_flatten(want_g)), dict(tree_flatten(got_g))
        assert want_flat.keys() == got_flat.keys() and want_flat
        for name, value in want_flat.items():
            assert mx.allclose(got_flat[name], value, rtol=1e-3, atol=1e-6).item(), name


def test_a_model_whose_logits_are_not_head_of_body_keeps_the_default_loss(lora_model: Any) -> None:
    from mlx_lm.tuner.trainer import default_loss, iterate_batches

    class Scaled:  # logits scaled after the head: the split would be wrong
        def __init__(self, inner: Any) -> None:
            self.model, self.lm_head = inner.model, inner.model.embed_tokens.as_linear
            self._inner = inner

        def __call__(self, inputs: Any) -> Any:
            return 0.5 * self._inner(inputs)

    loss, iterate = training_loss(Scaled(lora_model), list(range(1, 12)), iterate_batches, default_loss)
    assert (loss, iterate) == (default_loss, iterate_batches)


def test_training_reports_the_same_losses_as_before(tmp_path: Path) -> None:
    """End to end through MlxTrainer is covered by the trainer tests; here: evaluate() agrees."""
    import mlx_lm
    from mlx_lm.tuner.datasets import CacheDataset, ChatDataset
    from mlx_lm.tuner.trainer import default_loss, evaluate, iterate_batches

    model, tokenizer = mlx_lm.load(str(ensure_tiny_model(tmp_path / "tiny")))[:2]
    rows = [{"messages": [{"role": "user", "content": f"soru {i}"},
                          {"role": "assistant", "content": "cevap " * (i + 1)}]} for i in range(6)]
    data = CacheDataset(ChatDataset(rows, tokenizer, mask_prompt=True))
    loss, iterate = training_loss(model, data[0][0], iterate_batches, default_loss)
    assert loss is not default_loss
    common = dict(model=model, dataset=data, batch_size=2, num_batches=-1, max_seq_length=64)
    want = evaluate(**common)
    got = evaluate(**common, loss=loss, iterate_batches=iterate)
    assert got == pytest.approx(want, rel=1e-5)


def test_batches_keep_every_column_the_mask_reads_and_drop_the_rest() -> None:
    from evotr.infrastructure.mlx.answer_loss import trimmed_width

    assert trimmed_width(33, [[0, 10], [2, 17]]) == 25  # column 17 (step 17) is read: 1 + 8·3
    assert trimmed_width(33, [[0, 24], [0, 8]]) == 25
    assert trimmed_width(33, [[0, 25], [0, 8]]) == 33
    assert trimmed_width(65, [[0, 64], [0, 3]]) == 65  # never wider than mlx-lm's batch
