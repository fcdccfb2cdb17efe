"""GTG-Shapley and the coalition-model baselines MR-exact and per-round LOO (spec §4.1, §4.6).

All three value the per-round coalition-model game U_t(S) = u(θ_S) with
θ_S = θ^{t-1} + Σ_{i∈S} (ñ_i/ñ_S) Δ_i; they are observers (aggregation weights stay FedAvg's).
"""

from __future__ import annotations

from collections.abc import Callable
from math import factorial
from typing import Any

import numpy as np

from fairsim.mechanisms._federated_base import (
    FederatedMechanism,
    RoundRecord,
    StepResult,
    client_index,
    eval_masks,
    pick_utility,
)


class _CoalitionObserver(FederatedMechanism):
    """Shared state: an optional utility and the number of clients, learned from the record."""

    def __init__(self, n_clients: int, utility: Callable[[Any], Any] | None) -> None:
        super().__init__(n_clients)
        self.utility = utility

    def _ensure(self, n: int) -> None:
        if n > self.n_clients:
            grown = np.zeros(n)
            grown[: self.n_clients] = self._contrib
            self._contrib = grown
            self.n_clients = n


class GTGShapley(_CoalitionObserver):
    """GTG-Shapley (Liu et al. 2022, arXiv 2109.02053), batched level by level [F]."""

    name = "gtg_shapley"

    def __init__(
        self,
        n_clients: int,
        utility: Callable[[Any], Any] | None,
        round_trunc: float,
        within_trunc: float,
        min_perms: int | None,
        conv_window: int,
        conv_tol: float,
        max_perms: int,
        rng: np.random.Generator,
        max_evaluations: int | None = None,
    ) -> None:
        super().__init__(n_clients, utility)
        self.max_evaluations = max_evaluations
        self.round_trunc = round_trunc
        self.within_trunc = within_trunc
        self.min_perms = min_perms
        self.conv_window = conv_window
        self.conv_tol = conv_tol
        self.max_perms = max_perms
        self.rng = rng
        self.perms_per_round: list[int] = []
        self.truncated_rounds = 0

    @property
    def unnormalised(self) -> bool:
        """True when ΣΦ ≤ 0 and :attr:`contributions` reports raw Φ [F]."""
        return bool(self._contrib.sum() <= 0)

    @property
    def raw_contributions(self) -> np.ndarray:
        """Φ_i = Σ_t φ_i^t (non-participants get 0 in a round)."""
        return self._contrib.copy()

    @property
    def contributions(self) -> np.ndarray:
        """Φ/ΣΦ, or Φ itself with :attr:`unnormalised` set when ΣΦ ≤ 0 [F]."""
        tot = self._contrib.sum()
        return self._contrib / tot if tot > 0 else self._contrib.copy()

    def step(self, record: RoundRecord) -> StepResult:
        """Value this round's participants; returns FedAvg weights (None)."""
        u = pick_utility(self.utility, record, "gtg_shapley")
        self._ensure(record.n_clients)
        self.rounds += 1
        cl = client_index(record)
        k = cl.size
        if k == 0:
            self.perms_per_round.append(0)
            return StepResult(None, np.zeros(self.n_clients), removed=self.removed)
        ends = np.zeros((2, k), dtype=bool)
        ends[1] = True
        v0, vn = eval_masks(record, u, ends)
        self.evaluations += 2
        if abs(vn - v0) <= self.round_trunc:
            self.truncated_rounds += 1
            self.perms_per_round.append(0)
            return StepResult(None, np.zeros(self.n_clients), removed=self.removed)
        cache = {ends[0].tobytes(): float(v0), ends[1].tobytes(): float(vn)}
        phi, used = self._walk(record, u, k, float(v0), float(vn), cache)
        self.perms_per_round.append(used)
        round_vals = self._scatter(cl, phi)
        self._contrib += round_vals
        return StepResult(None, round_vals, removed=self.removed)

    def _walk(
        self,
        record: RoundRecord,
        u: Callable[[Any], Any],
        k: int,
        v0: float,
        vn: float,
        cache: dict[bytes, float],
    ) -> tuple[np.ndarray, int]:
        min_p = self.min_perms if self.min_perms is not None else max(30, k)
        sums = np.zeros(k)
        history: list[np.ndarray] = []
        done = 0
        start_evals = self.evaluations - 2
        while True:
            b = min(k, self.max_perms - done)
            perms = np.empty((b, k), dtype=np.int64)
            for m in range(b):
                lead = (done + m) % k
                rest = np.delete(np.arange(k), lead)
                perms[m, 0] = lead
                perms[m, 1:] = self.rng.permutation(rest)
            credit = self._block(record, u, perms, v0, vn, cache)
            for m in range(b):
                sums += credit[m]
                done += 1
                history.append(sums / done)
            if done >= self.max_perms:
                break
            cap = self.max_evaluations
            if cap is not None and self.evaluations - start_evals >= cap:
                break
            if done >= min_p and self._converged(history):
                break
        return sums / done, done

    def _block(
        self,
        record: RoundRecord,
        u: Callable[[Any], Any],
        perms: np.ndarray,
        v0: float,
        vn: float,
        cache: dict[bytes, float],
    ) -> np.ndarray:
        """Walk ``b`` permutations level by level; one utility call per level (§4.1 batching)."""
        b, k = perms.shape
        credit = np.zeros((b, k))
        prefix = np.zeros((b, k), dtype=bool)
        v_prev = np.full(b, v0)
        rows = np.arange(b)
        for j in range(k):
            players = perms[:, j]
            prefix[rows, players] = True
            live = np.abs(vn - v_prev) >= self.within_trunc
            pending: dict[bytes, int] = {}
            for p in np.flatnonzero(live):
                key = prefix[p].tobytes()
                if key not in cache and key not in pending:
                    pending[key] = int(p)
            if pending:
                masks = prefix[list(pending.values())]
                vals = eval_masks(record, u, masks)
                self.evaluations += len(pending)
                for key, val in zip(pending, vals, strict=True):
                    cache[key] = float(val)
            v_new = v_prev.copy()
            for p in np.flatnonzero(live):
                v_new[p] = cache[prefix[p].tobytes()]
            credit[rows, players] = v_new - v_prev
            v_prev = v_new
        return credit

    def _converged(self, history: list[np.ndarray]) -> bool:
        w = self.conv_window
        if len(history) <= w:
            return False
        cur = history[-1]
        den = np.abs(cur) + 1e-12
        worst = max(float(np.mean(np.abs(r - cur) / den)) for r in history[-1 - w : -1])
        return worst <= self.conv_tol


