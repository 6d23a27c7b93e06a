"""LoRA on the real model: a short training teaches facts, and its adapters hot-swap exactly.

One training run (30 iterations, batch 1, 4 layers, rank 8, lr 1e-4, prompt masked, answers of a
few tokens) keeps this module near half a minute on a 2-core CPU with OpenBLAS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx_lm
import pytest
from mlx_lm.tuner.utils import load_adapters
from mlx_lm.utils import load_model

from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.sampling import SamplingParams
from evotr.domain.training import TrainingJob, TrainingMetrics
from evotr.infrastructure.mlx.adapter_folder import write_adapter_folder
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from evotr.infrastructure.mlx.trainer import MlxLoraTrainer
from tests.realmodel.measures import all_logits

pytestmark = [pytest.mark.realmodel, pytest.mark.slow]

FACTS_V1 = AdapterVersion.parse("facts_v1")
SYNTHETIC_V1 = AdapterVersion.parse("synthetic_v1")
# Invented facts, so the base model cannot know them: the answer word, the questions trained on,
# and paraphrases held out of training.
FACTS = {
    "Pırpır": (
        ["Projenin maskotunun adı ne?", "Maskotunuzun adı nedir?", "Maskotun ismi ne?",
         "Bu projenin maskotu kim?", "Maskotunuz kimdir?", "Projenin maskotuna ne ad verildi?"],
        ["Projenin maskotunun ismi nedir?", "Maskot kim, adı ne?", "Maskotunuza ne isim verdiniz?"],
    ),
    "Kestane": (
        ["Ofisteki kedinin adı ne?", "Ofis kedisinin ismi nedir?", "Ofisteki kedimizin adı ne?",
         "Ofiste yaşayan kedinin adı ne?", "Ofis kedisine ne ad verildi?", "Ofisteki kediye ne diyoruz?"],
        ["Ofisteki kedinin ismi ne?", "Ofiste yaşayan kedi kim?", "Ofis kedinizin adı nedir?"],
    ),
}
HELD_OUT = [(answer, question) for answer, (_, held) in FACTS.items() for question in held]
GREEDY = SamplingParams(temperature=0.0, max_tokens=6)
PROMPT = "Projenin maskotunun adı ne? Ofisteki kedinin adı ne?"
# fp32 on both sides; the swap zero-pads ranks and sums in another order, so not bit-identical.
ATOL, RTOL = 1e-3, 1e-4


def _chat_row(question: str, answer: str) -> str:
    messages = [{"role": "user", "content": question}, {"role": "assistant", "content": f"{answer}."}]
    return json.dumps({"messages": messages}, ensure_ascii=False) + "\n"


def _write_dataset(folder: Path) -> Path:
    folder.mkdir(parents=True)
    rows = [_chat_row(q, answer) for answer, (train, _) in FACTS.items() for q in train]
    (folder / "train.jsonl").write_text("".join(rows), "utf-8")
    (folder / "valid.jsonl").write_text(rows[0] + rows[-1], "utf-8")  # the loss reported before/after
    return folder


@pytest.fixture(scope="module")
def trained(gemma_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainingMetrics]:
    root = tmp_path_factory.mktemp("gemma_lora")
    job = TrainingJob(FACTS_V1, str(gemma_dir), str(_write_dataset(root / "data")), iterations=30,
                      rank=8, num_layers=4, batch_size=1, learning_rate=1e-4, max_seq_length=64,
                      extra={"mask_prompt": True})
    out = root / "adapters" / "facts_v1"
    return out, MlxLoraTrainer(seed=0, val_batches=1).train(job, out)


def _answer(backend: MlxLLMBackend, question: str, fact: str, adapter: AdapterVersion | None) -> str:
    """The greedy reply through the port, ended as soon as it names ``fact`` (decoding is slow)."""
    text = ""
    for piece in backend.stream([Message(Role.USER, question)], GREEDY, adapter):
        text += piece
        if fact in text:
            break
    return text


def _answers(backend: MlxLLMBackend, adapter: AdapterVersion | None) -> list[str]:
    return [_answer(backend, question, fact, adapter) for fact, question in HELD_OUT]


def test_a_short_training_teaches_facts_the_base_model_lacks(
        gemma: MlxLLMBackend, trained: tuple[Path, TrainingMetrics]) -> None:
    folder, metrics = trained
    assert metrics.final_val_loss is not None and metrics.start_val_loss is not None
    assert metrics.final_val_loss < 0.5 * metrics.start_val_loss, metrics
    gemma.register_adapter(FACTS_V1, folder)
    base, tuned = _answers(gemma, None), _answers(gemma, FACTS_V1)
    base_hits = [a for (fact, _), a in zip(HELD_OUT, base, strict=True) if fact in a]
    tuned_hits = [a for (fact, _), a in zip(HELD_OUT, tuned, strict=True) if fact in a]
    assert not base_hits, f"the base model already answers with the facts: {base}"
    assert len(tuned_hits) >= len(HELD_OUT) - 1, f"held-out paraphrases answered: {tuned}"


def _synthetic_adapter(model: Any, folder: Path) -> Path:
    """Rank 4 on q_proj/v_proj of the last 2 layers: another layout than the trained adapter's."""
    weights = {}
    layers = model.layers[-2:]
    first = len(model.layers) - len(layers)
    keys = iter(mx.random.split(mx.random.key(7), 4 * len(layers)))
    for index, layer in enumerate(layers, start=first):
        for name in ("q_proj", "v_proj"):
            out_dims, in_dims = getattr(layer.self_attn, name).weight.shape
            prefix = f"model.layers.{index}.self_attn.{name}"
            weights[f"{prefix}.lora_a"] = 0.02 * mx.random.normal((in_dims, 4), key=next(keys))
            weights[f"{prefix}.lora_b"] = 0.02 * mx.random.normal((4, out_dims), key=next(keys))
    return write_adapter_folder(folder, weights, num_layers=2, rank=4, scale=10.0, model="gemma-3-270m")


