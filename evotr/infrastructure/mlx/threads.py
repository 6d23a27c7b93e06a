"""MLX and threads: what a thread that computed with MLX must do before it ends."""

from __future__ import annotations

import sys


def finish_mlx_thread() -> None:
    """Wait for this thread's MLX work and drop its MLX state; call it last on a thread that generated.

    Two ways a generating thread made the process abort at exit ("terminate called without an
    active exception", exit 134 / -6), both measured on mlx 0.32 CPU:

    - work still queued on the thread's streams (the default one and mlx-lm's thread-local
      generation stream) when the thread ends;
    - the thread's random key (``mx.random`` keeps one per thread, as a Python list): its
      thread-local destructor runs after ``Thread.join()`` has returned and takes the GIL; if
      the main thread is finalising the interpreter by then, the GIL request ends the thread
      inside a C++ destructor and the runtime aborts (seen in 19 of 30 runs of a thread that
      sampled with mlx-lm). ``mx.clear_streams()`` drops the key while this thread still holds
      the GIL, and the streams this thread created with it.

    Nothing to do if MLX was never imported.
    """
    if "mlx.core" not in sys.modules:
        return
    import mlx.core as mx

    mx.synchronize()
    generate = sys.modules.get("mlx_lm.generate")
    stream = getattr(generate, "generation_stream", None)
    if stream is not None:
        mx.synchronize(stream)
    clear = getattr(mx, "clear_streams", None)  # mlx >= 0.30; older versions keep the race
    if clear is not None:
        clear()
