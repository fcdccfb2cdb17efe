"""Greedy Cohesive Rule, the BW-GCR-PB fair lottery and cost-weighted dependent rounding.

Spec ``budgeting.md`` §4.6 (GCR), §5.2 (dependent rounding), §5.3 (BW-GCR-PB), §6.4 (BB1).
Sources: Peters, Pierczyński, Skowron, arXiv 2008.13276 (GCR, FJR); Aziz, Lu, Suzuki, Vollen,
Walsh, arXiv 2404.05198 (BW-GCR-PB); Gandhi et al., J. ACM 53(3) 2006 (dependent rounding).
Tie orders and the fill step are fairsim's choices [F], documented per function.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms._budgeting_common import Outcome, check_election, check_utility
from fairsim.registry import register

Number = Any  # float or Fraction

#: the ways :func:`greedy_cohesive` finds a round's best set
GCR_METHODS = ("auto", "enumerate", "bnb", "milp")
#: with method="auto", rounds with at most this many projects (and <= max_projects) enumerate
AUTO_ENUMERATE = 12


def _classes(e: Any) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ballots in first-row order: (k, m) bool matrix and weights."""
    appr = e.approvals
    mult = np.asarray(e.multiplicities, dtype=np.int64)
    keys: dict[tuple[int, ...], int] = {}
    sets: list[tuple[int, ...]] = []
    weights: list[int] = []
    for r in range(appr.shape[0]):
        key = tuple(sorted(int(c) for c in appr.indices[appr.indptr[r] : appr.indptr[r + 1]]))
        b = keys.setdefault(key, len(sets))
        if b == len(sets):
            sets.append(key)
            weights.append(0)
        weights[b] += int(mult[r])
    A = np.zeros((len(sets), len(e.project_ids)), dtype=bool)
    for b, key in enumerate(sets):
        A[b, list(key)] = True
    return A, np.asarray(weights, dtype=np.int64)


def _subset_sums(vals: np.ndarray) -> np.ndarray:
    out = np.zeros(1 << vals.size)
    for j, v in enumerate(vals):
        out[1 << j : 2 << j] = out[: 1 << j] + v
    return out