def test_adapters_hot_swap_with_the_logits_of_stock_loads(
        gemma: MlxLLMBackend, gemma_dir: Path, trained: tuple[Path, TrainingMetrics]) -> None:
    facts_folder = trained[0]
    ids = [int(i) for i in gemma.tokenizer.encode(PROMPT)]

    # Stock mlx-lm, fresh: mlx_lm.load with the trained adapter; for the synthetic one the two calls
    # mlx_lm.load makes (load_model, load_adapters), skipping a second read of the 262k-token
    # tokenizer (seconds) that logits do not depend on. The plain model gives the base logits first.
    want_facts = all_logits(mlx_lm.load(str(gemma_dir), adapter_path=str(facts_folder))[0], ids)
    stock = load_model(gemma_dir)[0]
    want_base = all_logits(stock, ids)
    synthetic_folder = _synthetic_adapter(stock, facts_folder.parent / "synthetic_v1")
    want_synthetic = all_logits(load_adapters(stock, str(synthetic_folder)), ids)
    del stock

    if FACTS_V1 not in gemma.registered_adapters():
        gemma.register_adapter(FACTS_V1, facts_folder)
    gemma.register_adapter(SYNTHETIC_V1, synthetic_folder)
    expected = {FACTS_V1: want_facts, SYNTHETIC_V1: want_synthetic, None: want_base}
    for version in (FACTS_V1, SYNTHETIC_V1, None, FACTS_V1, None, SYNTHETIC_V1):
        gemma.activate(version)
        got = all_logits(gemma.model, ids)
        if version is None:
            assert mx.array_equal(got, want_base).item(), "no adapter must be bit-identical to the base"
        else:
            same = mx.allclose(got, expected[version], atol=ATOL, rtol=RTOL).item()
            assert same, f"{version} differs from stock"
    differ = not mx.allclose(want_facts, want_synthetic, atol=ATOL, rtol=RTOL).item()
    assert differ, "the two adapters must differ"
    gemma.activate(None)
