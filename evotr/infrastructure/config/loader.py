"""Build validated ``Settings`` from evotr.yaml and the intents.yaml it points at.

Nothing is read at import time: the environment and the files are read only inside the calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from evotr.application.home import HomeFolderError
from evotr.application.serving.settings import ServeSettings
from evotr.application.settings import MemorySettings, ModelSettings, Settings
from evotr.domain.adapters import AdapterFamily
from evotr.domain.errors import DomainValidationError
from evotr.domain.feedback import TrainingGate
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.intents import Intent, RoutingPolicy
from evotr.domain.promotion import GatePolicy
from evotr.domain.sampling import SamplingParams
from evotr.infrastructure.config.errors import ConfigError
from evotr.infrastructure.config.model_path import resolve_model_path
from evotr.infrastructure.config.schema import check
from evotr.infrastructure.config.schemas import EVOTR_SCHEMA, INTENTS_SCHEMA, LEGACY_EMBEDDER_BACKEND
from evotr.infrastructure.config.yaml_source import YamlDocument, child_path, load_yaml
from evotr.infrastructure.filesystem.workspace import check_home_location

__all__ = [
    "ConfigError",
    "default_config_dir",
    "load_intent_mapping",
    "load_settings",
    "resolve_config_file",
]

CONFIG_NAME = "evotr.yaml"
HOME_ENV = "EVOTR_HOME"
CONFIG_ENV = "EVOTR_CONFIG"
DEFAULT_HOME = ".evotr"

T = TypeVar("T")


def default_config_dir() -> Path:
    """The packaged default configs.

    A wheel ships them as ``evotr/_default_configs``; an editable install reads the repo's
    ``configs/`` folder beside the ``evotr`` package.
    """
    package = Path(__file__).resolve().parents[2]  # evotr/infrastructure/config/loader.py
    bundled = package / "_default_configs"
    return bundled if bundled.is_dir() else package.parent / "configs"


def resolve_config_file(
    explicit: Path | None, home: Path | None, env: Mapping[str, str] | None = None
) -> Path:
    """Pick the config: ``--config`` > ``EVOTR_CONFIG`` > ``<home>/evotr.yaml`` > packaged default.

    An explicit or environment path is returned even if it does not exist, so that loading it
    reports the missing file instead of silently using another config.
    """
    if explicit is not None:
        return explicit
    environ = os.environ if env is None else env
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]).expanduser()
    if home is not None and (home / CONFIG_NAME).is_file():
        return home / CONFIG_NAME
    return default_config_dir() / CONFIG_NAME


def load_settings(
    config_file: Path, *, home: Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Load and validate ``config_file`` and its intents file into ``Settings``.

    The home folder is ``home`` if given, else ``EVOTR_HOME`` from ``env`` (default: the process
    environment), else the file's ``home`` key, else ``./.evotr``. Like every path in the file,
    ``home``, ``intents_file`` and a local ``model.path`` are relative to the config file's folder;
    ``home``/``EVOTR_HOME`` (typed on a command line) are relative to the working directory.
    Every problem raises ConfigError; a home that is a file (or under one) raises HomeFolderError.
    """
    environ = os.environ if env is None else env
    doc = load_yaml(config_file)
    raw = check(doc, EVOTR_SCHEMA)

    model = _build(doc, "model", lambda: ModelSettings(_model_path(doc, raw["model"]["path"])))
    routing = _build(
        doc,
        "router",
        lambda: RoutingPolicy(raw["router"]["threshold"], raw["router"]["fallback_intent"]),
        # Intent.parse reports the bad name under the generic field "intent".
        aliases={"intent": "fallback_intent"},
    )
    sampling = _build(doc, "sampling", lambda: SamplingParams(**raw["sampling"]))
    gate = _build(doc, "feedback", lambda: TrainingGate(raw["feedback"]["min_corrections"]))
    promotion = _build(doc, "feedback", lambda: GatePolicy(
        learned_share=raw["feedback"]["learned_share"], tolerance=raw["feedback"]["tolerance"],
        max_regression=raw["feedback"]["max_regression"]))

    serve = _build(doc, "serve", lambda: ServeSettings(**raw["serve"]))
    memory = _build(doc, "memory", lambda: MemorySettings(**raw["memory"]), aliases={"floor": "recall_floor"})
    intents_file = _intents_file(doc, raw["intents_file"])
    mapping = load_intent_mapping(intents_file)

    if home is not None:
        chosen_home = home
        check_home_location(home, "--home")
    elif environ.get(HOME_ENV):
        chosen_home = Path(environ[HOME_ENV]).expanduser()
        check_home_location(chosen_home, f"{HOME_ENV}={environ[HOME_ENV]}")
    elif raw["home"] is not None:
        chosen_home = _relative_to(doc, raw["home"])
        try:
            check_home_location(chosen_home, "home")
        except HomeFolderError as err:
            raise doc.error("home", err.problem) from None
    else:
        # Unset (the built-in config): the working directory's .evotr, as `evotr init` documents.
        chosen_home = Path(DEFAULT_HOME)

    return _build(
        doc,
        "",
        lambda: Settings(
            model=model,
            home=chosen_home,
            backends={port: name for port, name in raw["backends"].items()
                      if port != LEGACY_EMBEDDER_BACKEND},
            routing=routing,
            context_max_tokens=raw["context"]["max_tokens"],
            sampling=sampling,
            gate=gate,
            persona=raw["persona"],
            intents=mapping,
            config_file=config_file,
            intents_file=intents_file,
            promotion=promotion,
            auto_train=raw["feedback"]["auto_train"],
            serve=serve,
            memory=memory,
        ),
        aliases={"context_max_tokens": "context.max_tokens"},
    )


