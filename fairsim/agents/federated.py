"""Clients of the federated-learning domain and their behaviours (spec ``federated.md`` §2.3, §3).

A behaviour (registered ``federated.<kind>``, kind ``behaviour``; the registered callable builds a
:class:`Behaviour` from its keyword parameters) acts at two moments:

* at data creation, ``relabel(y, rng, n_classes)`` may change the labels of the client's share
  (``noisy``: each label replaced by a uniform random label with probability ``p``, default 0.5;
  ``label_flip``: class ``a`` relabelled ``b``, defaults 1 -> 7 as in the RFFL code);
* after local training, ``transform(delta, ctx)`` maps the true updates ``(m, P)`` of all the
  round's participants of that kind (one vectorised call per kind) to what they upload:
  ``honest``/``noisy``/``label_flip`` the true update; ``free_rider`` ``"zero"`` (0), ``"random"``
  (elementwise ``U(-1, 1)``, default) or ``"stealth"`` (a Gaussian direction scaled to
  ``||theta^{t-1} - theta^{t-2}||``, ``1e-3 sqrt(P)`` before round 2); ``sign_flip``
  ``-lam * delta`` (lam = 1); ``scaled`` ``lam * delta`` (lam = 10); ``sign_randomize``
  elementwise random signs.

A free rider claims the median honest size (``claims_median``, spec §3); every other kind claims
its true size. Honest set for fairness statistics (spec §5): ``honest`` and ``noisy``.

:class:`ClientAgent` (a :class:`mesa.Agent`; Mesa imported on first use) holds ``client_id``,
``kind``, its training and local-validation row indices, ``claimed_size``, its behaviour and
``row`` (its row in the stacked parameter tensor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.registry import register

KINDS = (
    "honest",
    "noisy",
    "free_rider",
    "sign_flip",
    "scaled",
    "label_flip",
    "sign_randomize",
)
HONEST_KINDS = ("honest", "noisy")
FREE_RIDER_MODES = ("zero", "random", "stealth")


@dataclass(frozen=True)
class UpdateContext:
    """What a behaviour may use when it replaces updates: the round, ``P`` and the last step norm.

    ``step_norm`` is ``||theta^{t-1} - theta^{t-2}||`` (None before round 2); ``rng`` is the
    clients' behaviour generator; ``like`` is a tensor whose dtype and device the output keeps.
    """

    t: int
    n_params: int
    step_norm: float | None
    rng: np.random.Generator
    like: Any = None


@dataclass(frozen=True)
class Behaviour:
    """A client type (module docstring)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def honest(self) -> bool:
        """True for the kinds counted as honest in fairness statistics (honest, noisy)."""
        return self.kind in HONEST_KINDS

    @property
    def claims_median(self) -> bool:
        """True when the client claims the median honest size instead of its own (free riders)."""
        return self.kind == "free_rider"

    def relabel(self, y: np.ndarray, rng: np.random.Generator, n_classes: int) -> np.ndarray:
        """Labels the client trains on (fixed once at data creation)."""
        if self.kind == "noisy":
            flip = rng.random(y.shape[0]) < float(self.params.get("p", 0.5))
            return np.where(flip, rng.integers(0, n_classes, size=y.shape[0]), y).astype(np.int64)
        if self.kind == "label_flip":
            a, b = int(self.params.get("a", 1)), int(self.params.get("b", 7))
            return np.where(y == a, b, y).astype(np.int64)
        return y

    def transform(self, delta: Any, ctx: UpdateContext) -> Any:
        """Uploaded updates ``(m, P)`` of ``m`` clients of this kind from their true ``delta``."""
        import torch

        k = self.kind
        if k in ("honest", "noisy", "label_flip"):
            return delta
        if k == "sign_flip":
            return -float(self.params.get("lam", 1.0)) * delta
        if k == "scaled":
            return float(self.params.get("lam", 10.0)) * delta
        shape = tuple(delta.shape)
        if k == "sign_randomize":
            s = np.where(ctx.rng.random(shape) < 0.5, -1.0, 1.0)
            return delta * torch.as_tensor(s, dtype=delta.dtype, device=delta.device)
        mode = self.params.get("mode", "random")
        if mode == "zero":
            return torch.zeros_like(delta)
        if mode == "random":
            u = ctx.rng.uniform(-1.0, 1.0, size=shape)
            return torch.as_tensor(u, dtype=delta.dtype, device=delta.device)
        g = ctx.rng.standard_normal(shape)
        g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)
        scale = 1e-3 * np.sqrt(ctx.n_params) if ctx.step_norm is None else ctx.step_norm
        return torch.as_tensor(g * scale, dtype=delta.dtype, device=delta.device)


def _number(v: Any, name: str, lo: float, hi: float = np.inf) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not lo <= v <= hi:
        raise InputError(f"{name} must be a number in [{lo}, {hi}]; got {v!r}")
    return float(v)


