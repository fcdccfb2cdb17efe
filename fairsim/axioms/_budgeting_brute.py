"""Literal brute force over voter groups and project sets (spec §7: tests only, n + m <= 20).

Each ballot row is a voter with its multiplicity as weight; the checks follow the table of §6.1
word for word, so they serve as an independent oracle for the enumeration and the ILP.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.axioms import Verdict
from fairsim.axioms._budgeting_common import Profile
from fairsim.errors import InputError

MAX_SIZE = 20


def _masks(P: Profile) -> tuple[list[int], list[float]]:
    sets = []
    for r in range(P.row_class.size):
        row = P.A[P.row_class[r]]
        sets.append(sum(1 << c for c in range(row.size) if row[c]))
    return sets, [float(x) for x in P.row_w]


def _val(P: Profile, mask: int) -> float:
    return float(sum(P.u[c] for c in range(P.u.size) if mask >> c & 1))


def _cost(P: Profile, mask: int) -> float:
    return float(sum(P.costs[c] for c in range(P.costs.size) if mask >> c & 1))


def brute(P: Profile, Wm: np.ndarray, axiom: str, variant: str | None = None) -> Verdict:
    """Check ``axiom`` in {jr, pjr, ejr, ejr1, fjr} over all voter groups and project sets."""
    nr, m = P.row_class.size, P.u.size
    if nr + m > MAX_SIZE:
        raise InputError(f"method='bruteforce' needs rows + projects <= {MAX_SIZE}; got {nr + m}")
    sets, wts = _masks(P)
    Wmask = sum(1 << c for c in range(m) if Wm[c])
    pos = sum(1 << c for c in range(m) if P.u[c] > 0)
    uW = [_val(P, s & Wmask) for s in sets]
    full = (1 << m) - 1
    name = "ejr_up_to_one" if axiom == "ejr1" else axiom
    for S in range(1, 1 << nr):
        members = [i for i in range(nr) if S >> i & 1]
        wS = sum(wts[i] for i in members)
        common = full
        union = 0
        for i in members:
            common &= sets[i]
            union |= sets[i]
        pool = full & pos if axiom == "fjr" else common & pos
        T = pool
        while T:
            bad = _violates(P, axiom, variant, T, members, wS, sets, uW, Wmask, union)
            if bad is not None:
                wit: dict[str, Any] = {
                    "voters": members,
                    "projects": [P.ids[c] for c in range(m) if T >> c & 1],
                    "beta": bad,
                    "group_weight": wS,
                    "required": P.n * _cost(P, T) / P.budget,
                }
                return Verdict(
                    name, False, wit, (P.n * _cost(P, T) - P.budget * wS) / (P.n * P.budget)
                )
            T = (T - 1) & pool
    return Verdict(name, True, None, float("inf"))


def _violates(
    P: Profile,
    axiom: str,
    variant: str | None,
    T: int,
    members: list[int],
    wS: float,
    sets: list[int],
    uW: list[float],
    Wmask: int,
    union: int,
) -> float | None:
    cost = _cost(P, T)
    if not P.big_enough(wS, cost):
        return None
    uT = _val(P, T)
    if axiom == "jr":
        if T & (T - 1):
            return None
        if variant == "positive":
            return None if any(sets[i] & Wmask for i in members) else uT
        return None if any(uW[i] >= uT - P.utol for i in members) else uT
    if axiom == "ejr":
        return None if any(uW[i] >= uT - P.utol for i in members) else uT
    if axiom == "ejr1":
        top = max((P.u[c] for c in range(P.u.size) if (T & ~Wmask) >> c & 1), default=0.0)
        for i in members:
            if uW[i] >= uT - P.utol:
                return None
            if variant == "strict" and uW[i] + top > uT + P.utol:
                return None
            if variant == "pabutools" and uW[i] + top >= uT - P.utol:
                return None
        return uT
    if axiom == "pjr":
        return None if _val(P, Wmask & union) >= uT - P.utol else uT
    # fjr: weakly (beta, T)-cohesive with the best beta for this group
    if cost > P.budget + P.tol / max(1.0, P.n):
        return None
    beta = min(_val(P, sets[i] & T) for i in members)
    if beta <= 0:
        return None
    return None if any(uW[i] >= beta - P.utol for i in members) else beta
