"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from evotr.infrastructure.mlx.blas import prepare_blas


@pytest.fixture(scope="session")
def blas_library() -> str:
    """The optimised BLAS that the CPU decode paths (sgemv, row decoder) call; skip without one."""
    status = prepare_blas()
    if not (status.optimised and status.path):
        pytest.skip(f"the fast CPU decode needs an optimised BLAS (Debian: libopenblas0-pthread); "
                    f"this run has {status.describe()}")
    return status.path
