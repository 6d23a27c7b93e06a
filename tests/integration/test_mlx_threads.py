"""A thread that generated with MLX and called finish_mlx_thread() lets the process exit cleanly.

Without it, mlx 0.32 aborted at exit ("terminate called without an active exception") in about
two of three runs: the thread's random key is destroyed after join() returns, and its destructor
takes the GIL while the main thread finalises. One run cannot show a race, so the script runs
several times; each run that aborts fails the test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

RUNS = 5
SCRIPT = textwrap.dedent("""
    import sys, threading
    import mlx_lm
    from mlx_lm.sample_utils import make_sampler
    from evotr.infrastructure.mlx.threads import finish_mlx_thread

    model, tokenizer = mlx_lm.load(sys.argv[1])

    def generate():
        for _ in mlx_lm.stream_generate(model, tokenizer, "merhaba", max_tokens=4,
                                        sampler=make_sampler(temp=0.8)):
            pass
        finish_mlx_thread()

    thread = threading.Thread(target=generate)
    thread.start()
    thread.join()
    print("generated")
""")


@pytest.mark.integration
def test_a_process_whose_generation_thread_finished_mlx_exits_cleanly(tmp_path: Path) -> None:
    tiny = ensure_tiny_model(tmp_path / "tiny")
    for run in range(RUNS):
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny)], capture_output=True, text=True,
                              timeout=120)
        assert (done.returncode, done.stdout.strip()) == (0, "generated"), \
            f"run {run + 1} of {RUNS}: exit {done.returncode}\n{done.stderr[-2000:]}"
