"""An optimised BLAS for MLX's CPU fp32 path on Linux: load the system OpenBLAS before ``mlx.core``.

The ``mlx-cpu`` wheel's ``libmlx.so`` takes ``cblas_sgemm`` & co. from a bundled netlib *reference*
BLAS (``mlx_cpu.libs/libblas-*.so.3``, a plain DT_NEEDED: no DT_SYMBOLIC, no RTLD_DEEPBIND). The
dynamic linker looks a symbol up in the global scope before a library's own dependencies, so an
OpenBLAS opened with ``RTLD_GLOBAL`` *before* ``import mlx.core`` provides every BLAS/LAPACK symbol
libmlx needs; no ``LD_PRELOAD`` re-exec is needed. Opened afterwards it is too late: Python imports
extensions with ``RTLD_NOW``, which binds them at import. Nothing changes on macOS (Accelerate).

``EVOTR_BLAS`` picks: unset = find OpenBLAS, a path = that library, ``off`` = keep the wheel's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import mmap
import os
import platform
import struct
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["APT_PACKAGE", "ENV", "BlasStatus", "configure_blas", "mlx_binding", "prepare_blas"]

ENV = "EVOTR_BLAS"
APT_PACKAGE = "libopenblas0-pthread"
SYMBOL = "cblas_sgemm"  # what MLX's fp32 matmul calls

_log = logging.getLogger(__name__)
_status: BlasStatus | None = None
_logged = False


@dataclass(frozen=True)
class BlasStatus:
    """Which BLAS MLX's CPU fp32 matmuls use (or will use once ``mlx.core`` is imported)."""

    name: str            # "OpenBLAS 0.3.21 (Haswell, 2 threads)", "reference BLAS (mlx-cpu wheel)"
    path: str | None     # the library file providing cblas_sgemm, when known
    optimised: bool      # False for the reference BLAS: fp32 matmuls are slow
    reason: str = ""     # how it was chosen (EVOTR_BLAS=off, imported too late, ...)
    hint: str = ""       # what the user can do, when something could be better

    def describe(self) -> str:
        """One line for the start-up log."""
        where = f" from {self.path}" if self.path else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"BLAS for MLX's CPU fp32 matmuls: {self.name}{where}{why}"


def configure_blas(env: Mapping[str, str] | None = None) -> BlasStatus:
    """Load OpenBLAS if it helps and is found, then log once which BLAS is in use.

    Call it before anything imports ``mlx``; later calls return the first answer.
    """
    global _logged
    status = prepare_blas(env)
    if not _logged:
        _logged = True
        if status.hint and not status.reason:  # nothing chose the reference BLAS: say how to fix it
            _log.warning("%s; %s", status.describe(), status.hint)
        else:
            _log.info("%s%s", status.describe(), f"; {status.hint}" if status.hint else "")
    return status


def prepare_blas(env: Mapping[str, str] | None = None) -> BlasStatus:
    """Choose and load the BLAS without logging; the answer is computed once per process."""
    global _status
    if _status is None:
        _status = _choose(os.environ if env is None else env)
    return _status


def _choose(env: Mapping[str, str]) -> BlasStatus:
    if not sys.platform.startswith("linux"):
        return BlasStatus("the platform's BLAS (unchanged)", None, optimised=True)
    choice = env.get(ENV, "").strip()
    off = choice.lower() == "off"
    if "mlx.core" in sys.modules:  # too late to change anything: report what libmlx is bound to
        status = _status_of(mlx_binding() or _global_provider())
        if status.optimised or off:
            return _status_of(status.path, f"{ENV}=off" if off else "")
        found = _find(choice)
        hint = (f"import evotr before mlx, or run with LD_PRELOAD={found}" if found
                else f"install OpenBLAS: apt-get install {APT_PACKAGE}")
        return BlasStatus(status.name, status.path, False, "mlx.core was imported first", hint)
    if off:
        return _status_of(_global_provider(), reason=f"{ENV}=off")
    path, problem = _find(choice), f"no {SYMBOL} in it"
    if path is not None:
        try:
            ctypes.CDLL(path, mode=os.RTLD_GLOBAL | os.RTLD_NOW)
        except OSError as exc:  # a missing or broken library: keep the wheel's BLAS
            problem = str(exc).splitlines()[0] if str(exc) else "cannot load it"
    status = _status_of(_global_provider())
    if status.optimised:
        return status
    if choice:
        return BlasStatus(status.name, status.path, False, "",
                          f"{ENV}={choice}: {problem}; unset it or point it at libopenblas.so.0")
    return BlasStatus(status.name, status.path, False, "",
                      f"install OpenBLAS for much faster fp32 (apt-get install {APT_PACKAGE})")


def _status_of(provider: str | None, reason: str = "") -> BlasStatus:
    """Describe the library that provides ``cblas_sgemm`` (None: the one libmlx links itself)."""
    if provider is None:
        bundled = _wheel_reference_blas()
        if bundled is None:
            return BlasStatus("the BLAS mlx was built with", None, True, reason)
        return BlasStatus("reference BLAS (mlx-cpu wheel)", bundled, False, reason)
    if "mlx_cpu.libs" in provider:
        return BlasStatus("reference BLAS (mlx-cpu wheel)", provider, False, reason)
    if "openblas" in Path(provider).name.lower():
        return BlasStatus(_openblas_name(provider), provider, True, reason)
    return BlasStatus(Path(provider).name, provider, True, reason)


