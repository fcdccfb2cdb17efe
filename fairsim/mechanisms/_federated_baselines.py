"""FedAvg baselines: FedAvg's own size share and a claimed-size reward (spec §4.6) [F]."""

from __future__ import annotations

import numpy as np

from fairsim.mechanisms._federated_base import (
    FederatedMechanism,
    RoundRecord,
    StepResult,
    client_index,
    size_weights,
)


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
