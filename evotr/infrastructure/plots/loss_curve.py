"""``loss.png``: a training run's train and validation loss per iteration."""

from __future__ import annotations

import io
from collections.abc import Sequence

from evotr.domain.training import LossPoint


def loss_curve_png(curve: Sequence[LossPoint], title: str) -> bytes:
    """PNG bytes: train loss as a line, validation loss as marked points, iterations on x."""
    # A bare Figure on the Agg canvas: no pyplot, no global backend switch, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for kind, marker, linestyle in (("train", ".", "-"), ("val", "o", "--")):
        points = [p for p in curve if p.kind == kind]
        if points:
            axes.plot([p.iteration for p in points], [p.loss for p in points], label=f"{kind} loss",
                      marker=marker, linestyle=linestyle)
    axes.set_xlabel("iteration")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if curve:
        axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
