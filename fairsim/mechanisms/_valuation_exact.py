"""Exact semivalues, KernelSHAP, least core, KNN-Shapley and closed forms (spec §3, §4, §5, §7).

Private helpers of :mod:`fairsim.mechanisms.valuation`; inputs are already validated.
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np

from fairsim.mechanisms._valuation_sampling import Driver
from fairsim.mechanisms.games import rows_of

CHUNK = 1 << 16


def shapley_weights(n: int) -> np.ndarray:
    """``w_s = s!(n-1-s)!/n!`` for ``s = 0..n-1`` by the stable recursion of spec §4."""
    w = np.empty(n)
    w[0] = 1.0 / n
    for s in range(n - 1):
        w[s + 1] = w[s] * (s + 1) / (n - 1 - s)
    return w


def beta_weights(n: int, alpha: float, beta: float) -> np.ndarray:
    """Beta(alpha, beta) Shapley (Kwon & Zou 2022): ``p_s = B(s+beta, n-1-s+alpha)/B(alpha, beta)``."""
    from scipy.special import betaln

    s = np.arange(n)
    return np.exp(betaln(s + beta, n - 1 - s + alpha) - betaln(alpha, beta))


def semivalue_exact(game: Any, p: np.ndarray) -> tuple[np.ndarray, int]:
    """Coefficient-form exact semivalue; returns (values, evaluations = 2^n coalition values)."""
    from fairsim.allocation._shapley_exact import semivalue_chunk

    n = game.n_players
    p_in = np.zeros(n + 1)
    p_in[1:] = p
    p_out = np.zeros(n + 1)
    p_out[:n] = p
    if hasattr(game, "table"):
        table = np.ascontiguousarray(game.table(), dtype=np.float64)
        return semivalue_chunk(table, 0, n, p_in, p_out), 1 << n
    out = np.zeros(n)
    size = 1 << n
    for lo in range(0, size, CHUNK):
        masks = np.arange(lo, min(size, lo + CHUNK), dtype=np.int64)
        vals = np.ascontiguousarray(game.value(rows_of(masks, n)), dtype=np.float64)
        out += semivalue_chunk(vals, lo, n, p_in, p_out)
    return out, size


def semivalue_torch(torch: Any, game: Any, p: np.ndarray, device: Any) -> tuple[np.ndarray, int]:
    """Batched-GEMM exact semivalue on ``device`` (spec §4).

    Values come from ``torch_value`` on device chunks when the game has it and the device is CUDA,
    else from ``table()`` (built on host), else from ``torch_value`` on CPU, else from ``value`` on
    host chunks [fairsim order]. Evaluations = ``2^n``.
    """
    from fairsim.allocation import _shapley_torch as T

    n = game.n_players
    tv = getattr(game, "torch_value", None)
    if hasattr(game, "table") and not (tv is not None and device.type == "cuda"):
        table = np.ascontiguousarray(game.table(), dtype=np.float64)[None, :]
        return T.semivalue_tables(torch, table, n, p, device)[0], 1 << n
    return T.semivalue_streamed(torch, n, p, device, tv, None if tv else game.value), 1 << n


def kernel_shap(
    drv: Driver, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """KernelSHAP with paired sampling and the border trick (Lundberg & Lee 2017; Covert & Lee 2021).

    Whole size strata are enumerated from the extremes while the budget allows; the rest of the
    budget samples sizes with probability proportional to ``1/(s(n-s))``, a uniform coalition of
    that size and its complement. The constrained weighted least squares is solved in closed form.
    """
    n = drv.n
    if drv.remaining() < 2:
        drv.out_of_budget()
        return np.zeros(n), np.full(n, np.nan), np.zeros(n, np.int64), {}
    ends = drv.evaluate(np.array([np.zeros(n, bool), np.ones(n, bool)]))
    v0, vn = float(ends[0]), float(ends[1])
    c = vn - v0
    if n == 1:
        drv.stop_reason = "exact"
        return np.array([c]), np.zeros(1), np.ones(1, np.int64), {}
    mass = np.array([0.0] + [(n - 1) / (s * (n - s)) for s in range(1, n)])
    sizes_left = list(range(1, n))
    enumerated: list[int] = []
    rows: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    planned = 0
    while sizes_left:
        pair = sorted({sizes_left[0], sizes_left[-1]})
        cost = sum(math.comb(n, s) for s in pair)
        if planned + cost > drv.remaining():
            break
        planned += cost
        for s in pair:
            block = np.zeros((math.comb(n, s), n), dtype=bool)
            for r, comb in enumerate(combinations(range(n), s)):
                block[r, list(comb)] = True
            rows.append(block)
            weights.append(np.full(block.shape[0], mass[s] / math.comb(n, s)))
            enumerated.append(s)
            sizes_left.remove(s)
    Z = np.concatenate(rows) if rows else np.zeros((0, n), bool)
    y = drv.evaluate(Z) - v0 if Z.shape[0] else np.zeros(0)
    om = np.concatenate(weights) if weights else np.zeros(0)
    sampled = 0
    if sizes_left:
        m = (drv.remaining() // 2) * 2
        if m > 0:
            left = np.array(sizes_left)
            prob = mass[left] / mass[left].sum()
            half = m // 2
            sz = rng.choice(left, size=half, p=prob)
            keys = rng.random((half, n))
            ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
            S = ranks < sz[:, None]
            S = np.concatenate([S, ~S])
            ys = drv.evaluate(S) - v0
            R = mass[left].sum()
            Z = np.concatenate([Z, S])
            y = np.concatenate([y, ys])
            om = np.concatenate([om, np.full(S.shape[0], R / S.shape[0])])
            sampled = S.shape[0]
    if sizes_left:
        drv.out_of_budget()
    else:
        drv.stop_reason = "enumerated"
    Zf = Z.astype(np.float64)
    A = Zf.T @ (Zf * om[:, None])
    b = Zf.T @ (om * y)
    A += 1e-12 * np.eye(n) * max(1.0, float(np.trace(A)) / n)
    Ai_b = np.linalg.solve(A, b)
    Ai_1 = np.linalg.solve(A, np.ones(n))
    lam = (Ai_b.sum() - c) / Ai_1.sum()
    phi = Ai_b - lam * Ai_1
    info = {"enumerated_sizes": sorted(enumerated), "sampled": sampled}
    return phi, np.full(n, np.nan), np.full(n, Z.shape[0], dtype=np.int64), info


class LeastCoreLP(NamedTuple):
    """Stage-1 solution and the data stage 2 reuses (no second round of game evaluations)."""

    x: np.ndarray
    e: float
    evaluations: int
    coalitions: np.ndarray
    v_coalitions: np.ndarray
    v_grand: float


def least_core_lp(game: Any, coalitions: np.ndarray | None) -> LeastCoreLP:
    """Stage 1 of the least core (spec §3): min e s.t. x(S) + e >= v(S), x(N) = v(N), via HiGHS."""
    from scipy import sparse
    from scipy.optimize import linprog

    n = game.n_players
    if coalitions is None:
        masks = np.arange(1, (1 << n) - 1, dtype=np.int64)
        S = rows_of(masks, n)
    else:
        S = coalitions
    ends = game.value(np.array([np.ones(n, bool)]))
    vS = np.asarray(game.value(S), dtype=np.float64) if S.shape[0] else np.zeros(0)
    vn = float(ends[0])
    A = sparse.hstack([sparse.csr_matrix(-S.astype(np.float64)), -np.ones((S.shape[0], 1))])
    cost = np.zeros(n + 1)
    cost[-1] = 1.0
    res = linprog(
        cost,
        A_ub=A.tocsr(),
        b_ub=-vS,
        A_eq=np.concatenate([np.ones(n), [0.0]])[None, :],
        b_eq=[vn],
        bounds=[(None, None)] * (n + 1),
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"least-core LP failed: {res.message}")
    return LeastCoreLP(res.x[:n], float(res.x[-1]), S.shape[0] + 1, S, vS, vn)


def least_core_egalitarian(lp: LeastCoreLP, slack: float = 1e-9) -> tuple[np.ndarray | None, str]:
    """Stage 2 (spec §3): min ||x||_2^2 s.t. x(S) >= v(S) - e* - slack, x(N) = v(N).

    Solved with cvxpy + Clarabel (optional, imported here). Returns ``(x, status)``; ``x`` is
    ``None`` when cvxpy is missing or the solver does not report an optimal solution.
    """
    try:
        import cvxpy as cp
    except ImportError:
        return None, "cvxpy not installed"
    from scipy import sparse

    n = lp.x.shape[0]
    x = cp.Variable(n)
    cons = [cp.sum(x) == lp.v_grand]
    if lp.coalitions.shape[0]:
        A = sparse.csr_matrix(lp.coalitions.astype(np.float64))
        cons.append(A @ x >= lp.v_coalitions - lp.e - slack)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(x)), cons)
    try:
        prob.solve(
            solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, max_iter=500
        )
    except cp.error.SolverError as exc:  # pragma: no cover - solver-dependent
        return None, f"solver error: {exc}"
    if (
        prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or x.value is None
    ):  # pragma: no cover
        return None, str(prob.status)
    return _polish(lp, np.asarray(x.value, dtype=np.float64), slack), str(prob.status)


def _polish(lp: LeastCoreLP, x: np.ndarray, slack: float) -> np.ndarray:
    """Refine the interior-point answer on its active set [fairsim].

    With ``S`` running over the constraints the solver left (nearly) tight, the minimum-norm
    solution of ``x(S) = v(S) - e*`` and ``x(N) = v(N)`` is a least-squares problem. It replaces
    ``x`` when it satisfies every constraint within ``slack`` and is no longer than ``x`` (up to
    rounding); by strict convexity it is then at least as close to the egalitarian point.
    """
    b_all = lp.v_coalitions - lp.e
    Sf = lp.coalitions.astype(np.float64)
    scale = max(1.0, float(np.abs(b_all).max(initial=0.0)), abs(lp.v_grand))
    resid = Sf @ x - b_all
    act = resid < 1e-6 * scale
    A = np.vstack([Sf[act], np.ones((1, x.size))])
    b = np.concatenate([b_all[act], [lp.v_grand]])
    y = np.linalg.lstsq(A, b, rcond=None)[0]
    feasible = abs(y.sum() - lp.v_grand) <= 1e-12 * scale and bool(np.all(Sf @ y >= b_all - slack))
    shorter = float(y @ y) <= float(x @ x) + 1e-9 * max(1.0, float(x @ x))
    return y if feasible and shorter else x


def knn_shapley_values(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, k: int
) -> np.ndarray:
    """Exact KNN-Shapley recursion (Jia et al. 2019, PVLDB), averaged over validation points."""
    N = x_train.shape[0]
    out = np.zeros(N)
    j = np.arange(1, N)
    factor = np.minimum(k, j) / j / k
    for lo in range(0, x_val.shape[0], 256):
        xv, yv = x_val[lo : lo + 256], y_val[lo : lo + 256]
        d = ((xv[:, None, :] - x_train[None, :, :]) ** 2).sum(axis=2)
        order = np.argsort(d, axis=1, kind="stable")
        match = (y_train[order] == yv[:, None]).astype(np.float64)
        s = np.empty_like(match)
        s[:, -1] = match[:, -1] / N
        diff = (match[:, :-1] - match[:, 1:]) * factor[None, :]
        s[:, :-1] = s[:, -1:] + np.cumsum(diff[:, ::-1], axis=1)[:, ::-1]
        vals = np.empty_like(s)
        np.put_along_axis(vals, order, s, axis=1)
        out += vals.sum(axis=0)
    return out / x_val.shape[0]


def size_weight_counts(weights: np.ndarray, i: int) -> np.ndarray:
    """``C[s][x] = #{S subset N-i : |S| = s, w(S) = x}`` for integer weights (spec §4), int64."""
    n = weights.size
    W = int(weights.sum())
    C = np.zeros((n, W + 1), dtype=np.int64)
    C[0, 0] = 1
    for j in range(n):
        if j == i:
            continue
        wj = int(weights[j])
        for s in range(n - 1, 0, -1):
            C[s, wj:] += C[s - 1, : W + 1 - wj]
    return C


