"""The library API object: ``assistant.chat()``, ``stream()``, ``feedback()``, ``reset()``."""

from __future__ import annotations

from collections.abc import Iterator

from evotr.application.chat import AdapterChoice, ChatReply, ChatSession, ChatTurn, ChooseAdapter
from evotr.application.feedback import FeedbackReport, GetFeedbackStats, RecordFeedback
from evotr.application.learning.auto_train import AutoTrain, AutoTrainState
from evotr.application.memory import BackgroundWrites, ForgetMemory
from evotr.domain.errors import EvoTrError
from evotr.domain.feedback import FeedbackKind
from evotr.domain.memory_rules import Recalled
from evotr.domain.turns import TurnId
from evotr.ports.background_training import BackgroundRun

FeedbackValue = str | FeedbackKind | tuple[str, str]


class Assistant:
    """One conversation with EVO-TR; build it with ``evotr.build_assistant()``."""

    def __init__(
        self,
        chat_turn: ChatTurn,
        record_feedback: RecordFeedback,
        feedback_stats: GetFeedbackStats,
        choose_adapter: ChooseAdapter,
        source: str = "library",
        auto_train: AutoTrain | None = None,
        forget_memory: ForgetMemory | None = None,
        memory_writes: BackgroundWrites | None = None,
    ) -> None:
        self._chat_turn = chat_turn
        self._forget_memory = forget_memory
        self._memory_writes = memory_writes
        self._auto_train = auto_train
        # The background `feedback train` the latest verdict started (feedback.auto_train), if any.
        self.started_training: BackgroundRun | None = None
        self._choose_adapter = choose_adapter
        self._record_feedback = record_feedback
        self._feedback_stats = feedback_stats
        self._source = source
        self.session = ChatSession()
        self.adapter = AdapterChoice()

    def set_adapter(self, value: str) -> AdapterChoice:
        """``auto`` (route every message), ``none`` (base model) or a family name (checked now)."""
        self.adapter = self._choose_adapter.execute(value)
        return self.adapter

    def stream(self, text: str, adapter: str | None = None) -> Iterator[str | ChatReply]:
        """Yield the reply's text pieces, then the ChatReply."""
        choice = self.adapter if adapter is None else self._choose_adapter.execute(adapter)
        return self._chat_turn.execute(self.session, text, choice, self._source)

    def chat(self, text: str, adapter: str | None = None) -> ChatReply:
        """Answer one message and return the reply object."""
        for item in self.stream(text, adapter):
            if isinstance(item, ChatReply):
                return item
        raise RuntimeError("the chat turn ended without a reply")  # pragma: no cover

    def feedback(self, turn_id: str | None, value: FeedbackValue, *, intent: str | None = None) -> int:
        """``"thumbs_up"``, ``"thumbs_down"`` or ``("correction", text)`` on a turn.

        Without ``turn_id`` it judges the answer just returned; after a message that failed or was
        stopped there is none, and NoFeedbackTargetError says so rather than judging an older one.
        A correction's ``intent`` names the intent the message was meant for (the router learns it).
        """
        target = turn_id or self.session.feedback_target()
        if isinstance(value, tuple):
            kind, text = value
            stored = self._record_feedback.execute(target, kind, text, self._source, intent)
        else:
            stored = self._record_feedback.execute(target, value, None, self._source, intent)
        # A correction that opens its family's gate starts `feedback train` in the background
        # (feedback.auto_train); the conversation goes on with the current adapter meanwhile.
        self.started_training = None if self._auto_train is None else self._auto_train.after_feedback(target)
        return stored

    def stats(self) -> FeedbackReport:
        """Feedback counts and the training gate."""
        return self._feedback_stats.execute()

    def training_state(self) -> AutoTrainState | None:
        """Automatic training: on or off, the run in progress, the last decision (None if not wired)."""
        return None if self._auto_train is None else self._auto_train.state()

    @property
    def recalled(self) -> tuple[Recalled, ...]:
        """The long-term memories put into the last answer's prompt (what `/memory` shows)."""
        return self.session.recalled

    def flush(self) -> None:
        """Wait until long-term memory has stored what the last answers taught (it writes in the
        background; the next message waits anyway)."""
        if self._memory_writes is not None:
            self._memory_writes.flush()

    def forget(self, memory_id: str) -> list[str]:
        """Delete a long-term memory (and the older values it replaced); the ids deleted."""
        if self._forget_memory is None:
            raise EvoTrError("long-term memory is not wired into this assistant")
        self.flush()  # a fact still being written must not come back after being forgotten
        return self._forget_memory.execute(memory_id)

    @property
    def last_turn_id(self) -> TurnId | None:
        """The id of the answer just returned (None after a failed or stopped message)."""
        return self.session.last_turn_id

    def reset(self) -> None:
        """Start a new conversation (what was stored stays stored)."""
        self.session.reset()
