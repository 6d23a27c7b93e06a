"""What `adapters compare` found, and the "V1 = V2" detector that reads it.

The old product trained tr_chat_v2 and found it answered exactly like v1, without ever learning
why. ``sameness_warnings`` turns identical greedy outputs into a loud warning whose likely
causes are narrowed by the losses and the two training configs.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from evotr.domain.adapters import AdapterVersion
from evotr.domain.evaluation import LossResult, PreferenceResult, identical_share, same_loss

BASE = "base"


@attrs.frozen(slots=True)
class ModelScores:
    """One model of the comparison: the base (``adapter`` None) or a version."""

    adapter: AdapterVersion | None
    outputs: tuple[str, ...]
    loss: LossResult | None = None
    preference: PreferenceResult | None = None
    config: Mapping[str, object] = attrs.field(factory=dict)
    dataset: str = ""

    @property
    def label(self) -> str:
        """``base`` or the version name."""
        return BASE if self.adapter is None else self.adapter.name

    def as_dict(self) -> dict[str, object]:
        """Loss, perplexity and preference accuracy (null where not measured)."""
        return {
            "model": self.label,
            "val_loss": None if self.loss is None else self.loss.loss,
            "perplexity": None if self.loss is None else self.loss.perplexity,
            "tokens": None if self.loss is None else self.loss.tokens,
            "preference": None if self.preference is None else self.preference.as_dict(),
        }


@attrs.frozen(slots=True)
class SamenessWarning:
    """Two models answered every prompt identically: a headline and the likely causes."""

    first: str
    second: str
    headline: str
    causes: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of one warning."""
        return {"models": [self.first, self.second], "warning": self.headline,
                "likely_causes": list(self.causes)}


@attrs.frozen(slots=True)
class Comparison:
    """Base, A and B measured on the same data and prompts by one resident model."""

    base: ModelScores
    a: ModelScores
    b: ModelScores
    prompts: tuple[str, ...]
    data: str | None
    mask_prompt: bool
    pairs_file: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def models(self) -> tuple[ModelScores, ModelScores, ModelScores]:
        """Base, A, B in that order."""
        return (self.base, self.a, self.b)

    def agreement(self) -> dict[str, float]:
        """Share of prompts with identical greedy outputs, per pair of models."""
        return {f"{x.label}/{y.label}": identical_share(x.outputs, y.outputs)
                for x, y in ((self.base, self.a), (self.base, self.b), (self.a, self.b))}

    @property
    def warnings(self) -> list[SamenessWarning]:
        """The sameness warnings (empty when every pair of models differs somewhere)."""
        return sameness_warnings(self)

    def as_dict(self) -> dict[str, object]:
        """The JSON shape `evotr adapters compare --json` prints."""
        return {
            "a": self.a.label, "b": self.b.label, "data": self.data, "mask_prompt": self.mask_prompt,
            "pairs": self.pairs_file, "prompts": len(self.prompts),
            "models": [m.as_dict() for m in self.models],
            "identical_outputs": self.agreement(),
            "warnings": [w.as_dict() for w in self.warnings],
            "notes": list(self.notes),
            "outputs": [{"prompt": p, **{m.label: m.outputs[i] for m in self.models}}
                        for i, p in enumerate(self.prompts)],
        }


def _settings(model: ModelScores) -> str:
    """The training settings that decide how far an adapter moves, as far as its config says."""
    config = model.config
    lora = config.get("lora_parameters")
    parts = []
    if isinstance(lora, Mapping) and "scale" in lora:
        parts.append(f"scale {lora['scale']}")
    for key, name in (("learning_rate", "lr"), ("iters", "iters"), ("mask_prompt", "mask_prompt")):
        if key in config:
            parts.append(f"{name} {config[key]}")
    return f" ({', '.join(parts)})" if parts else ""


def _versus_base(base: ModelScores, model: ModelScores, n: int) -> SamenessWarning:
    headline = f"{model.label} gives the SAME greedy answers as the base model on all {n} prompts"
    if same_loss(base.loss, model.loss):
        assert model.loss is not None
        causes: tuple[str, ...] = (
            f"its validation loss equals the base model's too ({model.loss.loss:.6f}): the adapter "
            f"changes nothing at all{_settings(model)}",
            "not applied: no LoRA weight reaches the model (keys or num_layers that match no layer)",
            "zero weights: lora_b is still all zeros (training never took a step, or the file was "
            "saved before training)",
        )
    else:
        moved = ("" if base.loss is None or model.loss is None else
                 f"its loss moved ({base.loss.loss:.4f} -> {model.loss.loss:.4f}) but ")
        causes = (
            f"{moved}no greedy choice flipped: the update is too weak{_settings(model)}",
            "LoRA scale too small (lora_parameters.scale multiplies the whole update)",
            "learning rate too low or too few iterations (on the real model lr 1e-5 learned "
            "nothing in 30 iterations; 1e-4 with mask_prompt did)",
            "not applied: check that `evotr adapters show` lists the right adapter_config.json",
        )
    return SamenessWarning(base.label, model.label, headline, causes)


def _a_versus_b(c: Comparison, n: int) -> SamenessWarning:
    a, b = c.a, c.b
    headline = f"{a.label} and {b.label} give the SAME greedy answers on all {n} prompts (V1 = V2)"
    identical = same_loss(a.loss, b.loss)
    causes = []
    if identical:
        causes.append("their validation losses are equal too: most likely the same weights "
                      "(one copied from the other, or the same data, config and seed)")
    if a.dataset and a.dataset == b.dataset:
        causes.append(f"same data: both manifests name dataset {a.dataset!r}")
    base_like = [m.label for m in (a, b) if identical_share(c.base.outputs, m.outputs) == 1.0]
    if base_like:
        causes.append(f"{' and '.join(base_like)} also answer{'s' if len(base_like) == 1 else ''} "
                      "like the base model: not applied or too weak (see the warnings above)")
    if not identical:
        # The weights differ, yet no greedy choice does: the second run moved too little.
        causes.append(f"learning rate too low or too few iterations for {b.label} to move away "
                      f"from {a.label}{_settings(b)}")
        causes.append("LoRA scale too small to change a greedy choice")
    return SamenessWarning(a.label, b.label, headline, tuple(causes))


def sameness_warnings(comparison: Comparison) -> list[SamenessWarning]:
    """A warning per adapter that answers every prompt like the base model, and one if A equals B."""
    n = len(comparison.prompts)
    if n == 0:
        return []
    found = [_versus_base(comparison.base, m, n) for m in (comparison.a, comparison.b)
             if identical_share(comparison.base.outputs, m.outputs) == 1.0]
    if identical_share(comparison.a.outputs, comparison.b.outputs) == 1.0:
        found.append(_a_versus_b(comparison, n))
    return found


# A small built-in prompt set in both of the assistant's subjects (Turkish chat, Python).
DEFAULT_PROMPTS: tuple[str, ...] = (
    "Merhaba, nasılsın?",
    "Osmanlı İmparatorluğu ne zaman kuruldu?",
    "İstanbul'un en güzel semtleri hangileri?",
    "Fotosentez nedir, kısaca anlat.",
    "Python'da bir liste nasıl ters çevrilir?",
    "Python'da sözlükteki anahtarlar nasıl sıralanır?",
    "Bu kod neden hata veriyor: print('merhaba'",
    "5 ile 3'ün çarpımı kaç eder?",
)
