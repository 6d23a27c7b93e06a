"""OpenBLAS for MLX's CPU fp32 path (issue 9 item 3): found, bound, logged, and a clean fallback.

Each case runs in a fresh interpreter: the BLAS is chosen once per process, before mlx.core is
imported. No timings here (performance lives in benchmarks/bench_blas.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evotr.infrastructure.mlx import blas

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")]

HAS_OPENBLAS = blas._find("") is not None
needs_openblas = pytest.mark.skipif(not HAS_OPENBLAS, reason=f"apt-get install {blas.APT_PACKAGE}")

# Prints the chosen status, what libmlx is really bound to after import, and a small matmul.
PROBE = """
import json, sys
from evotr.infrastructure.mlx import blas
if sys.argv[1] == "late":
    import mlx.core
status = blas.configure_blas()
import mlx.core as mx
import numpy as np
a = mx.random.normal((64, 96), key=mx.random.key(0))
b = mx.random.normal((96, 80), key=mx.random.key(1))
ia = mx.random.randint(-8, 9, (64, 96), key=mx.random.key(2)).astype(mx.float32)
ib = mx.random.randint(-8, 9, (96, 80), key=mx.random.key(3)).astype(mx.float32)
np.save(sys.argv[2] + "_normal.npy", np.array(a @ b))
np.save(sys.argv[2] + "_integer.npy", np.array(ia @ ib))
print(json.dumps({"name": status.name, "path": status.path, "optimised": status.optimised,
                  "reason": status.reason, "hint": status.hint, "bound": blas.mlx_binding()}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (blas.ENV, "LD_PRELOAD")}
    return {**env, **extra}  # OPENBLAS_* settings of this machine stay as they are


def _probe(tmp_path: Path, tag: str, mode: str = "early", **extra: str) -> tuple[dict[str, Any], str]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode, str(tmp_path / tag)], env=_env(**extra),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def _wheel_blas() -> str:
    bundled = blas._wheel_reference_blas()
    if bundled is None:
        pytest.skip("mlx is not the mlx-cpu wheel with its bundled reference BLAS")
    return os.path.realpath(bundled)


@needs_openblas
def test_openblas_is_found_and_mlx_binds_to_it(tmp_path: Path) -> None:
    status, _ = _probe(tmp_path, "open")
    assert status["optimised"] and status["name"].startswith("OpenBLAS"), status
    assert "openblas" in Path(status["path"]).name
    assert status["bound"] == status["path"]  # libmlx's own cblas_sgemm slot points into it


def test_off_keeps_the_wheels_reference_blas(tmp_path: Path) -> None:
    wheel = _wheel_blas()
    status, stderr = _probe(tmp_path, "off", **{blas.ENV: "off"})
    assert (status["optimised"], status["reason"], status["hint"]) == (False, "EVOTR_BLAS=off", "")
    assert status["bound"] == wheel and status["name"] == "reference BLAS (mlx-cpu wheel)"
    assert "BLAS" not in stderr  # the user chose it: no warning (the INFO line needs logging set up)


@needs_openblas
def test_fp32_matmul_same_results_with_and_without_openblas(tmp_path: Path) -> None:
    import numpy as np

    on, _ = _probe(tmp_path, "on")
    off, _ = _probe(tmp_path, "ref", **{blas.ENV: "off"})
    assert on["optimised"] and not off["optimised"]
    # Integer-valued inputs: every partial sum is exact in fp32, so any summation order agrees.
    assert np.array_equal(np.load(tmp_path / "on_integer.npy"), np.load(tmp_path / "ref_integer.npy"))
    # General inputs: OpenBLAS sums in another order (FMA, blocking); only rounding may differ.
    fast, ref = np.load(tmp_path / "on_normal.npy"), np.load(tmp_path / "ref_normal.npy")
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-5 * float(np.abs(ref).max()) + 1e-6)


def test_unloadable_override_falls_back_with_a_one_line_warning(tmp_path: Path) -> None:
    wheel = _wheel_blas()
    status, stderr = _probe(tmp_path, "bad", **{blas.ENV: str(tmp_path / "libopenblas.so.0")})
    assert not status["optimised"] and status["bound"] == wheel
    assert "EVOTR_BLAS=" in status["hint"] and "\n" not in status["hint"]
    # Without logging configured, Python's last-resort handler still shows a warning, once.
    line = f"BLAS for MLX's CPU fp32 matmuls: {status['name']} from {status['path']}; {status['hint']}"
    assert [x for x in stderr.splitlines() if "BLAS" in x] == [line]


def test_missing_openblas_warns_with_the_apt_package() -> None:
    _wheel_blas()
    code = ("import logging; logging.basicConfig(level=logging.INFO)\n"
            "from evotr.infrastructure.mlx import blas\n"
            "blas._find = lambda choice: None\n"  # as on a machine without OpenBLAS
            "blas.configure_blas(); blas.configure_blas()\n")
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True,
                         timeout=60, check=True)
    lines = [line for line in out.stderr.splitlines() if "blas" in line]
    assert len(lines) == 1 and lines[0].startswith("WARNING"), out.stderr
    assert f"apt-get install {blas.APT_PACKAGE}" in lines[0] and "reference BLAS" in lines[0]


@needs_openblas
def test_mlx_imported_first_is_reported_with_the_preload_hint(tmp_path: Path) -> None:
    status, _ = _probe(tmp_path, "late", mode="late")
    assert not status["optimised"] and status["reason"] == "mlx.core was imported first"
    assert "LD_PRELOAD=" in status["hint"] and status["bound"] == status["path"]


@pytest.mark.parametrize(("setting", "expected"), [("", "OpenBLAS"), ("off", "reference BLAS")])
def test_cli_start_up_logs_which_blas(tmp_path: Path, setting: str, expected: str) -> None:
    if expected == "OpenBLAS" and not HAS_OPENBLAS:
        pytest.skip(f"apt-get install {blas.APT_PACKAGE}")
    command = [sys.executable, "-m", "evotr", "--home", str(tmp_path / "home"), "init"]
    env = _env(**({blas.ENV: setting} if setting else {}))
    verbose = subprocess.run([command[0], *command[1:3], "-v", *command[3:]], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60, check=True)
    line = [x for x in verbose.stderr.splitlines() if "BLAS for MLX" in x]
    assert len(line) == 1 and line[0].startswith("INFO") and expected in line[0], verbose.stderr
    quiet = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                           check=True)
    assert "BLAS" not in quiet.stderr  # nothing to fix: nothing said without --verbose


def test_importing_evotr_loads_no_blas() -> None:
    code = ("import evotr, evotr.entrypoints.cli.main, sys\n"
            "maps = open('/proc/self/maps').read()\n"
            "print('openblas' in maps, 'mlx.core' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_nothing_changes_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(blas, "_find", lambda choice: pytest.fail("looked for OpenBLAS off Linux"))
    status = blas._choose({})
    assert status.optimised and status.path is None and not status.hint