@register(
    "budgeting.greedy_cohesive",
    "mechanism",
    claims=("fjr",),
    params={
        "utility": ("cost", "cardinality"),
        "max_projects": 20,
        "method": GCR_METHODS,
        "time_limit": 600.0,
    },
)
def greedy_cohesive(
    e: Any,
    utility: str = "cost",
    *,
    max_projects: int = 20,
    method: str = "auto",
    time_limit: float = 600.0,
) -> Outcome:
    """Greedy Cohesive Rule (spec §4.6; Peters, Pierczyński, Skowron, arXiv 2008.13276).

    Each round picks, over nonempty T ⊆ C′ (projects approved by an active class) with
    cost(T) <= B, the largest β*(T) such that the active voters with u_i(T) >= β* weigh at least
    n·cost(T)/B; ties by min cost, max group weight [R], min |T|, smallest sorted id tuple [F].
    T \\ W is appended in id order and the group is deactivated. The outcome is feasible and FJR
    for ``utility``.

    ``method`` [F] (:mod:`fairsim.mechanisms._budgeting_gcr`):

    * ``"enumerate"``: all 2^|C′| sets per round (numpy, chunked); InputError when
      |C′| > ``max_projects``.
    * ``"bnb"``: a branch and bound over T (numba) with a group-can-still-pay bound after exact
      reductions; falls back to ``"milp"`` in a round where more than 63 projects survive them.
    * ``"milp"``: HiGHS MILPs (bisection on the β threshold, then min cost, max w(S), min |T|,
      every tied T by no-good cuts); slower on dense instances.
    * ``"auto"``: ``"enumerate"`` when |C′| <= min(``max_projects``, 12), else ``"bnb"``
      (the enumeration of a 20-project round takes tens of seconds, the branch and bound
      milliseconds; the outcome is the same).

    ``"bnb"`` and ``"milp"`` return the enumeration's outcome, tie lists included: every set
    they propose is re-evaluated with the enumeration's own arithmetic and tie chain. They
    equal it whenever distinct values of β, cost and group weight differ by more than the
    rule's tolerances (always for integral costs, as in Pabulib files).

    GCR is NP-hard: on some district files (e.g. Warszawa 2018 Wawer, 55 projects) the branch
    and bound does not finish in minutes. ``time_limit`` (seconds, for the ``"bnb"``/``"milp"``
    rounds together) bounds the wait: past it an InputError names the round and the size.
    """
    check_election(e)
    utility = check_utility(utility)
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise InputError(f"time_limit must be a number of seconds > 0; got {time_limit!r}")
    deadline = time.perf_counter() + float(time_limit)
    if not isinstance(max_projects, (int, np.integer)) or max_projects < 1:
        raise InputError(f"max_projects must be an integer >= 1; got {max_projects!r}")
    if method not in GCR_METHODS:
        raise InputError(f"method must be one of {GCR_METHODS}; got {method!r}")
    A, w = _classes(e)
    ids = list(e.project_ids)
    costs = np.asarray(e.costs, dtype=np.float64)
    B, n = float(e.budget), float(w.sum())
    u_all = costs if utility == "cost" else np.ones(costs.size)
    tol = 1e-9 * max(1.0, B) * max(1.0, n)
    utol = 1e-9 * max(1.0, float(u_all.sum()))
    # integral utilities (cardinality, or integral costs) make β take integer values
    integral_u = bool(
        np.all(u_all == np.round(u_all)) and float(u_all.sum()) < 2.0**52 and utol < 0.25
    )
    active = np.ones(A.shape[0], dtype=bool)
    selected: list[str] = []
    chosen: set[int] = set()
    groups: list[dict[str, Any]] = []
    tie_breaks: list[tuple[int, list[list[str]], list[str]]] = []
    rnd = 0
    while active.any():
        Cp = np.flatnonzero(A[active].any(axis=0))
        if Cp.size == 0:
            break
        if method == "enumerate" and Cp.size > max_projects:
            raise InputError(
                f"greedy_cohesive: {Cp.size} projects approved by active voters exceed "
                f"max_projects={max_projects}; the enumeration is exponential in that number "
                "(use method='milp' or 'auto')"
            )
        if method in ("bnb", "milp") or (
            method == "auto" and Cp.size > min(max_projects, AUTO_ENUMERATE)
        ):
            from fairsim.mechanisms import _budgeting_gcr as gcr
            from fairsim.mechanisms import _budgeting_gcr_milp as gcr_milp

            rd = gcr.GCRRound(
                A[active][:, Cp],
                w[active],
                costs[Cp],
                u_all[Cp],
                B,
                n,
                tol,
                utol,
                ids,
                Cp,
                integral_u,
            )
            token = gcr.DEADLINE.set(deadline)
            try:
                if method == "milp":
                    found: Any = gcr_milp.best_set_milp(rd)
                else:
                    found = gcr.best_set_bnb(rd)
                if isinstance(found, str):  # more than 63 projects survive the reductions
                    found = gcr_milp.best_set_milp(rd)
            except gcr.GCRTimeout:
                raise InputError(
                    f"greedy_cohesive: round {rnd} ({Cp.size} projects approved by active "
                    f"voters) did not finish within time_limit={time_limit} s; the rule is "
                    "NP-hard and this instance is beyond its exact search (raise time_limit "
                    "or use a smaller election)"
                ) from None
            finally:
                gcr.DEADLINE.reset(token)
            best = found
        else:
            best = _best_set(
                A[active][:, Cp], w[active], costs[Cp], u_all[Cp], B, n, tol, utol, ids, Cp
            )
        if best is None:
            break
        T, beta, ties = best
        sub = A[active][:, T]
        uT = sub.astype(np.float64) @ u_all[T]
        act_idx = np.flatnonzero(active)
        S = act_idx[uT >= beta - utol]
        new = sorted((int(c) for c in T if int(c) not in chosen), key=lambda c: ids[c])
        for c in new:
            chosen.add(c)
            selected.append(ids[c])
        if len(ties) > 1:
            tie_breaks.append((rnd, ties, sorted(ids[int(c)] for c in T)))
        groups.append(
            {"projects": sorted(ids[int(c)] for c in T), "beta": beta, "weight": int(w[S].sum())}
        )
        active[S] = False
        rnd += 1
    cost = float(sum(costs[ids.index(p)] for p in selected))
    return Outcome(
        selected,
        {
            "rule": "greedy_cohesive",
            "utility": utility,
            "cost": cost,
            "tie_breaks": tie_breaks,
            "groups": groups,
        },
    )