def shapley_weights_exact(n: int) -> list[Fraction]:
    return [
        Fraction(math.factorial(s) * math.factorial(n - 1 - s), math.factorial(n)) for s in range(n)
    ]


def joint_weights(n: int, k: int) -> list[float]:
    """``q(r)`` of joint Shapley (Harris, Pymar & Rowat 2022), ``r = 0..n-1``."""
    q = [1.0 / sum(math.comb(n, s) for s in range(1, k + 1))]
    for r in range(1, n):
        num = sum(math.comb(r, s) * q[s] for s in range(max(r - k, 0), r))
        den = sum(math.comb(n - r, s) for s in range(1, min(k, n - r) + 1))
        q.append(num / den)
    return q


def joint_shapley_table(table: np.ndarray, n: int, k: int) -> dict[tuple[int, ...], float]:
    """``phi^J_T = sum_{S in N-T} q(|S|) [v(S + T) - v(S)]`` for every ``1 <= |T| <= k``."""
    masks = np.arange(1 << n, dtype=np.int64)
    pc = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        pc += (masks >> i) & 1
    q = np.array(joint_weights(n, k))
    out: dict[tuple[int, ...], float] = {}
    for size in range(1, k + 1):
        for T in combinations(range(n), size):
            t = sum(1 << i for i in T)
            S = masks[(masks & t) == 0]
            out[T] = float(np.sum(q[pc[S]] * (table[S | t] - table[S])))
    return out
