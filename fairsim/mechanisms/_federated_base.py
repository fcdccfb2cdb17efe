"""Private helpers shared by the federated mechanisms (spec ``federated.md`` §4.0).

Round records, step results, the mechanism base class and the small tensor helpers (coalition
models, cosine similarity, batched utility calls). torch is imported lazily inside functions so
that this module imports without it; kernels trust their inputs (the public factories validate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fairsim.errors import InputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import Tensor
else:
    Tensor = Any

TORCH_HINT = "pip install 'fairsim[torch]'"


def require_torch(what: str) -> Any:
    """Import torch, or raise :class:`InputError` naming the optional extra."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is installed in the dev environment
        raise InputError(f"{what} needs PyTorch: {TORCH_HINT}") from None
    return torch


@dataclass
class RoundRecord:
    """What a mechanism sees after the clients of round ``t`` trained (fedapi §A)."""

    t: int
    theta_prev: Tensor
    updates: Tensor
    clients: Any
    sizes: np.ndarray
    layer_slices: list[tuple[int, int]]
    n_clients: int
    utility: Callable[[Tensor], Tensor] | None = None
    local_utility: Callable[[Tensor, np.ndarray], Tensor] | None = None
    local_models: Tensor | None = None


@dataclass
class StepResult:
    """A mechanism's answer for one round (fedapi §A)."""

    weights: Tensor | None
    contrib_round: np.ndarray
    downloads: Tensor | None = None
    selection_probs: np.ndarray | None = None
    removed: frozenset[int] = frozenset()
    download_bytes: float | None = None


def client_index(record: RoundRecord) -> np.ndarray:
    """The participants' client indices as an int64 numpy array."""
    c = record.clients
    if hasattr(c, "detach"):
        c = c.detach().cpu().numpy()
    return np.asarray(c, dtype=np.int64)


def to_numpy(x: Any) -> np.ndarray:
    """A float64 numpy copy of a tensor or array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


class FederatedMechanism:
    """Base class: participation filter, cumulative state and evaluation counter [F]."""

    name = "federated"
    personal = False

    def __init__(self, n_clients: int) -> None:
        self.n_clients = int(n_clients)
        self._contrib = np.zeros(self.n_clients)
        self.evaluations = 0
        self.removed: frozenset[int] = frozenset()
        self.rounds = 0

    @property
    def contributions(self) -> np.ndarray:
        """Cumulative contribution estimate (n_clients,)."""
        return self._contrib.copy()

    def select(self, t: int, available: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Participation override: ``available`` minus removed clients."""
        sel = np.array(available, dtype=bool, copy=True)
        if self.removed:
            sel[sorted(self.removed)] = False
        return sel

    def step(self, record: RoundRecord) -> StepResult:  # pragma: no cover - abstract
        raise TypeError("subclasses implement step")

    def _scatter(self, clients: np.ndarray, values: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n_clients)
        out[clients] = values
        return out


def size_weights(sizes: np.ndarray) -> np.ndarray:
    """FedAvg weights ñ_i/Σñ (uniform when every claimed size is 0) [F]."""
    s = np.asarray(sizes, dtype=np.float64)
    tot = s.sum()
    return s / tot if tot > 0 else np.full(s.shape, 1.0 / max(s.size, 1))


def coalition_models(
    theta_prev: Tensor, updates: Tensor, sizes: np.ndarray, masks: np.ndarray
) -> Tensor:
    """θ_S = θ_prev + Σ_{i∈S} (ñ_i/ñ_S) Δ_i for each row of ``masks`` (b, k) bool (spec §4.1).

    The empty coalition gives θ_prev; a coalition of claimed size 0 averages uniformly [F].
    """
    torch = require_torch("coalition models")
    m = np.asarray(masks, dtype=np.float64)
    w = m * np.asarray(sizes, dtype=np.float64)[None, :]
    tot = w.sum(axis=1, keepdims=True)
    cnt = m.sum(axis=1, keepdims=True)
    zero = (tot[:, 0] <= 0) & (cnt[:, 0] > 0)
    w = np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)
    if zero.any():
        w[zero] = m[zero] / cnt[zero]
    W = torch.as_tensor(w, dtype=updates.dtype, device=updates.device)
    return theta_prev.unsqueeze(0) + W @ updates


def eval_utility(
    utility: Callable[[Tensor], Tensor], thetas: Tensor, chunk: int = 4096
) -> np.ndarray:
    """Call the batched ``utility`` on (b, P) models in chunks; float64 numpy (b,)."""
    out = []
    for s in range(0, thetas.shape[0], chunk):
        out.append(to_numpy(utility(thetas[s : s + chunk])).reshape(-1))
    return np.concatenate(out) if out else np.zeros(0)


def eval_masks(
    record: RoundRecord, utility: Callable[[Tensor], Tensor], masks: np.ndarray
) -> np.ndarray:
    """Utility of the coalition models of ``masks`` (b, k)."""
    thetas = coalition_models(record.theta_prev, record.updates, record.sizes, masks)
    return eval_utility(utility, thetas)


def cosine(a: Tensor, b: Tensor, eps: float = 1e-10) -> Tensor:
    """Row-wise cos(a_i, b) = a_i·b / max(‖a_i‖‖b‖, eps); a zero vector scores 0."""
    num = a @ b
    den = (a.norm(dim=-1) * b.norm()).clamp_min(eps)
    return num / den


def pick_utility(
    own: Callable[[Tensor], Tensor] | None, record: RoundRecord, who: str
) -> Callable[[Tensor], Tensor]:
    """The mechanism's utility, else the record's; InputError when neither is given."""
    u = own if own is not None else record.utility
    if u is None:
        raise InputError(
            f"{who} needs a utility: pass utility=... to the factory or set record.utility"
        )
    return u
