"""Use case: start-up — validate adapters, load the base model once, register every version."""

from __future__ import annotations

import logging
import threading

from evotr.application.adapters import ValidateAdapters
from evotr.application.memory.second_opinion import SecondOpinion
from evotr.domain.adapters import AdapterVersion
from evotr.domain.errors import EvoTrError
from evotr.domain.intent_mapping import IntentMapping
from evotr.domain.relevance.letters import vocabulary as spelled_words
from evotr.domain.relevance.thesaurus import shipped as shipped_thesaurus
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.llm_backend import LLMBackend

logger = logging.getLogger("evotr.startup")


class WarmUp:
    """After this, any adapter switch is an in-memory swap: no file is read per message."""

    def __init__(self, mapping: IntentMapping, store: AdapterStore, llm: LLMBackend,
                 second: SecondOpinion | None = None) -> None:
        self._mapping = mapping
        self._store = store
        self._llm = llm
        # Recall's second opinion (memory on), loaded beside the base model rather than by the
        # first unsure question.
        self._second = second
        self.warming: threading.Thread | None = None

    @property
    def second(self) -> SecondOpinion | None:
        """The second opinion this start-up loads (None: memory off or no second opinion)."""
        return self._second

    def execute(self) -> list[AdapterVersion]:
        """Raise AdapterValidationError for a broken active adapter; return the versions registered."""
        reports = ValidateAdapters(self._mapping, self._store).execute()
        # Active versions were just checked (and would have raised); only the others need a look.
        checked = {r.active for r in reports if r.active is not None}
        # Recall's thesaurus (~0.9 s to read) and the spellings it knows (~0.2 s) are read here,
        # not on the first message.
        shipped_thesaurus()
        spelled_words()
        if self._second is not None:
            # Not a daemon: a one-shot process that ends first waits the ~0.15 s rather than
            # stopping the model's C engine mid-load.
            self.warming = threading.Thread(target=_warm, args=(self._second,), name="evotr-second-opinion")
            self.warming.start()
        self._llm.load()
        registry = self._store.load_registry()
        registered = []
        for state in registry.families.values():
            if state.family not in self._mapping.families:
                continue
            for number in state.versions:
                version = AdapterVersion(state.family, number)
                if version in self._llm.registered_adapters():
                    continue
                problems = [] if version in checked else self._store.problems(version)
                if problems:
                    # Inactive and broken: it cannot be served anyway, so it must not block start-up.
                    logger.warning("skipping %s: %s", version, "; ".join(problems))
                    continue
                try:
                    self._llm.register_adapter(version, self._store.path(version))
                except EvoTrError as exc:
                    if version in checked:
                        raise
                    # Inactive and not fitting the loaded base model (trained on another model of
                    # this home, e.g. by `evotr demo --tiny`): skip it as a broken one.
                    logger.warning("skipping %s: %s", version, exc)
                    continue
                registered.append(version)
        return registered


def _warm(second: SecondOpinion) -> None:
    try:
        second.warm()
    except EvoTrError as exc:
        # Not installed or not loadable: recall says so where it asks; start-up goes on.
        logger.warning("second opinion not loaded: %s", exc)
