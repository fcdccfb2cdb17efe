"""Exact certificates of non-priceability (spec ``budgeting.md`` §6.2; weak LP duality).

Split out of :mod:`fairsim.axioms._budgeting_price`: :func:`dual_bound` turns multipliers
(π on the pay rows of W, λ on the leftover rows of unselected projects) into an exact
``Fraction`` lower bound on the least total relaxation of the priceability LP; a bound above
the tolerance certifies "not priceable" without trusting any float solve.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from fairsim.axioms._budgeting_common import Profile

#: denominator of the rational multipliers of a certificate (they are exact floats)
CERT_DEN = 2**30


def _exact_sum(w: np.ndarray, ints: np.ndarray) -> Fraction:
    """Σ w_i·ints_i exactly (w float, ints int64)."""
    if (
        np.all(w == np.round(w))
        and float(np.abs(w).sum()) * float(np.abs(ints).max(initial=1)) < 2.0**62
    ):
        return Fraction(int(np.dot(w.astype(np.int64), ints)))
    out = Fraction(0)
    for v in np.unique(w):
        out += Fraction(float(v)) * int(ints[w == v].sum())
    return out


def dual_bound(P: Profile, Wm: np.ndarray, pi: np.ndarray, lam: np.ndarray) -> Fraction | None:
    """Exact lower bound on the least total relaxation (money) from multipliers ``pi`` (pay
    rows, any sign, one per project, used on W) and ``lam`` (leftover rows, >= 0, used off W).

    Weak LP duality, derived from the Lagrangian of the phase-1 LP in money units: for
    |π_c| <= 1, 0 <= λ_c <= 1 and α_z = max(0, max_{c ∈ A_z∩W} π_c + Σ_{c ∈ A_z∖W} λ_c)
    (α_z = 0 if A_z ∩ W = ∅) with α_z <= 1 and β = Σ_{c∉W} λ_c s_c − Σ_z w_z α_z >= 0 (s_c the
    supporters' weight of c), every (b >= B/n, p >= 0) has total relaxation
    >= Σ_{c∈W} π_c cost(c) − Σ_{c∉W} λ_c cost(c) + (B/n)·β: a budget row relaxes by at least
    α_z(d_z − b), a pay row by π_c(cost − paid), a leftover row by λ_c(leftover − cost);
    summing, the p-terms have coefficients w_z(α_z − π_c − Σλ) >= 0 and b has β >= 0.
    The multipliers are rounded to multiples of 1/CERT_DEN, pulled into that region
    (scaled by <= 1 when some α_z > 1; π lowered while β < 0) and the bound is computed in
    exact rational arithmetic on the float data; ``pi`` and ``lam`` are overwritten
    with the multipliers used. Returns None if β cannot be made >= 0 [F]."""
    D = CERT_DEN
    Wi = np.flatnonzero(Wm)
    Oi = np.flatnonzero(~Wm & P.A.any(axis=0))
    Pi = np.rint(np.clip(np.asarray(pi, np.float64)[Wi], -1.0, 1.0) * D).astype(np.int64)
    La = np.rint(np.clip(np.asarray(lam, np.float64)[Oi], 0.0, 1.0) * D).astype(np.int64)
    AW = P.A[:, Wi]
    has_w = AW.any(axis=1)
    AO = P.A[:, Oi].astype(np.int64)
    s_c = [_exact_sum(P.w, P.A[:, c].astype(np.int64)) for c in Oi]

    def alpha(Pi: np.ndarray, La: np.ndarray) -> np.ndarray:
        top = np.where(AW, Pi[None, :], -4 * D).max(axis=1, initial=-4 * D)
        return np.where(has_w, np.maximum(top + AO @ La, 0), 0)

    a = alpha(Pi, La)
    M = int(a.max(initial=0))
    if M > D:  # scale (π, λ) into α <= 1 (α is positively homogeneous in them)
        Pi, La = (Pi * D) // M, (La * D) // M
        a = alpha(Pi, La)
    beta = sum((int(La[j]) * s_c[j] for j in range(Oi.size)), Fraction(0)) - _exact_sum(P.w, a)
    for _ in range(40):
        if beta >= 0:
            break
        act = _exact_sum(P.w, (a > 0).astype(np.int64))
        if act == 0:
            return None
        delta = max(1, int(-beta / act) + 1)
        Pi = np.maximum(Pi - delta, -D)
        a = alpha(Pi, La)
        beta = sum((int(La[j]) * s_c[j] for j in range(Oi.size)), Fraction(0)) - _exact_sum(P.w, a)
    if beta < 0:
        return None
    cost = [Fraction(float(x)) for x in P.costs]
    val = sum((int(Pi[j]) * cost[c] for j, c in enumerate(Wi)), Fraction(0))
    val -= sum((int(La[j]) * cost[c] for j, c in enumerate(Oi)), Fraction(0))
    n = _exact_sum(P.w, np.ones(P.w.size, np.int64))
    val += Fraction(float(P.budget)) / n * beta
    lb = val / D
    pi_out = np.zeros(len(P.ids))
    lam_out = np.zeros(len(P.ids))
    pi_out[Wi] = Pi / D
    lam_out[Oi] = La / D
    pi[:] = pi_out
    lam[:] = lam_out
    return lb


def _certify(P: Profile, Wm: np.ndarray, pi: np.ndarray, lam: np.ndarray) -> dict | None:
    """A checked certificate {"lower_bound", "pi", "lambda"} (money; multipliers by project
    id, exact binary fractions) from LP duals, or None if it does not verify."""
    pi, lam = pi.copy(), lam.copy()
    lb = dual_bound(P, Wm, pi, lam)
    if lb is None:
        return None
    return {
        "lower_bound": float(lb),
        "lower_bound_exact": lb,
        "pi": {P.ids[c]: float(pi[c]) for c in np.flatnonzero(Wm) if pi[c] != 0},
        "lambda": {P.ids[c]: float(lam[c]) for c in np.flatnonzero(lam)},
    }
