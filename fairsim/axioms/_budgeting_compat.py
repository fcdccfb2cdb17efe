"""Compatibility oracle for PB fairness properties (spec ``budgeting.md`` §7 last bullet, §13 [D]).

For a small election, which lotteries are ex post X (every support set satisfies the ex-post
axioms and BB1) and ex ante Y (the marginals satisfy the fair-share constraints)? Enumerate all
2^m project sets W, keep the *admissible* ones (ex-post axioms by the exact enumeration kernels
of :mod:`fairsim.axioms._budgeting_expost`, cached per W and propagated to supersets, since
JR/PJR/EJR/EJR-1/FJR only get easier when projects are added), then solve an LP over lottery
weights λ_W >= 0, Σλ = 1, marginals p = Σ λ_W 1_W, under the ex-ante rows G p >= h (HiGHS via
``scipy.optimize.linprog``). Infeasibility certifies that no lottery on this instance has the
combination; its certificate is the dual of the phase-1 LP (min total violation), re-checked
with exact ``Fraction`` arithmetic: weights y >= 0 on the ex-ante rows with
max_W y·G 1_W < y·h (every admissible W, hence every lottery, misses the y-combined row).

BB1 (§6.4) with ``bb1_reference="marginals"`` (the default reference of
:func:`fairsim.axioms.budgeting.bb1` and of BW-GCR-PB's guarantee): t = cost(p) = Σ λ_W cost(W) depends on λ, and W may carry weight
only if lo_W <= t <= hi_W (lo_W = cost(W) − max_W cost, hi_W = cost(W) + max_{C\\W} cost, per
side). Decided exactly in three steps: (1) the LP without the coupling (a relaxation: if it is
infeasible, so is the combination, with its Farkas certificate); (2) fast paths: the LP on the
sets that are BB1 at a fixed t0 ∈ {min(B, cost(C)), B} with the row Σ λ_W cost(W) = t0 (any
solution is a valid lottery); (3) BB1 pieces [D]: the distinct finite lo_W, hi_W (exact
Fractions of the float costs) p_0 < ... < p_{N-1} cut the t axis into 2N + 1 elementary pieces,
the points p_i and the open intervals between them, on each of which the family of BB1 sets is
constant; a set BB1 on an open interval is BB1 on its closure, so on each piece the question is
the LP over that family with Σλ = 1, V λ >= h and cost(p) = Σ λ_W cost(W) in the closed piece.
A range of consecutive pieces is relaxed to its closed hull and the union of its families; the
search starts from the whole axis and halves a range whose LP solution is not BB1, so a
feasible instance usually costs a few LPs and an infeasible one ends with a cover of the axis
by infeasible ranges, each with phase-1 Farkas weights re-checked exactly (the certificate
``kind="bb1_pieces"``, see :class:`CompatResult`). A MILP over support indicators y_W
(λ_W <= y_W, t >= lo_W·y_W, t <= hi_W + M·(1 − y_W)) is kept as a cross-check (``solve(...,
bb1_method="milp")``); the piece search is 4-6x faster (30 random elections with m = 9..11 that
reach step 3, whole oracle, two runs each: 4.6-5.9 s against 22-28 s). ``details["decided_by"]`` names the
deciding step (``lp``, ``lp_fixed_t``, ``bb1_pieces``; ``milp`` under ``bb1_method="milp"``);
``details["piece_lps"]`` counts the piece LPs. For the axioms offered here step (3) never ends
infeasible on an election (fairsim's observation [F]): the ex-post axioms other than
``feasible`` are closed under adding projects, the ex-ante rows only bound marginals from
below, and while some support set violates BB1 one support set W2 can take one more project
(within the budget when ``feasible`` is asked; over: lo_W1 > t >= cost(W2) for the cheapest W2, so any project of W1 \\ W2
costs at most cost(W1) − lo_W1 < cost(W1) − cost(W2) <= B − cost(W2); under: t > hi_W2, and
W2 plus its largest outside project costs hi_W2 < t <= B); projects are only ever added, so
this ends at a BB1 lottery. The piece certificate thus serves admissible families without
that closure (tested on hand-chosen families).

``bb1_reference="budget"`` uses t = B, a fixed filter on W [F]. Ex-ante rows (§6.3 [F]), on nonempty ballot classes:
IFS / Strong IFS per class with share B/n, UFS / Strong UFS per class with share w_z·B/n, GFS
over every union U of classes with S_U = {z : A_z ⊆ U} — exact for all voter groups, since a
group's row is dominated by that of the closure of its union (at most 2^m rows; m <= 20).
Floats: LP solutions are re-verified by the checkers (tolerance 1e-9·B) and re-solved with a
1e-7 margin if they fail; an infeasibility is reported only with the float LP's verdict, and its
certificate's ``"exact"`` flag says whether the exact re-check confirmed it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np

from fairsim.axioms._budgeting_common import Profile
from fairsim.axioms._budgeting_expost import (
    _Limit,
    ejr_enum,
    fjr_enum,
    jr,
    pjr_enum,
)

EX_POST = ("jr", "pjr", "ejr", "ejr_up_to_one", "fjr", "exhaustive", "feasible")
EX_ANTE = ("ifs", "strong_ifs", "ufs", "strong_ufs", "gfs")
BB1_SIDES = ("two", "over", "under", "none")
BB1_REFERENCES = ("marginals", "budget")
_NO_LIMIT = 1 << 62


@dataclass
class SupportLottery:
    """A lottery given by its explicit support (what the oracle returns); duck-types the
    ``Lottery`` interface read by the ex-ante checks and :func:`fairsim.axioms.budgeting.bb1`."""

    project_ids: list[str]
    costs: np.ndarray
    budget: float
    weights: list[float]
    sets: list[list[str]]
    marginals: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        pos = {p: c for c, p in enumerate(self.project_ids)}
        self.marginals = np.zeros(len(self.project_ids))
        for wgt, s in zip(self.weights, self.sets, strict=True):
            self.marginals[[pos[x] for x in s]] += wgt
        np.clip(self.marginals, 0.0, 1.0, out=self.marginals)

    def support(self, max_outcomes: int = 65536) -> list[tuple[float, list[str]]]:
        """(probability, ids) sorted by probability descending, then ids."""
        out = [(float(w), list(s)) for w, s in zip(self.weights, self.sets, strict=True)]
        return sorted(out, key=lambda t: (-t[0], t[1]))

    def sample(self, rng: Any = None) -> list[str]:
        gen = np.random.default_rng(rng)
        k = int(gen.choice(len(self.sets), p=np.asarray(self.weights) / sum(self.weights)))
        return list(self.sets[k])


@dataclass
class CompatResult:
    """Outcome of :func:`fairsim.axioms.budgeting.compatibility`.

    ``feasible``: some lottery has the combination. Then ``lottery`` (a :class:`SupportLottery`)
    is one, already re-verified (``details["verified"]``). Otherwise ``certificate`` proves it:

    * when the LP without the BB1 coupling is infeasible (or there is no BB1), Farkas weights
      ``"rows"`` (row label -> y >= 0), ``"bound"`` = max_W y·G 1_W over the admissible W and
      ``"required"`` = y·h (exact ``Fraction`` strings; money rows scaled by 1/B), ``"exact"``
      (the exact re-check bound < required held);
    * when only the BB1 coupling t = cost(p) makes it infeasible, ``"kind": "bb1_pieces"``,
      ``"breakpoints"`` (the exact p_i as strings) and ``"pieces"``, a partition of the t axis in
      increasing t: each piece has ``"t_range"`` [a, b] (strings, ``"-inf"``/``"inf"`` for an
      unbounded end), ``"open"`` [bool, bool] (True: that finite end is not in the piece),
      ``"sets"`` (indices into ``admissible`` of the family F: every set BB1 at some t of the
      piece), ``"rows"``, ``"t_low"`` = α and ``"t_high"`` = β (weights on the rows
      cost(p)/B >= a/B and −cost(p)/B >= −b/B) and ``"bound"`` = max_{W∈F} [y·G 1_W +
      (α − β)·cost(W)/B] < ``"required"`` = y·h + (α·a − β·b)/B: every lottery over F with t
      in [a, b] would violate the combined row. ``"exact"`` holds if every piece's re-check did;
    * ``None`` in the rare case where the float LPs could not certify it.

    ``admissible`` lists the admissible sets (ids) either way.
    """

    feasible: bool
    combination: dict[str, Any]
    admissible: list[list[str]]
    lottery: SupportLottery | None = None
    certificate: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- admissible sets


def _mask_of(bits: int, m: int) -> np.ndarray:
    return np.array([(bits >> j) & 1 for j in range(m)], dtype=bool)


def _monotone_ok(P: Profile, Wm: np.ndarray, axiom: str) -> bool:
    if axiom == "jr":
        return jr(P, Wm, "positive").holds
    if axiom == "pjr":
        return pjr_enum(P, Wm, _NO_LIMIT).holds
    if axiom == "ejr":
        return ejr_enum(P, Wm, None, _NO_LIMIT, "ejr").holds
    if axiom == "ejr_up_to_one":
        return ejr_enum(P, Wm, "strict", _NO_LIMIT, "ejr_up_to_one").holds
    return fjr_enum(P, Wm, _NO_LIMIT).holds


def _exhaustive(P: Profile, Wm: np.ndarray) -> bool:
    eps = 1e-9 * max(1.0, P.budget)
    spent = float(P.costs[Wm].sum())
    return not bool(np.any(~Wm & (spent + P.costs <= P.budget + eps)))


def _bb1_bounds(costs: np.ndarray, Wm: np.ndarray, sided: str) -> tuple[float, float]:
    """[lo, hi] of references t for which W is BB1 on ``sided`` (spec §6.4)."""
    cw = float(costs[Wm].sum())
    lo, hi = -np.inf, np.inf
    if sided in ("two", "over"):
        lo = cw - (float(costs[Wm].max()) if Wm.any() else 0.0)
    if sided in ("two", "under"):
        hi = cw + (float(costs[~Wm].max()) if (~Wm).any() else 0.0)
    return lo, hi


def admissible_sets(
    P: Profile, ex_post: tuple[str, ...], bb1: str, reference: str
) -> tuple[list[int], int]:
    """Bitmasks of the admissible W (ex-post axioms, and BB1 against B when ``reference`` is
    ``"budget"``), and the number of ex-post kernel calls made."""
    m = len(P.ids)
    mono = [a for a in ex_post if a not in ("exhaustive", "feasible")]
    good = np.zeros(1 << m, dtype=bool)
    calls = 0
    order = sorted(range(1 << m), key=lambda b: (b.bit_count(), b))
    for bits in order:
        if not mono:
            good[bits] = True
            continue
        if any(good[bits ^ (1 << j)] for j in range(m) if (bits >> j) & 1):
            good[bits] = True  # a subset satisfies every monotone axiom
            continue
        Wm = _mask_of(bits, m)
        calls += 1
        good[bits] = all(_monotone_ok(P, Wm, a) for a in mono)
    eps = 1e-9 * max(1.0, P.budget)
    out = []
    for bits in range(1 << m):
        if not good[bits]:
            continue
        Wm = _mask_of(bits, m)
        if "exhaustive" in ex_post and not _exhaustive(P, Wm):
            continue
        if "feasible" in ex_post and float(P.costs[Wm].sum()) > P.budget + eps:
            continue
        if bb1 != "none" and reference == "budget":
            lo, hi = _bb1_bounds(P.costs, Wm, bb1)
            if not (lo <= P.budget + eps and P.budget - eps <= hi):
                continue
        out.append(bits)
    return out, calls


# ----------------------------------------------------------------------------- ex-ante rows


def _frac_knapsack(costs: list[Fraction], ids: list[str], members: list[int], s: Fraction) -> Any:
    spent, val = Fraction(0), Fraction(0)
    for c in sorted(members, key=lambda c: (costs[c], ids[c])):
        if spent + costs[c] <= s:
            spent += costs[c]
            val += 1
        else:
            val += (s - spent) / costs[c]
            break
    return val


def ex_ante_rows(P: Profile, ex_ante: tuple[str, ...]) -> list[tuple[str, list[int], bool, Any]]:
    """Rows (label, projects, money?, exact rhs) of G p >= h; money rows weigh p_c by cost(c)."""
    costs = [Fraction(float(c)) for c in P.costs]
    B, n = Fraction(P.budget), Fraction(P.n)
    w = [Fraction(float(x)) for x in P.w]
    classes = [b for b in range(P.A.shape[0]) if P.A[b].any()]
    rows: list[tuple[str, list[int], bool, Any]] = []
    for name in ex_ante:
        for b in classes if name != "gfs" else []:
            A_b = np.flatnonzero(P.A[b]).tolist()
            share = B / n if name in ("ifs", "strong_ifs") else w[b] * B / n
            if name in ("ifs", "ufs"):
                rhs = min(share, sum((costs[c] for c in A_b), Fraction(0)))
                rows.append((f"{name}:class{b}", A_b, True, rhs))
            else:
                opt = _frac_knapsack(costs, P.ids, A_b, share)
                rows.append((f"{name}:class{b}", A_b, False, opt))
        if name == "gfs":
            rows.extend(_gfs_rows(P, classes, costs, w, B, n))
    return rows


def _gfs_rows(
    P: Profile, classes: list[int], costs: list[Fraction], w: list[Fraction], B: Any, n: Any
) -> list[tuple[str, list[int], bool, Any]]:
    """One row per union U of classes, with group S_U = {z : A_z ⊆ U} (its closure)."""
    bits = [sum(1 << int(c) for c in np.flatnonzero(P.A[b])) for b in classes]
    unions = {0}
    for x in bits:
        unions |= {U | x for U in unions}
    out = []
    for U in sorted(unions - {0}):
        wt = sum((w[b] for b, x in zip(classes, bits, strict=True) if x & ~U == 0), Fraction(0))
        idx = [c for c in range(len(P.ids)) if (U >> c) & 1]
        rhs = min(wt * B / n, sum((costs[c] for c in idx), Fraction(0)))
        out.append((f"gfs:{'+'.join(P.ids[c] for c in idx)}", idx, True, rhs))
    return out


# ----------------------------------------------------------------------------- LP / MILP


def _row_matrix(
    P: Profile, rows: list[tuple[str, list[int], bool, Any]], sets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(r, K) values G_k·1_W of every row on every admissible W, and h; money scaled by 1/B."""
    m = len(P.ids)
    G = np.zeros((len(rows), m))
    h = np.zeros(len(rows))
    for k, (_, idx, money, rhs) in enumerate(rows):
        G[k, idx] = P.costs[idx] / P.budget if money else 1.0
        h[k] = float(rhs) / P.budget if money else float(rhs)
    return G @ sets.T.astype(np.float64), h


