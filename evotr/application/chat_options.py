"""One message's overrides of the chat turn (the HTTP API sets them; the CLI uses the defaults)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from evotr.domain.sampling import SamplingParams
from evotr.domain.stop_sequences import StopSequences


@attrs.frozen(slots=True)
class ChatOptions:
    """One message's overrides (the HTTP API): the client's system prompt, sampling, stop strings.

    ``system=None`` means the configured persona; ``sampling=None`` the configured sampling.
    """

    system: str | None = None
    sampling: SamplingParams | None = None
    stop: StopSequences = attrs.field(factory=StopSequences)
    # False: neither recall into this message's prompt nor remember it (long-term memory).
    memory: bool = True
    # Asked once the model has finished, before the turn is stored: true (the client went away
    # while the last piece was made) ends the turn with nothing stored, as closing it would.
    gone: Callable[[], bool] | None = None
