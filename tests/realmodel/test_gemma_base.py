"""The converted Gemma 3 270M is a real model: it loads through the LLM port and knows Turkish."""

from __future__ import annotations

from pathlib import Path

import mlx_lm
import pytest

from evotr.domain.conversation import Message, Role
from evotr.domain.sampling import SamplingParams
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend
from tests.realmodel.measures import greedy_continuation, perplexity

pytestmark = [pytest.mark.realmodel, pytest.mark.slow]

PROMPT = "Türkiye'nin başkenti"
# Written for these tests: plain, everyday Turkish (125 Gemma tokens).
TURKISH = (
    "Ankara, Türkiye'nin başkentidir ve İç Anadolu Bölgesi'nde yer alır. Şehir, Cumhuriyet'in "
    "ilanından sonra hızla büyüdü; bugün üniversiteleri, bakanlıkları ve geniş caddeleriyle "
    "tanınır. İstanbul ise ülkenin en kalabalık şehridir. Boğaz, şehri Avrupa ve Asya yakalarına "
    "ayırır. Her yıl milyonlarca turist tarihi yarımadayı, camileri, sarayları ve çarşıları "
    "ziyaret eder. Akşamları insanlar sahilde yürüyüş yapar, çay içer ve martıları izler."
)
# Gemma 3 270M scores 21 on this text; a random model is near its vocabulary size (512 for
# the tiny model), so the bound separates a model that has learnt Turkish from noise.
PERPLEXITY_BOUND = 60.0


def test_the_model_loads_through_the_port_and_continues_turkish(gemma: MlxLLMBackend) -> None:
    assert gemma.is_loaded
    gemma.activate(None)
    tokenizer = gemma.tokenizer
    assert tokenizer.encode(PROMPT)[0] == tokenizer.bos_token_id, "Gemma degenerates without BOS"
    # Through the port: a chat-shaped request gets text pieces back. (The base model's turn
    # tokens are untrained, so what it says here is not yet an answer; LoRA teaches that.)
    reply = "".join(gemma.stream([Message(Role.USER, "Türkiye'nin başkenti neresidir?")],
                                 SamplingParams(temperature=0.0, max_tokens=8)))
    assert any(len(word) >= 3 and word.isalpha() for word in reply.split()), reply
    # The raw greedy continuation of a fixed Turkish prompt names the capital.
    continuation = greedy_continuation(gemma.model, tokenizer, PROMPT, max_tokens=8, stop="Ankara")
    assert "Ankara" in continuation, f"{PROMPT!r} continued as {continuation!r}"


def test_turkish_perplexity_is_far_below_a_random_models(gemma: MlxLLMBackend, tiny_dir: Path) -> None:
    gemma.activate(None)
    real = perplexity(gemma.model, gemma.tokenizer, TURKISH)
    tiny_model, tiny_tokenizer = mlx_lm.load(str(tiny_dir))[:2]
    noise = perplexity(tiny_model, tiny_tokenizer, TURKISH)
    assert real < PERPLEXITY_BOUND <= noise, f"Gemma {real:.1f}, tiny random model {noise:.1f}"


def test_the_backends_fast_cpu_decode_gives_stock_mlx_lms_greedy_reply(gemma: MlxLLMBackend,
                                                                      gemma_dir: Path) -> None:
    """Where the CPU decoder applies (fp32 Gemma, OpenBLAS), it must not change what is said."""
    from mlx_lm import stream_generate

    from evotr.infrastructure.mlx.blas import prepare_blas
    from evotr.infrastructure.mlx.row_decoding import why_not_rows

    if not prepare_blas().optimised:
        pytest.skip("the fast CPU decode needs an optimised BLAS (Debian: libopenblas0-pthread)")
    assert why_not_rows(gemma.model) is None, "the row decoder should apply to fp32 Gemma 3"
    gemma.activate(None)
    messages = [Message(Role.USER, "Python'da bir listeyi nasıl sıralarım?")]
    reply = "".join(gemma.stream(messages, SamplingParams(temperature=0.0, max_tokens=24)))
    stock, tokenizer = mlx_lm.load(str(gemma_dir))[:2]
    prompt = tokenizer.apply_chat_template([m.as_dict() for m in messages],
                                           add_generation_prompt=True)
    want = "".join(r.text for r in stream_generate(stock, tokenizer, prompt, max_tokens=24))
    assert reply == want


def test_the_fast_cpu_decode_with_an_adapter_gives_stock_mlx_lms_reply(gemma: MlxLLMBackend,
                                                                       gemma_dir: Path,
                                                                       tmp_path: Path) -> None:
    """The row decoder reads the hot-swapped LoRA wrappers: same reply as mlx-lm with the adapter."""
    import json

    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm import stream_generate
    from mlx_lm.tuner.utils import linear_to_lora_layers

    from evotr.domain.adapters import AdapterVersion
    from evotr.infrastructure.mlx.blas import prepare_blas

    if not prepare_blas().optimised:
        pytest.skip("the fast CPU decode needs an optimised BLAS (Debian: libopenblas0-pthread)")
    stock, tokenizer = mlx_lm.load(str(gemma_dir))[:2]
    stock.freeze()
    lora = {"rank": 8, "scale": 20.0, "dropout": 0.0}
    linear_to_lora_layers(stock, 4, lora)
    mx.random.seed(0)
    for _path, module in stock.named_modules():
        if hasattr(module, "lora_b"):  # mlx-lm starts B at zero: make the adapter say something else
            module.lora_b = mx.random.normal(module.lora_b.shape) * 0.002
    weights = dict(tree_flatten(stock.trainable_parameters()))
    mx.save_safetensors(str(tmp_path / "adapters.safetensors"), weights)
    (tmp_path / "adapter_config.json").write_text(json.dumps(
        {"fine_tune_type": "lora", "num_layers": 4, "lora_parameters": lora}), "utf-8")
    version = AdapterVersion.parse("tr_chat_v99")
    gemma.register_adapter(version, tmp_path)
    messages = [Message(Role.USER, "Python'da liste nasıl sıralanır?")]
    params = SamplingParams(temperature=0.0, max_tokens=16)
    tuned = "".join(gemma.stream(messages, params, version))
    base = "".join(gemma.stream(messages, params, None))
    prompt = tokenizer.apply_chat_template([m.as_dict() for m in messages], add_generation_prompt=True)
    want = "".join(r.text for r in stream_generate(stock, tokenizer, prompt, max_tokens=16))
    assert tuned == want and tuned != base
