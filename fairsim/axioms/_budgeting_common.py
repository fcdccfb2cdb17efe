"""Ballot-class view of a PB election shared by the budgeting axiom checks (spec budgeting.md §2, §7).

Rules and axioms read only approval sets, so identical ballot rows are merged into *classes*
(``A`` dense ``(k, m)`` bool, weights ``w``); witnesses map classes back to ballot rows.
Sizes are compared as products ``w(S)·B >= n·cost(T)`` with a money tolerance [F].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fairsim.errors import InputError

UTILITIES = ("cost", "cardinality")
METHODS = ("auto", "enumerate", "ilp", "bruteforce")
AUTO_LIMIT = 10**6


@dataclass
class Profile:
    """Deduplicated approval profile (one row per distinct ballot, first-row order)."""

    A: np.ndarray  # (k, m) bool
    w: np.ndarray  # (k,) float64 weights
    rows: list[list[int]]  # ballot rows of each class
    costs: np.ndarray  # (m,) float64
    budget: float
    n: float
    ids: list[str]
    u: np.ndarray  # (m,) utility of one project: cost or 1
    utility: str
    row_w: np.ndarray  # (rows,) weight of each ballot row
    row_class: np.ndarray  # (rows,) class of each ballot row

    @property
    def tol(self) -> float:
        """Tolerance on products ``n·money`` (spec §4: ε = 1e-9·max(1, B))."""
        return 1e-9 * max(1.0, self.budget) * max(1.0, self.n)

    @property
    def utol(self) -> float:
        """Tolerance on utility comparisons."""
        return 1e-9 * max(1.0, float(self.u.sum()))

    def big_enough(self, weight: float, cost: float) -> bool:
        """``weight·B >= n·cost`` within tolerance."""
        return weight * self.budget >= self.n * cost - self.tol

    def voters(self, classes: Any) -> list[int]:
        return sorted(r for b in classes for r in self.rows[int(b)])

    def project_names(self, mask_or_idx: Any) -> list[str]:
        idx = np.flatnonzero(mask_or_idx) if _is_mask(mask_or_idx, len(self.ids)) else mask_or_idx
        return [self.ids[int(c)] for c in idx]


def money_delta(P: Profile) -> float:
    """Least strict gap between utilities: they are multiples of 1/q for the first q in
    1, 10, ..., 10^6 that makes every positive utility integral (Pabulib costs are integers
    or cents), so u(X) < u(T) iff u(X) <= u(T) − 1/q; else a money tolerance [F]."""
    pos = P.u[P.u > 0]
    for q in (1, 10, 100, 1000, 10**4, 10**5, 10**6):
        s = pos * q
        if np.all(np.abs(s - np.round(s)) <= 1e-9 * np.maximum(1.0, s)):
            return 1.0 / q
    return 1e-9 * max(1.0, P.budget)


def _is_mask(x: Any, m: int) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == bool and x.shape == (m,)


def check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(f"{name} must be one of {allowed}; got {value!r}")
    return str(value)


def profile(e: Any, utility: str = "cost") -> Profile:
    """Build the class view of election ``e`` (duck-typed :class:`fairsim.io.pabulib.Election`)."""
    check_choice(utility, "utility", UTILITIES)
    for attr in ("approvals", "costs", "budget", "project_ids"):
        if not hasattr(e, attr):
            raise InputError(f"e must be a fairsim.io.pabulib.Election; it has no {attr!r}")
    costs = np.asarray(e.costs, dtype=np.float64)
    m = costs.shape[0]
    budget = float(e.budget)
    if not budget > 0 or not np.isfinite(budget):
        raise InputError(f"e.budget must be a finite number > 0; got {budget}")
    if not np.all(np.isfinite(costs)) or np.any(costs < 0):
        raise InputError("e.costs must be finite and >= 0")
    appr = e.approvals
    indptr = np.asarray(appr.indptr)
    indices = np.asarray(appr.indices)
    data = np.asarray(appr.data).astype(bool)
    mult = getattr(e, "multiplicities", None)
    nrows = indptr.shape[0] - 1
    mult_arr = np.ones(nrows) if mult is None else np.asarray(mult, dtype=np.float64)
    # classes = distinct approval rows, numbered by first occurrence (vectorised: rows packed
    # to bytes, then np.unique on the byte strings)
    rid = np.repeat(np.arange(nrows), np.diff(indptr))
    D = np.zeros((nrows, m), dtype=bool)
    D[rid[data], indices[data]] = True
    packed = np.ascontiguousarray(np.packbits(D, axis=1))
    keys = packed.view(np.dtype((np.void, max(packed.shape[1], 1)))).reshape(nrows)
    if packed.shape[1] == 0:
        keys = np.zeros(nrows, dtype=np.int8)
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # class order = first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    row_class = rank[np.asarray(inv).reshape(-1)].astype(np.int64)
    A = D[first[order]]
    weights = np.bincount(row_class, weights=mult_arr, minlength=order.size)
    by = np.argsort(row_class, kind="stable")
    rows = [g.tolist() for g in np.split(by, np.cumsum(np.bincount(row_class))[:-1])]
    rows = rows if order.size else []
    w = np.asarray(weights, dtype=np.float64)
    u = costs.copy() if utility == "cost" else np.ones(m)
    return Profile(
        A=A,
        w=w,
        rows=rows,
        costs=costs,
        budget=budget,
        n=float(w.sum()),
        ids=[str(p) for p in e.project_ids],
        u=u,
        utility=utility,
        row_w=mult_arr,
        row_class=row_class,
    )


def outcome_mask(P: Profile, W: Any, name: str = "W") -> np.ndarray:
    """Accept ids, an ``Outcome`` (``.selected``) or a bool mask; return a bool mask (m,)."""
    m = len(P.ids)
    if hasattr(W, "selected"):
        W = W.selected
    if isinstance(W, np.ndarray) and W.dtype == bool:
        if W.shape != (m,):
            raise InputError(f"{name} as a mask must have shape ({m},); got {W.shape}")
        return W.copy()
    pos = {p: i for i, p in enumerate(P.ids)}
    mask = np.zeros(m, dtype=bool)
    for c in W:
        if str(c) not in pos:
            raise InputError(f"{name} names unknown project {c!r}; known ids: {P.ids[:10]}...")
        mask[pos[str(c)]] = True
    return mask


def marginals(P: Profile, p: Any, name: str = "p") -> np.ndarray:
    """Accept a ``Lottery`` (``.marginals``) or an array aligned with the project ids."""
    if hasattr(p, "marginals"):
        p = p.marginals
    try:
        arr = np.asarray([float(x) for x in p], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a sequence of probabilities; got {p!r}") from None
    m = len(P.ids)
    if arr.shape != (m,):
        raise InputError(f"{name} must have length {m} (one entry per project); got {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < -1e-12) | (arr > 1 + 1e-12))
    if bad.size:
        raise InputError(f"{name}[{bad[0]}]={arr[bad[0]]} outside [0, 1]")
    return np.clip(arr, 0.0, 1.0)


def knapsack_opt(costs: np.ndarray, ids: list[str], members: np.ndarray, share: float) -> float:
    """OPT(A, s) (§6.3): binary fractional knapsack, cheapest first by (cost, id)."""
    order = sorted(np.flatnonzero(members).tolist(), key=lambda c: (costs[c], ids[c]))
    spent, val = 0.0, 0.0
    for c in order:
        if spent + costs[c] <= share + 1e-12 * max(1.0, share):
            spent += costs[c]
            val += 1.0
        else:
            val += (share - spent) / costs[c]
            break
    return val
