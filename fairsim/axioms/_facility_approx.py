"""Approximation ratios and the price of fairness (spec ``facility.md`` §8).

``approximation_ratio`` takes the supremum of a per-profile ratio (§2.2) over grid profiles
(``"exhaustive"``) or random ones (``"random"``), evaluated in large batches. On grids the float
search is followed by an exact rational recomputation at every profile whose float ratio is
within 1e-9 (relative) of the maximum, so that the returned ratio is the correctly rounded exact
value (fairsim's choice [F]): outcomes come from the mechanism's exact mode when it has one,
otherwise float outcomes are snapped to the nearest rational with denominator <= 10^6 when
within 1e-12 (grid outcomes of every spec mechanism are such rationals).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from itertools import combinations_with_replacement, islice
from math import ceil, comb
from typing import Any

import numpy as np

from fairsim._validation import check_choice, check_generator, check_int
from fairsim.axioms._facility_mech import Mech
from fairsim.axioms._facility_metrics import (
    batch_opt,
    batch_ratio,
    batch_value,
    exact_opt,
    exact_ratio,
    exact_value,
)
from fairsim.axioms._facility_outcome import (
    FEASIBLE_AXIOMS,
    _batch_strong_interval,
    batch_bounds,
    feasible_interval,
)
from fairsim.errors import InputError

OBJECTIVES = ("sw", "tc", "mc")
METHODS = ("exhaustive", "random")
MAX_PROFILES = 5_000_000
CHUNK = 1 << 15
DEFAULT_SAMPLES = 100_000
MAX_EXACT_CANDIDATES = 256
REL_TIE = 1e-9


def default_grid(n: int) -> int:
    """G = n * max(2, ceil(12/n)) (spec §8.1): both endpoints and a point inside (0, 1/n)."""
    return n * max(2, ceil(12 / n))


def profile_count(n: int, G: int, anonymous: bool) -> int:
    return comb(G + n, n) if anonymous else (G + 1) ** n


def _grid_blocks(n: int, G: int, anonymous: bool) -> Iterator[np.ndarray]:
    """Integer grid profiles (B, n): multisets (sorted) or all tuples, in lexicographic order."""
    if anonymous:
        it = combinations_with_replacement(range(G + 1), n)
        while True:
            block = list(islice(it, CHUNK))
            if not block:
                return
            yield np.array(block, dtype=np.int64)
    total = (G + 1) ** n
    for start in range(0, total, CHUNK):
        idx = np.arange(start, min(start + CHUNK, total))
        yield np.stack(np.unravel_index(idx, (G + 1,) * n), axis=1).astype(np.int64)


class _Tracker:
    """Running maximum with the profiles tying it (first in enumeration order kept)."""

    def __init__(self) -> None:
        self.best = -np.inf
        self.rows: list[np.ndarray] = []

    def add(self, ratios: np.ndarray, K: np.ndarray) -> None:
        m = float(ratios.max())
        if m > self.best:
            self.best = m
            thr = self._thr()
            self.rows = [r for r in self.rows if r[0] >= thr]
        thr = self._thr()
        sel = np.nonzero(ratios >= thr)[0]
        room = MAX_EXACT_CANDIDATES - len(self.rows)
        for j in sel[: max(room, 0)]:
            self.rows.append((float(ratios[j]), K[j].copy()))  # type: ignore[arg-type]

    def _thr(self) -> float:
        return self.best if np.isinf(self.best) else self.best * (1 - REL_TIE)


def _values(mech: Mech, X: np.ndarray, S: np.ndarray, objective: str) -> np.ndarray:
    if not mech.randomized:
        return batch_value(S, mech.values(X), objective)
    rows, locs, probs = mech.lotteries(X)
    v = batch_value(S[rows], locs, objective)
    return np.bincount(rows, weights=probs * v, minlength=X.shape[0])


def _snap(v: float) -> Fraction:
    f = Fraction(v).limit_denominator(10**6)
    return f if abs(float(f) - v) <= 1e-12 else Fraction(v)


def _exact_ratio_at(mech: Mech, k: np.ndarray, G: int, objective: str) -> Fraction | float:
    xs = [Fraction(int(v), G) for v in k]
    lot = mech.exact_lottery(xs)
    if lot is None:
        x = np.array([int(v) / G for v in k])
        lot = [(_snap(loc), _snap(p)) for loc, p in mech.lottery(x)]
    s = sorted(xs)
    return exact_ratio(exact_opt(s, objective), exact_value(s, lot, objective), objective)


def _check_common(n: Any, objective: Any, grid: Any) -> tuple[int, str, int]:
    n = check_int(n, "n", 1, 10**6)
    check_choice(objective, "objective", OBJECTIVES)
    G = default_grid(n) if grid is None else check_int(grid, "grid", 1, 10**9)
    return n, objective, G


def approximation_ratio(
    mechanism: Any,
    n: int,
    objective: str = "sw",
    method: str = "exhaustive",
    grid: int | None = None,
    samples: int | None = None,
    rng: np.random.Generator | None = None,
    *,
    params: dict[str, Any] | None = None,
) -> tuple[float, np.ndarray]:
    """Worst-case ratio of ``mechanism`` for ``n`` agents: ``(ratio, worst_profile)`` (spec §8.1).

    ``objective``: ``"sw"`` (OPT_SW/SW), ``"tc"`` (TC/OPT_TC) or ``"mc"`` (MC/OPT_MC), with
    0/0 := 1 and c/0 := inf (§2.2); randomized mechanisms use exact lottery expectations.
    ``"exhaustive"``: coordinates in {0, 1/G, ..., 1} (``grid`` = G, default
    ``n * max(2, ceil(12/n))``); anonymous mechanisms enumerate the C(G+n, n) multisets, others
    all (G+1)^n tuples; more than 5e6 profiles raises ``ValueError``; the ratio is recomputed
    exactly (module docstring). ``"random"``: the n+1 endpoint profiles, then ``samples``
    (default 1e5) profiles whose coordinates are uniform on [0, 1] or on the grid (probability
    1/2 each, per coordinate), drawn from ``rng`` (a ``numpy.random.Generator``, required); the
    float maximum is returned. Grid and sample values are lower bounds on the supremum. The worst
    profile is the first maximizing one (enumeration order) on [0, 1].
    """
    n, objective, G = _check_common(n, objective, grid)
    check_choice(method, "method", METHODS)
    mech = Mech(mechanism, params)
    tracker = _Tracker()

    def run(X: np.ndarray, K: np.ndarray) -> None:
        S = np.sort(X, axis=1)
        val = _values(mech, X, S, objective)
        tracker.add(batch_ratio(batch_opt(S, objective), val, objective, n), K)

    if method == "exhaustive":
        if samples is not None:
            raise InputError("samples applies to method='random' only")
        count = profile_count(n, G, mech.anonymous)
        if count > MAX_PROFILES:
            raise InputError(
                f"exhaustive grid too large: {count} profiles for n={n}, grid={G} "
                f"(anonymous={mech.anonymous}); the limit is {MAX_PROFILES}; use a smaller grid "
                "or method='random'"
            )
        for K in _grid_blocks(n, G, mech.anonymous):
            run(K / G, K)
        best: tuple[Fraction | float, np.ndarray] | None = None
        for _, k in tracker.rows:
            r = _exact_ratio_at(mech, k, G, objective)
            if best is None or r > best[0]:
                best = (r, k)
        assert best is not None
        return float(best[0]), best[1] / G
    # random
    m = DEFAULT_SAMPLES if samples is None else check_int(samples, "samples", 1, 10**9)
    gen = check_generator(rng)
    ends = (np.arange(n)[None, :] >= np.arange(n + 1)[:, None]).astype(np.float64)
    run(ends, ends)
    done = 0
    while done < m:
        b = min(CHUNK, m - done)
        U = gen.random((b, n))
        Gv = gen.integers(0, G + 1, size=(b, n)) / G
        X = np.where(gen.random((b, n)) < 0.5, U, Gv)
        run(X, X)
        done += b
    r, x = max(tracker.rows, key=lambda t: t[0])  # the first maximizing profile
    return float(r), np.asarray(x, dtype=np.float64)


def price_of_fairness(
    axiom: str, n: int, objective: str = "sw", grid: int | None = None
) -> tuple[float, np.ndarray]:
    """sup_x OPT / best objective inside ``feasible_interval(x, axiom)`` on grid multisets.

    Spec §8.1-8.2: the objectives are convex piecewise linear in y, so the constrained optimum is
    among lo, hi and the clamps into [lo, hi] of both medians and the midpoint. Returns
    ``(ratio, worst_profile)``; the ratio is recomputed exactly at the near-maximal profiles.
    """
    check_choice(axiom, "axiom", FEASIBLE_AXIOMS)
    n, objective, G = _check_common(n, objective, grid)
    count = profile_count(n, G, True)
    if count > MAX_PROFILES:
        raise InputError(f"grid too large: {count} profiles (limit {MAX_PROFILES})")
    tracker = _Tracker()
    for K in _grid_blocks(n, G, True):
        S = K / G
        if axiom == "strong_proportionality":
            lo, hi = _batch_strong_interval(S)
        else:
            lo, hi = batch_bounds(S, axiom)
        lo, hi = np.maximum(lo, 0.0), np.minimum(hi, 1.0)
        hi = np.maximum(hi, lo)  # a rounding gap of a few ulps is a point (spec §10.4)
        cands = [lo, hi]
        for c in (S[:, (n + 1) // 2 - 1], S[:, n // 2], (S[:, 0] + S[:, -1]) / 2):
            cands.append(np.clip(c, lo, hi))
        vals = np.stack([batch_value(S, c, objective) for c in cands], axis=1)
        best = vals.max(axis=1) if objective == "sw" else vals.min(axis=1)
        tracker.add(batch_ratio(batch_opt(S, objective), best, objective, n), K)
    out: tuple[Fraction | float, np.ndarray] | None = None
    for _, k in tracker.rows:
        s = [Fraction(int(v), G) for v in k]
        iv = feasible_interval(s, axiom)
        if iv is None:
            continue
        lo_f, hi_f = iv
        pts = [lo_f, hi_f] + [
            min(max(c, lo_f), hi_f) for c in (s[(n + 1) // 2 - 1], s[n // 2], (s[0] + s[-1]) / 2)
        ]
        values = [exact_value(s, [(p, Fraction(1))], objective) for p in pts]
        v = max(values) if objective == "sw" else min(values)
        r = exact_ratio(exact_opt(s, objective), v, objective)
        if out is None or r > out[0]:
            out = (r, k)
    assert out is not None
    return float(out[0]), out[1] / G


# --------------------------------------------------------------------------- closed forms (§8.2-8.3)
def ufs_price_sw(n: int) -> float:
    """max_{k=0..n} kn/(k^2 + (n-k)^2): price of UFS (= PF = Proportionality) for SW; ρ_SW(UP)."""
    return max(Fraction(k * n, k * k + (n - k) ** 2) for k in range(n + 1)).__float__()


def ifs_price_sw(n: int) -> float:
    """n(n-1)/(n^2 - 2n + 2): price of IFS for SW; ρ_SW of ``best_ifs_phantom``."""
    return float(Fraction(n * (n - 1), n * n - 2 * n + 2))


def fairness_price_tc(n: int) -> float:
    """2(n-1)/n: price of IFS and of UFS for TC; ρ_TC and ρ_MC of the average."""
    return float(Fraction(2 * (n - 1), n))


def up_tc(n: int) -> float:
    """n - 1: ρ_TC of Uniform Phantom (also best_ifs_phantom, leftmost, rightmost)."""
    return float(n - 1)


def up_mc(n: int) -> float:
    """2: ρ_MC of Uniform Phantom (also median, leftmost, Random Rank)."""
    return 2.0


def rr_tc(n: int) -> float:
    """2 - 2/n: expected ρ_TC of Random Rank (and Random Dictatorship)."""
    return float(2 - Fraction(2, n))


def one(n: int) -> float:
    """1: median ρ_SW and ρ_TC; midpoint ρ_MC; price of IFS for MC."""
    return 1.0


def half_n(n: int) -> float:
    """n/2: ρ_TC of the midpoint and of LRM."""
    return n / 2


def three_halves(n: int) -> float:
    """3/2: ρ_MC of LRM."""
    return 1.5


def n_minus_one(n: int) -> float:
    """n - 1: ρ_SW of leftmost/rightmost."""
    return float(n - 1)


# name -> formula (n -> float); the rows of spec §8.2/§8.3 that the test-suite checks on grids.
FORMULAS: dict[str, Callable[[int], float]] = {
    "ufs_price_sw": ufs_price_sw,
    "ifs_price_sw": ifs_price_sw,
    "fairness_price_tc": fairness_price_tc,
    "ifs_price_tc": fairness_price_tc,
    "ufs_price_tc": fairness_price_tc,
    "ifs_price_mc": one,
    "ufs_price_mc": fairness_price_tc,
    "pf_price_sw": ufs_price_sw,
    "pf_price_tc": fairness_price_tc,
    "pf_price_mc": fairness_price_tc,
    "up_sw": ufs_price_sw,
    "up_tc": up_tc,
    "up_mc": up_mc,
    "rr_sw": ufs_price_sw,
    "rr_tc": rr_tc,
    "rr_mc": up_mc,
    "median_sw": one,
    "median_tc": one,
    "median_mc": up_mc,
    "midpoint_sw": fairness_price_tc,
    "midpoint_tc": half_n,
    "midpoint_mc": one,
    "leftmost_sw": n_minus_one,
    "leftmost_tc": up_tc,
    "leftmost_mc": up_mc,
    "average_sw": ufs_price_sw,
    "average_tc": fairness_price_tc,
    "average_mc": fairness_price_tc,
    "best_ifs_phantom_sw": ifs_price_sw,
    "best_ifs_phantom_tc": up_tc,
    "best_ifs_phantom_mc": up_mc,
    "lrm_sw": fairness_price_tc,
    "lrm_tc": half_n,
    "lrm_mc": three_halves,
}


__all__ = ["FORMULAS", "approximation_ratio", "default_grid", "price_of_fairness"]
