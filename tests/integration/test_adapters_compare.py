"""`adapters compare` on the tiny model: real log-probs and losses, one resident model, clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evotr.application.learning.preference import PreferenceAccuracy
from evotr.container import Container
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.evaluation import PreferencePair
from evotr.entrypoints.cli.main import main
from evotr.infrastructure.mlx import base_loading
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model
from tests.adapter_fixtures import write_fake_mlx_adapter
from tests.compare_fixtures import DATASET, store_adapter, tiny_home, zero_adapter

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PAIRS = [
    PreferencePair("Merhaba, nasılsın?", "İyiyim, teşekkür ederim!", "Python listeleri sıralanabilir."),
    PreferencePair("Python'da liste nasıl sıralanır?", "sorted(liste) kullan.", "Merhaba!"),
    PreferencePair("5 ile 3'ün toplamı?", "8", "Sekiz eder, çünkü beş artı üç sekizdir."),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # seed 1, scaled-up lora_b: a non-zero adapter that visibly changes the tiny model.
    return write_fake_mlx_adapter(tmp_path_factory.mktemp("adapter") / "a", seed=1)


@pytest.fixture
def home(tmp_path: Path, tiny: Path, adapter: Path) -> Path:
    container = tiny_home(tmp_path / "home", tiny)
    store_adapter(container, "tr_chat_v1", zero_adapter(tmp_path / "zero"))
    store_adapter(container, "tr_chat_v2", adapter)
    return tmp_path / "home"


def _direct_logprob(model: Any, tokenizer: Any, prompt: list[dict[str, str]], completion: str) -> float:
    """log p(completion | prompt) straight from an mlx-lm model, without evotr's code."""
    import mlx.core as mx
    import mlx.nn as nn

    head = tokenizer.apply_chat_template(prompt, add_generation_prompt=True)
    full = tokenizer.apply_chat_template([*prompt, {"role": "assistant", "content": completion}])
    logp = nn.log_softmax(model(mx.array(full)[None])[0].astype(mx.float32), axis=-1)
    return sum(float(logp[i - 1, full[i]].item()) for i in range(len(head), len(full)))


def test_logprobs_and_preference_accuracy_match_a_direct_mlx_lm_computation(
    tiny: Path, adapter: Path
) -> None:
    import mlx_lm

    backend = MlxLLMBackend(str(tiny))
    version = AdapterVersion.parse("tr_chat_v2")
    backend.register_adapter(version, adapter)
    for adapter_path, active in ((None, None), (adapter, version)):
        stock = mlx_lm.load(str(tiny), adapter_path=None if adapter_path is None else str(adapter_path))
        model, tokenizer = stock[0], stock[1]
        wins = 0
        for pair in PAIRS:
            prompt = [{"role": "user", "content": pair.prompt}]
            expected = [_direct_logprob(model, tokenizer, prompt, c) for c in (pair.chosen, pair.rejected)]
            got = backend.logprobs([Message(Role.USER, pair.prompt)], [pair.chosen, pair.rejected], active)
            assert got == pytest.approx(expected, rel=1e-4, abs=1e-3)
            wins += expected[0] > expected[1]
        result = PreferenceAccuracy(backend).execute(PAIRS, active)
        assert (result.wins, result.pairs) == (wins, len(PAIRS))
        assert result.accuracy == pytest.approx(wins / len(PAIRS))


def test_loss_is_mlx_lm_evaluate_on_the_same_folder(tiny: Path, adapter: Path, tmp_path: Path) -> None:
    import types

    import mlx_lm
    from mlx_lm.tuner.datasets import CacheDataset, load_dataset
    from mlx_lm.tuner.trainer import evaluate

    from evotr.infrastructure.datasets.evaluation_files import EvaluationFiles
    from evotr.infrastructure.mlx.tiny_datasets import write_tiny_chat_dataset

    data = write_tiny_chat_dataset(tmp_path / "data", "tr_chat")
    backend = MlxLLMBackend(str(tiny))
    version = AdapterVersion.parse("tr_chat_v2")
    backend.register_adapter(version, adapter)
    conversations = EvaluationFiles().conversations(data)
    for mask in (False, True):
        model, tokenizer = mlx_lm.load(str(tiny), adapter_path=str(adapter))[:2]
        valid = load_dataset(types.SimpleNamespace(data=str(data), train=False, test=False, mask_prompt=mask),
                             tokenizer)[1]
        expected = evaluate(model, CacheDataset(valid), batch_size=1, num_batches=-1)
        got = backend.loss(conversations, version, mask_prompt=mask)
        assert got.loss == pytest.approx(expected, rel=1e-5)
        assert got.tokens > 0


