"""A PNG confusion matrix (matplotlib's Agg canvas, imported only when a plot is asked for)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from evotr.domain.errors import EvoTrError
from evotr.infrastructure.filesystem.atomic import atomic_write_bytes


class RouterPlotError(EvoTrError):
    """The plot could not be written."""


def confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str) -> bytes:
    """PNG bytes of ``matrix`` (rows: true intent, columns: routed intent), counts in each cell."""
    # A bare Figure on the Agg canvas: no pyplot, no global backend switch, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.5, 7.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    peak = max((max(row) for row in matrix), default=0)
    for r, row in enumerate(matrix):
        for c, count in enumerate(row):
            axes.text(c, r, str(count), ha="center", va="center",
                      color="white" if count > peak / 2 else "black")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("routed intent")
    axes.set_ylabel("true intent")
    axes.set_title(title)
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path,
                        title: str = "Router confusion matrix") -> None:
    """Render and write the PNG atomically; an unwritable path is a one-line error."""
    data = confusion_png(matrix, labels, title)
    try:
        atomic_write_bytes(path, data)
    except OSError as error:
        raise RouterPlotError(f"cannot write the plot to {path}: {error.strerror or error}") from None
