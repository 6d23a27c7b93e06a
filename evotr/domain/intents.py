"""Intents, the router's prediction and the routing policy (threshold + fallback)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

import attrs

from evotr.domain.errors import DomainValidationError, UnknownIntentError
from evotr.domain.validation import parse_enum, probability


class Intent(StrEnum):
    """The eight things a message can be about."""

    GENERAL_CHAT = "general_chat"
    TURKISH_CULTURE = "turkish_culture"
    HISTORY = "history"
    SCIENCE = "science"
    CODE_PYTHON = "code_python"
    CODE_DEBUG = "code_debug"
    CODE_EXPLAIN = "code_explain"
    CODE_MATH = "code_math"

    @classmethod
    def parse(cls, name: str) -> Intent:
        """Return the intent called ``name`` or raise an error listing the valid names."""
        return parse_enum(cls, name, "intent", "intent", UnknownIntentError)


ALL_INTENTS: tuple[Intent, ...] = tuple(Intent)


def to_intent(value: Intent | str) -> Intent:
    """Converter: accept an Intent or its name."""
    return value if isinstance(value, Intent) else Intent.parse(value)
_SUM_TOLERANCE = 1e-3


def _freeze_probabilities(value: Mapping[Intent, float] | Mapping[str, float]) -> Mapping[Intent, float]:
    return MappingProxyType({to_intent(k): float(v) for k, v in value.items()})


def _check_distribution(
    _inst: object, _attr: attrs.Attribute[Mapping[Intent, float]], value: Mapping[Intent, float]
) -> None:
    missing = [i.value for i in ALL_INTENTS if i not in value]
    if missing:
        raise DomainValidationError("probabilities", f"missing intents: {', '.join(missing)}")
    for intent, p in value.items():
        if not math.isfinite(p) or not 0.0 <= p <= 1.0:
            raise DomainValidationError("probabilities", f"{intent.value} = {p!r} not in [0, 1]")
    total = sum(value.values())
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise DomainValidationError("probabilities", f"must sum to 1, sum is {total:.4f}")


@attrs.frozen(slots=True)
class IntentPrediction:
    """What the router decided for one message.

    ``top_intent``/``confidence`` are the classifier's best guess; ``intent`` is where the
    message is routed — the fallback intent when ``fallback`` is true.
    """

    probabilities: Mapping[Intent, float] = attrs.field(
        converter=_freeze_probabilities, validator=_check_distribution
    )
    top_intent: Intent
    confidence: float = attrs.field(validator=probability)
    intent: Intent
    fallback: bool

    def __attrs_post_init__(self) -> None:
        best = max(self.probabilities.values())
        if self.probabilities[self.top_intent] != best:
            raise DomainValidationError("top_intent", f"{self.top_intent.value} is not the most probable")
        if abs(self.confidence - best) > 1e-9:
            raise DomainValidationError("confidence", "must equal the top intent's probability")
        if not self.fallback and self.intent != self.top_intent:
            raise DomainValidationError("intent", "a non-fallback route must be the top intent")


@attrs.frozen(slots=True)
class RoutingPolicy:
    """Below ``threshold`` the message goes to ``fallback_intent`` and says so."""

    threshold: float = attrs.field(default=0.7, validator=probability)
    fallback_intent: Intent = attrs.field(default=Intent.GENERAL_CHAT, converter=to_intent)

    def decide(self, probabilities: Mapping[Intent, float] | Mapping[str, float]) -> IntentPrediction:
        """Apply the threshold to a full distribution over the eight intents."""
        frozen = _freeze_probabilities(probabilities)
        # Ties resolve in declaration order so the decision is deterministic.
        top = max(ALL_INTENTS, key=lambda i: (frozen.get(i, 0.0), -ALL_INTENTS.index(i)))
        confidence = frozen.get(top, 0.0)
        fallback = confidence < self.threshold
        return IntentPrediction(
            probabilities=frozen,
            top_intent=top,
            confidence=confidence,
            intent=self.fallback_intent if fallback else top,
            fallback=fallback,
        )