def _phase1(V: np.ndarray, h: np.ndarray) -> tuple[float, np.ndarray]:
    """min Σ s  s.t.  V λ + s >= h, Σ λ = 1, λ, s >= 0; returns (optimum, dual weights y >= 0)."""
    from scipy.optimize import linprog

    r, K = V.shape
    c = np.concatenate([np.zeros(K), np.ones(r)])
    A_ub = np.hstack([-V, -np.eye(r)])
    A_eq = np.concatenate([np.ones(K), np.zeros(r)])[None, :]
    res = linprog(c, A_ub=A_ub, b_ub=-h, A_eq=A_eq, b_eq=[1.0], method="highs")
    if res.status != 0:  # pragma: no cover - phase 1 is always feasible and bounded
        raise RuntimeError(f"phase-1 LP failed: {res.message}")
    return float(res.fun), np.maximum(-np.asarray(res.ineqlin.marginals), 0.0)


def _exact_certificate(
    P: Profile,
    rows: list[tuple[str, list[int], bool, Any]],
    y: np.ndarray,
    bits: list[int],
    t_rows: tuple[float, float, Fraction | None, Fraction | None] | None = None,
) -> dict[str, Any]:
    """Re-check y exactly: max_W Σ_k y_k G_k·1_W < Σ_k y_k h_k over the sets ``bits``.

    ``t_rows = (α, β, a, b)`` adds the BB1 piece rows cost(p)/B >= a/B (weight α) and
    −cost(p)/B >= −b/B (weight β), an infinite end (None) having weight 0: W then scores
    (α − β)·cost(W)/B more and the requirement grows by (α·a − β·b)/B."""
    costs = [Fraction(float(c)) for c in P.costs]
    B = Fraction(P.budget)
    used = [k for k in range(len(rows)) if y[k] > 1e-12]
    yk = {k: Fraction(float(y[k])) for k in used}
    req = sum((yk[k] * rows[k][3] / (B if rows[k][2] else 1) for k in used), Fraction(0))
    coef = [Fraction(0)] * len(P.ids)
    for k in used:
        _, idx, money, _ = rows[k]
        for c in idx:
            coef[c] += yk[k] * (costs[c] / B if money else 1)
    extra: dict[str, float] = {}
    if t_rows is not None:
        al, be, a, b = t_rows
        fa, fb = Fraction(0), Fraction(0)
        if a is not None and al > 1e-12:
            fa = Fraction(float(al))
            req += fa * a / B
        if b is not None and be > 1e-12:
            fb = Fraction(float(be))
            req -= fb * b / B
        coef = [coef[c] + (fa - fb) * costs[c] / B for c in range(len(P.ids))]
        extra = {"t_low": float(fa), "t_high": float(fb)}
    bound = max(
        (sum((coef[c] for c in range(len(P.ids)) if (x >> c) & 1), Fraction(0)) for x in bits),
        default=None,
    )
    return {
        "rows": {rows[k][0]: float(y[k]) for k in used},
        **extra,
        "bound": "-inf" if bound is None else str(bound),
        "required": str(req),
        "exact": bool(bound is None or bound < req),
    }


