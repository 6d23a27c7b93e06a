"""Long-term memory use cases: recall before a turn, remember after it, and the user's controls."""

from evotr.application.memory.control import (
    ClearMemories,
    ExportMemories,
    ForgetMemory,
    ListMemories,
    MemoryNotFoundError,
    MemoryView,
    SearchMemories,
    ShowMemory,
)
from evotr.application.memory.recall import RecallMemory, Recollection
from evotr.application.memory.remember import LongTermMemory, RememberTurn
from evotr.application.memory.writes import BackgroundWrites

__all__ = [
    "BackgroundWrites",
    "ClearMemories", "ExportMemories", "ForgetMemory", "ListMemories", "LongTermMemory",
    "MemoryNotFoundError",
    "MemoryView", "RecallMemory", "Recollection", "RememberTurn", "SearchMemories", "ShowMemory",
]