def _best_set(
    A: np.ndarray,
    w: np.ndarray,
    costs: np.ndarray,
    u: np.ndarray,
    B: float,
    n: float,
    tol: float,
    utol: float,
    ids: list[str],
    Cp: np.ndarray,
) -> tuple[np.ndarray, float, list[list[str]]] | None:
    """One GCR round over all masks of the active projects (chunked numpy)."""
    q = Cp.size
    masks = np.arange(1, 1 << q, dtype=np.int64)
    cost_of = _subset_sums(costs)
    u_of = _subset_sums(u)
    cls = np.array([int(np.sum(1 << np.flatnonzero(row))) for row in A], dtype=np.int64)
    beta = np.zeros(masks.size)
    wS = np.zeros(masks.size)
    chunk = 1 << 15
    for lo in range(0, masks.size, chunk):
        mk = masks[lo : lo + chunk]
        U = u_of[mk[None, :] & cls[:, None]]  # (k, chunk)
        order = np.argsort(-U, axis=0, kind="stable")
        Us = np.take_along_axis(U, order, axis=0)
        cw = np.cumsum(w[order], axis=0)
        need = n * cost_of[mk] - tol
        ok = cw * B >= need[None, :]
        first = np.argmax(ok, axis=0)
        has = ok[first, np.arange(mk.size)]
        b = np.where(has, Us[first, np.arange(mk.size)], 0.0)
        b[cost_of[mk] > B + tol / max(1.0, n)] = 0.0
        beta[lo : lo + mk.size] = b
        wS[lo : lo + mk.size] = ((U >= b[None, :] - utol) * w[:, None]).sum(axis=0)
    good = beta > utol
    if not good.any():
        return None
    cand = np.flatnonzero(good)
    cand = cand[beta[cand] >= beta[cand].max() - utol]
    cst = cost_of[masks[cand]]
    cand = cand[cst <= cst.min() + tol / max(1.0, n)]
    cand = cand[wS[cand] >= wS[cand].max() - 1e-9]
    sizes = np.array([bin(int(x)).count("1") for x in masks[cand]])
    cand = cand[sizes == sizes.min()]
    named = sorted(
        (tuple(sorted(ids[int(Cp[j])] for j in range(q) if masks[i] >> j & 1)), i) for i in cand
    )
    i = named[0][1]
    T = np.array([Cp[j] for j in range(q) if masks[i] >> j & 1], dtype=np.int64)
    return T, float(beta[i]), [list(t) for t, _ in named]


# ----------------------------------------------------------------------------- rounding


def _clamp(x: Number) -> Number:
    return 0 if x < 0 else (1 if x > 1 else x)


def _pair_step(
    costs: list[Number], p: list[Number], i: int, j: int
) -> tuple[Number, Number, Number]:
    r = costs[i] / costs[j]
    alpha = min(1 - p[i], p[j] / r)
    gamma = min(p[i], (1 - p[j]) / r)
    return r, alpha, gamma


def _apply(
    p: list[Number], i: int, j: int, r: Number, alpha: Number, gamma: Number, a: bool
) -> None:
    """Move along the cost-preserving direction; snap the binding variable exactly (§5.2)."""
    if a:
        if alpha == 1 - p[i]:
            p[i], p[j] = 1, _clamp(p[j] - alpha * r)
        else:
            p[i], p[j] = _clamp(p[i] + alpha), 0
    elif gamma == p[i]:
        p[i], p[j] = 0, _clamp(p[j] + gamma * r)
    else:
        p[i], p[j] = _clamp(p[i] - gamma), 1


def _fractional(costs: list[Number], p: list[Number]) -> list[int]:
    return [c for c in range(len(p)) if costs[c] > 0 and 0 < p[c] < 1]


def _round(costs: list[Number], p: list[Number], rng: np.random.Generator) -> np.ndarray:
    for c in range(len(p)):
        if costs[c] == 0 and 0 < p[c] < 1:
            p[c] = 1 if rng.random() < p[c] else 0
    F = _fractional(costs, p)
    while len(F) >= 2:
        i, j = F[0], F[1]
        r, alpha, gamma = _pair_step(costs, p, i, j)
        x = rng.random()
        _apply(p, i, j, r, alpha, gamma, x * (alpha + gamma) < gamma)
        F = [c for c in F if 0 < p[c] < 1]
    if F:
        c = F[0]
        p[c] = 1 if rng.random() < p[c] else 0
    return np.array([x == 1 for x in p], dtype=bool)