def test_compare_loads_the_base_model_once_and_flags_only_the_zero_adapter(
    home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:

    loads: list[str] = []
    real_load = base_loading.load_base

    def counting_load(path: str, *args: Any, **kwargs: Any) -> Any:
        loads.append(path)
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(base_loading, "load_base", counting_load)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected},
                                        ensure_ascii=False) + "\n" for p in PAIRS), "utf-8")
    from evotr.container import build_container

    container: Container = build_container(home=home, env={})
    comparison = container.use_cases.compare_adapters().execute(
        "tr_chat_v1", "tr_chat_v2", pairs=pairs, max_tokens=8)
    assert len(loads) == 1, loads
    assert comparison.data is not None and comparison.data.endswith(DATASET)
    base, zero, other = comparison.models
    assert zero.loss == base.loss and other.loss != base.loss
    assert zero.preference == base.preference and base.preference is not None
    assert base.preference.pairs == len(PAIRS)
    assert [(w.first, w.second) for w in comparison.warnings] == [("base", "tr_chat_v1")]
    assert comparison.agreement()["base/tr_chat_v1"] == 1.0


def _run(home: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--home", str(home), "adapters", *args])


def _one_error_line(result: Any) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_bad_inputs_are_one_line_errors(home: Path, tmp_path: Path) -> None:
    assert "unknown adapter version tr_chat_v9; stored versions: tr_chat_v1, tr_chat_v2" in _one_error_line(
        _run(home, "compare", "tr_chat_v1", "tr_chat_v9"))
    assert "unknown adapter version" in _one_error_line(_run(home, "show", "python_coder_v3"))
    assert "two different versions" in _one_error_line(_run(home, "compare", "tr_chat_v1", "tr_chat_v1"))
    missing = tmp_path / "nope"
    assert f"data folder {missing} does not exist" in _one_error_line(
        _run(home, "compare", "tr_chat_v1", "tr_chat_v2", "--data", str(missing)))
    bad_data = tmp_path / "bad"
    bad_data.mkdir()
    (bad_data / "valid.jsonl").write_text('{"messages": [{"role": "user", "content": "a"}]}\n{"messages": \n',
                                          "utf-8")
    assert f"{bad_data / 'valid.jsonl'}:2: not valid JSON" in _one_error_line(
        _run(home, "compare", "tr_chat_v1", "tr_chat_v2", "--data", str(bad_data)))
    (bad_data / "valid.jsonl").write_text('{"messages": [{"role": "robot", "content": "a"}]}\n', "utf-8")
    assert f"{bad_data / 'valid.jsonl'}:1: bad message" in _one_error_line(
        _run(home, "compare", "tr_chat_v1", "tr_chat_v2", "--data", str(bad_data)))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n\n'
                     '{"prompt": "a", "chosen": "b"}\n', "utf-8")
    assert f"{pairs}:3: 'rejected' must be non-empty text" in _one_error_line(
        _run(home, "compare", "tr_chat_v1", "tr_chat_v2", "--pairs", str(pairs)))
    assert f"{tmp_path / 'prompts.txt'}: no such file" in _one_error_line(
        _run(home, "compare", "tr_chat_v1", "tr_chat_v2", "--prompts", str(tmp_path / "prompts.txt")))


def test_a_mistyped_home_is_refused_not_created(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "nohome"), "adapters", "show", "tr_chat_v1"])
    assert result.exit_code == 1 and not (tmp_path / "nohome").exists()


def test_show_prints_metrics_config_and_the_loss_curve_beside_the_manifest(home: Path) -> None:
    from evotr.container import build_container

    store = build_container(home=home, env={}).storage.adapter_store()
    folder = store.path(AdapterVersion.parse("tr_chat_v2"))
    (folder / "loss.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = _run(home, "show", "tr_chat_v2")
    assert result.exit_code == 0, result.output
    assert "tr_chat_v2 (family tr_chat, not active)" in result.stdout
    assert f"loss curve: {folder / 'loss.png'}" in result.stdout
    assert "num_layers: 2" in result.stdout and f"dataset: {DATASET}" in result.stdout
    shown = json.loads(_run(home, "show", "tr_chat_v2", "--json").stdout)
    assert shown["loss_curve"] == str(folder / "loss.png") and shown["config"]["num_layers"] == 2
