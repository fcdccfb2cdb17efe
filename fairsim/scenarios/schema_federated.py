"""Scenario model of ``kind: federated`` (runner: :mod:`fairsim.sim.federated_task`) [F].

K clients train a shared model with FedAvg-style rounds (spec ``federated.md`` §2); some of them
follow an adversarial behaviour (§3: free riders, noisy, sign-flip, ...). Every mechanism of the
scenario (§4: ``gtg_shapley``, ``rffl``, ``fedce``, ``fae`` and the baselines) runs on the same
data, partition and seed (a paired comparison). Fields mirror
:func:`fairsim.sim.federated.simulate`::

    kind: federated
    name: fl_free_riders
    n_clients: 10
    behaviours:                       # the other clients are honest; these come last, in order
      - {name: free_rider, count: 2, params: {mode: random}}
    data: {dataset: gaussian_mixture, n_samples: 3000, partition: iid}
    training: {model: logreg, local_steps: 10, batch_size: 32, lr: 0.05}
    rounds: 30
    mechanisms: [fedavg, gtg_shapley, {name: rffl, params: {clip_norm: 0.5}}]
    compare_to: fedavg                # metric.d_* = this mechanism minus fedavg, same run
    reference: mr_exact               # metric.rank_corr_ref / eval_ratio_ref against it

Client behaviours are looked up as ``federated.<name>`` (kind ``behaviour``) when the registry has
federated behaviours, else checked against :data:`CLIENT_TYPES`.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from fairsim import registry
from fairsim.agents.federated import KINDS as CLIENT_KINDS
from fairsim.scenarios.schema import (
    BehaviourSpec,
    ClaimSpec,
    MechanismSpec,
    SweepSpec,
    _check_claims_without_analyses,
    _check_params,
    _check_unique,
    _names_to_dicts,
    _Strict,
)

DOMAIN = "federated"
#: Client kinds of :func:`fairsim.sim.federated.simulate` (spec §3).
CLIENT_TYPES = CLIENT_KINDS
#: Modules registering ``federated.*`` entries (imported before a lookup, so a scenario validates
#: whether or not the registry's provider list names them yet) [F].
_PROVIDERS = (
    "fairsim.mechanisms.federated",
    "fairsim.axioms.federated",
    "fairsim.agents.federated",
)


def _load_providers() -> None:
    for mod in _PROVIDERS:
        try:
            importlib.import_module(mod)
        except ImportError:  # a provider not present in this installation
            continue


def fed_get(name: str, kind: str) -> Any:
    """``registry.get(name, kind, domain="federated")`` after importing the federated providers."""
    _load_providers()
    return registry.get(name, kind, domain=DOMAIN)


def _check_behaviour(name: str) -> None:
    _load_providers()
    if registry.entries("behaviour", domain=DOMAIN):
        registry.get(name, "behaviour", domain=DOMAIN)
    elif name not in CLIENT_TYPES:
        raise ValueError(f"unknown behaviour {name!r}; available: {', '.join(CLIENT_TYPES)}")


class FedBehaviourSpec(BehaviourSpec):
    """A group of clients following behaviour ``name`` (``free_rider``, ``noisy``, ``sign_flip``,
    ``scaled``, ``label_flip``, ``sign_randomize``; spec §3) with its ``params``.

    ``count`` clients, or when ``count`` is omitted ``round(share * n_clients)`` of them.
    """

    registry_domain: ClassVar[str] = DOMAIN

    count: int | None = Field(default=None, ge=0, le=10_000)

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        _check_behaviour(v)
        return v

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        _load_providers()
        return _check_params("behaviour", info.data.get("name"), v, domain=DOMAIN)

    def size(self, n_clients: int) -> int:
        """Number of clients of this group among ``n_clients``."""
        if self.count is not None:
            return self.count
        return int(self.share * n_clients + 0.5)


class FedMechanismSpec(MechanismSpec):
    """A ``federated.<name>`` mechanism (``fedavg``, ``size_share``, ``gtg_shapley``, ``rffl``,
    ``fedce``, ``fae``, ``mr_exact``, ``or_exact``, ``loo``) with keyword parameters (spec §7)."""

    registry_domain: ClassVar[str] = DOMAIN

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        fed_get(v, "mechanism")
        return v

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        _load_providers()
        return _check_params("mechanism", info.data.get("name"), v, domain=DOMAIN)


class FedData(_Strict):
    """Dataset and partition (spec §2.1): the built-in ``gaussian_mixture`` (or ``image_blobs``,
    64 features) split over clients
    ``iid``, by Dirichlet label skew (``alpha``), by Dirichlet quantity skew or in shards."""

    dataset: Literal["gaussian_mixture", "image_blobs"] = "gaussian_mixture"
    n_samples: int = Field(default=6000, ge=10, le=10_000_000)
    n_features: int = Field(default=20, ge=1, le=100_000)
    n_classes: int = Field(default=10, ge=2, le=1000)
    partition: Literal["iid", "dirichlet", "quantity", "shards"] = "iid"
    alpha: float = Field(default=0.5, gt=0.0, le=1e6)


class FedTraining(_Strict):
    """Model and local training (spec §2.2-§2.3): ``local_steps`` SGD steps of ``batch_size`` at
    learning rate ``lr``; ``backend`` ``vmap`` (batched) or ``loop`` (sequential reference)."""

    model: Literal["logreg", "mlp"] = "logreg"
    hidden: int = Field(default=64, ge=1, le=65_536)
    local_steps: int = Field(default=10, ge=1, le=10_000)
    batch_size: int = Field(default=32, ge=1, le=100_000)
    lr: float = Field(default=0.05, gt=0.0, le=100.0)
    device: str = "cpu"
    dtype: Literal["float32", "float64"] = "float32"
    backend: Literal["vmap", "loop"] = "vmap"


class FederatedScenario(_Strict):
    """Federated learning with contribution and incentive mechanisms (``kind: federated``)."""

    kind: Literal["federated"]
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    seed: int = Field(default=0, ge=0)
    replications: int = Field(default=1, ge=1, le=10_000_000)
    n_clients: int = Field(default=10, ge=1, le=10_000)
    behaviours: list[FedBehaviourSpec] = Field(default_factory=list)
    client_types: list[str] | None = Field(
        default=None, description="One behaviour per client (instead of 'behaviours')."
    )
    data: FedData = Field(default_factory=lambda: FedData())
    training: FedTraining = Field(default_factory=lambda: FedTraining())
    rounds: int = Field(default=50, ge=1, le=100_000)
    participation: Literal["full", "uniform", "bernoulli"] = "full"
    participation_rate: float = Field(default=1.0, gt=0.0, le=1.0)
    standalone: bool = Field(
        True, description="Train every client alone too (needed for the fairness correlation)."
    )
    mechanisms: list[FedMechanismSpec] = Field(min_length=1)
    compare_to: str | None = Field(
        default=None, description="Mechanism label the metric.d_* columns are differences to."
    )
    reference: str | None = Field(
        default=None,
        description=(
            "Mechanism label (e.g. an exact estimator such as mr_exact) that metric.rank_corr_ref "
            "and metric.eval_ratio_ref compare every mechanism's contributions and evaluations to."
        ),
    )
    sweep: SweepSpec | None = None
    claims: list[ClaimSpec] = Field(default_factory=list)

    @property
    def analyses(self) -> list[Any]:
        """No analyses for this kind (kept for the runner's and reports' generic code)."""
        return []

    @field_validator("mechanisms", "behaviours", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return _names_to_dicts(v)

    @field_validator("client_types")
    @classmethod
    def _types(cls, v: list[str] | None) -> list[str] | None:
        for name in v or []:
            _check_behaviour(name)
        return v

    def types(self) -> list[str]:
        """The behaviour of every client: ``client_types``, else honest clients followed by the
        ``behaviours`` groups in order."""
        if self.client_types is not None:
            return list(self.client_types)
        groups = [[b.name] * b.size(self.n_clients) for b in self.behaviours]
        rest = self.n_clients - sum(len(g) for g in groups)
        return ["honest"] * rest + [t for g in groups for t in g]

    def behaviour_params(self) -> dict[str, dict[str, Any]]:
        """``{behaviour: params}`` of the groups that set parameters."""
        return {b.name: dict(b.params) for b in self.behaviours if b.params}

    @model_validator(mode="after")
    def _checks(self) -> FederatedScenario:
        labels = [m.display for m in self.mechanisms]
        _check_unique(labels, "mechanism labels")
        if self.compare_to is not None and self.compare_to not in labels:
            raise ValueError(f"compare_to {self.compare_to!r} is not a mechanism label: {labels}")
        if self.reference is not None and self.reference not in labels:
            raise ValueError(f"reference {self.reference!r} is not a mechanism label: {labels}")
        if self.client_types is not None:
            if self.behaviours:
                raise ValueError("give either 'client_types' or 'behaviours', not both")
            if len(self.client_types) != self.n_clients:
                raise ValueError(
                    f"client_types has {len(self.client_types)} entries; n_clients is "
                    f"{self.n_clients}"
                )
        else:
            total = sum(b.size(self.n_clients) for b in self.behaviours)
            if total > self.n_clients:
                raise ValueError(
                    f"behaviour groups have {total} clients; n_clients is {self.n_clients}"
                )
            names = [b.name for b in self.behaviours if b.params]
            again = {n for n in names if names.count(n) > 1}
            if again:
                raise ValueError(f"behaviour(s) {sorted(again)} given parameters twice")
        if self.data.n_samples < 10 * self.n_clients:
            raise ValueError(
                f"data.n_samples={self.data.n_samples} is too small for {self.n_clients} "
                "clients (need at least 10 per client)"
            )
        _check_claims_without_analyses(self.claims)
        return self


__all__ = [
    "CLIENT_TYPES",
    "FedBehaviourSpec",
    "FedData",
    "FedMechanismSpec",
    "FedTraining",
    "FederatedScenario",
    "fed_get",
]
