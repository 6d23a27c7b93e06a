"""What every benchmark module needs: process memory, timing, statistics, machine facts, files.

Nothing here imports MLX at module level, so the model builders can use the file helpers
without paying for it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from evotr.infrastructure.filesystem.atomic import replace_dir

MB = 1_000_000


# ---------------------------------------------------------------------------------------------
# Process memory


def _proc_status_bytes(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (``VmRSS``, ``VmHWM``) in bytes; None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def rss_bytes() -> int:
    """Resident set size now (Linux /proc); elsewhere the peak, the best getrusage offers."""
    now = _proc_status_bytes("VmRSS")
    return now if now is not None else peak_rss_bytes()


def peak_rss_bytes() -> int:
    """Peak resident set size of this process."""
    peak = _proc_status_bytes("VmHWM")
    if peak is not None:
        return peak
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # bytes on macOS, KiB else


def _malloc_trim() -> None:
    """Hand freed heap pages back to the OS (glibc only), so RSS counts live memory.

    Without it, buffers freed earlier (the backend's bf16 -> float32 cast frees the bf16
    originals) stay resident and new arrays reuse them: RSS would then hide real growth.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def release_garbage() -> None:
    """Collect Python garbage and empty MLX's buffer cache (freed arrays stay cached otherwise)."""
    import mlx.core as mx

    gc.collect()
    mx.clear_cache()


def settled_rss() -> int:
    """RSS once Python garbage, MLX's buffer cache and free heap pages are released."""
    release_garbage()
    _malloc_trim()
    return rss_bytes()


def active_bytes() -> int:
    """Bytes of live MLX arrays (MLX's own count; exact where RSS is blurred by the heap)."""
    import mlx.core as mx

    return int(mx.get_active_memory())


class Memory(NamedTuple):
    """Settled RSS and MLX's live bytes, taken together."""

    rss: int
    active: int


def memory_now() -> Memory:
    """Both views of memory; RSS first, since settling it also frees MLX's cached buffers."""
    return Memory(settled_rss(), active_bytes())


# ---------------------------------------------------------------------------------------------
# Timing and statistics


class Stopwatch:
    """``with Stopwatch() as watch: ...``; afterwards ``watch.seconds`` is how long it took.

    For coarse timings (loads, builds); the per-switch loop calls ``perf_counter`` itself so
    that nothing but the switch sits between the two readings.
    """

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method) without numpy."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p95, mean, min and max of ``values``."""
    return {"median": statistics.median(values), "p95": percentile(values, 95),
            "mean": statistics.fmean(values), "min": min(values), "max": max(values)}


# ---------------------------------------------------------------------------------------------
# Machine facts


def machine_info() -> dict[str, Any]:
    """Where the numbers were measured: OS, CPU, Python, MLX and mlx-lm, device, date (UTC)."""
    import mlx.core as mx
    import mlx_lm

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "mlx": mx.__version__,
        "mlx_lm": mlx_lm.__version__,
        "device": str(mx.default_device()),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------------------------
# Files


def write_json(data: dict[str, Any], path: Path) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a results file is for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None if it is missing or unreadable (a cache miss, not an error)."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def staged_dir(out_dir: Path) -> Iterator[Path]:
    """A fresh sibling folder to write into; when the block succeeds it replaces ``out_dir``.

    A reader never sees a half-written folder, and a failed build leaves the old one intact.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        yield staging
        replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise



def dir_size(path: Path) -> int:
    """Bytes of the regular files directly in ``path``."""
    return sum(p.stat().st_size for p in Path(path).iterdir() if p.is_file())


def console() -> Any:
    """A rich console; piped output gets 120 columns instead of rich's default 80 (tables are wide)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120)


def finish(out_console: Any, result: dict[str, Any], table: Any, out: Path) -> int:
    """Write the JSON, print the table and where it went; exit 0 only if every target passed."""
    path = write_json(result, out)
    out_console.print(table)
    out_console.print(f"results: {path}")
    return 0 if result["pass"]["all"] else 1
