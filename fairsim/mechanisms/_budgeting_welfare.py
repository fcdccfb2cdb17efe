"""Utilitarian optimum: exact 0/1 knapsack with HiGHS (spec ``budgeting.md`` §4.5)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.mechanisms._budgeting_common import Outcome, check_election, check_utility, tie_rank


def _solve(
    w: np.ndarray, c: np.ndarray, cap: float, lb: np.ndarray, ub: np.ndarray, floor: float | None
):
    from scipy.optimize import Bounds, LinearConstraint, milp

    rows = [c[None, :]]
    lo = [-np.inf]
    hi = [cap]
    if floor is not None:
        rows.append(w[None, :])
        lo.append(floor)
        hi.append(np.inf)
    res = milp(
        -w,
        constraints=LinearConstraint(np.vstack(rows), lo, hi),
        integrality=np.ones(w.size),
        bounds=Bounds(lb, ub),
        options={"mip_rel_gap": 0.0},
    )
    if res.status != 0 or res.x is None:
        return None
    return np.round(res.x).astype(bool)


def max_welfare(e: Any, utility: str = "cost", *, tie_break: Any = None) -> Outcome:
    """Utilitarian optimum (spec §4.5): maximise sum_c omega_c x_c s.t. cost(x) <= B, x binary.

    omega_c = s_c cost(c) (cost utility) or s_c (cardinality). Projects with omega_c = 0 are never
    chosen; cost-0 projects with omega_c > 0 always are. Solved exactly with HiGHS
    (``scipy.optimize.milp``, ``mip_rel_gap=0``). Ties [F]: projects are fixed in tie order to 1
    whenever an optimal set containing them exists (at most m MILPs); ``tie_break="solver"``
    keeps the solver's first optimum. ``details["welfare"]`` is the optimum.
    """
    check_election(e)
    utility = check_utility(utility)
    solver_ties = isinstance(tie_break, str) and tie_break == "solver"
    rank = tie_rank(e, None if solver_ties else tie_break)
    s = np.asarray(e.support(), dtype=np.float64)
    omega = s * e.costs if utility == "cost" else s.copy()
    eps = 1e-9 * max(1.0, e.budget)
    free = [j for j in range(e.m) if omega[j] > 0 and e.costs[j] == 0]
    var = np.flatnonzero((omega > 0) & (e.costs > 0))
    chosen = np.zeros(e.m, dtype=bool)
    chosen[free] = True
    if var.size:
        w, c = omega[var], e.costs[var]
        lb, ub = np.zeros(var.size), np.ones(var.size)
        x = _solve(w, c, e.budget + eps, lb, ub, None)
        assert x is not None  # x = 0 is always feasible
        best = float(w[x].sum())
        if not solver_ties:
            floor = best - 1e-9 * max(1.0, best)
            for k in np.argsort(rank[var], kind="stable"):
                if x[k]:
                    lb[k] = 1.0
                    continue
                lb[k] = 1.0
                y = _solve(w, c, e.budget + eps, lb, ub, floor)
                if y is None:
                    lb[k], ub[k] = 0.0, 0.0
                else:
                    x = y
        chosen[var[x]] = True
    order = sorted(np.flatnonzero(chosen).tolist(), key=lambda j: rank[j])
    return Outcome(
        [e.project_ids[j] for j in order],
        {
            "rule": "max_welfare",
            "utility": utility,
            "cost": float(e.costs[order].sum()) if order else 0.0,
            "tie_breaks": [],
            "welfare": float(omega[order].sum()) if order else 0.0,
        },
    )
