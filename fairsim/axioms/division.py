"""Fairness axioms for indivisible items (spec ``shared/spec/division.md`` §9), utility form.

Every check takes ``V`` (n_agents x m) and an :class:`~fairsim.mechanisms.division.Allocation`
or an assignment array (``-1`` = discarded item) and returns a :class:`Verdict` whose slack is
``>= 0`` iff the axiom holds. ``tol=None`` means 0 for integer data and
``1e-9 * max(1, max_i sum_g |V[i, g]|)`` otherwise. Mixed goods/chores follow
Aziz-Caragiannis-Igarashi-Walsh (EF1, EFX) and Aziz-Moulin-Sandomirskiy (PROP1).
Registered as kind ``"axiom"`` under ``division.<name>``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.axioms._division_ext import ef1_ext, efx_ext
from fairsim.errors import InputError
from fairsim.registry import register


def _prep(V: Any, alloc: Any, tol: float | None) -> tuple[np.ndarray, np.ndarray, float, int]:
    from fairsim.mechanisms._division_common import as_valuations

    A = as_valuations(V)
    n, m = A.shape
    a = getattr(alloc, "assignment", alloc)
    try:
        x = np.asarray(a, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"alloc must be an Allocation or an assignment array; {exc}") from None
    if x.shape != (m,):
        raise InputError(f"assignment must have shape ({m},); got {x.shape}")
    if np.any((x < -1) | (x >= n)):
        g = int(np.flatnonzero((x < -1) | (x >= n))[0])
        raise InputError(f"assignment[{g}]={x[g]} outside -1..{n - 1}")
    if tol is None:
        integral = bool(np.all(A == np.round(A)))
        tol = 0.0 if integral else 1e-9 * max(1.0, float(np.abs(A).sum(axis=1).max()))
    return A, x, float(tol), n


def _U(A: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    U = np.zeros((n, n))
    for j in range(n):
        U[:, j] = A[:, x == j].sum(axis=1)
    return U


def envy_graph(V: Any, alloc: Any, *, tol: float | None = None) -> np.ndarray:
    """E[i, j] = u_i(A_j) > u_i(A_i) + tol (spec §9)."""
    A, x, t, n = _prep(V, alloc, tol)
    U = _U(A, x, n)
    return U > np.diag(U)[:, None] + t


def _pairwise(V: Any, alloc: Any, tol: float | None, name: str, kind: str) -> Verdict:
    A, x, t, n = _prep(V, alloc, tol)
    U = _U(A, x, n)
    best = np.inf
    wit = None
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            diff = U[i, i] - U[i, j]
            Ai = np.flatnonzero(x == i)
            Aj = np.flatnonzero(x == j)
            item = None
            if kind == "ef" or diff >= 0:
                s = diff
            elif kind == "ef1":
                gains = [(A[i, o], int(o)) for o in Aj] + [(-A[i, o], int(o)) for o in Ai]
                g, item = max(gains) if gains else (0.0, None)
                s = max(diff, diff + g)
            else:  # efx: every improving item must remove the envy
                gains = [(A[i, o], int(o)) for o in Aj if A[i, o] > 0]
                gains += [(-A[i, o], int(o)) for o in Ai if A[i, o] < 0]
                if kind == "efx0":
                    gains += [(0.0, int(o)) for o in Aj if A[i, o] == 0]
                g, item = min(gains)
                s = diff + g
            if s < best:
                best = s
                if s < -t:
                    wit = {"envier": i, "envied": j, "pair": (i, j), "diff": float(diff)}
                    if item is not None:
                        wit["item"] = item
    holds = best >= -t
    return Verdict(name, bool(holds), None if holds else wit, float(best))


def ef(V: Any, alloc: Any, *, tol: float | None = None) -> Verdict:
    """Envy-freeness: u_i(A_i) >= u_i(A_j) for all i != j (spec §9)."""
    return _pairwise(V, alloc, tol, "ef", "ef")


def ef1(V: Any, alloc: Any, *, tol: float | None = None) -> Verdict:
    """EF1 (Lipton et al. 2004; mixed: Aziz-Caragiannis-Igarashi-Walsh): removing one item of
    A_i or A_j removes i's envy. The witness names the pair and the best item (spec §9)."""
    return _pairwise(V, alloc, tol, "ef1", "ef1")


