"""The schemas of configs/evotr.yaml and configs/intents.yaml, with the shipped defaults."""

from __future__ import annotations

from evotr.application.settings import BACKEND_CHOICES, EMBEDDER_CHOICES, SECOND_OPINIONS
from evotr.domain.intents import ALL_INTENTS
from evotr.infrastructure.config.schema import ListOf, MapOf, Scalar, Section

_TEXT = (str,)
_NUMBER = (float,)
_INT = (int,)

DEFAULT_PERSONA = (
    "Sen EVO-TR'sin: Türkçe konuşan, Python konusunda yardımcı olan, kullanıcının bilgisayarında\n"
    "çalışan kişisel bir asistansın. Kısa, doğru ve nazik yanıt ver; emin olmadığın yerde bunu söyle.\n"
)

LEGACY_EMBEDDER_BACKEND = "embedder"

EVOTR_SCHEMA = Section(
    {
        "model": Section({"path": Scalar(_TEXT, non_empty=True)}, required=True),
        # Unset means ./.evotr in the working directory; a set value is relative to the file.
        "home": Scalar(_TEXT, default=None, nullable=True, non_empty=True),
        # Each port defaults to its first listed implementation, the production one.
        "backends": Section(
            {
                port: Scalar(_TEXT, default=choices[0], choices=choices)
                for port, choices in BACKEND_CHOICES.items()
            }
            # Homes made before memory.embedder existed carry `embedder: memory` here; it is read
            # and dropped (memory.embedder chooses), so those homes keep working.
            | {LEGACY_EMBEDDER_BACKEND: Scalar(_TEXT, default=None, nullable=True, choices=("memory",))}
        ),
        "router": Section(
            {
                "threshold": Scalar(_NUMBER, default=0.7),
                "fallback_intent": Scalar(_TEXT, default="general_chat"),
            }
        ),
        "context": Section({"max_tokens": Scalar(_INT, default=4096)}),
        "sampling": Section(
            {
                "temperature": Scalar(_NUMBER, default=0.7),
                "top_p": Scalar(_NUMBER, default=0.9),
                "max_tokens": Scalar(_INT, default=512),
                "seed": Scalar(_INT, default=None, nullable=True),
            }
        ),
        "feedback": Section(
            {
                "min_corrections": Scalar(_INT, default=10),
                "max_regression": Scalar(_NUMBER, default=0.05),
                "learned_share": Scalar(_NUMBER, default=0.8),
                "tolerance": Scalar(_NUMBER, default=0.05),
                "auto_train": Scalar((bool,), default=False),
            }
        ),
        "serve": Section(
            {
                "host": Scalar(_TEXT, default="127.0.0.1", non_empty=True),
                "port": Scalar(_INT, default=8321),
                "max_queue": Scalar(_INT, default=16),
                "max_body_bytes": Scalar(_INT, default=512 * 1024),
                "cors_origins": ListOf(Scalar(_TEXT, non_empty=True), required=False),
            }
        ),
        "memory": Section(
            {
                "embedder": Scalar(_TEXT, default=EMBEDDER_CHOICES[0], choices=EMBEDDER_CHOICES),
                "chroma_url": Scalar(_TEXT, default=None, nullable=True, non_empty=True),
                "enabled": Scalar((bool,), default=True),
                "query_map": Scalar((bool, str), default=True, choices=("tower", "map")),
                "second_opinion": Scalar(_TEXT, default=None, nullable=True, choices=SECOND_OPINIONS),
                "cap": Scalar(_INT, default=10_000),
                "recall_chars": Scalar(_INT, default=2_000),
                "recall_k": Scalar(_INT, default=5),
                "recall_floor": Scalar(_NUMBER, default=None, nullable=True),
                "merge_threshold": Scalar(_NUMBER, default=None, nullable=True),
                "exemplars_k": Scalar(_INT, default=2),
                "exemplar_floor": Scalar(_NUMBER, default=None, nullable=True),
                "exemplar_cache": Scalar(_INT, default=256),
            }
        ),
        "intents_file": Scalar(_TEXT, default="intents.yaml", non_empty=True),
        "persona": Scalar(_TEXT, default=DEFAULT_PERSONA, non_empty=True),
    }
)

_INTENT_ENTRY = Section(
    {
        "family": Scalar(_TEXT, non_empty=True),
        "description": Scalar(_TEXT, default=""),
        "examples": ListOf(Scalar(_TEXT, non_empty=True), min_items=1),
    },
    required=True,
)

INTENTS_SCHEMA = Section(
    {
        "families": MapOf(Section({"description": Scalar(_TEXT, default="")})),
        "intents": Section(
            {intent.value: _INTENT_ENTRY for intent in ALL_INTENTS},
            required=True,
            noun="intent",
            list_valid=True,
        ),
    }
)
