"""The hand-written chat datasets `evotr demo` trains its adapters on when it runs a real model.

They ship inside the package (``configs/demo/<family>.jsonl``, in a wheel
``evotr/_default_configs/demo/``), one ``{"messages": [user, assistant]}`` object per line in
mlx-lm's chat format. Every example is short on purpose: with its chat template each fits in 32
tokens, and mlx-lm pads a batch to one plus a multiple of 32, so a batch costs 33 tokens a row
instead of 65 — on a 2-core CPU the LoRA trainings are the slow part of the demo.

There is no system message: the persona would make every row ~50 tokens longer, tripling the
training time. The answers are what the adapters must teach a *base* model: to answer in short
Turkish and then end its turn (Gemma's ``<end_of_turn>`` is untrained in the base model).
"""

from __future__ import annotations

import json
from pathlib import Path

from evotr.infrastructure.config.loader import default_config_dir
from evotr.infrastructure.mlx.training_inputs import check_chat_jsonl

DEMO_FAMILIES = ("tr_chat", "python_coder")
VALID_EVERY = 8  # every 8th example is held out for the validation loss


def demo_dataset_file(family: str) -> Path:
    """The packaged JSONL of ``family``; ValueError for a family the demo has no data for."""
    if family not in DEMO_FAMILIES:
        raise ValueError(f"no demo dataset for {family!r}; expected one of {', '.join(DEMO_FAMILIES)}")
    return default_config_dir() / "demo" / f"{family}.jsonl"


def write_demo_dataset(folder: Path, family: str) -> Path:
    """Write ``train.jsonl`` and ``valid.jsonl`` of ``family`` into ``folder``; return ``folder``.

    The split is fixed (every ``VALID_EVERY``-th line is validation), so a rerun writes the same bytes.
    """
    source = demo_dataset_file(family)
    check_chat_jsonl(source)  # a broken packaged file is named here, not deep inside mlx-lm
    lines = source.read_text("utf-8").splitlines()
    valid = [line for i, line in enumerate(lines) if i % VALID_EVERY == 0]
    train = [line for i, line in enumerate(lines) if i % VALID_EVERY != 0]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.jsonl", train), ("valid.jsonl", valid)):
        (folder / name).write_text("".join(f"{row}\n" for row in rows), "utf-8")
    return folder


def demo_examples(family: str) -> list[dict[str, object]]:
    """Every packaged example of ``family`` as parsed JSON (for tests and inspection)."""
    lines = demo_dataset_file(family).read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines]
