"""MlxLLMBackend on the tiny model: real mlx-lm generation, token counts and load errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from evotr.application.errors import AdapterNotRegisteredError
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import EvoTrError
from evotr.domain.sampling import SamplingParams
from evotr.infrastructure.mlx.errors import ModelLoadError
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from evotr.infrastructure.mlx.tiny_model import build_tiny_model
from evotr.ports.llm_backend import LLMBackend

pytestmark = pytest.mark.integration

MESSAGES = [Message(Role.SYSTEM, "Sen yardımsever bir asistansın."), Message(Role.USER, "Merhaba!")]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def backend(tiny: Path) -> MlxLLMBackend:
    return MlxLLMBackend(str(tiny))


def test_satisfies_the_port_and_loads_lazily(tiny: Path) -> None:
    fresh = MlxLLMBackend(str(tiny))
    assert isinstance(fresh, LLMBackend)
    assert fresh.model_id == str(tiny)
    assert not fresh.is_loaded
    fresh.load()
    model = fresh.model
    fresh.load()
    assert fresh.is_loaded and fresh.model is model


def test_generate_and_stream(backend: MlxLLMBackend) -> None:
    params = SamplingParams(temperature=0.0, max_tokens=5)
    reply = backend.generate(MESSAGES, params)
    assert isinstance(reply, str)
    pieces = list(backend.stream(MESSAGES, params))
    assert len(pieces) >= 1
    assert all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces) == reply
    # At most max_tokens tokens come back.
    assert len(backend.tokenizer.encode(reply, add_special_tokens=False)) <= 5


def test_greedy_is_repeatable(backend: MlxLLMBackend) -> None:
    params = SamplingParams(temperature=0.0, max_tokens=12)
    assert backend.generate(MESSAGES, params) == backend.generate(MESSAGES, params)


def test_seeded_sampling_is_repeatable_and_seed_matters(backend: MlxLLMBackend) -> None:
    def sample(seed: int) -> str:
        params = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=16, seed=seed)
        return backend.generate(MESSAGES, params)

    first = sample(7)
    assert sample(7) == first
    # A near-uniform random model gives another text for almost any other seed.
    assert any(sample(seed) != first for seed in (8, 9, 10))


def test_count_tokens_matches_the_chat_template(backend: MlxLLMBackend, tiny: Path) -> None:
    from transformers import AutoTokenizer

    short = backend.count_tokens(MESSAGES)
    longer = backend.count_tokens([MESSAGES[0], Message(Role.USER, "Merhaba! Bugün hava çok güzel.")])
    assert short < longer
    reference = AutoTokenizer.from_pretrained(str(tiny))
    text = reference.apply_chat_template([m.as_dict() for m in MESSAGES], tokenize=False,
                                         add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    assert short == len(reference.encode(text, add_special_tokens=False))


def test_unregistered_adapter_is_refused(backend: MlxLLMBackend) -> None:
    adapter = AdapterVersion.parse("tr_chat_v1")
    assert adapter not in backend.registered_adapters()
    with pytest.raises(AdapterNotRegisteredError, match="tr_chat_v1"):
        backend.stream(MESSAGES, SamplingParams(max_tokens=3), adapter)
    with pytest.raises(EvoTrError):
        backend.generate(MESSAGES, SamplingParams(max_tokens=3), adapter)


def test_registering_before_load_loads_the_model(tiny: Path, tmp_path: Path) -> None:
    from tests.adapter_fixtures import write_fake_mlx_adapter

    fresh = MlxLLMBackend(str(tiny))
    assert fresh.registered_adapters() == [] and not fresh.is_loaded
    adapter = AdapterVersion.parse("tr_chat_v1")
    fresh.register_adapter(adapter, write_fake_mlx_adapter(tmp_path / "tr_chat_v1"))
    assert fresh.is_loaded and list(fresh.registered_adapters()) == [adapter]
    reply = fresh.generate(MESSAGES, SamplingParams(temperature=0.0, max_tokens=4), adapter)
    assert isinstance(reply, str)


def test_missing_local_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "yok" / "model"
    backend = MlxLLMBackend(str(missing))
    with pytest.raises(ModelLoadError, match="does not exist") as info:
        backend.load()
    assert str(missing) in str(info.value)
    assert not backend.is_loaded


def test_existing_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", "utf-8")
    with pytest.raises(ModelLoadError) as info:
        MlxLLMBackend(str(tmp_path)).load()
    message = str(info.value)
    assert str(tmp_path) in message and "safetensors" in message and "config.json" not in message
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"config\.json and weights"):
        MlxLLMBackend(str(empty)).load()


def test_hub_id_offline_gives_local_path_advice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # An empty cache: the id cannot be in it, and nothing is written to the real one.
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.chdir(tmp_path)
    model_id = "evotr-test/definitely-not-cached-model"
    backend = MlxLLMBackend(model_id)
    with pytest.raises(ModelLoadError) as info:
        backend.stream(MESSAGES, SamplingParams(max_tokens=3))
    message = str(info.value)
    assert model_id in message
    assert "local" in message and "model.path" in message
    assert f"huggingface-cli download {model_id}" in message
    assert "evotr --home .evotr-demo chat" in message  # the home `make demo` leaves needs no download


def test_model_without_chat_template_falls_back(
    tiny: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import shutil

    plain = tmp_path / "plain"
    shutil.copytree(tiny, plain)
    config_file = plain / "tokenizer_config.json"
    config = json.loads(config_file.read_text("utf-8"))
    del config["chat_template"]
    config_file.write_text(json.dumps(config), "utf-8")
    backend = MlxLLMBackend(str(plain))
    with caplog.at_level("WARNING", logger="evotr.mlx"):
        backend.load()
    assert "no chat template" in caplog.text
    expected = "system: Sen yardımsever bir asistansın.\nuser: Merhaba!\nassistant:"
    assert backend.count_tokens(MESSAGES) == len(backend.tokenizer.encode(expected))
    assert isinstance(backend.generate(MESSAGES, SamplingParams(temperature=0.0, max_tokens=3)), str)
