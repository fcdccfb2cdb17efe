"""HiGHS MILP fallback for the maximin share (spec ``division.md`` §3.4).

``scipy`` is imported inside the function so that importing :mod:`fairsim.allocation.mms` stays
cheap. The model is solved with ``mip_rel_gap=0``: HiGHS' default gap (1e-4) was seen to report
*optimal* for an MMS below the true value (spec §3.6).
"""

from __future__ import annotations

import math

import numpy as np


def milp_mms(
    v: np.ndarray, n: int, lo: int, hi: int, chores: bool, time_limit: float
) -> tuple[np.ndarray | None, float | None]:
    """Solve the MMS MILP for sorted (descending) int64 values ``v``.

    Goods: maximise t with every bundle sum >= t; chores: minimise t with every sum <= t; t is an
    integer in ``[lo, hi]``; sorted item g may use only bundles ``0..g`` (symmetry breaking).
    Returns ``(partition or None, dual_bound or None)``; the partition is item -> bundle.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    m = v.shape[0]
    nv = m * n + 1
    c = np.zeros(nv)
    c[-1] = -1.0 if not chores else 1.0
    A = lil_matrix((m + n, nv))
    lb_c = np.zeros(m + n)
    ub_c = np.zeros(m + n)
    for g in range(m):
        for b in range(n):
            A[g, g * n + b] = 1.0
        lb_c[g] = ub_c[g] = 1.0
    for b in range(n):
        for g in range(m):
            A[m + b, g * n + b] = float(v[g])
        A[m + b, nv - 1] = -1.0
        if chores:
            lb_c[m + b], ub_c[m + b] = -np.inf, 0.0
        else:
            lb_c[m + b], ub_c[m + b] = 0.0, np.inf
    ub = np.ones(nv)
    lb = np.zeros(nv)
    for g in range(m):
        for b in range(g + 1, n):
            ub[g * n + b] = 0.0
    lb[-1], ub[-1] = float(lo), float(hi)
    integrality = np.ones(nv)
    opts: dict[str, float | bool] = {"mip_rel_gap": 0.0, "disp": False}
    if math.isfinite(time_limit):
        opts["time_limit"] = max(float(time_limit), 0.01)
    res = milp(
        c,
        constraints=LinearConstraint(A.tocsr(), lb_c, ub_c),
        bounds=Bounds(lb, ub),
        integrality=integrality,
        options=opts,
    )
    dual = getattr(res, "mip_dual_bound", None)
    dual_v: float | None = None
    if dual is not None and np.isfinite(dual):
        dual_v = -float(dual) if not chores else float(dual)
    if res.x is None:
        return None, dual_v
    x = np.round(res.x[:-1]).reshape(m, n)
    part = np.argmax(x, axis=1).astype(np.int64)
    return part, dual_v
