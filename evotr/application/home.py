"""Use case: create the home folder with its database and adapter store; the home's errors."""

from __future__ import annotations

from pathlib import Path

import attrs

from evotr.domain.errors import EvoTrError
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.feedback_repository import FeedbackRepository
from evotr.ports.workspace import Workspace


class HomeFolderError(EvoTrError):
    """The home folder cannot be used: a file is in the way, it is missing, or it is read-only.

    ``str()`` is one line: ``<origin>: <problem>`` (origin: ``--home``, ``EVOTR_HOME=…``,
    ``home folder``); ``problem`` alone is what a config error quotes at the `home` key.
    """

    def __init__(self, origin: str, problem: str) -> None:
        self.origin = origin
        self.problem = problem
        super().__init__(f"{origin}: {problem}")


@attrs.frozen(slots=True)
class InitReport:
    """What `evotr init` did."""

    home: Path
    created: tuple[Path, ...]


class InitHome:
    """Idempotent: creates what is missing and never overwrites what the user has.

    Every command that stores something (init, chat, ask, the demo, the library) runs this
    first, so a home that cannot be written fails here, before a model is loaded or an answer
    is generated that could not be saved.
    """

    def __init__(
        self, workspace: Workspace, feedback: FeedbackRepository, adapters: AdapterStore
    ) -> None:
        self._workspace = workspace
        self._feedback = feedback
        self._adapters = adapters

    def execute(self) -> InitReport:
        """Lay out folders and configs, check the home is writable, then create/migrate the DB."""
        created = self._workspace.initialize()
        self._workspace.check_writable()
        self._feedback.initialize()
        self._adapters.initialize()
        return InitReport(self._workspace.root, tuple(created))
