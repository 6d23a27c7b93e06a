"""EVO-TR: a local, self-improving Turkish + Python assistant on MLX.

Importing this package loads nothing heavy: no weights, no database, no environment reads.
``build_assistant`` imports the machinery only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evotr.application.assistant import Assistant

__version__ = "0.1.0"
__all__ = ["__version__", "build_assistant"]


def build_assistant(*args: Any, **kwargs: Any) -> Assistant:
    """Build an :class:`~evotr.application.assistant.Assistant` (see ``evotr.entrypoints.library``)."""
    from evotr.entrypoints.library import build_assistant as build

    return build(*args, **kwargs)