def efx(V: Any, alloc: Any, *, tol: float | None = None, zeros: str = "exclude") -> Verdict:
    """EFX (Caragiannis et al. 2019): removing ANY improving item removes the envy (spec §9).

    ``zeros="include"`` also removes zero-valued goods (EFX_0, Plaut-Roughgarden).
    """
    if zeros not in ("exclude", "include"):
        raise InputError(f"zeros must be 'exclude' or 'include'; got {zeros!r}")
    return _pairwise(V, alloc, tol, "efx", "efx" if zeros == "exclude" else "efx0")


def prop(V: Any, alloc: Any, *, tol: float | None = None) -> Verdict:
    """Proportionality: n * u_i(A_i) >= u_i(M) (discarded items count in M) (spec §9)."""
    A, x, t, n = _prep(V, alloc, tol)
    own = np.array([A[i, x == i].sum() for i in range(n)])
    s = own - A.sum(axis=1) / n
    i = int(np.argmin(s))
    holds = bool(s[i] >= -t)
    return Verdict("prop", holds, None if holds else {"agent": i}, float(s[i]))


def prop1(V: Any, alloc: Any, *, tol: float | None = None) -> Verdict:
    """PROP1 (Aziz-Moulin-Sandomirskiy): PROP holds, or adding one good outside A_i or removing
    one chore in A_i reaches u_i(M)/n (spec §9)."""
    A, x, t, n = _prep(V, alloc, tol)
    worst = np.inf
    wit = None
    for i in range(n):
        own = A[i, x == i].sum()
        base = own - A[i].sum() / n
        out_goods = A[i, (x != i) & (A[i] > 0)]
        in_chores = -A[i, (x == i) & (A[i] < 0)]
        g = max(out_goods.max(initial=0.0), in_chores.max(initial=0.0))
        s = base if base >= 0 else base + g
        s = max(s, base)
        if s < worst:
            worst = s
            wit = {"agent": i}
    holds = bool(worst >= -t)
    return Verdict("prop1", holds, None if holds else wit, float(worst))


def _mms_values(A: np.ndarray, chores: bool | None, mms_values: Any) -> tuple[np.ndarray, bool]:
    """Conservative MMS in utility form (upper bound for goods) and whether all are exact."""
    from fairsim.allocation.mms import maximin_share

    n = A.shape[0]
    if mms_values is not None:
        mv = np.asarray(mms_values, dtype=np.float64)
        if mv.shape != (n,):
            raise InputError(f"mms_values must have shape ({n},); got {mv.shape}")
        return mv, True
    out = np.zeros(n)
    exact = True
    for i in range(n):
        row = A[i]
        is_ch = bool(np.any(row < 0)) if chores is None else chores
        r = maximin_share(row, n, chores=is_ch) if is_ch else maximin_share(row, n)
        out[i] = r.upper
        exact = exact and r.proven
    return out, exact


def mms(
    V: Any,
    alloc: Any,
    alpha: float = 1.0,
    *,
    tol: float | None = None,
    mms_values: Any = None,
    chores: bool | None = None,
) -> Verdict:
    """alpha-MMS: u_i(A_i) >= alpha * MMS_i for every agent (utility form, spec §3.1, §9).

    Unproven MMS values are replaced by their conservative bound; the witness records
    ``"exact": False`` then, and ``holds`` is True only when certain. ``chores=True`` means V holds
    costs (converted to utilities).
    """
    A, x, t, n = _prep(V, alloc, tol)
    if chores and np.all(A >= 0):
        A = -A
    if not np.isfinite(alpha) or alpha < 0:
        raise InputError(f"alpha must be a finite number >= 0; got {alpha!r}")
    mv, exact = _mms_values(A, None, mms_values)
    own = np.array([A[i, x == i].sum() for i in range(n)])
    s = own - alpha * mv
    i = int(np.argmin(s))
    holds = bool(s[i] >= -t)
    wit = None if holds else {"agent": i, "utility": float(own[i]), "mms": float(mv[i])}
    if wit is not None and not exact:
        wit["exact"] = False
    return Verdict("mms", holds, wit, float(s[i]))


def mms_ratio(
    V: Any, alloc: Any, *, mms_values: Any = None, chores: bool | None = None
) -> tuple[float, np.ndarray]:
    """(min_i r_i, r): goods r_i = u_i(A_i)/MMS_i (+inf if MMS_i = 0); chores
    r_i = MMS^c_i / c_i(A_i) (+inf if c_i(A_i) = 0, 0 if MMS^c_i = 0 < c_i(A_i)); 1 = MMS met
    (spec §9)."""
    A, x, _, n = _prep(V, alloc, None)
    if chores and np.all(A >= 0):
        A = -A
    mv, _ = _mms_values(A, None, mms_values)
    r = np.empty(n)
    for i in range(n):
        own = A[i, x == i].sum()
        if np.any(A[i] < 0):  # chores, costs c = -u
            c, mc = -own, -mv[i]
            r[i] = np.inf if c <= 0 else (mc / c)
        else:
            r[i] = np.inf if mv[i] <= 0 else own / mv[i]
    return float(r.min()), r