def _find(choice: str) -> str | None:
    """The OpenBLAS to load: ``choice`` when it is a path, else the usual Debian/Fedora places."""
    if choice:
        return choice if choice.lower() != "off" else None
    machine = platform.machine()
    triplets = {sysconfig.get_config_var("MULTIARCH") or "", f"{machine}-linux-gnu"} - {""}
    places = [f"/usr/lib/{t}/{sub}libopenblas.so.0" for t in sorted(triplets)
              for sub in ("", "openblas-pthread/", "openblas-openmp/", "openblas-serial/")]
    places += ["/usr/lib64/libopenblas.so.0", "/usr/lib64/libopenblasp.so.0", "/usr/lib/libopenblas.so.0",
               "/usr/local/lib/libopenblas.so.0"]
    for place in places:
        if os.path.exists(place):
            return place
    return ctypes.util.find_library("openblas")  # asks ldconfig: a slower last resort


# ---------------------------------------------------------------------------------------------
# Which library provides a symbol: dlsym + dladdr through ctypes


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _library_at(address: int | None) -> str | None:
    """The real path of the shared library that contains ``address`` (dladdr)."""
    if not address:
        return None
    info = _DlInfo()
    dladdr = ctypes.CDLL(None).dladdr
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    if not dladdr(ctypes.c_void_p(address), ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.path.realpath(os.fsdecode(info.dli_fname))


def _global_provider() -> str | None:
    """The library in the global scope providing ``cblas_sgemm``: what libmlx will bind to.

    The mlx-cpu wheel's own libblas is opened RTLD_LOCAL, so it never appears here.
    """
    try:
        function = getattr(ctypes.CDLL(None), SYMBOL)
    except AttributeError:
        return None
    return _library_at(ctypes.cast(function, ctypes.c_void_p).value)


def _openblas_name(path: str) -> str:
    """``OpenBLAS 0.3.21 (Haswell, 2 threads)`` from the library's own introspection calls."""
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        version = (lib.openblas_get_config() or b"OpenBLAS").decode().split()[:2]
        core = (lib.openblas_get_corename() or b"?").decode()
        return f"{' '.join(version)} ({core}, {lib.openblas_get_num_threads()} threads)"
    except (OSError, AttributeError):
        return "OpenBLAS"


def _wheel_reference_blas() -> str | None:
    """The netlib libblas the mlx-cpu wheel bundles, found without importing mlx."""
    import importlib.util

    spec = importlib.util.find_spec("mlx")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        libs = Path(folder).parent / "mlx_cpu.libs"
        found = sorted(libs.glob("libblas*.so*")) if libs.is_dir() else []
        if found:
            return str(found[0])
    return None


# ---------------------------------------------------------------------------------------------
# What libmlx *is* bound to: read its GOT slot for cblas_sgemm (ELF64, little-endian)


def _mapped(name: str) -> tuple[str, int, list[tuple[int, int]]] | None:
    """(path, load base, readable ranges) of the loaded library called ``name``, from /proc/self/maps."""
    path, base, readable = None, None, []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                if len(fields) < 6 or os.path.basename(fields[5].strip()) != name:
                    continue
                start, end = (int(x, 16) for x in fields[0].split("-"))
                path = fields[5].strip()
                if int(fields[2], 16) == 0:
                    base = start if base is None else min(base, start)
                if "r" in fields[1]:
                    readable.append((start, end))
    except OSError:
        return None
    return (path, base, readable) if path and base is not None else None


def _got_offsets(path: str, symbol: str) -> list[int]:
    """Virtual addresses of the relocation slots (GOT entries) that ``path`` fills with ``symbol``."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as elf:
        if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:  # 64-bit, little-endian only
            return []
        shoff, = struct.unpack_from("<Q", elf, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
        wanted = symbol.encode() + b"\0"
        slots = []
        for _name, kind, _flags, _addr, offset, size, link, _info, _align, _entsize in sections:
            if kind != 4 or sections[link][1] != 11:  # SHT_RELA against SHT_DYNSYM
                continue
            symtab, strtab = sections[link][4], sections[sections[link][6]][4]
            for at in range(offset, offset + size, 24):
                r_offset, r_info = struct.unpack_from("<QQ", elf, at)
                st_name, = struct.unpack_from("<I", elf, symtab + (r_info >> 32) * 24)
                if r_info >> 32 and elf[strtab + st_name:strtab + st_name + len(wanted)] == wanted:
                    slots.append(r_offset)
        return slots


def mlx_binding(library: str = "libmlx.so", symbol: str = SYMBOL) -> str | None:
    """The real path of the library that the loaded ``libmlx.so`` calls for ``symbol``.

    Reads libmlx's own relocation slot after the dynamic linker filled it, so it is the binding
    in effect, not a prediction. None when libmlx is not loaded or the slot cannot be read.
    """
    mapped = _mapped(library)
    if mapped is None:
        return None
    path, base, readable = mapped
    try:
        slots = _got_offsets(path, symbol)
    except (OSError, ValueError, struct.error, IndexError):
        return None
    for slot in slots:
        address = base + slot
        if any(start <= address and address + 8 <= end for start, end in readable):
            target = _library_at(ctypes.c_void_p.from_address(address).value)
            if target is not None and target != os.path.realpath(path):  # not an unbound PLT stub
                return target
    return None