def _solve_lp(
    V: np.ndarray, h: np.ndarray, margin: float, cw: np.ndarray | None = None, t0: float = 0.0
) -> np.ndarray | None:
    """Feasible λ of V λ >= h + margin, Σλ = 1, λ >= 0 (and cw·λ = t0 when cw is given)."""
    from scipy.optimize import linprog

    r, K = V.shape
    A_eq, b_eq = np.ones((1, K)), [1.0]
    if cw is not None:
        A_eq, b_eq = np.vstack([A_eq, cw[None, :]]), [1.0, t0]
    res = linprog(
        np.zeros(K),
        A_ub=-V if r else None,
        b_ub=-(h + margin) if r else None,
        A_eq=A_eq,
        b_eq=b_eq,
        method="highs",
    )
    return np.asarray(res.x) if res.status == 0 else None


def _bb1_at(
    V: np.ndarray, h: np.ndarray, margin: float, *, cw: np.ndarray, ok: np.ndarray, t0: float
) -> np.ndarray | None:
    """The LP restricted to the sets that are BB1 at the fixed reference t0 (a fast path)."""
    cols = np.flatnonzero(ok)
    if cols.size == 0:
        return None
    lam = _solve_lp(V[:, cols], h, margin, cw[cols], t0)
    if lam is None:
        return None
    out = np.zeros(V.shape[1])
    out[cols] = lam
    return out


