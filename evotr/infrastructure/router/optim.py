"""A small L-BFGS minimiser (two-loop recursion, Armijo backtracking) for smooth convex problems."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evotr.infrastructure.router.features import FloatArray

Objective = Callable[[FloatArray], tuple[float, FloatArray]]


def dot(a: FloatArray, b: FloatArray) -> float:
    """Inner product of two flat vectors."""
    # einsum, not BLAS: OpenBLAS threads made 1-D dots ~20x slower on a busy 2-core machine.
    return float(np.einsum("i,i->", a, b))


def lbfgs(fun: Objective, theta: FloatArray, max_iter: int, history: int = 10,
          tol: float = 1e-6) -> FloatArray:
    """Minimise ``fun`` (value and gradient) from ``theta``; deterministic for the same inputs."""
    value, grad = fun(theta)
    pairs: list[tuple[FloatArray, FloatArray, float]] = []
    for _ in range(max_iter):
        if float(np.max(np.abs(grad))) < tol:
            break
        q = grad.copy()
        alphas = []
        for s, yv, rho in reversed(pairs):
            a = rho * dot(s, q)
            q -= a * yv
            alphas.append(a)
        gamma = dot(pairs[-1][0], pairs[-1][1]) / dot(pairs[-1][1], pairs[-1][1]) if pairs else 1.0
        direction = gamma * q
        for (s, yv, rho), a in zip(pairs, reversed(alphas), strict=True):
            direction += s * (a - rho * dot(yv, direction))
        direction = -direction
        slope = dot(grad, direction)
        if slope >= 0.0:  # not a descent direction: restart from steepest descent
            pairs.clear()
            direction, slope = -grad, -dot(grad, grad)
        step = 1.0
        while True:
            candidate = theta + step * direction
            new_value, new_grad = fun(candidate)
            if new_value <= value + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, yv = candidate - theta, new_grad - grad
        sy = dot(s, yv)
        if sy > 1e-12:
            pairs = [*pairs[-(history - 1):], (s, yv, 1.0 / sy)]
        converged = value - new_value <= 1e-10 * max(1.0, abs(value))
        theta, value, grad = candidate, new_value, new_grad
        if converged:
            break
    return theta
