"""Sampling estimators of the Shapley value and Banzhaf (spec ``valuation.md`` §5, §6).

Every estimator draws its randomness from ``rng`` round by round (the round size does not depend on
``batch_size``), evaluates rows through :class:`Driver` (which splits them into batches, counts
evaluations and never exceeds the budget) and reports per-player stderr and counts. Kernels trust
their inputs; validation is in :mod:`fairsim.mechanisms.valuation`.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from fairsim.mechanisms._valuation_stopping import StoppingRule, StopState


class Driver:
    """Evaluation accounting, batching and stopping for one estimator run."""

    def __init__(
        self,
        game: Any,
        budget: int | None,
        stop: StoppingRule | None,
        batch_size: int,
    ):
        self.game, self.n = game, int(game.n_players)
        self.budget, self.stop, self.batch_size = budget, stop, batch_size
        self.evaluations = 0
        self.stop_reason: str | None = None
        self.converged = False
        self.started = time.monotonic()
        self.round = 0
        if stop is not None:
            stop.reset()

    def remaining(self) -> int:
        return (1 << 62) if self.budget is None else self.budget - self.evaluations

    def evaluate(self, rows: np.ndarray) -> np.ndarray:
        k = rows.shape[0]
        if k > self.remaining():  # pragma: no cover - guarded by the estimators
            raise RuntimeError("budget exceeded")
        out = np.empty(k)
        for lo in range(0, k, self.batch_size):
            out[lo : lo + self.batch_size] = self.game.value(rows[lo : lo + self.batch_size])
        self.evaluations += k
        return out

    def done(self, values: np.ndarray, stderr: np.ndarray, counts: np.ndarray) -> bool:
        """Check the stopping rule after a round; records the reason."""
        self.round += 1
        if self.stop is None:
            return False
        st = StopState(self.evaluations, values, stderr, counts, self.started, self.round)
        if self.stop.check(st):
            self.stop_reason = self.stop.name
            self.converged = _statistical_fired(self.stop, st)
            return True
        return False

    def out_of_budget(self) -> None:
        if self.stop_reason is None:
            self.stop_reason = f"budget({self.budget})"


def _statistical_fired(rule: StoppingRule, st: StopState) -> bool:
    from fairsim.mechanisms import _valuation_stopping as S

    if isinstance(rule, S._And):
        return _statistical_fired(rule.a, st) or _statistical_fired(rule.b, st)
    if isinstance(rule, S._Or):
        return any(_statistical_fired(r, st) for r in (rule.a, rule.b) if r.check(st))
    if isinstance(rule, S._Not):
        return False
    return bool(rule.statistical and rule.check(st))


class Moments:
    """Running sums for a mean and its standard error, per cell."""

    def __init__(self, shape: tuple[int, ...]):
        self.s = np.zeros(shape)
        self.ss = np.zeros(shape)
        self.c = np.zeros(shape, dtype=np.int64)

    def add(self, idx: Any, x: np.ndarray) -> None:
        np.add.at(self.s, idx, x)
        np.add.at(self.ss, idx, x * x)
        np.add.at(self.c, idx, 1)

    def add_rows(self, x: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Add the rows of ``x`` (m, cells); ``mask`` selects which entries count."""
        if mask is None:
            self.s += x.sum(axis=0)
            self.ss += (x * x).sum(axis=0)
            self.c += x.shape[0]
        else:
            self.s += (x * mask).sum(axis=0)
            self.ss += (x * x * mask).sum(axis=0)
            self.c += mask.sum(axis=0)

    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.c > 0, self.s / np.maximum(self.c, 1), 0.0)

    def var(self) -> np.ndarray:
        """Sample variance (ddof=1); NaN with fewer than two samples."""
        c = self.c
        with np.errstate(invalid="ignore", divide="ignore"):
            m = self.s / c
            v = (self.ss - c * m * m) / (c - 1)
        return np.where(c >= 2, np.maximum(v, 0.0), np.nan)


def _positions(perms: np.ndarray) -> np.ndarray:
    m, n = perms.shape
    pos = np.empty_like(perms)
    pos[np.arange(m)[:, None], perms] = np.arange(n)[None, :]
    return pos