# ----------------------------------------------------------------------------- driver


def _verify(P: Profile, ex_ante: tuple[str, ...], lot: SupportLottery, bb1: str, ref: str) -> dict:
    from fairsim.axioms import _budgeting_exante as _ea

    p = lot.marginals
    out: dict[str, bool] = {}
    for name in ex_ante:
        if name in ("ifs", "strong_ifs"):
            v = _ea.ifs(P, p, "spending" if name == "ifs" else "utility")
        elif name in ("ufs", "strong_ufs"):
            v = _ea.ufs(P, p, strong=name == "strong_ufs")
        else:
            gap, G = _ea.gfs_enum(P, p, _NO_LIMIT)
            v = _ea.gfs_verdict(P, gap, G, p)
        out[name] = bool(v.holds)
    if bb1 != "none":
        pos = {x: c for c, x in enumerate(P.ids)}
        sup = [(w, [pos[x] for x in s]) for w, s in lot.support()]
        t = float(p @ P.costs) if ref == "marginals" else P.budget
        out["bb1"] = bool(_ea.bb1(sup, P.costs, t, bb1, P.budget).holds)
    return out


def solve(
    P: Profile,
    ex_post: tuple[str, ...],
    ex_ante: tuple[str, ...],
    bb1: str,
    reference: str,
    bb1_method: str = "pieces",
) -> CompatResult:
    """The oracle on a validated class profile (see the module docstring). ``bb1_method``
    decides the BB1 coupling by the piece LPs (``"pieces"``) or by the support MILP first
    (``"milp"``, the piece certificate is then built only when the MILP finds nothing)."""
    from fairsim.axioms._budgeting_compat_bb1 import (
        _bb1_piece_search,
        _piece_certificate,
        _solve_milp,
        bb1_breakpoints,
    )

    m = len(P.ids)
    combo = {
        "ex_post": list(ex_post),
        "ex_ante": list(ex_ante),
        "bb1": bb1,
        "bb1_reference": reference,
        "utility": P.utility,
    }
    bits, calls = admissible_sets(P, ex_post, bb1, reference)
    names = [[P.ids[c] for c in range(m) if (x >> c) & 1] for x in bits]
    details: dict[str, Any] = {"sets": 1 << m, "admissible": len(bits), "expost_calls": calls}
    if not bits:
        cert = {
            "rows": {},
            "bound": "-inf",
            "required": "0",
            "exact": True,
            "reason": "no project set satisfies the ex-post axioms (and BB1)",
        }
        return CompatResult(False, combo, names, None, cert, details)
    sets = np.array([_mask_of(x, m) for x in bits])
    rows = ex_ante_rows(P, ex_ante)
    V, h = _row_matrix(P, rows, sets)
    details["rows"] = len(rows)
    use_bb1 = bb1 != "none" and reference == "marginals"
    cw = lo = hi = np.zeros(0)
    if use_bb1:
        cw = sets.astype(np.float64) @ P.costs
        bnds = [_bb1_bounds(P.costs, s, bb1) for s in sets]
        lo = np.array([b[0] for b in bnds])
        hi = np.array([b[1] for b in bnds])
    solvers: list[tuple[str, Callable[[float], np.ndarray | None]]] = [
        ("lp", lambda mg: _solve_lp(V, h, mg))
    ]
    coupled = use_bb1 and _solve_lp(V, h, 0.0) is not None
    if coupled:
        # fast paths: BB1 at a fixed t0 is a filter on W plus one equality row [D]
        eps = 1e-9 * max(1.0, P.budget)
        for t0 in sorted({min(P.budget, float(P.costs.sum())), P.budget}):
            ok = (lo <= t0 + eps) & (hi >= t0 - eps)
            solvers.append(("lp_fixed_t", partial(_bb1_at, V, h, cw=cw, ok=ok, t0=t0)))
        if bb1_method == "milp":
            solvers.append(("milp", lambda mg: _solve_milp(V, h, cw, lo, hi, mg)))
        solvers.pop(0)

    def lottery(lam: np.ndarray) -> tuple[SupportLottery, dict[str, bool]]:
        lam = np.where(lam > 1e-9, lam, 0.0)
        lam /= lam.sum()
        keep = np.flatnonzero(lam)
        lot = SupportLottery(
            list(P.ids), P.costs.copy(), P.budget, lam[keep].tolist(), [names[k] for k in keep]
        )
        return lot, _verify(P, ex_ante, lot, bb1, reference)

    first: tuple[SupportLottery, dict[str, bool]] | None = None
    for how, solver in solvers:
        for margin in (0.0, 1e-7):
            lam = solver(margin)
            if lam is None:
                break
            lot, ver = lottery(lam)
            if first is None:
                first = (lot, ver)
            if all(ver.values()):
                details.update(verified=ver, decided_by=how)
                return CompatResult(True, combo, names, lot, None, details)
    if coupled:
        # the LP relaxation is feasible, the BB1 coupling decides: LPs on pieces of the t axis
        pts, elo, ehi = bb1_breakpoints(P, bits, bb1)
        search = _bb1_piece_search(
            V, h, cw, P.budget, pts, elo, ehi, lambda lam: all(lottery(lam)[1].values())
        )
        details.update(piece_lps=search.lps, breakpoints=len(pts))
        if search.lam is not None:
            lot, ver = lottery(search.lam)
            if bb1_method == "milp":  # pragma: no cover - the MILP missed a verified lottery
                details["milp_disagrees"] = True
            details.update(verified=ver, decided_by="bb1_pieces")
            return CompatResult(True, combo, names, lot, None, details)
        if search.unverified is not None and first is None:  # pragma: no cover - floats only
            first = lottery(search.unverified)
        elif first is None:
            cert = _piece_certificate(P, rows, bits, pts, search)
            details["decided_by"] = "milp" if bb1_method == "milp" else "bb1_pieces"
            if not cert["exact"]:
                details["certificate_inexact"] = True
            return CompatResult(False, combo, names, None, cert, details)
    if first is not None:  # pragma: no cover - float solutions failed the checkers
        details.update(verified=first[1], decided_by="unverified")
        return CompatResult(True, combo, names, first[0], None, details)
    opt, y = _phase1(V, h)
    details["phase1_optimum"] = opt
    details["decided_by"] = solvers[-1][0]
    farkas = _exact_certificate(P, rows, y, bits) if opt > 1e-9 else None
    if farkas is not None and not farkas["exact"]:
        details["certificate_inexact"] = True
    return CompatResult(False, combo, names, None, farkas, details)


