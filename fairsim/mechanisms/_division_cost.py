"""Cost utilities and an MMS-allocation existence oracle (Botan, Ritossa, Suzuki, Walsh,
SAGT 2023, arXiv 2407.13171; spec ``division.md`` §2, §7).

Under cost utilities V[i, g] = c(g) * [g in A_i] with c >= 0 (A_i the approval set). The paper's
constructive procedures were not available, so :func:`mms_allocation` is an oracle [F]: a HiGHS
MILP (gap 0) over complete allocations with u_i >= MMS_i for all i.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms._division_common import Allocation, as_valuations


def cost_utility_matrix(c: Any, approvals: Any) -> np.ndarray:
    """V[i, g] = c[g] * approvals[i, g] (cost utilities, spec §2)."""
    cc = np.asarray(c, dtype=np.float64)
    ap = np.asarray(approvals)
    if cc.ndim != 1 or not np.all(np.isfinite(cc)) or np.any(cc < 0):
        raise InputError(f"c must be a 1-D array of finite costs >= 0; got {c!r}")
    if ap.ndim != 2 or ap.shape[1] != cc.size:
        raise InputError(f"approvals must have shape (n, {cc.size}); got {ap.shape}")
    if not np.all((ap == 0) | (ap == 1)):
        raise InputError("approvals must be 0/1 (or boolean)")
    return ap.astype(np.float64) * cc[None, :]


def mms_allocation(
    V: Any, *, time_limit: float | None = None, objective: str = "feasible"
) -> Allocation | None:
    """An allocation giving every agent its (goods) MMS, or None when none exists (proven).

    ``objective="max_min_ratio"`` instead maximises min_i u_i / MMS_i over agents with MMS_i > 0
    (as Allocations.jl ``alloc_mms``) and always returns an allocation; ``meta["ratio"]`` holds
    the value. MMS values come from :func:`fairsim.allocation.mms.maximin_shares_detailed`;
    unproven values raise InputError (the oracle would not be exact).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    from fairsim.allocation.mms import maximin_shares_detailed

    if objective not in ("feasible", "max_min_ratio"):
        raise InputError(f"objective must be 'feasible' or 'max_min_ratio'; got {objective!r}")
    A = as_valuations(V, sign="goods")
    n, m = A.shape
    res_m = maximin_shares_detailed(A, time_limit=time_limit)
    if not all(r.proven for r in res_m):
        raise InputError("MMS values could not be proven within the time limit")
    mms = np.array([r.value for r in res_m])
    ratio = objective == "max_min_ratio"
    nv = n * m + (1 if ratio else 0)
    rows, lo, hi = [], [], []
    for g in range(m):
        r = np.zeros(nv)
        r[g : n * m : m] = 1.0
        rows.append(r)
        lo.append(1.0)
        hi.append(1.0)
    for i in range(n):
        r = np.zeros(nv)
        r[i * m : (i + 1) * m] = A[i]
        if ratio:
            if mms[i] <= 0:
                continue
            r = r / mms[i]
            r[-1] = -1.0
            lo.append(0.0)
        else:
            lo.append(mms[i])
        rows.append(r)
        hi.append(np.inf)
    c = np.zeros(nv)
    ub = np.ones(nv)
    integ = np.ones(nv)
    if ratio:
        c[-1] = -1.0
        ub[-1] = float(n)  # u_i <= v_i(M) <= n * MMS_i
        integ[-1] = 0
    opts: dict[str, Any] = {"mip_rel_gap": 0.0, "disp": False}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lo, hi),
        bounds=Bounds(np.zeros(nv), ub),
        integrality=integ,
        options=opts,
    )
    if res.status == 2:
        return None
    if res.x is None:
        raise InputError(f"MMS oracle did not finish: {res.message}")
    x = np.round(res.x[: n * m]).reshape(n, m)
    out = np.argmax(x, axis=0).astype(np.int64)
    meta: dict[str, Any] = {"algorithm": "mms_allocation", "mms": mms, "exact": res.status == 0}
    if ratio:
        meta["ratio"] = float(res.x[-1])
    return Allocation(out, n, meta)
