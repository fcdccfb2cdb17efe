"""Axioms and metrics of divisible budget aggregation (spec ``facility.md`` §6).

Setting (Freeman, Pennock, Peters & Wortman Vaughan, JET 2021, arXiv 1905.00457): n voters
report p_i in the simplex Δ_m; voter i's disutility for an allocation a is ||a - p_i||_1.

Axioms (each returns a :class:`~fairsim.axioms.Verdict` with a witness when it fails):

* ``proportionality`` (Freeman et al. Def. 4): on a SINGLE-MINDED profile (every p_i a vertex
  e_j) the outcome equals the vector of voter fractions; vacuous (holds, slack +inf) otherwise.
* ``pareto`` (ℓ1 Pareto optimality): no b in Δ_m with ||b - p_i||_1 <= ||a - p_i||_1 for all i
  and a strict total improvement above ``tol``. Checked by one LP (HiGHS) maximising the total
  improvement subject to nobody being worse off [F algorithm].
* ``strategyproofness`` (Freeman et al. Def. 2) by DEVIATION SEARCH [F]: for each voter, the
  vertex reports, ``random`` Dirichlet(1) reports and a best-response coordinate search
  (:func:`best_misreport`) look for a report that brings the outcome strictly closer (by more
  than ``tol``) to the voter's true p_i. A found gain is a proof of manipulability (the witness
  is the misreport); no gain found is evidence, not proof.
* ``range_respect``: min_i p_ij <= a_j <= max_i p_ij for every project j (within ``tol``).

Metrics (lower is better, on the TRUE profile): ``mean_distance`` (ℓ1 welfare loss, the mean
of ||a - p_i||_1), ``max_distance`` (the worst voter) and ``distance_to_mean`` (||a - p̄||_1 with
p̄ the coordinate-wise mean) [F names].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.errors import InputError
from fairsim.mechanisms.budget_aggregation import _validate_float
from fairsim.registry import register

Mechanism = Callable[[np.ndarray], np.ndarray]
_STEPS = (0.5, 0.25, 0.1, 0.05, 0.02, 0.005)


def _inputs(reports: Any, outcome: Any) -> tuple[np.ndarray, np.ndarray]:
    R, batched = _validate_float(reports)
    if batched:
        raise InputError(f"reports must be 2-D (n, m); got shape {np.shape(reports)}")
    P = R[0]
    try:
        a = np.asarray(outcome, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"outcome must be an array of numbers; {exc}") from None
    if a.shape != (P.shape[1],) or not np.isfinite(a).all():
        raise InputError(
            f"outcome must be a finite vector of length m={P.shape[1]}; got {np.shape(outcome)}"
        )
    return P, a


def _tol(tol: float) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise InputError(f"tol must be a float in [0, 1); got {tol!r}")
    return float(tol)


def distances(reports: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """||a - p_i||_1 for every voter (kernel: no validation)."""
    return np.abs(reports - outcome[None, :]).sum(axis=1)


# ----------------------------------------------------------------------------- axioms


@register("budget_aggregation.proportionality", "axiom", signature="profile")
def proportionality(reports: Any, outcome: Any, tol: float = 1e-7) -> Verdict:
    """Freeman et al. (2021) Def. 4: single-minded profiles get the voter fractions."""
    P, a = _inputs(reports, outcome)
    tol = _tol(tol)
    top = P.argmax(axis=1)
    if not np.all(np.abs(P[np.arange(P.shape[0]), top] - 1.0) <= 1e-12):
        return Verdict("proportionality", True, None, float("inf"))
    frac = np.bincount(top, minlength=P.shape[1]) / P.shape[0]
    err = np.abs(a - frac)
    j = int(err.argmax())
    holds = bool(err[j] <= tol)
    witness = None if holds else {"project": j, "fraction": float(frac[j]), "got": float(a[j])}
    return Verdict("proportionality", holds, witness, float(tol - err[j]))


def _pareto_lp(P: np.ndarray, D: np.ndarray) -> tuple[float, np.ndarray]:
    """(max total improvement, an improving allocation) with nobody worse than ``D``."""
    from fairsim.allocation._l1_simplex import l1_simplex_lp

    status, message, b, fun = l1_simplex_lp(P, caps=D + 1e-12)
    if status != 0:  # the current outcome is feasible, so this is a solver failure
        raise InputError(f"Pareto LP failed: {message}")
    return float(D.sum() - fun), b


@register("budget_aggregation.pareto", "axiom", signature="profile")
def pareto(reports: Any, outcome: Any, tol: float = 1e-7) -> Verdict:
    """ℓ1 Pareto optimality (Freeman et al. 2021 §2), checked by an LP (see module doc)."""
    P, a = _inputs(reports, outcome)
    tol = _tol(tol)
    D = distances(P, a)
    gain, b = _pareto_lp(P, D)
    holds = gain <= tol
    witness = None
    if not holds:
        Db = distances(P, b)
        witness = {
            "dominating": b.tolist(),
            "distances": D.tolist(),
            "dominating_distances": Db.tolist(),
            "total_gain": gain,
        }
    return Verdict("pareto", bool(holds), witness, float(tol - gain))


@register("budget_aggregation.range_respect", "axiom", signature="profile")
def range_respect(reports: Any, outcome: Any, tol: float = 1e-9) -> Verdict:
    """min_i p_ij <= a_j <= max_i p_ij for every project j (Freeman et al. 2021 §2)."""
    P, a = _inputs(reports, outcome)
    tol = _tol(tol)
    lo, hi = P.min(axis=0), P.max(axis=0)
    over = np.maximum(lo - a, a - hi)
    j = int(over.argmax())
    holds = bool(over[j] <= tol)
    witness = None
    if not holds:
        witness = {"project": j, "low": float(lo[j]), "high": float(hi[j]), "got": float(a[j])}
    return Verdict("range_respect", holds, witness, float(tol - over[j]))


def accepts_batches(mechanism: Mechanism, reports: np.ndarray) -> bool:
    """Whether ``mechanism`` maps a batch ``(B, n, m)`` to ``(B, m)`` (tried once) [F]."""
    try:
        out = np.asarray(mechanism(reports[None]), dtype=np.float64)
    except Exception:  # noqa: BLE001 - a 2-D-only rule rejects the batch
        return False
    return out.shape == (1, reports.shape[1])


def _moves(r: np.ndarray) -> np.ndarray:
    """Every report moving min(δ, r_j) from project j to k != j, for the steps δ."""
    m = r.shape[0]
    out = []
    for delta in _STEPS:
        for j in range(m):
            if r[j] <= 0:
                continue
            mv = min(delta, r[j])
            for k in range(m):
                if k != j:
                    c = r.copy()
                    c[j] -= mv
                    c[k] += mv
                    out.append(c)
    return np.array(out).reshape(-1, m)


def best_misreport(
    mechanism: Mechanism,
    reports: np.ndarray,
    voter: int,
    truth: np.ndarray,
    rng: np.random.Generator,
    *,
    random: int = 8,
    passes: int = 6,
    batched: bool = False,
) -> tuple[np.ndarray, float]:
    """``(report, distance)``: the report of ``voter`` (others fixed) found closest to ``truth``.

    Candidates [F]: the current report, the m vertices and ``random`` Dirichlet(1) points; then
    up to ``passes`` steepest-descent steps from the best one over the moves of mass
    min(δ, r_j) from project j to k (δ in 0.5, 0.25, 0.1, 0.05, 0.02, 0.005), stopping when no
    move is strictly better. ``batched``: evaluate each candidate set with one call on a
    ``(B, n, m)`` batch (same result, faster for the moving phantoms). Kernel: no validation.
    """
    m = reports.shape[1]

    def dists(C: np.ndarray) -> np.ndarray:
        if batched:
            B = np.repeat(reports[None], C.shape[0], axis=0)
            B[:, voter] = C
            out = np.asarray(mechanism(B), dtype=np.float64)
        else:
            R = reports.copy()
            rows = []
            for c in C:
                R[voter] = c
                rows.append(np.asarray(mechanism(R), dtype=np.float64))
            out = np.array(rows)
        return np.abs(out - truth[None, :]).sum(axis=1)

    C = np.vstack([reports[voter][None], np.eye(m), rng.dirichlet(np.ones(m), size=random)])
    d = dists(C)
    k = int(np.argmin(d))
    best, best_d = C[k].copy(), float(d[k])
    if d[0] <= best_d + 1e-15:  # keep the current report on (near) ties
        best, best_d = C[0].copy(), float(d[0])
    for _ in range(passes):
        M = _moves(best)
        if M.shape[0] == 0:
            break
        d = dists(M)
        k = int(np.argmin(d))
        if not d[k] < best_d - 1e-15:
            break
        best, best_d = M[k].copy(), float(d[k])
    return best, best_d


@register("budget_aggregation.strategyproofness", "axiom", signature="mechanism")
def strategyproofness(
    mechanism: Mechanism,
    reports: Any,
    *,
    random: int = 8,
    passes: int = 6,
    max_voters: int = 8,
    seed: int = 0,
    tol: float = 1e-7,
) -> Verdict:
    """Deviation search for a profitable misreport (Freeman et al. 2021 Def. 2; see module doc).

    ``mechanism`` maps an ``(n, m)`` profile to an allocation; ``reports`` is the TRUE profile.
    Voters searched: all when n <= ``max_voters``, else ``max_voters`` drawn without replacement
    (seeded by ``seed``) [F].
    """
    P, _ = _inputs(reports, np.full(np.shape(reports)[-1], 0.0))
    tol = _tol(tol)
    for name, v in (("random", random), ("passes", passes), ("max_voters", max_voters)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InputError(f"{name} must be an int >= 0; got {v!r}")
    rng = np.random.default_rng(seed)
    n = P.shape[0]
    voters = np.arange(n) if n <= max_voters else np.sort(rng.choice(n, max_voters, False))
    a = np.asarray(mechanism(P), dtype=np.float64)
    batched = accepts_batches(mechanism, P)
    best_gain, witness = -np.inf, None
    for i in voters:
        d0 = float(np.abs(a - P[i]).sum())
        r, d = best_misreport(
            mechanism, P, int(i), P[i], rng, random=random, passes=passes, batched=batched
        )
        gain = d0 - d
        if gain > best_gain:
            best_gain = gain
            if gain > tol:
                R = P.copy()
                R[i] = r
                witness = {
                    "voter": int(i),
                    "truth": P[i].tolist(),
                    "misreport": r.tolist(),
                    "outcome": a.tolist(),
                    "outcome_misreport": np.asarray(mechanism(R), dtype=np.float64).tolist(),
                    "gain": float(gain),
                }
    holds = bool(best_gain <= tol)
    return Verdict("strategyproofness", holds, None if holds else witness, float(tol - best_gain))


# ----------------------------------------------------------------------------- metrics


@register("budget_aggregation.mean_distance", "metric")
def mean_distance(reports: Any, outcome: Any) -> float:
    """Mean ℓ1 distance (1/n) Σ_i ||a - p_i||_1 (utilitarian welfare loss)."""
    P, a = _inputs(reports, outcome)
    return float(distances(P, a).mean())


@register("budget_aggregation.max_distance", "metric")
def max_distance(reports: Any, outcome: Any) -> float:
    """max_i ||a - p_i||_1 (the worst-off voter)."""
    P, a = _inputs(reports, outcome)
    return float(distances(P, a).max())


@register("budget_aggregation.distance_to_mean", "metric")
def distance_to_mean(reports: Any, outcome: Any) -> float:
    """||a - p̄||_1 with p̄ the coordinate-wise mean report [F]."""
    P, a = _inputs(reports, outcome)
    return float(np.abs(a - P.mean(axis=0)).sum())


__all__ = [
    "accepts_batches",
    "best_misreport",
    "distance_to_mean",
    "distances",
    "max_distance",
    "mean_distance",
    "pareto",
    "proportionality",
    "range_respect",
    "strategyproofness",
]