def _check_rounding_input(costs: Any, p: Any) -> tuple[list[Number], list[Number]]:
    exact = any(isinstance(x, Fraction) for x in list(p) + list(costs))
    conv = Fraction if exact else float
    try:
        cl = [conv(x) for x in costs]
        pl = [conv(x) for x in p]
    except (TypeError, ValueError):
        raise InputError("costs and p must be sequences of numbers") from None
    if len(cl) != len(pl):
        raise InputError(f"costs and p must have the same length; got {len(cl)} and {len(pl)}")
    for c, x in enumerate(cl):
        if not (x >= 0 and x < float("inf")):
            raise InputError(f"costs[{c}]={x} must be finite and >= 0")
    for c, x in enumerate(pl):
        if not (0 <= x <= 1):
            raise InputError(f"p[{c}]={x} outside [0, 1]")
    return cl, pl


def dependent_rounding(
    costs: Any, p: Any, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Cost-weighted pairwise dependent rounding (spec §5.2; Gandhi et al., J. ACM 2006).

    Returns a bool mask W with Pr[c ∈ W] = p_c and, with W′ the entries at 1 before the last
    draw, cost(W′) <= cost(p) <= cost(W′ ∪ {last}) (two-sided BB1). One ``rng.random()`` per step;
    the binding variable snaps exactly to its bound. ``Fraction`` inputs run exactly.
    """
    cl, pl = _check_rounding_input(costs, p)
    return _round(cl, pl, np.random.default_rng(rng))


def _support(
    costs: list[Number], p: list[Number], max_outcomes: int
) -> dict[tuple[int, ...], Number]:
    out: dict[tuple[int, ...], Number] = {}
    zero = [c for c in range(len(p)) if costs[c] == 0 and 0 < p[c] < 1]

    def rec(p: list[Number], prob: Number) -> None:
        F = _fractional(costs, p)
        if len(F) == 1:
            c = F[0]
            for val, pr in ((1, p[c]), (0, 1 - p[c])):
                q = list(p)
                q[c] = val
                rec(q, prob * pr)
            return
        if not F:
            key = tuple(c for c in range(len(p)) if p[c] == 1)
            out[key] = out.get(key, 0) + prob
            if len(out) > max_outcomes:
                raise InputError(f"support has more than max_outcomes={max_outcomes} sets")
            return
        i, j = F[0], F[1]
        r, alpha, gamma = _pair_step(costs, p, i, j)
        for a, pr in ((True, gamma / (alpha + gamma)), (False, alpha / (alpha + gamma))):
            if pr == 0:
                continue
            q = list(p)
            _apply(q, i, j, r, alpha, gamma, a)
            rec(q, prob * pr)

    def start(idx: int, p: list[Number], prob: Number) -> None:
        if idx == len(zero):
            rec(p, prob)
            return
        c = zero[idx]
        for val, pr in ((1, p[c]), (0, 1 - p[c])):
            q = list(p)
            q[c] = val
            start(idx + 1, q, prob * pr)

    start(0, list(p), Fraction(1) if any(isinstance(x, Fraction) for x in p) else 1.0)
    return out


@dataclass
class Lottery:
    """A distribution over project sets given by marginals and the §5.2 sampler (spec §1)."""

    project_ids: list[str]
    costs: np.ndarray
    budget: float
    marginals: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)
    rng: np.random.Generator | None = None

    def _exact(self) -> tuple[list[Number], list[Number]]:
        p = self.details.get("p_exact")
        if p is None:
            return [float(c) for c in self.costs], [float(x) for x in self.marginals]
        return [Fraction(float(c)) for c in self.costs], list(p)

    def sample(self, rng: np.random.Generator | int | None = None) -> list[str]:
        """One draw (ids in project order); uses the lottery's generator when ``rng`` is None."""
        if rng is None:
            if self.rng is None:
                self.rng = np.random.default_rng()
            gen = self.rng
        else:
            gen = np.random.default_rng(rng)
        mask = _round([float(c) for c in self.costs], [float(x) for x in self.marginals], gen)
        return [self.project_ids[c] for c in np.flatnonzero(mask)]

    def support(self, max_outcomes: int = 65536) -> list[tuple[Number, list[str]]]:
        """Exact support: (probability, ids) sorted by probability descending, then ids."""
        costs, p = self._exact()
        sup = _support(costs, p, max_outcomes)
        out = [(prob, [self.project_ids[c] for c in key]) for key, prob in sup.items() if prob > 0]
        return sorted(out, key=lambda t: (-t[0], t[1]))


@register(
    "budgeting.fair_lottery",
    "mechanism",
    randomized=True,
    claims=("strong_ufs", "fjr", "bb1"),
    params={
        "gcr_method": GCR_METHODS,
        "max_projects": 20,
        "time_limit": 600.0,
    },
)
def fair_lottery(
    e: Any,
    rng: np.random.Generator | int | None = None,
    *,
    gcr_method: str = "auto",
    max_projects: int = 20,
    time_limit: float = 600.0,
) -> Lottery:
    """BW-GCR-PB (spec §5.3; Aziz, Lu, Suzuki, Vollen, Walsh, arXiv 2404.05198, Algorithm 1).

    1. W_G = ``greedy_cohesive(e, "cardinality")``, p = 1 on W_G. 2-3. Each nonempty ballot class
    z (first-row order [F]) whose cheapest-first prefix G_z of A_z within its share
    s_z = w_z·B/n has |A_z ∩ W_G| = |G_z| spends s_z − cost(G_z) on A_z by (cost, id).
    5. Fill to min(B, cost(C)) by approval weight descending, then id [F]. Exact ``Fraction``
    arithmetic; ``details`` holds ``"W_gcr"`` and ``"p_exact"``. ``rng`` seeds ``.sample()``.
    ``gcr_method``, ``max_projects`` and ``time_limit`` go to :func:`greedy_cohesive` (its
    ``method``, ``max_projects`` and ``time_limit``).
    Claimed: ex-ante Strong UFS, ex-post FJR (cardinality) and two-sided BB1 on every draw.
    """
    check_election(e)
    if gcr_method not in GCR_METHODS:
        raise InputError(f"gcr_method must be one of {GCR_METHODS}; got {gcr_method!r}")
    gen = np.random.default_rng(rng)
    ids = list(e.project_ids)
    m = len(ids)
    A, w = _classes(e)
    costs = [Fraction(float(c)) for c in e.costs]
    B = Fraction(float(e.budget))
    n = int(w.sum())
    W_G = greedy_cohesive(
        e, "cardinality", max_projects=max_projects, method=gcr_method, time_limit=time_limit
    ).selected
    pos = {p: c for c, p in enumerate(ids)}
    p: list[Fraction] = [Fraction(0)] * m
    for pid in W_G:
        p[pos[pid]] = Fraction(1)
    in_wg = {pos[x] for x in W_G}
    joined: list[int] = []
    for z in range(A.shape[0]):
        members = sorted(np.flatnonzero(A[z]).tolist(), key=lambda c: (costs[c], ids[c]))
        if not members:
            continue
        share = int(w[z]) * B / n
        spent = Fraction(0)
        prefix = 0
        for c in members:
            if spent + costs[c] > share:
                break
            spent += costs[c]
            prefix += 1
        if sum(1 for c in members if c in in_wg) != prefix:
            continue
        joined.append(z)
        left = share - spent
        for c in members:
            if left <= 0:
                break
            if p[c] >= 1:
                continue
            if costs[c] == 0:
                p[c] = Fraction(1)
                continue
            d = min(1 - p[c], left / costs[c])
            p[c] += d
            left -= d * costs[c]
    total = sum((pc * cc for pc, cc in zip(p, costs, strict=True)), Fraction(0))
    if total > B:
        raise RuntimeError(f"BW-GCR-PB overspent: cost(p)={float(total)} > B={float(B)}")
    target = min(B, sum(costs, Fraction(0)))
    support = np.asarray(
        e.approvals.multiply(np.asarray(e.multiplicities)[:, None]).sum(axis=0)
    ).ravel()
    for c in sorted(range(m), key=lambda c: (-support[c], ids[c])):
        if total >= target:
            break
        if p[c] >= 1:
            continue
        d = 1 - p[c] if costs[c] == 0 else min(1 - p[c], (target - total) / costs[c])
        p[c] += d
        total += d * costs[c]
    return Lottery(
        project_ids=ids,
        costs=np.asarray(e.costs, dtype=np.float64).copy(),
        budget=float(e.budget),
        marginals=np.array([float(x) for x in p]),
        details={
            "rule": "fair_lottery",
            "W_gcr": list(W_G),
            "p_exact": p,
            "joined_classes": joined,
            "cost": float(total),
        },
        rng=gen,
    )
