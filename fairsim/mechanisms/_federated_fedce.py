"""FedCE client contribution estimation (Jiang et al., CVPR 2023, arXiv 2303.16520; spec §4.3).

c^t are both the aggregation weights and the contribution estimate. Under partial participation
the participants' coefficients are normalised over the participants for aggregation, and the
participants' share of the stored c is kept (fairsim's choice [F]).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms._federated_base import (
    FederatedMechanism,
    RoundRecord,
    StepResult,
    client_index,
    require_torch,
    to_numpy,
)


def normalise_clip(x: np.ndarray, clip_min: float) -> np.ndarray:
    """Normalise to sum 1, clip each entry at ≥ clip_min, renormalise (uniform if Σx ≤ 0) [F]."""
    tot = x.sum()
    y = x / tot if tot > 0 else np.full(x.shape, 1.0 / x.size)
    y = np.maximum(y, clip_min)
    return y / y.sum()


class FedCE(FederatedMechanism):
    """Gradient-space × data-space contribution coefficients (spec §4.3)."""

    name = "fedce"

    def __init__(self, n_clients: int, mode: str, clip_min: float) -> None:
        super().__init__(n_clients)
        self.mode = mode
        self.clip_min = clip_min
        self.c = np.full(n_clients, 1.0 / n_clients)
        self._m_sum = np.zeros(n_clients)
        self._m_cnt = np.ones(n_clients)  # the m_k^0 = 0 term
        self._cos_sum = np.zeros(n_clients)
        self._cos_cnt = np.zeros(n_clients)
        self._last: Any = None  # (n, P) θ_k^last, lazily allocated
        self._has_last = np.zeros(n_clients, dtype=bool)
        self._c_sum = np.zeros(n_clients)

    @property
    def contributions(self) -> np.ndarray:
        """Mean over rounds of c^t [F] (1/K before the first round)."""
        return self._c_sum / self.rounds if self.rounds else self.c.copy()

    def _data_scores(self, record: RoundRecord, cl: np.ndarray, c_prev: np.ndarray) -> np.ndarray:
        """m_k^t: metric of the minus model θ_{-k} on client k's local validation set."""
        torch = require_torch("fedce")
        if record.local_utility is None:
            raise InputError("fedce needs record.local_utility (client-local validation metric)")
        theta = record.theta_prev
        if self._last is None:
            self._last = torch.zeros(
                (self.n_clients, theta.shape[0]), dtype=theta.dtype, device=theta.device
            )
        m = np.zeros(cl.size)
        ok = c_prev < 1.0 - 1e-6
        idx = np.flatnonzero(ok)
        if idx.size:
            own = cl[idx]
            last = self._last[torch.as_tensor(own, device=theta.device)]
            # a client without a previous local model holds θ^{t-1} (round 0: θ_{-k} = θ^{t-1})
            fresh = torch.as_tensor(~self._has_last[own], device=theta.device)
            last = torch.where(fresh[:, None], theta[None, :], last)
            ck = torch.as_tensor(c_prev[idx], dtype=theta.dtype, device=theta.device)
            minus = (theta[None, :] - ck[:, None] * last) / (1.0 - ck[:, None])
            m[idx] = to_numpy(record.local_utility(minus, own)).reshape(-1)
        return m

    def step(self, record: RoundRecord) -> StepResult:
        """Score the participants, combine, and return c^t as aggregation weights."""
        torch = require_torch("fedce")
        cl = client_index(record)
        k = cl.size
        self.rounds += 1
        if k == 0:
            self._c_sum += self.c
            return StepResult(None, np.zeros(self.n_clients), removed=self.removed)
        mass = self.c[cl].sum()
        c_prev = self.c[cl] / mass
        m = self._data_scores(record, cl, self.c[cl])
        self._m_sum[cl] += m
        self._m_cnt[cl] += 1
        b = 1.0 - self._m_sum[cl] / self._m_cnt[cl]
        upd = record.updates
        cp = torch.as_tensor(c_prev, dtype=upd.dtype, device=upd.device)
        g = cp @ upd
        minus_g = g[None, :] - cp[:, None] * upd
        cos = (upd * minus_g).sum(dim=1) / (upd.norm(dim=1) * minus_g.norm(dim=1)).clamp_min(1e-10)
        self._cos_sum[cl] += to_numpy(cos)
        self._cos_cnt[cl] += 1
        a = 1.0 - self._cos_sum[cl] / self._cos_cnt[cl]
        a = normalise_clip(a, self.clip_min)
        b = normalise_clip(b, self.clip_min)
        comb = a * b if self.mode == "times" else a + b
        c_new = normalise_clip(comb, self.clip_min)
        self.c[cl] = c_new * mass
        self._c_sum += self.c
        local = record.local_models
        if local is None:
            local = record.theta_prev[None, :] + upd
        if self._last is None:
            self._last = torch.zeros(
                (self.n_clients, upd.shape[1]), dtype=upd.dtype, device=upd.device
            )
        self._last[torch.as_tensor(cl, device=upd.device)] = local.to(self._last.dtype)
        self._has_last[cl] = True
        weights = torch.as_tensor(c_new, dtype=upd.dtype, device=upd.device)
        return StepResult(weights, self._scatter(cl, c_new), removed=self.removed)