@register("federated.honest", "behaviour", params={})
def honest() -> Behaviour:
    """Uploads its true update and claims its true size (spec §3)."""
    return Behaviour("honest")


@register("federated.noisy", "behaviour", params={"p": {"default": 0.5}})
def noisy(p: float = 0.5) -> Behaviour:
    """Low quality: trains on labels replaced by a uniform random label with probability ``p``."""
    return Behaviour("noisy", {"p": _number(p, "noisy p", 0.0, 1.0)})


@register("federated.free_rider", "behaviour", params={"mode": {"default": "random"}})
def free_rider(mode: str = "random") -> Behaviour:
    """Uploads no real work (``zero``/``random``/``stealth``) and claims the median honest size."""
    if mode not in FREE_RIDER_MODES:
        raise InputError(f"free_rider mode must be one of {FREE_RIDER_MODES}; got {mode!r}")
    return Behaviour("free_rider", {"mode": mode})


@register("federated.sign_flip", "behaviour", params={"lam": {"default": 1.0}})
def sign_flip(lam: float = 1.0) -> Behaviour:
    """Uploads ``-lam * Delta`` (spec §3)."""
    return Behaviour("sign_flip", {"lam": _number(lam, "sign_flip lam", 0.0)})


@register("federated.scaled", "behaviour", params={"lam": {"default": 10.0}})
def scaled(lam: float = 10.0) -> Behaviour:
    """Uploads ``lam * Delta`` (spec §3)."""
    return Behaviour("scaled", {"lam": _number(lam, "scaled lam", 0.0)})


@register("federated.label_flip", "behaviour", params={"a": {"default": 1}, "b": {"default": 7}})
def label_flip(a: int = 1, b: int = 7) -> Behaviour:
    """Trains with class ``a`` relabelled ``b`` (RFFL code: 1 -> 7)."""
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InputError(f"label_flip {name} must be an int >= 0; got {v!r}")
    return Behaviour("label_flip", {"a": int(a), "b": int(b)})


@register("federated.sign_randomize", "behaviour", params={})
def sign_randomize() -> Behaviour:
    """Uploads its update with elementwise random signs (RFFL code)."""
    return Behaviour("sign_randomize")


_FACTORIES = {
    "honest": honest,
    "noisy": noisy,
    "free_rider": free_rider,
    "sign_flip": sign_flip,
    "scaled": scaled,
    "label_flip": label_flip,
    "sign_randomize": sign_randomize,
}


def make_behaviour(kind: str, params: dict[str, Any] | None = None) -> Behaviour:
    """The behaviour ``kind`` with keyword ``params`` (validated)."""
    if kind not in _FACTORIES:
        raise InputError(f"client type must be one of {KINDS}; got {kind!r}")
    try:
        return _FACTORIES[kind](**dict(params or {}))
    except TypeError as exc:
        raise InputError(f"bad parameters for client type {kind!r}: {exc}") from None


def claimed_sizes(true_sizes: np.ndarray, behaviours: list[Behaviour]) -> np.ndarray:
    """Claimed sizes: the true ``n_i``, or for free riders the median honest size [F].

    The median is over the honest kinds (honest, noisy), or over all clients if there is none.
    """
    n = np.asarray(true_sizes, dtype=np.float64)
    hon = np.array([b.honest for b in behaviours])
    med = float(np.median(n[hon] if hon.any() else n))
    return np.array([med if b.claims_median else float(n[i]) for i, b in enumerate(behaviours)])


_AGENT_CLASS: type | None = None


def client_agent_class() -> type:
    """Define :class:`ClientAgent` on first use (imports Mesa)."""
    global _AGENT_CLASS
    if _AGENT_CLASS is not None:
        return _AGENT_CLASS
    import mesa

    class ClientAgent(mesa.Agent):
        """A federated client (a :class:`mesa.Agent`); see the module docstring.

        The model trains all participants in one batched call, so the agent holds state only.
        """

        def __init__(
            self,
            model: mesa.Model,
            client_id: int,
            behaviour: Behaviour,
            train_idx: np.ndarray,
            val_idx: np.ndarray,
            claimed_size: float,
        ) -> None:
            super().__init__(model)
            self.client_id = int(client_id)
            self.row = int(client_id)
            self.behaviour = behaviour
            self.kind = behaviour.kind
            self.train_idx = train_idx
            self.val_idx = val_idx
            self.claimed_size = float(claimed_size)

        @property
        def true_size(self) -> int:
            return int(self.train_idx.size)

    _AGENT_CLASS = ClientAgent
    return ClientAgent


def __getattr__(name: str) -> Any:
    if name == "ClientAgent":
        return client_agent_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HONEST_KINDS",
    "KINDS",
    "Behaviour",
    "UpdateContext",
    "claimed_sizes",
    "client_agent_class",
    "free_rider",
    "honest",
    "label_flip",
    "make_behaviour",
    "noisy",
    "scaled",
    "sign_flip",
    "sign_randomize",
]