def fractional_pareto(V: Any, alloc: Any, *, tol: float | None = None) -> Verdict:
    """Fractional Pareto optimality by LP (spec §9): maximise sum_i sum_g V[i,g] y[i,g] over
    y >= 0 with sum_i y[i,g] = 1 subject to every agent keeping u_i(A_i); fPO iff the welfare gain
    is <= tol. fPO implies PO, so "not fPO" does not mean "not PO". HiGHS via scipy.optimize.linprog.
    """
    from scipy.optimize import linprog

    A, x, t, n = _prep(V, alloc, tol)
    m = A.shape[1]
    own = np.array([A[i, x == i].sum() for i in range(n)])
    c = -A.ravel()  # y[i, g] at i * m + g
    A_ub = np.zeros((n, n * m))
    for i in range(n):
        A_ub[i, i * m : (i + 1) * m] = -A[i]
    A_eq = np.zeros((m, n * m))
    for g in range(m):
        A_eq[g, g::m] = 1.0
    res = linprog(c, A_ub=A_ub, b_ub=-own, A_eq=A_eq, b_eq=np.ones(m), bounds=(0, None))
    if res.status != 0:  # pragma: no cover - the allocation itself is feasible
        raise InputError(f"fractional_pareto LP failed: {res.message}")
    gain = float(-res.fun - own.sum())
    holds = gain <= max(t, 1e-9 * max(1.0, float(np.abs(A).sum())))
    wit = None
    if not holds:
        y = res.x.reshape(n, m)
        better = [i for i in range(n) if float(A[i] @ y[i]) > own[i] + 1e-9]
        wit = {"y": y, "agents_better": better, "gain": gain}
    return Verdict("fractional_pareto", bool(holds), wit, -gain)


def pareto_optimal(V: Any, alloc: Any, *, tol: float | None = None) -> Verdict:
    """Pareto optimality among complete discrete allocations (spec §9): the fPO program with
    binary y, solved exactly by HiGHS at gap 0; for n * m <= 2000. Discarded items (-1) may be
    reassigned. The witness is a dominating assignment."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    A, x, t, n = _prep(V, alloc, tol)
    m = A.shape[1]
    if n * m > 2000:
        raise InputError(f"pareto_optimal is exact for n * m <= 2000; got {n * m}")
    own = np.array([A[i, x == i].sum() for i in range(n)])
    rows = np.zeros((n + m, n * m))
    for i in range(n):
        rows[i, i * m : (i + 1) * m] = A[i]
    for g in range(m):
        rows[n + g, g::m] = 1.0
    lo = np.concatenate([own, np.ones(m)])
    hi = np.concatenate([np.full(n, np.inf), np.ones(m)])
    res = milp(
        -A.ravel(),
        constraints=LinearConstraint(rows, lo, hi),
        bounds=Bounds(0, 1),
        integrality=np.ones(n * m),
        options={"mip_rel_gap": 0.0, "disp": False},
    )
    if res.x is None:  # pragma: no cover - the allocation itself is feasible
        raise InputError(f"pareto_optimal MILP failed: {res.message}")
    gain = float(-res.fun - own.sum())
    holds = gain <= max(t, 1e-9 * max(1.0, float(np.abs(A).sum())))
    wit = None
    if not holds:
        y = np.round(res.x).reshape(n, m)
        wit = {"dominating_assignment": np.argmax(y, axis=0), "gain": gain}
    return Verdict("pareto_optimal", bool(holds), wit, -gain)


for _name, _f in [
    ("ef", ef),
    ("ef1", ef1),
    ("efx", efx),
    ("prop", prop),
    ("prop1", prop1),
    ("mms", mms),
    ("fractional_pareto", fractional_pareto),
    ("pareto_optimal", pareto_optimal),
    ("ef1_ext", ef1_ext),
    ("efx_ext", efx_ext),
]:
    register(f"division.{_name}", "axiom", signature="outcome")(_f)
register("division.mms_ratio", "metric")(mms_ratio)

__all__ = [
    "ef",
    "ef1",
    "ef1_ext",
    "efx",
    "efx_ext",
    "envy_graph",
    "fractional_pareto",
    "mms",
    "mms_ratio",
    "pareto_optimal",
    "prop",
    "prop1",
]