def exact_shapley_table(values: np.ndarray, k: int) -> np.ndarray:
    """Exact Shapley values from a table indexed by coalition bitmask (bit i = player i)."""
    idx = np.arange(1 << k, dtype=np.int64)
    sizes = np.array([bin(int(m)).count("1") for m in idx])
    w = np.array([factorial(s) * factorial(k - s - 1) / factorial(k) for s in range(k)])
    phi = np.zeros(k)
    for i in range(k):
        without = idx[(idx >> i) & 1 == 0]
        phi[i] = np.sum(w[sizes[without]] * (values[without | (1 << i)] - values[without]))
    return phi


def all_masks(k: int) -> np.ndarray:
    """(2^k, k) bool: row m is the coalition with bitmask m."""
    idx = np.arange(1 << k, dtype=np.int64)
    return ((idx[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)


class MRExact(_CoalitionObserver):
    """Exact per-round Shapley of the coalition-model game, summed over rounds (spec §4.6) [F]."""

    name = "mr_exact"

    def __init__(
        self,
        n_clients: int,
        utility: Callable[[Any], Any] | None,
        max_players: int,
        round_weight: float = 1.0,
    ) -> None:
        super().__init__(n_clients, utility)
        self.max_players = max_players
        self.round_weight = round_weight

    def step(self, record: RoundRecord) -> StepResult:
        """Evaluate all 2^|P| coalition models and add λ_t times the exact Shapley values."""
        from fairsim.errors import InputError

        u = pick_utility(self.utility, record, "mr_exact")
        self._ensure(record.n_clients)
        self.rounds += 1
        cl = client_index(record)
        k = cl.size
        if k > self.max_players:
            raise InputError(
                f"mr_exact evaluates 2^|P| models: |P|={k} exceeds max_players={self.max_players}"
            )
        if k == 0:
            return StepResult(None, np.zeros(self.n_clients), removed=self.removed)
        vals = eval_masks(record, u, all_masks(k))
        self.evaluations += 1 << k
        phi = exact_shapley_table(vals, k) * self.round_weight**record.t
        round_vals = self._scatter(cl, phi)
        self._contrib += round_vals
        return StepResult(None, round_vals, removed=self.removed)


class LOORound(_CoalitionObserver):
    """Per-round leave-one-out U(P) − U(P∖i), summed over rounds (spec §4.6) [F]."""

    name = "loo"

    def step(self, record: RoundRecord) -> StepResult:
        """Evaluate the full model and the k leave-one-out models (k + 1 rows)."""
        u = pick_utility(self.utility, record, "loo")
        self._ensure(record.n_clients)
        self.rounds += 1
        cl = client_index(record)
        k = cl.size
        if k == 0:
            return StepResult(None, np.zeros(self.n_clients), removed=self.removed)
        masks = np.ones((k + 1, k), dtype=bool)
        masks[np.arange(1, k + 1), np.arange(k)] = False
        vals = eval_masks(record, u, masks)
        self.evaluations += k + 1
        round_vals = self._scatter(cl, vals[0] - vals[1:])
        self._contrib += round_vals
        return StepResult(None, round_vals, removed=self.removed)
