"""Load configs/generation.yaml into a validated ``GenerationConfig``.

Same rules as evotr.yaml: unknown keys, wrong types and invalid values are one ConfigError
naming ``file:line: key``. The file sits next to the evotr.yaml in use, else the packaged one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from evotr.application.datagen.config import (
    DEFAULT_SHAPE,
    GENERATOR_BACKENDS,
    CategorySpec,
    GenerationConfig,
    GeneratorSettings,
    ValidationRules,
)
from evotr.domain.errors import DomainValidationError
from evotr.infrastructure.config.schema import ListOf, MapOf, Scalar, Section, check
from evotr.infrastructure.config.yaml_source import YamlDocument, child_path, load_yaml

GENERATION_NAME = "generation.yaml"
DEFAULT_STYLES = ("doğal, günlük bir dille",)

_TEXT = (str,)
_INT = (int,)
_TEXTS = ListOf(Scalar(_TEXT, non_empty=True), min_items=1)

GENERATION_SCHEMA = Section(
    {
        "generator": Section(
            {
                "backend": Scalar(_TEXT, default="gemma", choices=GENERATOR_BACKENDS),
                "model": Scalar(_TEXT, default="gemma-3-27b-it", non_empty=True),
                "base_url": Scalar(_TEXT, default=None, nullable=True, non_empty=True),
                "rpm": Scalar(_INT, default=30),
                "tpm": Scalar(_INT, default=15000),
                "rpd": Scalar(_INT, default=14400),
                "concurrency": Scalar(_INT, default=8),
                "temperature": Scalar((float,), default=1.0),
                "max_output_tokens": Scalar(_INT, default=1024),
                "max_retries": Scalar(_INT, default=4),
                "retry_backoff_s": Scalar((float,), default=1.0),
                "timeout_s": Scalar((float,), default=60.0),
            }
        ),
        "styles": ListOf(Scalar(_TEXT, non_empty=True), required=False, min_items=1),
        "categories": MapOf(
            Section(
                {
                    "instruction": Scalar(_TEXT, non_empty=True),
                    "prompt_template": Scalar(_TEXT, non_empty=True),
                    "topics": _TEXTS,
                    "shape": Scalar(_TEXT, default=DEFAULT_SHAPE, non_empty=True),
                    "styles": ListOf(Scalar(_TEXT, non_empty=True), required=False, min_items=1),
                    "validation": Section(
                        {
                            "python_code": Scalar((bool,), default=False),
                            "require_code_block": Scalar((bool,), default=False),
                        }
                    ),
                },
                required=True,
            ),
            required=True,
        ),
    }
)

T = TypeVar("T")


def generation_config_file(config_file: Path | None, default_dir: Path) -> Path:
    """generation.yaml beside ``config_file`` (the evotr.yaml in use) if there is one, else the
    copy in ``default_dir`` (the packaged configs)."""
    if config_file is not None and (config_file.parent / GENERATION_NAME).is_file():
        return config_file.parent / GENERATION_NAME
    return default_dir / GENERATION_NAME


def load_generation_config(file: Path) -> GenerationConfig:
    """Read and validate ``file``; every problem raises ConfigError with its line and key."""
    doc = load_yaml(file)
    raw = check(doc, GENERATION_SCHEMA)
    generator = _build(doc, "generator", lambda: GeneratorSettings(**raw["generator"]))
    styles = tuple(raw["styles"]) or DEFAULT_STYLES
    categories: dict[str, CategorySpec] = {}
    for name, entry in raw["categories"].items():
        prefix = child_path("categories", name)
        categories[name] = _build(doc, prefix, functools.partial(_category, name, entry, styles),
                                  aliases={"name": ""})
    return GenerationConfig(generator, categories)


def _category(name: str, entry: dict[str, Any], styles: tuple[str, ...]) -> CategorySpec:
    return CategorySpec(
        name=name,
        instruction=entry["instruction"],
        prompt_template=entry["prompt_template"],
        topics=tuple(entry["topics"]),
        shape=entry["shape"],
        validation=ValidationRules(**entry["validation"]),
        styles=tuple(entry["styles"]) or styles,
    )


def _build(doc: YamlDocument, prefix: str, factory: Callable[[], T], *,
           aliases: dict[str, str] | None = None) -> T:
    """Run a constructor; its DomainValidationError becomes a ConfigError at ``prefix.field``."""
    try:
        return factory()
    except DomainValidationError as err:
        field = (aliases or {}).get(err.field, err.field)
        path = child_path(prefix, field) if field else prefix
        raise doc.error(path, err.message) from None
