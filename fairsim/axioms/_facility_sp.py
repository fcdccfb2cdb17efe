"""Mechanism-level properties: strategyproofness search, best responses, anonymity.

Spec ``facility.md`` §3.3 (definitions) and §10.5 (the deviation search) and §7 (best-response
dynamics). No outcome-only test exists for these properties, so they are searched empirically at
a given profile: a counterexample found is a real one; "holds" means no profitable deviation was
found among the candidates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim._validation import as_profiles, check_generator, check_int, is_exact
from fairsim.axioms import Verdict
from fairsim.axioms._facility_input import check_tol
from fairsim.axioms._facility_mech import Mech
from fairsim.errors import InputError

GRID_POINTS = 65
ZOOM_POINTS = 17
ZOOM_LEVELS = 3
NUDGE = 1e-6


def _as_float_profile(x: Any, mech: Mech, name: str = "x") -> tuple[np.ndarray, bool]:
    if is_exact(x):  # the search is a float computation; Fractions are converted
        x = np.asarray(x, dtype=object).astype(np.float64)
    return as_profiles(x, name, interval=(mech.a, mech.b))


def _deviation_grid(deviations: Any, mech: Mech) -> np.ndarray:
    if deviations is None:
        return np.linspace(mech.a, mech.b, GRID_POINTS)
    try:
        d = np.asarray(deviations, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InputError(f"deviations must be an array of locations; got {deviations!r}") from None
    if d.size == 0 or not np.isfinite(d).all():
        raise InputError("deviations must be a non-empty array of finite locations")
    bad = (d < mech.a) | (d > mech.b)
    if bad.any():
        j = int(np.argmax(bad))
        raise InputError(f"deviations[{j}]={d[j]!r} outside interval [{mech.a:g}, {mech.b:g}]")
    return d


def _candidates(
    base: np.ndarray, reports: np.ndarray, extra: list[float], mech: Mech
) -> np.ndarray:
    """Candidate misreports (spec §10.5): the grid, both ends, the given extra points (truth,
    current report), all reports, the phantoms, ``k/n`` (UP's phantoms, always added [F]), and
    each of these ±1e-6, clipped to the domain; sorted and unique."""
    n = reports.shape[0]
    a, b = mech.a, mech.b
    crit = [a, b, *extra, *reports.tolist(), *mech.phantom_points(n)]
    crit.extend(a + (b - a) * (k / n) for k in range(n + 1))
    pts = np.concatenate([base, np.asarray(crit, dtype=np.float64)])
    step = NUDGE * (b - a)
    pts = np.concatenate([pts, pts - step, pts + step])
    return np.unique(np.clip(pts, a, b))


def _search(
    mech: Mech, reports: np.ndarray, agents: list[int], truths: list[float], cands: list[np.ndarray]
) -> list[tuple[float, float]]:
    """Minimise each agent's (expected) cost over its candidates, then zoom 3 times.

    All agents' candidate profiles are evaluated as one batch per level. Returns, per agent, the
    best report found and its cost (the first minimiser in candidate order).
    """
    n = reports.shape[0]

    def batch(lists: list[np.ndarray]) -> list[np.ndarray]:
        sizes = [len(c) for c in lists]
        R = np.repeat(reports[None, :], sum(sizes), axis=0)
        T = np.empty(sum(sizes))
        start = 0
        for i, t, c in zip(agents, truths, lists):
            R[start : start + len(c), i] = c
            T[start : start + len(c)] = t
            start += len(c)
        costs = mech.expected_cost(R, T)
        return np.split(costs, np.cumsum(sizes)[:-1])

    assert reports.shape == (n,)
    costs = batch(cands)
    best: list[tuple[float, float]] = []
    current = []
    for c, cost in zip(cands, costs):
        j = int(np.argmin(cost))
        best.append((float(c[j]), float(cost[j])))
        current.append((c, j))
    for _ in range(ZOOM_LEVELS):
        grids = []
        for c, j in current:
            lo = c[j - 1] if j > 0 else c[j]
            hi = c[j + 1] if j + 1 < len(c) else c[j]
            grids.append(np.linspace(lo, hi, ZOOM_POINTS))
        costs = batch(grids)
        current = []
        for k, (g, cost) in enumerate(zip(grids, costs)):
            j = int(np.argmin(cost))
            if cost[j] < best[k][1]:
                best[k] = (float(g[j]), float(cost[j]))
            current.append((g, j))
    return best


def _outcome(mech: Mech, x: np.ndarray) -> Any:
    if mech.randomized:
        return mech.lottery(x)
    return float(mech.values(x[None, :])[0])


def strategyproofness(
    mechanism: Any,
    x: Any,
    deviations: Any = None,
    *,
    params: dict[str, Any] | None = None,
    tol: float | None = None,
) -> Any:
    """Search for a profitable misreport at profile ``x`` (spec ``facility.md`` §3.3, §10.5).

    SP: for all i and r, ``|f(x) - x_i| <= |f(r, x_-i) - x_i|`` (expected distances for
    randomized mechanisms, i.e. SP in expectation). Candidates per agent: a 65-point uniform grid
    (replaced by ``deviations`` when given), both ends, x_i, the others' reports, the mechanism's
    phantoms and ``k/n``, each ±1e-6; then 3 zooms (17-point grid over the best candidate's
    neighbouring cells). ``gain = |f(x) - x_i| - |f(r, x_-i) - x_i|``; ``holds`` iff the largest
    gain is <= ``tol`` (1e-9); ``slack = -max gain``; witness ``{agent, misreport, gain, outcome,
    deviation_outcome}`` (outcomes are lotteries for randomized mechanisms). For ``x`` (B, n)
    returns a boolean array (B,). Fractions are converted to floats (the search is numeric).
    """
    mech = Mech(mechanism, params)
    X, batched = _as_float_profile(x, mech)
    t = float(check_tol(tol, False))
    grid = _deviation_grid(deviations, mech)
    if batched:
        return np.array([_sp_one(mech, row, grid, t).holds for row in X])
    return _sp_one(mech, X[0], grid, t)


def _sp_one(mech: Mech, x: np.ndarray, grid: np.ndarray, tol: float) -> Verdict:
    n = x.shape[0]
    agents = list(range(n))
    base = mech.expected_cost(np.repeat(x[None, :], n, axis=0), x)
    cands = [_candidates(grid, x, [float(x[i])], mech) for i in agents]
    best = _search(mech, x, agents, x.tolist(), cands)
    gains = np.array([base[i] - best[i][1] for i in agents])
    i = int(np.argmax(gains))
    gain = float(gains[i])
    if gain <= tol:
        return Verdict("strategyproofness", True, None, -gain)
    dev = x.copy()
    dev[i] = best[i][0]
    witness = {
        "agent": i,
        "location": float(x[i]),
        "misreport": best[i][0],
        "gain": gain,
        "outcome": _outcome(mech, x),
        "deviation_outcome": _outcome(mech, dev),
    }
    return Verdict("strategyproofness", False, witness, -gain)


def best_response(
    mechanism: Any,
    reports: Any,
    i: int,
    true_location: float,
    *,
    params: dict[str, Any] | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[float, float]:
    """Agent ``i``'s best report against the others' current ``reports``; returns (report, cost).

    Spec ``facility.md`` §7 (dynamics) and §10.5 (search). For a deterministic mechanism whose
    registry entry (or callable attribute) says ``monotone=True``: 0 if ``g(0, r_-i) >= x_i``,
    1 if ``g(1, r_-i) <= x_i``, else bisect (32 points per step [F]) until ``g = x_i`` or the
    bracket reaches float resolution (~1e-16). Otherwise the candidate grid + zoom search of
    :func:`strategyproofness` minimising the (expected) cost; ties prefer the current report,
    then the true location [F]. ``cost`` is the (expected) distance of the resulting outcome to
    ``true_location``. ``rng`` is accepted for API stability: expectations are exact (lotteries),
    so no randomness is used.
    """
    mech = Mech(mechanism, params)
    R, batched = _as_float_profile(reports, mech, "reports")
    if batched:
        raise InputError(f"reports must be one profile (n,); got shape {np.shape(reports)}")
    r = R[0].copy()
    n = r.shape[0]
    i = check_int(i, "i", 0, n - 1)
    try:
        t = float(true_location)
    except (TypeError, ValueError):
        raise InputError(f"true_location must be a number; got {true_location!r}") from None
    if not np.isfinite(t) or not mech.a <= t <= mech.b:
        raise InputError(
            f"true_location={true_location!r} outside interval [{mech.a:g}, {mech.b:g}]"
        )
    if rng is not None:
        check_generator(rng)
    if mech.monotone and not mech.randomized:
        return _bisect(mech, r, i, t)
    cands = _candidates(np.linspace(mech.a, mech.b, GRID_POINTS), r, [t, float(r[i])], mech)
    ((rep, cost),) = _search(mech, r, [i], [t], [cands])
    # prefer the current report, then the truth, among equally good reports
    prefs = np.array([r[i], t])
    P = np.repeat(r[None, :], 2, axis=0)
    P[:, i] = prefs
    pc = mech.expected_cost(P, np.full(2, t))
    for k in range(2):
        if pc[k] <= cost:
            return float(prefs[k]), float(pc[k])
    return rep, cost


def _bisect(mech: Mech, r: np.ndarray, i: int, t: float) -> tuple[float, float]:
    def g(points: np.ndarray) -> np.ndarray:
        P = np.repeat(r[None, :], len(points), axis=0)
        P[:, i] = points
        return mech.values(P)

    ends = g(np.array([mech.a, mech.b]))
    if ends[0] >= t:
        return mech.a, float(abs(ends[0] - t))
    if ends[1] <= t:
        return mech.b, float(abs(ends[1] - t))
    lo, hi, v_lo, v_hi = mech.a, mech.b, float(ends[0]), float(ends[1])
    for _ in range(60):
        pts = np.unique(np.linspace(lo, hi, 34)[1:-1])
        pts = pts[(pts > lo) & (pts < hi)]
        if pts.size == 0:
            break
        vals = g(pts)
        hit = np.nonzero(vals == t)[0]
        if hit.size:
            return float(pts[hit[0]]), 0.0
        below = np.nonzero(vals < t)[0]
        above = np.nonzero(vals > t)[0]
        if below.size:
            lo, v_lo = float(pts[below[-1]]), float(vals[below[-1]])
        if above.size:
            hi, v_hi = float(pts[above[0]]), float(vals[above[0]])
    if abs(v_hi - t) < abs(v_lo - t):
        return hi, abs(v_hi - t)
    return lo, abs(v_lo - t)


def _w1(p: list[tuple[float, float]], q: list[tuple[float, float]]) -> float:
    """Wasserstein-1 distance between two finite lotteries (0 iff identical)."""
    pts = sorted({loc for loc, _ in p} | {loc for loc, _ in q})
    if len(pts) < 2:
        return 0.0
    cp = np.array([sum(w for loc, w in p if loc <= z) for z in pts[:-1]])
    cq = np.array([sum(w for loc, w in q if loc <= z) for z in pts[:-1]])
    return float(np.sum(np.abs(cp - cq) * np.diff(pts)))


def anonymity(
    mechanism: Any,
    x: Any,
    *,
    params: dict[str, Any] | None = None,
    tol: float | None = None,
    rng: np.random.Generator | None = None,
) -> Verdict:
    """Anonymity at ``x``: ``f(x_sigma) = f(x)`` for permutations sigma (spec §3.3).

    Checks [F] the reversal, the sorted order and 20 random permutations (from ``rng``; default
    ``numpy.random.default_rng(0)`` so the check is reproducible). Randomized mechanisms compare
    lotteries by their Wasserstein-1 distance. ``slack = -max difference``; the witness names the
    permutation and both outcomes.
    """
    mech = Mech(mechanism, params)
    X, batched = _as_float_profile(x, mech)
    if batched:
        raise InputError(f"anonymity takes one profile (n,); got shape {np.shape(x)}")
    t = float(check_tol(tol, False))
    gen = np.random.default_rng(0) if rng is None else check_generator(rng)
    x0 = X[0]
    n = x0.shape[0]
    perms = [np.arange(n)[::-1], np.argsort(x0, kind="stable")]
    perms += [gen.permutation(n) for _ in range(20)]
    P = np.vstack([x0[None, :]] + [x0[p][None, :] for p in perms])
    if mech.randomized:
        lots = [mech.lottery(row) for row in P]
        diffs = np.array([_w1(lots[0], lot) for lot in lots[1:]])
        outs: list[Any] = lots
    else:
        vals = mech.values(P)
        diffs = np.abs(vals[1:] - vals[0])
        outs = [float(v) for v in vals]
    k = int(np.argmax(diffs))
    d = float(diffs[k])
    if d <= t:
        return Verdict("anonymity", True, None, -d)
    w = {
        "permutation": [int(v) for v in perms[k]],
        "outcome": outs[0],
        "permuted_outcome": outs[k + 1],
        "difference": d,
    }
    return Verdict("anonymity", False, w, -d)


__all__ = ["anonymity", "best_response", "strategyproofness"]
