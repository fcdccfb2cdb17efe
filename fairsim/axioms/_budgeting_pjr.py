"""PJR's inner problem at a fixed T: the heaviest group X can cover (spec §6.1, §7) [D].

PJR fails at a cohesive T iff some group S of supporters of T with w(S)·B >= n·cost(T) has
u(W ∩ ∪_S A_b) < u(T). Writing X = W ∩ ∪_S A_b, every member's *signature* σ_b = A_b ∩ W lies in
X, so for a fixed T the question is: over X ⊆ W with u(X) < u(T), how heavy is the set of
eligible classes whose signature lies in X? Only classes with u_b(W) < u(T) can join (σ_b ⊆ X),
and classes with the same signature join together, so the search runs over distinct
signatures: the union of all of them when it is already cheap enough, all unions of up to
``ENUM_SIGS`` signatures by enumeration, else a small max-coverage MILP (HiGHS) with rows
y_s <= z_c (c ∈ σ_s) and Σ u(c)·z_c <= u(T) − δ, whose answer is re-checked exactly.
"""

from __future__ import annotations

import numpy as np

from fairsim.axioms._budgeting_common import Profile, money_delta

#: up to this many distinct signatures the unions are enumerated (2^ENUM_SIGS of them).
ENUM_SIGS = 12


class Inconclusive(Exception):
    """The MILP's answer failed the exact re-check (float trouble); the verdict stays open."""


def heaviest_cover(
    P: Profile, Wm: np.ndarray, E: np.ndarray, uT: float
) -> tuple[float, np.ndarray]:
    """(weight, classes) of the heaviest S ⊆ E with u(W ∩ ∪_S A_b) < u(T).

    ``E`` must hold classes with u_b(W) < u(T) (each alone is such a group).
    """
    Wc = np.flatnonzero(Wm)
    sig = P.A[np.ix_(E, Wc)]
    cols = np.flatnonzero(sig.any(axis=0))
    sig = sig[:, cols]
    uc = P.u[Wc[cols]]
    lim = uT - P.utol
    if float(uc.sum()) < lim:  # the whole of E covers too little
        return float(P.w[E].sum()), E
    uniq, inv = np.unique(sig, axis=0, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    ws = np.bincount(inv, weights=P.w[E], minlength=uniq.shape[0])
    if uniq.shape[0] <= ENUM_SIGS:
        best, X = _enumerate(uniq, ws, uc, lim)
    else:
        best, X = _milp(uniq, ws, uc, uT, money_delta(P), lim)
    inside = ~(uniq & ~X[None, :]).any(axis=1)
    G = E[inside[inv]]
    return float(P.w[G].sum()), G


def _enumerate(
    uniq: np.ndarray, ws: np.ndarray, uc: np.ndarray, lim: float
) -> tuple[float, np.ndarray]:
    """All unions of subsets of the signatures; the heaviest one with u < lim."""
    s = uniq.shape[0]
    masks = np.arange(1, 1 << s, dtype=np.int64)
    pick = ((masks[:, None] >> np.arange(s)) & 1).astype(bool)  # (2^s - 1, s)
    union = (pick.astype(np.int64) @ uniq.astype(np.int64)) > 0  # (2^s - 1, cols)
    uX = union.astype(np.float64) @ uc
    inside = ~(uniq[None, :, :] & ~union[:, None, :]).any(axis=2)  # sig ⊆ union
    weight = inside.astype(np.float64) @ ws
    weight[uX >= lim] = -1.0
    i = int(np.argmax(weight))
    return float(weight[i]), union[i]


def _milp(
    uniq: np.ndarray, ws: np.ndarray, uc: np.ndarray, uT: float, delta: float, lim: float
) -> tuple[float, np.ndarray]:
    """max Σ w_s y_s s.t. y_s <= z_c (c ∈ σ_s), Σ u(c) z_c <= u(T) − δ; binary y, z."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    s, nc = uniq.shape
    rs, cs = np.nonzero(uniq)
    r = np.arange(rs.size)
    link = sparse.csr_matrix(
        (
            np.concatenate([np.ones(rs.size), -np.ones(rs.size)]),
            (np.concatenate([r, r]), np.concatenate([rs, s + cs])),
        ),
        shape=(rs.size, s + nc),
    )
    scale = max(float(uc.max()), 1.0)
    knap = np.concatenate([np.zeros(s), uc / scale])[None, :]
    res = milp(
        np.concatenate([-ws, np.zeros(nc)]),
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(knap, -np.inf, (uT - delta) / scale),
        ],
        integrality=np.ones(s + nc),
        bounds=Bounds(np.zeros(s + nc), np.ones(s + nc)),
        options={"mip_rel_gap": 0.0},
    )
    if res.status != 0 or res.x is None:
        raise Inconclusive
    y = np.asarray(res.x[:s]) > 0.5
    X = np.asarray(uniq[y].any(axis=0), dtype=bool)
    if float(X.astype(np.float64) @ uc) >= lim:
        raise Inconclusive
    return float(ws[~(uniq & ~X[None, :]).any(axis=1)].sum()), X
