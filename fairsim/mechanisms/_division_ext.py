"""Two agents with externalities (Aziz, Suksompong, Sun, Walsh, AAAI 2023, arXiv 2110.09066;
spec ``division.md`` §8).

``W[i, j, o]`` is agent i's value when item o goes to agent j; u_i(a) = sum_o W[i, a[o], o].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms._division_common import Allocation


def as_externalities(W: Any, name: str = "W") -> np.ndarray:
    """Validate an (n, n, m) externality tensor."""
    try:
        T = np.asarray(W, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a 3-D array of numbers; {exc}") from None
    if T.ndim != 3 or T.shape[0] != T.shape[1] or T.shape[0] < 1:
        raise InputError(f"{name} must have shape (n, n, m) with n >= 1; got {T.shape}")
    if not np.all(np.isfinite(T)):
        raise InputError(f"{name} holds NaN or inf")
    return T


def externality_two_agents(W: Any, *, efx: bool = True) -> Allocation:
    """Balance-then-choose for two agents with externalities (spec §8 [D]; that it is the
    paper's procedure is [U]).

    d(o) = W[0,0,o] - W[0,1,o]; items in order of |d| descending (``efx=True``) or by index go
    to B0 (D += d) when exactly one of D >= 0 and d >= 0 holds, else to B1 (D -= d); agent 1 takes
    its preferred bundle (ties: B0), agent 0 the other. EF1 in the externality sense; EFX with
    the sorted order in all checks of the spec.
    """
    T = as_externalities(W)
    if T.shape[0] != 2:
        raise InputError(f"W must describe 2 agents; got shape {T.shape}")
    m = T.shape[2]
    d = T[0, 0] - T[0, 1]
    order = np.argsort(-np.abs(d), kind="stable") if efx else np.arange(m)
    b0 = np.zeros(m, dtype=bool)
    D = 0.0
    for o in order.tolist():
        if (D >= 0) != (d[o] >= 0):
            b0[o] = True
            D += d[o]
        else:
            D -= d[o]
    take0 = T[1, 1, b0].sum() + T[1, 0, ~b0].sum()  # agent 1 takes B0
    take1 = T[1, 1, ~b0].sum() + T[1, 0, b0].sum()
    out = np.where(b0, 1, 0) if take0 >= take1 else np.where(b0, 0, 1)
    meta = {"algorithm": "externality_two_agents", "efx_order": efx}
    return Allocation(out.astype(np.int64), 2, meta)
