"""FAE: fair yet asymptotically equal collaborative learning (Lin et al., ICML 2023; spec §4.4).

Explore: every available client trains; per-round values ψ^t from the cosine-gradient game
u(S) = cos(g^t, Σ_{j∈S} w_jΔ_j) (one random S per size per client), running mean ψ, Hotelling
stop test. Exploit: ⌊r·N⌋ clients drawn without replacement with p = softmax(β·ψ) (+1e-30).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.mechanisms._federated_base import (
    FederatedMechanism,
    RoundRecord,
    StepResult,
    client_index,
    eval_masks,
    pick_utility,
    size_weights,
    to_numpy,
)

#: Per-round decay of FAE's ``dv_method="mr"`` values: ψ^t is scaled by MR_DECAY^(t+1).
MR_DECAY = 0.98


def hotelling_pvalue(x: np.ndarray, mu0: np.ndarray) -> float:
    """One-sample Hotelling T² p-value of rows ``x`` (w, p) against ``mu0`` (p,), p < w.

    T² = w (x̄−μ₀)ᵀ S⁺ (x̄−μ₀) with the ddof-1 covariance (pseudo-inverse), and
    F = (w−p)/(p(w−1)) T² ~ F(p, w−p).
    """
    from scipy.stats import f as f_dist

    w, p = x.shape
    d = x.mean(axis=0) - mu0
    cov = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))
    lam, vec = np.linalg.eigh(cov)
    keep = lam > max(1e-10 * float(lam.max(initial=0.0)), 1e-24)
    proj = vec[:, keep].T @ d
    t2 = float(w * np.sum(proj**2 / lam[keep]))
    fstat = (w - p) / (p * (w - 1)) * t2
    return float(f_dist.sf(fstat, p, w - p))


def cos_grad_values(gram: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """ψ_i^t = Σ_s (1/N)[u(S∪i) − u(S)], one random S ⊆ N∖i of each size s = 0..N−1.

    ``gram`` is the (N, N) Gram matrix of the updates; u(S) = cos(g, Σ_{j∈S} w_jΔ_j), u(∅) = 0.
    """
    n = w.size
    wg = gram * w[:, None] * w[None, :]
    g_norm = np.sqrt(max(wg.sum(), 0.0))
    g_dot = wg.sum(axis=0)  # <g, w_j Δ_j>

    def u(m: np.ndarray) -> np.ndarray:
        mf = m.astype(np.float64)
        num = mf @ g_dot
        sq = np.einsum("bi,ij,bj->b", mf, wg, mf)
        den = np.sqrt(np.maximum(sq, 0.0)) * g_norm
        return np.divide(num, den, out=np.zeros_like(num), where=den > 1e-12)

    psi = np.zeros(n)
    sizes = np.arange(n)
    for i in range(n):
        others = np.delete(np.arange(n), i)
        keys = rng.random((n, n - 1))
        ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
        inside = ranks < sizes[:, None]
        m = np.zeros((n, n), dtype=bool)
        m[:, others] = inside
        mi = m.copy()
        mi[:, i] = True
        psi[i] = np.sum(u(mi) - u(m)) / n
    return psi


def permutation_values(
    record: RoundRecord, utility: Any, perms: np.ndarray
) -> tuple[np.ndarray, int]:
    """Monte Carlo Shapley values of the coalition-model game U(S) = u(θ_S) over the rows of
    ``perms`` (m, k) (every distinct prefix evaluated once); returns (values (k,), evaluations)."""
    m, k = perms.shape
    prefix = np.zeros((m, k + 1, k), dtype=bool)
    for j in range(k):
        prefix[:, j + 1] = prefix[:, j]
        prefix[np.arange(m), j + 1, perms[:, j]] = True
    flat = prefix.reshape(-1, k)
    uniq, inv = np.unique(flat, axis=0, return_inverse=True)
    vals = eval_masks(record, utility, uniq)[inv.reshape(-1)].reshape(m, k + 1)
    credit = np.zeros((m, k))
    credit[np.arange(m)[:, None], perms] = np.diff(vals, axis=1)
    return credit.mean(axis=0), int(uniq.shape[0])


class FAE(FederatedMechanism):
    """Explore/exploit selection by running contribution values (spec §4.4)."""

    name = "fae"

    def __init__(
        self,
        n_clients: int,
        beta: float,
        alpha: float,
        window: int,
        dim: int,
        select_frac: float,
        dv_method: str,
        rng: np.random.Generator,
        total_rounds: int | None,
    ) -> None:
        super().__init__(n_clients)
        self.beta = beta
        self.alpha = alpha
        self.window = window
        self.dim = dim
        self.select_frac = select_frac
        self.dv_method = dv_method
        self.rng = rng
        self.total_rounds = total_rounds
        self.exploring = True
        self.explore_rounds = 0
        self.stop_round: int | None = None
        self.pvalues: list[float] = []
        self.psi_history: list[np.ndarray] = []
        self.test_set = np.sort(rng.choice(n_clients, size=dim, replace=False))
        self.probs: np.ndarray | None = None

    def select(self, t: int, available: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Explore: all available. Exploit: ⌊r·N⌋ successive draws with probabilities p."""
        avail = np.array(available, dtype=bool, copy=True)
        if self.exploring or self.probs is None:
            return avail
        m = int(np.floor(self.select_frac * self.n_clients))
        pool = np.flatnonzero(avail)
        sel = np.zeros(self.n_clients, dtype=bool)
        if pool.size <= m:
            sel[pool] = True
            return sel
        p = self.probs[pool] / self.probs[pool].sum()
        picked = rng.choice(pool, size=m, replace=False, p=p)
        sel[picked] = True
        return sel

    def _round_values(self, record: RoundRecord, cl: np.ndarray) -> np.ndarray:
        k = cl.size
        if self.dv_method == "random":
            return self.rng.random(k) / k
        if self.dv_method == "mr":
            u = pick_utility(None, record, "fae(dv_method='mr')")
            perms = np.argsort(self.rng.random((5 * k, k)), axis=1)
            vals, used = permutation_values(record, u, perms)
            self.evaluations += used
            return vals * MR_DECAY ** (record.t + 1)
        upd = record.updates
        gram = to_numpy(upd @ upd.T)
        w = size_weights(np.asarray(record.sizes, dtype=np.float64))
        if self.dv_method == "loo":
            full = np.ones((k + 1, k), dtype=np.float64)
            full[np.arange(1, k + 1), np.arange(k)] = 0.0
            wg = gram * w[:, None] * w[None, :]
            g_dot = wg.sum(axis=0)
            g_norm = np.sqrt(max(wg.sum(), 0.0))
            num = full @ g_dot
            den = np.sqrt(np.maximum(np.einsum("bi,ij,bj->b", full, wg, full), 0.0)) * g_norm
            vals = np.divide(num, den, out=np.zeros_like(num), where=den > 1e-12)
            return vals[0] - vals[1:]
        return cos_grad_values(gram, w, self.rng)

    def step(self, record: RoundRecord) -> StepResult:
        """Explore: value and maybe stop. Exploit: FedAvg over the selected clients."""
        self.rounds += 1
        cl = client_index(record)
        if not self.exploring:
            return StepResult(
                None, np.zeros(self.n_clients), selection_probs=self.probs, removed=self.removed
            )
        vals = self._round_values(record, cl) if cl.size else np.zeros(0)
        psi_t = self._scatter(cl, vals)
        t = self.explore_rounds
        self._contrib = (t / (t + 1)) * self._contrib + psi_t / (t + 1)
        self.psi_history.append(psi_t)
        self.explore_rounds += 1
        self._maybe_stop(record.t)
        return StepResult(
            None,
            psi_t,
            selection_probs=None if self.exploring else self.probs,
            removed=self.removed,
        )

    def _maybe_stop(self, t: int) -> None:
        w = self.window
        if self.explore_rounds >= 2 * w:
            hist = np.array(self.psi_history)[:, self.test_set]
            pval = hotelling_pvalue(hist[-w:], hist[:-w].mean(axis=0))
            self.pvalues.append(pval)
            if pval > self.alpha:
                self._to_exploit(t)
                return
        if self.total_rounds is not None and t + 1 >= self.total_rounds / 2:
            self._to_exploit(t)

    def _to_exploit(self, t: int) -> None:
        self.exploring = False
        self.stop_round = t
        score = -self._contrib if self.dv_method == "reverse" else self._contrib
        z = self.beta * score
        e = np.exp(z - z.max())
        p = e / e.sum() + 1e-30
        self.probs = p / p.sum()