def _perm_marginals(drv: Driver, perms: np.ndarray, v0: float) -> np.ndarray:
    m, n = perms.shape
    pos = _positions(perms)
    rows = pos[:, None, :] < np.arange(1, n + 1)[None, :, None]
    vals = drv.evaluate(rows.reshape(m * n, n)).reshape(m, n)
    prev = np.concatenate([np.full((m, 1), v0), vals[:, :-1]], axis=1)
    marg = np.empty((m, n))
    marg[np.arange(m)[:, None], perms] = vals - prev
    return marg


def _draw_perms(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    return rng.permuted(np.tile(np.arange(n), (m, 1)), axis=1)


def permutation(
    drv: Driver, rng: np.random.Generator, *, antithetic: bool = False, round_size: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Permutation MC (Castro et al. 2009); ``antithetic`` pairs each permutation with its reverse."""
    n = drv.n
    mom = Moments((n,))
    v0 = float(drv.evaluate(np.zeros((1, n), dtype=bool))[0]) if drv.remaining() >= 1 else 0.0
    unit = 2 * n if antithetic else n
    while True:
        m = min(round_size, drv.remaining() // unit)
        if m <= 0 or drv.evaluations == 0:
            drv.out_of_budget()
            break
        perms = _draw_perms(rng, m, n)
        marg = _perm_marginals(drv, perms, v0)
        if antithetic:
            marg = 0.5 * (marg + _perm_marginals(drv, perms[:, ::-1], v0))
        mom.add_rows(marg)
        if drv.done(mom.mean(), np.sqrt(mom.var() / np.maximum(mom.c, 1)), mom.c):
            break
    return mom.mean(), np.sqrt(mom.var() / np.maximum(mom.c, 1)), mom.c, {}


def tmc(
    drv: Driver,
    rng: np.random.Generator,
    *,
    rtol: float = 0.01,
    atol: float = 1e-12,
    burn_in: float = 0.4,
    round_size: int = 64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Truncated Monte Carlo (Ghorbani & Zou 2019); biased, reports the efficiency gap."""
    n = drv.n
    mom = Moments((n,))
    if drv.remaining() < 2:
        drv.out_of_budget()
        return mom.mean(), np.full(n, np.nan), mom.c, {"efficiency_gap": float("nan")}
    ends = drv.evaluate(np.array([np.zeros(n, bool), np.ones(n, bool)]))
    v0, vn = float(ends[0]), float(ends[1])
    if n == 1:
        drv.stop_reason = "exact"
        return np.array([vn - v0]), np.zeros(1), np.ones(1, np.int64), {"efficiency_gap": 0.0}
    burn = math.ceil(burn_in * n)
    tol = max(rtol * abs(vn), atol)
    unit = max(n - 1, 1)
    truncated = 0
    while True:
        m = min(round_size, drv.remaining() // unit)
        if m <= 0:
            drv.out_of_budget()
            break
        perms = _draw_perms(rng, m, n)
        pos = _positions(perms)
        prev = np.full(m, v0)
        active = np.ones(m, dtype=bool)
        marg = np.zeros((m, n))
        for j in range(n):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            if j == n - 1:
                v = np.full(idx.size, vn)
            else:
                v = drv.evaluate(pos[idx] < j + 1)
            marg[idx, perms[idx, j]] = v - prev[idx]
            prev[idx] = v
            if j + 1 >= burn and j < n - 1:
                cut = np.abs(v - vn) <= tol
                active[idx[cut]] = False
                truncated += int(cut.sum())
        mom.add_rows(marg)
        if drv.done(mom.mean(), np.sqrt(mom.var() / np.maximum(mom.c, 1)), mom.c):
            break
    est = mom.mean()
    info = {"efficiency_gap": float(est.sum() - (vn - v0)), "truncated_permutations": truncated}
    return est, np.sqrt(mom.var() / np.maximum(mom.c, 1)), mom.c, info


def _uniform_subsets(rng: np.random.Generator, players: np.ndarray, sizes: np.ndarray, n: int):
    """Row r: a uniform subset of N minus players[r] of size sizes[r]."""
    k = players.size
    keys = rng.random((k, n))
    keys[np.arange(k), players] = 2.0
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    return ranks < sizes[:, None]


def _cell_round(
    drv: Driver, cells: np.ndarray, pointer: int, round_cells: int
) -> tuple[np.ndarray, int]:
    """Next cells (cyclic order) that fit the budget at 2 evaluations each."""
    take = min(round_cells, drv.remaining() // 2)
    if take <= 0:
        return cells[:0], pointer
    idx = (pointer + np.arange(take)) % cells.shape[0]
    return cells[idx], (pointer + take) % cells.shape[0]


def _marginals(drv: Driver, players: np.ndarray, S: np.ndarray) -> np.ndarray:
    k = players.size
    with_i = S.copy()
    with_i[np.arange(k), players] = True
    vals = drv.evaluate(np.concatenate([S, with_i]))
    return vals[k:] - vals[:k]


def stratified(
    drv: Driver, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Stratified sampling by coalition size, equal allocation (Maleki et al. 2013) [fairsim]."""
    n = drv.n
    if drv.remaining() < 2 * n + 2:
        drv.out_of_budget()
        return np.zeros(n), np.full(n, np.nan), np.zeros(n, np.int64), {}
    full = np.ones((n, n), dtype=bool)
    rows = np.concatenate(
        [np.zeros((1, n), bool), np.eye(n, dtype=bool), ~np.eye(n, dtype=bool), full[:1]]
    )
    vals = drv.evaluate(rows)
    v0, vn = vals[0], vals[-1]
    exact = (
        (vals[1 : n + 1] - v0) + (vn - vals[n + 1 : 2 * n + 1]) if n > 1 else np.array([vn - v0])
    )
    mom = Moments((n, max(n - 2, 0)))
    cells = np.array([(i, s) for s in range(1, n - 1) for i in range(n)], dtype=np.int64)
    pointer = 0

    def est() -> tuple[np.ndarray, np.ndarray]:
        phi = (exact + mom.mean().sum(axis=1)) / n
        with np.errstate(invalid="ignore"):
            se = np.sqrt((mom.var() / np.maximum(mom.c, 1)).sum(axis=1)) / n
        return phi, (se if cells.size else np.zeros(n))

    while cells.size:
        sel, pointer = _cell_round(drv, cells, pointer, cells.shape[0])
        if sel.size == 0:
            drv.out_of_budget()
            break
        S = _uniform_subsets(rng, sel[:, 0], sel[:, 1], n)
        d = _marginals(drv, sel[:, 0], S)
        mom.add((sel[:, 0], sel[:, 1] - 1), d)
        phi, se = est()
        if drv.done(phi, se, mom.c.sum(axis=1) if cells.size else np.zeros(n, np.int64)):
            break
    phi, se = est()
    empty = int((mom.c == 0).sum())
    return phi, se, mom.c.sum(axis=1), {"empty_strata": empty}


def owen(
    drv: Driver, rng: np.random.Generator, *, nodes: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Owen multilinear sampling on Gauss-Legendre nodes (Owen 1972; Okhrati & Lipani 2021).

    ``Q = ceil(n / 2)`` nodes integrate the degree ``n - 1`` polynomial exactly [fairsim].
    """
    n = drv.n
    Q = nodes if nodes is not None else max(1, math.ceil(n / 2))
    x, w = np.polynomial.legendre.leggauss(Q)
    q, w = (x + 1) / 2, w / 2
    mom = Moments((n, Q))
    cells = np.array([(i, t) for t in range(Q) for i in range(n)], dtype=np.int64)
    pointer = 0

    def est() -> tuple[np.ndarray, np.ndarray]:
        phi = mom.mean() @ w
        se = np.sqrt((mom.var() / np.maximum(mom.c, 1)) @ (w * w))
        return phi, se

    while True:
        sel, pointer = _cell_round(drv, cells, pointer, cells.shape[0])
        if sel.size == 0:
            drv.out_of_budget()
            break
        S = rng.random((sel.shape[0], n)) < q[sel[:, 1]][:, None]
        S[np.arange(sel.shape[0]), sel[:, 0]] = False
        d = _marginals(drv, sel[:, 0], S)
        mom.add((sel[:, 0], sel[:, 1]), d)
        phi, se = est()
        if drv.done(phi, se, mom.c.sum(axis=1)):
            break
    phi, se = est()
    return phi, se, mom.c.sum(axis=1), {"nodes": Q}


def msr_banzhaf(
    drv: Driver, rng: np.random.Generator, *, round_size: int = 1024
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Maximum sample reuse Banzhaf (Wang & Jia 2023): ``S ~ Bern(1/2)^N``, one evaluation each."""
    n = drv.n
    ins, outs = Moments((n,)), Moments((n,))

    def est() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(ins.var() / ins.c + outs.var() / outs.c)
        return ins.mean() - outs.mean(), se, np.minimum(ins.c, outs.c)

    while True:
        m = min(round_size, drv.remaining())
        if m <= 0:
            drv.out_of_budget()
            break
        S = rng.random((m, n)) < 0.5
        v = drv.evaluate(S)
        vv = np.broadcast_to(v[:, None], S.shape)
        ins.add_rows(vv, S)
        outs.add_rows(vv, ~S)
        if drv.done(*est()):
            break
    phi, se, c = est()
    return phi, se, c, {}


def svarm(
    drv: Driver, rng: np.random.Generator, *, round_size: int = 512
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Stratified SVARM (Kolpaczki et al. 2024, arXiv 2302.00736), shapiq's size law [fairsim].

    ``phi_i = (1/n) sum_l (phi+_{i,l} - phi-_{i,l})`` with ``phi+`` the mean ``v(A)`` over
    ``A`` containing ``i`` of size ``l + 1`` and ``phi-`` over ``A`` without ``i`` of size ``l``.
    Sizes 0, 1, n-1 and n are evaluated exactly (2n + 2 evaluations); then each draw of one
    coalition (size ``s`` in ``2..n-2`` with probability proportional to ``1/(s(n-s))``, every size
    once first) updates every player. Empty strata contribute 0 and are counted in ``info``.
    """
    n = drv.n
    if n == 1 and drv.remaining() >= 2:
        v = drv.evaluate(np.array([[False], [True]]))
        drv.stop_reason = "exact"
        return np.array([v[1] - v[0]]), np.zeros(1), np.ones(1, np.int64), {}
    if drv.remaining() < 2 * n + 2 or n < 2:
        drv.out_of_budget()
        return np.zeros(n), np.full(n, np.nan), np.zeros(n, np.int64), {}
    eye = np.eye(n, dtype=bool)
    warm = np.concatenate([np.zeros((1, n), bool), eye, ~eye, np.ones((1, n), bool)])
    v = drv.evaluate(warm)
    plus, minus = Moments((n, n)), Moments((n, n))

    def add(A: np.ndarray, vals: np.ndarray) -> None:
        size = A.sum(axis=1)
        r, i = np.nonzero(A)
        plus.add((i, size[r] - 1), vals[r])
        r, i = np.nonzero(~A)
        minus.add((i, size[r]), vals[r])

    # sizes 1 and n-1 are exact; size 0 feeds phi-_{.,0}, size n feeds phi+_{.,n-1}.
    add(warm, v)
    sizes = np.arange(2, n - 1)
    prob = 1.0 / (sizes * (n - sizes)) if sizes.size else np.zeros(0)
    prob = prob / prob.sum() if sizes.size else prob
    first = True

    exact_p = np.zeros((n, n), dtype=bool)
    exact_p[:, [0, n - 2, n - 1]] = True
    exact_m = np.zeros((n, n), dtype=bool)
    exact_m[:, [0, 1, n - 1]] = True

    def est() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        phi = (plus.mean() - minus.mean()).sum(axis=1) / n
        with np.errstate(invalid="ignore", divide="ignore"):
            vp = np.where(exact_p | (plus.c < 2), 0.0, plus.var() / np.maximum(plus.c, 1))
            vm = np.where(exact_m | (minus.c < 2), 0.0, minus.var() / np.maximum(minus.c, 1))
            var = vp + vm
        return phi, np.sqrt(var.sum(axis=1)) / n, np.minimum(plus.c, minus.c).min(axis=1)

    while sizes.size:
        m = min(round_size, drv.remaining())
        if m <= 0:
            drv.out_of_budget()
            break
        draw = rng.choice(sizes, size=m, p=prob)
        if first:
            k = min(m, sizes.size)
            draw[:k] = sizes[:k]
            first = False
        keys = rng.random((m, n))
        A = np.argsort(np.argsort(keys, axis=1), axis=1) < draw[:, None]
        add(A, drv.evaluate(A))
        if drv.done(*est()):
            break
    phi, se, c = est()
    empty = int((plus.c == 0).sum() + (minus.c == 0).sum())
    return phi, se, c, {"empty_strata": empty}
