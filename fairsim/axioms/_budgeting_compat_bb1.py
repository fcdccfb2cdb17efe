"""BB1 coupling of the PB compatibility oracle: the piece search, its certificate, the MILP.

Split out of :mod:`fairsim.axioms._budgeting_compat` (whose module docstring states the method,
step (3), and the certificate format): t = cost(p) is cut at the exact breakpoints lo_W, hi_W
into points and open intervals with a constant family of BB1 sets; ranges of pieces are
searched by LP and halved when their solution is not BB1; infeasible ranges carry phase-1 Farkas
weights re-checked with Fractions. The support-indicator MILP is the cross-check [D].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from fairsim.axioms._budgeting_common import Profile
from fairsim.axioms._budgeting_compat import _exact_certificate, _phase1, _solve_lp


def _solve_milp(
    V: np.ndarray, h: np.ndarray, cw: np.ndarray, lo: np.ndarray, hi: np.ndarray, margin: float
) -> np.ndarray | None:
    """Variables (λ, y, t): V λ >= h, Σλ = 1, λ <= y, t = cw·λ, t >= lo·y, t <= hi + M(1 − y)."""
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    r, K = V.shape
    M = float(cw.max() + max(hi[np.isfinite(hi)].max(initial=0.0), 0.0) + 1.0)
    eye, zero = sparse.identity(K, format="csr"), sparse.csr_matrix((K, K))
    col = sparse.csr_matrix(np.ones((K, 1)))
    cons = [
        LinearConstraint(np.concatenate([np.ones(K), np.zeros(K), [0.0]])[None, :], 1.0, 1.0),
        LinearConstraint(sparse.hstack([eye, -eye, sparse.csr_matrix((K, 1))]), -np.inf, 0.0),
        LinearConstraint(np.concatenate([cw, np.zeros(K), [-1.0]])[None, :], 0.0, 0.0),
    ]
    if r:
        cons.append(LinearConstraint(np.hstack([V, np.zeros((r, K + 1))]), h + margin, np.inf))
    lo_f = np.where(np.isfinite(lo), lo, 0.0)
    cons.append(LinearConstraint(sparse.hstack([zero, -sparse.diags(lo_f), col]), 0.0, np.inf))
    hi_f = np.where(np.isfinite(hi), hi, M)
    cons.append(LinearConstraint(sparse.hstack([zero, M * eye, col]), -np.inf, hi_f + M))
    integrality = np.concatenate([np.zeros(K), np.ones(K), [0]])
    bounds = Bounds(np.zeros(2 * K + 1), np.concatenate([np.ones(2 * K), [np.inf]]))
    res = milp(np.zeros(2 * K + 1), constraints=cons, integrality=integrality, bounds=bounds)
    return np.asarray(res.x[:K]) if res.status == 0 else None


# ----------------------------------------------------------------------------- BB1 pieces


def bb1_breakpoints(
    P: Profile, bits: list[int], sided: str
) -> tuple[list[Fraction], np.ndarray, np.ndarray]:
    """Exact breakpoints of the t axis and, per set, its elementary pieces [elo_W, ehi_W].

    The sorted distinct finite lo_W, hi_W (Fractions of the float costs) p_0 < ... < p_{N-1}
    cut the t axis into 2N + 1 elementary pieces: piece 2i is the open interval (p_{i-1}, p_i)
    (p_{-1} = −inf, p_N = +inf) and piece 2i + 1 is the point p_i. W is BB1 exactly on the
    pieces elo_W..ehi_W, so the BB1-admissible family is constant on each piece [D]."""
    costs = [Fraction(float(c)) for c in P.costs]
    m, zero = len(costs), Fraction(0)
    lo: list[Fraction | None] = []
    hi: list[Fraction | None] = []
    for x in bits:
        ins = [costs[c] for c in range(m) if (x >> c) & 1]
        out = [costs[c] for c in range(m) if not (x >> c) & 1]
        cw = sum(ins, zero)
        lo.append(cw - max(ins, default=zero) if sided in ("two", "over") else None)
        hi.append(cw + max(out, default=zero) if sided in ("two", "under") else None)
    pts = sorted({v for v in lo + hi if v is not None})
    rank = {v: i for i, v in enumerate(pts)}
    elo = np.array([0 if v is None else 2 * rank[v] + 1 for v in lo], dtype=np.int64)
    ehi = np.array([2 * len(pts) if v is None else 2 * rank[v] + 1 for v in hi], dtype=np.int64)
    return pts, elo, ehi


def _t_rows(
    V: np.ndarray, h: np.ndarray, cw: np.ndarray, B: float, a: Fraction | None, b: Fraction | None
) -> tuple[np.ndarray, np.ndarray]:
    """V, h with the rows cost(p)/B >= a/B and −cost(p)/B >= −b/B appended (finite ends only)."""
    Vt, ht = [V], [h]
    if a is not None:
        Vt.append(cw[None, :] / B)
        ht.append(np.array([float(a / Fraction(B))]))
    if b is not None:
        Vt.append(-cw[None, :] / B)
        ht.append(np.array([-float(b / Fraction(B))]))
    return np.vstack(Vt), np.concatenate(ht)


@dataclass
class _PieceSearch:
    """Result of :func:`_bb1_piece_search`: an accepted λ, or the infeasible pieces."""

    lam: np.ndarray | None
    pieces: list[tuple[int, int, np.ndarray, np.ndarray]]  # (first, last, family, duals)
    lps: int
    unverified: np.ndarray | None = None


def _bb1_piece_search(
    V: np.ndarray,
    h: np.ndarray,
    cw: np.ndarray,
    B: float,
    pts: list[Fraction],
    elo: np.ndarray,
    ehi: np.ndarray,
    accept: Callable[[np.ndarray], bool],
) -> _PieceSearch:
    """Decide BB1 with t = cost(p) by LPs on ranges of elementary pieces, splitting in halves.

    A range i..j is relaxed to the closed t-interval spanned by it and the union of the
    families of its pieces; if that LP is infeasible the range is certified (phase-1 duals),
    if its solution is ``accept``-ed the instance is feasible, else the range is halved. A
    single piece's LP is exact (a set BB1 on an open interval is BB1 on its closure) [D]."""
    r, N = V.shape[0], len(pts)
    out = _PieceSearch(None, [], 0)
    stack = [(0, 2 * N)]
    while stack:
        i, j = stack.pop()
        fam = np.flatnonzero((elo <= j) & (ehi >= i))
        if fam.size == 0:
            out.pieces.append((i, j, fam, np.zeros(r + 2)))
            continue
        a = pts[(i - 1) // 2] if i >= 1 else None
        b = pts[j // 2] if j // 2 < N else None
        Vt, ht = _t_rows(V[:, fam], h, cw[fam], B, a, b)
        solved = False
        for margin in (0.0, 1e-7) if i == j else (0.0,):  # a wider range is halved instead
            lam = _solve_lp(Vt, ht + np.r_[np.full(r, margin), np.zeros(ht.size - r)], 0.0)
            out.lps += 1
            if lam is None:
                break
            solved = True
            full = np.zeros(V.shape[1])
            full[fam] = lam
            if accept(full):
                out.lam = full
                return out
            if i == j and out.unverified is None:  # pragma: no cover - float trouble only
                out.unverified = full
        if solved:
            if i < j:
                mid = (i + j) // 2
                stack += [(mid + 1, j), (i, mid)]
            continue
        _, y = _phase1(Vt, ht)
        out.lps += 1
        duals = np.zeros(r + 2)
        duals[:r] = y[:r]
        k = r
        for pos, end in ((r, a), (r + 1, b)):
            if end is not None:
                duals[pos] = y[k]
                k += 1
        out.pieces.append((i, j, fam, duals))
    return out


def _piece_certificate(
    P: Profile,
    rows: list[tuple[str, list[int], bool, Any]],
    bits: list[int],
    pts: list[Fraction],
    search: _PieceSearch,
) -> dict[str, Any]:
    """The ``"bb1_pieces"`` certificate (see :class:`CompatResult`), pieces in t order."""
    r, N = len(rows), len(pts)
    pieces = []
    for i, j, fam, duals in sorted(search.pieces, key=lambda q: q[0]):
        a = pts[(i - 1) // 2] if i >= 1 else None
        b = pts[j // 2] if j // 2 < N else None
        fbits = [bits[k] for k in fam]
        cert = _exact_certificate(P, rows, duals[:r], fbits, (duals[r], duals[r + 1], a, b))
        piece = {
            "t_range": ["-inf" if a is None else str(a), "inf" if b is None else str(b)],
            "open": [i % 2 == 0 and a is not None, j % 2 == 0 and b is not None],
            "sets": fam.tolist(),
        }
        pieces.append({**piece, **cert})
    return {
        "kind": "bb1_pieces",
        "breakpoints": [str(p) for p in pts],
        "pieces": pieces,
        "exact": all(p["exact"] for p in pieces),
    }
