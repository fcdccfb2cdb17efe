"""Baselines of spec §4.6: FedAvg's own size share, a claimed-size reward and the one-round
reconstruction of Song, Tong & Wei (IEEE BigData 2019) [F]."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms._federated_base import (
    FederatedMechanism,
    RoundRecord,
    StepResult,
    client_index,
    coalition_models,
    eval_utility,
    pick_utility,
    size_weights,
)
from fairsim.mechanisms._federated_gtg import all_masks, exact_shapley_table


class FedAvg(FederatedMechanism):
    """FedAvg aggregation; contribution = the summed per-round size shares ñ_i/Σ_{P_t}ñ."""

    name = "fedavg"

    def step(self, record: RoundRecord) -> StepResult:
        """FedAvg weights (None) and this round's size shares."""
        self.rounds += 1
        cl = client_index(record)
        share = size_weights(np.asarray(record.sizes, dtype=np.float64)) if cl.size else cl
        vals = self._scatter(cl, share)
        self._contrib += vals
        return StepResult(None, vals, removed=self.removed)


class SizeShare(FederatedMechanism):
    """FedAvg aggregation; reward ∝ the latest claimed size of every client, ñ_i/Σ_jñ_j."""

    name = "size_share"

    def __init__(self, n_clients: int, sizes: np.ndarray) -> None:
        super().__init__(n_clients)
        self.claimed = np.asarray(sizes, dtype=np.float64).copy()

    @property
    def contributions(self) -> np.ndarray:
        """ñ/Σñ over all clients (uniform if every claim is 0)."""
        return size_weights(self.claimed)

    def step(self, record: RoundRecord) -> StepResult:
        """Record the participants' claims; FedAvg weights (None)."""
        self.rounds += 1
        cl = client_index(record)
        sizes = np.asarray(record.sizes, dtype=np.float64)
        if cl.size:
            self.claimed[cl] = sizes
        share = size_weights(sizes) if cl.size else sizes
        return StepResult(None, self._scatter(cl, share), removed=self.removed)


class ORExact(FederatedMechanism):
    """One-round reconstruction (Song, Tong & Wei 2019; spec §4.6): for every S ⊆ N the model
    θ_S = θ^0 + Σ_t Σ_{i∈S∩P_t} (ñ_i/ñ_{S∩P_t}) Δ_i^t is rebuilt from the recorded updates, and the
    contribution is the exact Shapley value of S ↦ u(θ_S) over all K clients.

    The 2^K rebuilt models are kept and updated in place each round (no update history is
    stored). The values are recomputed after every round so that the per-round history has them
    (2^K evaluations a round [F]); ``contrib_round`` is the change of the values in that round.
    """

    name = "or_exact"

    def __init__(
        self, n_clients: int, utility: Callable[[Any], Any] | None, max_players: int
    ) -> None:
        super().__init__(n_clients)
        self.utility = utility
        self.max_players = max_players
        self._models: Any = None
        self._masks = np.zeros((0, 0), dtype=bool)

    def step(self, record: RoundRecord) -> StepResult:
        """Add this round's coalition updates to every rebuilt model; recompute the values."""
        u = pick_utility(self.utility, record, "or_exact")
        K = int(record.n_clients)
        if K > self.max_players:
            raise InputError(
                f"or_exact rebuilds 2^K models: n_clients={K} exceeds "
                f"max_players={self.max_players}"
            )
        if self._models is None:
            if K > self.n_clients:
                self.n_clients = K
                self._contrib = np.zeros(K)
            self._masks = all_masks(self.n_clients)
            theta0 = record.theta_prev
            self._models = theta0.unsqueeze(0).expand(self._masks.shape[0], -1).clone()
        self.rounds += 1
        cl = client_index(record)
        if cl.size == 0:
            return StepResult(None, np.zeros(self.n_clients), removed=self.removed)
        sub = self._masks[:, cl]
        zero = record.theta_prev.new_zeros(record.theta_prev.shape)
        self._models += coalition_models(zero, record.updates, record.sizes, sub)
        vals = eval_utility(u, self._models)
        self.evaluations += vals.size
        phi = exact_shapley_table(vals, self.n_clients)
        delta = phi - self._contrib
        self._contrib = phi
        return StepResult(None, delta, removed=self.removed)
