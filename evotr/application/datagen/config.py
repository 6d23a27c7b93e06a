"""What configs/generation.yaml holds, validated: the generator's limits and the data categories.

Pure value objects; ``evotr.infrastructure.config.generation`` builds them from the YAML file.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from evotr.domain.errors import DomainValidationError, EvoTrError
from evotr.domain.validation import non_empty_text, non_negative_int, positive_int

# The same set as BACKEND_CHOICES["generator"], in the order generation.yaml documents.
GENERATOR_BACKENDS = ("gemma", "mlx", "memory")
DEFAULT_SHAPE = '{"user": "...", "assistant": "..."}'
# The placeholders a prompt template may use; {topic} and {instruction} are required.
TEMPLATE_FIELDS = frozenset({"instruction", "topic", "seed", "style", "shape"})
# Category names become folder names under data/generated/.
_CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class UnknownCategoryError(EvoTrError, LookupError):
    """A data category that configs/generation.yaml does not define."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown category {name!r}; categories in generation.yaml: {', '.join(known) or 'none'}"
        )
        self.name = name


def _template(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    non_empty_text(_inst, attribute, value)
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(value) if field is not None}
    except ValueError as exc:
        raise DomainValidationError(attribute.name, f"is not a valid template: {exc}") from None
    unknown = sorted(n for n in names if n not in TEMPLATE_FIELDS)
    if unknown:
        raise DomainValidationError(
            attribute.name,
            f"unknown placeholder {{{unknown[0]}}}; allowed: "
            + ", ".join(f"{{{n}}}" for n in sorted(TEMPLATE_FIELDS))
            + " (write {{ and }} for literal braces)",
        )
    for needed in ("topic", "instruction"):
        if needed not in names:
            raise DomainValidationError(attribute.name, f"must contain {{{needed}}}")
    if not names & {"seed", "style"}:
        raise DomainValidationError(attribute.name, "must contain {seed} or {style} so prompts vary")


def _texts(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value or any(not isinstance(v, str) or not v.strip() for v in value):
        raise DomainValidationError(attribute.name, "must be a non-empty list of non-empty texts")


def _texts_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _category_name(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not _CATEGORY_RE.fullmatch(value):
        raise DomainValidationError(
            attribute.name, f"{value!r} must be lower-case letters, digits and _ (a folder name)"
        )


@attrs.frozen(slots=True)
class ValidationRules:
    """Extra checks a category's samples must pass besides non-empty user/assistant turns."""

    python_code: bool = False
    require_code_block: bool = False


@attrs.frozen(slots=True)
class CategorySpec:
    """One kind of training data: what to ask the model for, and how to check the answer."""

    name: str = attrs.field(validator=_category_name)
    instruction: str = attrs.field(validator=non_empty_text)
    prompt_template: str = attrs.field(validator=_template)
    topics: tuple[str, ...] = attrs.field(converter=_texts_tuple, validator=_texts)
    shape: str = attrs.field(default=DEFAULT_SHAPE, validator=non_empty_text)
    validation: ValidationRules = attrs.field(factory=ValidationRules)
    styles: tuple[str, ...] = attrs.field(default=("doğal",), converter=_texts_tuple, validator=_texts)

    def prompt(self, topic: str, seed: int, style: str) -> str:
        """The prompt text for one sample (the instruction goes into the user turn)."""
        return self.prompt_template.format(
            instruction=self.instruction.strip(), topic=topic, seed=seed, style=style,
            shape=self.shape.strip(),
        )


@attrs.frozen(slots=True)
class GeneratorSettings:
    """Which generator makes the data, and the API limits it must stay under."""

    backend: str = attrs.field(default="gemma", validator=attrs.validators.in_(GENERATOR_BACKENDS))
    model: str = attrs.field(default="gemma-3-27b-it", validator=non_empty_text)
    base_url: str | None = None
    rpm: int = attrs.field(default=30, validator=positive_int)
    tpm: int = attrs.field(default=15000, validator=positive_int)
    rpd: int = attrs.field(default=14400, validator=positive_int)
    concurrency: int = attrs.field(default=8, validator=positive_int)
    temperature: float = 1.0
    max_output_tokens: int = attrs.field(default=1024, validator=positive_int)
    # A request that gets no HTTP answer (dead endpoint, no network) is retried this often, with
    # backoff from retry_backoff_s doubling each time, then the run stops: "cannot reach …".
    max_retries: int = attrs.field(default=4, validator=non_negative_int)
    retry_backoff_s: float = 1.0
    timeout_s: float = 60.0

    def __attrs_post_init__(self) -> None:
        if isinstance(self.temperature, bool) or not 0.0 <= float(self.temperature) <= 2.0:
            raise DomainValidationError("temperature", f"must be between 0 and 2, got {self.temperature!r}")
        for name in ("retry_backoff_s", "timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not 0.0 < float(value) <= 3600.0:
                raise DomainValidationError(name, f"must be a number of seconds in (0, 3600], got {value!r}")


@attrs.frozen(slots=True)
class GenerationConfig:
    """The whole generation.yaml: generator settings plus every category by name."""

    generator: GeneratorSettings
    categories: Mapping[str, CategorySpec]

    def category(self, name: str) -> CategorySpec:
        """The named category; UnknownCategoryError lists the defined ones."""
        try:
            return self.categories[name]
        except KeyError:
            raise UnknownCategoryError(name, sorted(self.categories)) from None

    def with_limits(
        self, *, rpm: int | None = None, tpm: int | None = None, rpd: int | None = None,
        backend: str | None = None, concurrency: int | None = None, max_retries: int | None = None,
    ) -> GenerationConfig:
        """A copy with command-line overrides applied (None keeps the file's value)."""
        changes: dict[str, Any] = {
            k: v for k, v in (("rpm", rpm), ("tpm", tpm), ("rpd", rpd), ("backend", backend),
                              ("concurrency", concurrency), ("max_retries", max_retries)) if v is not None
        }
        return attrs.evolve(self, generator=attrs.evolve(self.generator, **changes))
