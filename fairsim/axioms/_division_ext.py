"""Envy-based checks with externalities (spec ``division.md`` §8 [F]).

i envies j iff swapping their bundles strictly helps i: sum_{pi_j} d_ij - sum_{pi_i} d_ij > 0
with d_ij(o) = W[i,i,o] - W[i,j,o]. EF1-ext: deleting some o in pi_i or pi_j removes the envy;
EFX-ext: deleting any o that strictly reduces the envy removes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.errors import InputError


def _ext_check(W: Any, alloc: Any, tol: float | None, kind: str) -> Verdict:
    from fairsim.mechanisms._division_ext import as_externalities

    T = as_externalities(W)
    n, _, m = T.shape
    x = np.asarray(getattr(alloc, "assignment", alloc), dtype=np.int64)
    if x.shape != (m,) or np.any((x < 0) | (x >= n)):
        raise InputError(f"assignment must have shape ({m},) with entries in 0..{n - 1}")
    if tol is None:
        integral = bool(np.all(T == np.round(T)))
        tol = 0.0 if integral else 1e-9 * max(1.0, float(np.abs(T).sum(axis=(1, 2)).max()))
    worst, wit = np.inf, None
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            d = T[i, i] - T[i, j]
            contrib = np.where(x == j, d, np.where(x == i, -d, 0.0))
            envy = float(contrib.sum())
            if envy <= 0:
                s = -envy
            elif kind == "ef1":
                s = -(envy - float(contrib.max()))
            else:
                pos = contrib[contrib > 0]
                s = -(envy - float(pos.min()))
            if s < worst:
                worst = s
                wit = {"envier": i, "envied": j, "pair": (i, j), "envy": envy}
    holds = bool(worst >= -tol)
    return Verdict(f"{kind}_ext", holds, None if holds else wit, float(worst))


def ef1_ext(W: Any, alloc: Any, *, tol: float | None = None) -> Verdict:
    """EF1 with externalities (spec §8 [F])."""
    return _ext_check(W, alloc, tol, "ef1")


def efx_ext(W: Any, alloc: Any, *, tol: float | None = None) -> Verdict:
    """EFX with externalities (spec §8 [F])."""
    return _ext_check(W, alloc, tol, "efx")
