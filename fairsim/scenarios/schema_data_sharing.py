"""Scenario model of ``kind: data_sharing`` (runner: :mod:`fairsim.sim.data_sharing`) [F].

Parties hold private synthetic classification datasets (:mod:`fairsim.agents.data_sharing`);
each round the present parties train a model together (:class:`ModelUtilityGame`), their
contributions are valued with a Shapley estimator and a reward rule pays them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from fairsim import registry
from fairsim.scenarios.schema import (
    ClaimSpec,
    MechanismSpec,
    SweepSpec,
    _check_claims_without_analyses,
    _check_params,
    _check_unique,
    _names_to_dicts,
    _RegisteredScored,
    _Strict,
)


def _ds_get(name: str, kind: str) -> Any:
    """``registry.get(name, kind, domain="data_sharing")`` (the registry imports every provider)."""
    return registry.get(name, kind, domain="data_sharing")


class DSData(_Strict):
    """The shared task: ``n_features``, ``n_classes``, ``class_sep`` and ``n_val`` validation rows."""

    n_features: int = Field(default=5, ge=1, le=200)
    n_classes: int = Field(default=2, ge=2, le=20)
    class_sep: float = Field(default=1.0, gt=0.0)
    n_val: int = Field(default=300, ge=1, le=100_000)


class PartySpec(_Strict):
    """One party (``copies`` identical ones): dataset ``size``, ``label_noise``, ``join_round``,
    and a ``behaviour`` (``honest``, ``free_rider``, ``duplicator``, ``late_joiner``)."""

    size: int = Field(default=50, ge=0, le=100_000)
    label_noise: float = Field(default=0.0, ge=0.0, le=1.0)
    join_round: int = Field(default=1, ge=1, le=1000)
    copies: int = Field(default=1, ge=1, le=64)
    behaviour: str = "honest"
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)

    @field_validator("behaviour")
    @classmethod
    def _known(cls, v: str) -> str:
        _ds_get(v, "behaviour")
        return v

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("behaviour")
        if isinstance(name, str):
            _ds_get(name, "behaviour")
        return _check_params("behaviour", name, v, domain="data_sharing")


class DSModel(_Strict):
    """The utility model (:class:`fairsim.mechanisms._games_model.ModelUtilityGame`).

    ``solver``: ``gd`` (``epochs`` gradient steps, spec §9; the default) or ``newton`` (the
    regularised logistic-regression optimum, at most ``epochs`` Newton iterations; needs
    ``model: logreg`` and ``l2 > 0``). ``layout``: the torch backend's row layout (``auto``,
    ``mask``, ``pad``; spec §9), which does not change the values beyond rounding."""

    model: Literal["logreg", "mlp"] = "logreg"
    backend: Literal["numpy", "torch"] = "numpy"
    device: str | None = None
    epochs: int = Field(default=100, ge=1, le=100_000)
    lr: float = Field(default=0.5, gt=0.0)
    l2: float = Field(default=1e-3, ge=0.0)
    hidden: int = Field(default=32, ge=1, le=4096)
    metric: Literal["accuracy", "neg_log_loss"] = "accuracy"
    solver: Literal["gd", "newton"] = "gd"
    layout: Literal["auto", "mask", "pad"] = "auto"

    @model_validator(mode="after")
    def _newton(self) -> DSModel:
        if self.solver == "newton" and self.model != "logreg":
            raise ValueError(f"solver 'newton' needs model 'logreg'; got {self.model!r}")
        if self.solver == "newton" and self.l2 <= 0:
            raise ValueError(f"solver 'newton' needs l2 > 0 (a unique optimum); got {self.l2}")
        return self


class DSEstimator(_Strict):
    """Shapley estimator of :func:`fairsim.mechanisms.valuation.shapley` and its budget."""

    method: Literal[
        "exact", "permutation", "antithetic", "tmc", "stratified", "owen", "kernel", "svarm"
    ] = "exact"
    budget: int | None = Field(default=None, ge=1)


class DSMechanismSpec(MechanismSpec):
    """A reward rule ``data_sharing.<name>`` (``proportional``, ``rho_shapley``, ``time_aware``)."""

    registry_domain: ClassVar[str] = "data_sharing"


DEFAULT_DS_AXIOMS = ["individual_rationality", "stability", "weak_efficiency"]
DEFAULT_DS_METRICS = ["accuracy", "reward_fairness", "ir_violations", "evaluations"]


class DataSharingScenario(_RegisteredScored):
    """Collaborative data sharing with contribution-based rewards (``kind: data_sharing``)."""

    scenario_domain: ClassVar[str] = "data_sharing"
    kind: Literal["data_sharing"]
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    seed: int = Field(default=0, ge=0)
    replications: int = Field(default=1, ge=1, le=10_000_000)
    data: DSData = Field(default_factory=lambda: DSData())
    parties: list[PartySpec] = Field(min_length=2)
    rounds: int = Field(default=1, ge=1, le=1000)
    free_disposal: bool = Field(
        False, description="value max over sub-coalitions (monotone game, <= 12 parties) [F]"
    )
    model: DSModel = Field(default_factory=lambda: DSModel())
    estimator: DSEstimator = Field(default_factory=lambda: DSEstimator())
    mechanisms: list[DSMechanismSpec] = Field(min_length=1)
    axioms: list[str] = Field(default_factory=lambda: list(DEFAULT_DS_AXIOMS))
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_DS_METRICS))
    sweep: SweepSpec | None = None
    claims: list[ClaimSpec] = Field(default_factory=list)

    @property
    def analyses(self) -> list[Any]:
        """No analyses for this kind (kept for the runner's and reports' generic code)."""
        return []

    @property
    def n_parties(self) -> int:
        """Number of parties after expanding ``copies``."""
        return sum(p.copies for p in self.parties)

    @field_validator("mechanisms", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return _names_to_dicts(v)

    @model_validator(mode="after")
    def _checks(self) -> DataSharingScenario:
        _check_unique([m.display for m in self.mechanisms], "mechanism labels")
        if self.n_parties > 24:
            raise ValueError(f"at most 24 parties are supported; got {self.n_parties}")
        if self.free_disposal and self.n_parties > 12:
            raise ValueError("free_disposal needs at most 12 parties")
        if self.estimator.method == "exact" and self.n_parties > 14:
            raise ValueError("estimator 'exact' trains 2^n models: use n_parties <= 14")
        _check_claims_without_analyses(self.claims)
        return self


__all__ = [
    "DSData",
    "DSEstimator",
    "DSMechanismSpec",
    "DSModel",
    "DataSharingScenario",
    "PartySpec",
]
