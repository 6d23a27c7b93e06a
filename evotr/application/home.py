"""Use case: create the home folder with its database and adapter store."""

from __future__ import annotations

from pathlib import Path

import attrs

from evotr.ports.adapter_store import AdapterStore
from evotr.ports.feedback_repository import FeedbackRepository
from evotr.ports.workspace import Workspace


@attrs.frozen(slots=True)
class InitReport:
    """What `evotr init` did."""

    home: Path
    created: tuple[Path, ...]


class InitHome:
    """Idempotent: creates what is missing and never overwrites what the user has."""

    def __init__(
        self, workspace: Workspace, feedback: FeedbackRepository, adapters: AdapterStore
    ) -> None:
        self._workspace = workspace
        self._feedback = feedback
        self._adapters = adapters

    def execute(self) -> InitReport:
        """Lay out folders and configs, then create/migrate the DB and the adapter registry."""
        created = self._workspace.initialize()
        self._feedback.initialize()
        self._adapters.initialize()
        return InitReport(self._workspace.root, tuple(created))
