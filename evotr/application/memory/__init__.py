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

__all__ = [
    "ClearMemories", "ExportMemories", "ForgetMemory", "ListMemories", "LongTermMemory",
    "MemoryNotFoundError",
    "MemoryView", "RecallMemory", "Recollection", "RememberTurn", "SearchMemories", "ShowMemory",
]
