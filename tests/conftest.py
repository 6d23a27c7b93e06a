"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evotr.infrastructure.mlx.blas import prepare_blas

REPO = Path(__file__).resolve().parent.parent

# As the CLI does: OpenBLAS (where installed) for MLX's CPU fp32 matmuls, loaded before any test
# imports mlx, so every test in this process computes with the same BLAS.
prepare_blas()
CONFIGS = REPO / "configs"


@pytest.fixture
def shipped_configs(tmp_path: Path) -> Path:
    """A private copy of configs/ that a test may edit."""
    target = tmp_path / "configs"
    target.mkdir()
    for name in ("evotr.yaml", "intents.yaml"):
        (target / name).write_text((CONFIGS / name).read_text("utf-8"), "utf-8")
    return target


@pytest.fixture(scope="session")
def _router_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One machine-wide router cache for the whole run (persistence.router_cache): a home on the
    shipped examples trains its router once per run, not once per test (~8 s each)."""
    return tmp_path_factory.mktemp("evotr-cache")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, _router_cache: Path) -> None:
    """No test reads the developer's own EVO-TR home, config, API keys or cache."""
    ours = ("EVOTR_HOME", "EVOTR_CONFIG", "EVOTR_GENAI_BASE_URL")
    for name in list(os.environ):
        if name.startswith("GOOGLE_API_KEY") or name in ours:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("EVOTR_CACHE_DIR", str(_router_cache))
