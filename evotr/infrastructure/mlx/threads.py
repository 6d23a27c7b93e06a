"""MLX and threads: what a thread that computed with MLX must do before it ends."""

from __future__ import annotations

import sys


def finish_mlx_thread() -> None:
    """Wait for this thread's pending MLX work; call it last on a thread that generated.

    A thread that sampled (``mx.random``) and ends with work still queued on its stream makes
    MLX abort when the process exits ("terminate called without an active exception", exit 134),
    measured on mlx 0.32 CPU. Nothing to do if MLX was never imported.
    """
    if "mlx.core" not in sys.modules:
        return
    import mlx.core as mx

    mx.synchronize()