def load_intent_mapping(intents_file: Path) -> IntentMapping:
    """Load and validate an intents.yaml into the one intent → family mapping."""
    doc = load_yaml(intents_file)
    raw = check(doc, INTENTS_SCHEMA)
    families = frozenset(_family(doc, name, child_path("families", name)) for name in raw["families"])
    routes: dict[Intent, AdapterFamily] = {}
    examples: dict[Intent, tuple[str, ...]] = {}
    for name, entry in raw["intents"].items():
        intent = Intent(name)  # the schema admits only the eight intent names
        routes[intent] = _family(doc, entry["family"], f"intents.{name}.family")
        examples[intent] = tuple(entry["examples"])
    # IntentMapping's fields are already dotted paths of this file (e.g. intents.x.family).
    return _build(doc, "", lambda: IntentMapping(families, routes, examples))


def _model_path(doc: YamlDocument, value: str) -> str:
    # The local-folder-or-hub-id rule is documented in model_path.py.
    return resolve_model_path(value, doc.file.parent)


def _relative_to(doc: YamlDocument, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else doc.file.parent / path


def _intents_file(doc: YamlDocument, value: str) -> Path:
    path = _relative_to(doc, value)
    if not path.is_file():
        raise doc.error("intents_file", f"file does not exist: {path}")
    return path


def _family(doc: YamlDocument, name: str, path: str) -> AdapterFamily:
    try:
        return AdapterFamily(name)
    except DomainValidationError as err:
        raise doc.error(path, err.message) from None


def _build(
    doc: YamlDocument, prefix: str, factory: Callable[[], T], *, aliases: Mapping[str, str] | None = None
) -> T:
    """Run a value-object constructor and turn its DomainValidationError into a ConfigError.

    The domain names fields by attribute (``threshold``); ``prefix`` and ``aliases`` map that
    back to the YAML key path (``router.threshold``) so the error can name its line.
    """
    try:
        return factory()
    except DomainValidationError as err:
        field = (aliases or {}).get(err.field, err.field)
        raise doc.error(child_path(prefix, field), err.message) from None