# ----------------------------------------------------------------------------- public API


def _names(value: Any, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    from fairsim.errors import InputError

    items = (value,) if isinstance(value, str) else tuple(value)
    bad = [x for x in items if x not in allowed]
    if bad:
        raise InputError(f"{name} must name axioms among {allowed}; got {bad[0]!r}")
    return tuple(dict.fromkeys(items))


def check_combination(
    ex_post: Any, ex_ante: Any, bb1: str, bb1_reference: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from fairsim.axioms._budgeting_common import check_choice

    check_choice(bb1, "bb1", BB1_SIDES)
    check_choice(bb1_reference, "bb1_reference", BB1_REFERENCES)
    return _names(ex_post, "ex_post", EX_POST), _names(ex_ante, "ex_ante", EX_ANTE)


def compatibility(
    e: Any,
    ex_post: Any = ("fjr",),
    ex_ante: Any = ("strong_ufs",),
    bb1: str = "two",
    utility: str = "cardinality",
    max_projects: int = 14,
    bb1_reference: str = "marginals",
) -> CompatResult:
    """Is there a lottery on ``e`` that is ex post ``ex_post`` (and BB1) and ex ante ``ex_ante``?

    Spec ``budgeting.md`` §7 ("compatibility oracle") and §13 [D]; the axioms are those of §6
    (ex-ante forms and BB1 are fairsim's reconstructions of Aziz et al., arXiv 2404.05198 [F]).
    ``ex_post`` ⊆ {jr, pjr, ejr, ejr_up_to_one, fjr, exhaustive} (with ``utility``; jr is the
    ``"positive"`` variant, ejr_up_to_one ``"strict"``; ``feasible`` is cost(W) <= B [F]:
    ``exhaustive`` alone, as in :func:`exhaustive`, does not require it); ``ex_ante`` ⊆ {ifs, strong_ifs, ufs,
    strong_ufs, gfs}; ``bb1`` ∈ {two, over, under, none}; ``bb1_reference`` ``"marginals"``
    (t = cost(p), exact by LPs on the pieces of the t axis between BB1 breakpoints) or
    ``"budget"`` (t = B) [F].
    Enumerates all 2^m project sets, so m <= ``max_projects`` (at most 20). Feasible: the
    result's ``lottery`` is re-verified by the ex-ante and BB1 checkers; infeasible: a Farkas
    certificate (one, or one per piece of the t axis when BB1 decides) re-checked exactly with
    Fractions (see :class:`CompatResult`).
    """
    from fairsim.axioms._budgeting_common import profile
    from fairsim.errors import InputError

    xp, xa = check_combination(ex_post, ex_ante, bb1, bb1_reference)
    if not isinstance(max_projects, (int, np.integer)) or not 1 <= max_projects <= 20:
        raise InputError(f"max_projects must be an integer in [1, 20]; got {max_projects!r}")
    P = profile(e, utility)
    if len(P.ids) > max_projects:
        raise InputError(
            f"compatibility enumerates 2^m project sets: m={len(P.ids)} exceeds "
            f"max_projects={max_projects}"
        )
    if not P.n > 0:
        raise InputError(f"e must have voters: total weight n must be > 0; got {P.n}")
    try:
        return solve(P, xp, xa, bb1, bb1_reference)
    except _Limit:  # pragma: no cover - the kernels run without a limit
        raise InputError("the ex-post enumeration did not finish") from None
