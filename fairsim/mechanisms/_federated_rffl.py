"""RFFL reputation mechanism (Xu & Lyu, FL-ICML 2021; spec ``federated.md`` §4.2).

Personal-model mechanism: every client keeps its own model; after each round participant i adds
``downloads[i] = clip(Δ_i) + mask_{q_i}(Δ_g)`` to it, where the mask keeps, per layer, the top
⌈q_i·|layer|⌉ entries of the aggregate by magnitude (ties broken by index [F]).
"""

from __future__ import annotations

import math

import numpy as np

from fairsim.mechanisms._federated_base import (
    FederatedMechanism,
    RoundRecord,
    StepResult,
    client_index,
    cosine,
    require_torch,
    size_weights,
    to_numpy,
)


def topk_counts(q: np.ndarray, layer_len: int) -> np.ndarray:
    """⌈q·|layer|⌉ per client, with q·|layer| rounded to 9 decimals first (float noise) [F]."""
    return np.array(
        [min(layer_len, max(0, math.ceil(round(float(x) * layer_len, 9)))) for x in q],
        dtype=np.int64,
    )


def sparse_masks(agg, counts_per_layer, layer_slices):  # type: ignore[no-untyped-def]
    """(k, P) bool masks: per layer, the top ``counts[l][i]`` entries of |agg| (ties by index)."""
    torch = require_torch("rffl_reputation")
    k = len(counts_per_layer[0]) if counts_per_layer else 0
    mask = torch.zeros((k, agg.shape[0]), dtype=torch.bool, device=agg.device)
    for (start, stop), counts in zip(layer_slices, counts_per_layer, strict=True):
        seg = agg[start:stop].abs()
        order = torch.sort(-seg, stable=True).indices
        rank = torch.empty_like(order)
        rank[order] = torch.arange(stop - start, device=agg.device)
        c = torch.as_tensor(counts, device=agg.device)
        mask[:, start:stop] = rank[None, :] < c[:, None]
    return mask


class RFFL(FederatedMechanism):
    """Reputation-based fair federated learning with sparsified rewards (spec §4.2)."""

    name = "rffl"
    personal = True

    def __init__(
        self,
        n_clients: int,
        sizes: np.ndarray,
        alpha: float,
        clip_norm: float,
        threshold: float,
        removal_start: int,
        own_update: str,
    ) -> None:
        super().__init__(n_clients)
        self.sizes = np.asarray(sizes, dtype=np.float64)
        self.alpha = alpha
        self.clip_norm = clip_norm
        self.threshold = threshold
        self.removal_start = removal_start
        self.own_update = own_update
        self.reputable = np.ones(n_clients, dtype=bool)
        self.fallback_rounds = 0
        self.removal_round = np.full(n_clients, -1, dtype=np.int64)
        self._started = False

    @property
    def reputations(self) -> np.ndarray:
        """Current reputations r (sum 1 over the reputable set)."""
        return self._contrib.copy()

    def _normalise(self) -> None:
        r = self._contrib
        r[~self.reputable] = 0.0
        tot = r.sum()
        if tot > 0:
            r /= tot
        else:
            self.fallback_rounds += 1
            cnt = self.reputable.sum()
            r[:] = np.where(self.reputable, 1.0 / max(cnt, 1), 0.0)

    def step(self, record: RoundRecord) -> StepResult:
        """Clip, aggregate, score, update reputations, remove, and build the downloads."""
        torch = require_torch("rffl_reputation")
        self.rounds += 1
        cl = client_index(record)
        k = cl.size
        if k == 0:
            return StepResult(None, np.zeros(self.n_clients), removed=self.removed)
        upd = record.updates
        norms = upd.norm(dim=1)
        scale = torch.clamp(self.clip_norm / norms.clamp_min(1e-30), max=1.0)
        clipped = upd * scale[:, None]
        rep = self.reputable[cl]
        if not self._started:
            w = size_weights(np.asarray(record.sizes, dtype=np.float64)) * rep
        else:
            w = self._contrib[cl] * rep
        tot = w.sum()
        w = w / tot if tot > 0 else (rep / max(rep.sum(), 1)).astype(np.float64)
        self._started = True
        wt = torch.as_tensor(w, dtype=upd.dtype, device=upd.device)
        agg = wt @ clipped
        psi = to_numpy(cosine(clipped, agg))
        r = self._contrib
        r[cl] = self.alpha * r[cl] + (1.0 - self.alpha) * psi
        self._normalise()
        if record.t >= self.removal_start:
            beta = self.threshold / max(int(self.reputable.sum()), 1)
            out = self.reputable & (r < beta)
            if out.any():
                self.reputable &= ~out
                self.removal_round[out] = record.t
                self.removed = frozenset(np.flatnonzero(~self.reputable).tolist())
                self._normalise()
        downloads, nbytes = self._downloads(record, cl, clipped, agg)
        return StepResult(
            weights=wt,
            contrib_round=self._scatter(cl, psi),
            downloads=downloads,
            removed=self.removed,
            download_bytes=nbytes,
        )

    def _downloads(self, record: RoundRecord, cl: np.ndarray, clipped, agg):  # type: ignore[no-untyped-def]
        r = self._contrib
        rmax = r.max()
        q = np.clip(r[cl] / rmax, 0.0, 1.0) if rmax > 0 else np.zeros(cl.size)
        q = np.where(self.reputable[cl], q, 0.0)
        counts = [topk_counts(q, stop - start) for start, stop in record.layer_slices]
        mask = sparse_masks(agg, counts, record.layer_slices)
        reward = mask.to(agg.dtype) * agg[None, :]
        if self.own_update == "cffl":
            downloads = clipped * (~mask).to(agg.dtype) + reward
        else:
            downloads = clipped + reward
        p = agg.shape[0]
        sent = np.sum(counts, axis=0).astype(np.float64) * 8.0
        nbytes = float(np.minimum(sent, p * 4.0)[self.reputable[cl]].sum())
        return downloads, nbytes
