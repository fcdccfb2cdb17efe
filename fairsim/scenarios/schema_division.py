"""Scenario model of ``kind: fair_division`` (runner: :mod:`fairsim.sim.division`).

Indivisible goods or chores (spec ``shared/spec/division.md``): n agents with private integer
valuations drawn by :mod:`fairsim.agents.division`, every registered ``division.*`` mechanism run
on the agents' REPORTS, axioms and metrics scored on the TRUE valuations. Unknown keys are
rejected; names are checked against :mod:`fairsim.registry` (domain ``division``).
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from fairsim import registry
from fairsim.scenarios.schema import (
    BehaviourSpec,
    ClaimSpec,
    MechanismSpec,
    SweepSpec,
    _check_analysis_claims,
    _check_registered,
    _check_shares,
    _check_unique,
    _names_to_dicts,
    _Strict,
)


def _div_get(name: str, kind: str) -> Any:
    """``registry.get(name, kind, domain="division")`` (the registry imports every provider)."""
    return registry.get(name, kind, domain="division")


def _check_signature(kind: str, name: Any, params: dict[str, Any], skip: int) -> dict[str, Any]:
    """Reject keys that the registered function does not accept (after ``skip`` positionals)."""
    if not isinstance(name, str):
        return params
    try:
        func = _div_get(name, kind).func
    except ValueError:
        return params
    sig = list(inspect.signature(func).parameters.values())[skip:]
    if any(p.kind is p.VAR_KEYWORD for p in sig):
        return params
    allowed = {p.name for p in sig}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for {kind} {name!r}; "
            f"parameters: {', '.join(sorted(allowed)) or '(none)'}"
        )
    return params


class DivisionInstances(_Strict):
    """How each instance is drawn (:func:`fairsim.agents.division.draw_valuations`).

    ``generator`` with ``n`` agents and ``m`` items; ``low``/``high`` (integer value or cost
    range), ``noise`` (correlated), ``a`` (Zipf exponent), ``p`` (binary and approval
    probability); ``items``: ``goods`` (V >= 0) or ``chores`` (the drawn magnitudes are costs);
    ``arrival``: the order in which ONLINE mechanisms see the items: ``random`` (a fresh uniform
    permutation per instance) or ``index`` [F].
    """

    generator: Literal["uniform", "correlated", "zipf", "binary", "cost_utility", "laminar"]
    n: int = Field(ge=1, le=50)
    m: int = Field(ge=1, le=200)
    items: Literal["goods", "chores"] = "goods"
    low: int = Field(default=1, ge=0)
    high: int = Field(default=10, ge=0, le=1_000_000)
    noise: float = Field(default=0.2, ge=0.0)
    a: float = Field(default=2.0, gt=1.0)
    p: float = Field(default=0.5, ge=0.0, le=1.0)
    arrival: Literal["random", "index"] = "random"

    @model_validator(mode="after")
    def _order(self) -> DivisionInstances:
        if self.low > self.high:
            raise ValueError(f"low={self.low} must be <= high={self.high}")
        return self


class DivisionBehaviourSpec(BehaviourSpec):
    """An agent behaviour (``truthful`` or ``best_response`` with ``params: {rounds, factor}``)
    and the share of agents using it."""

    registry_domain: ClassVar[str] = "division"


class DivisionMechanismSpec(MechanismSpec):
    """A registered ``division.*`` mechanism with keyword parameters (checked against its
    signature)."""

    registry_domain: ClassVar[str] = "division"

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_signature("mechanism", info.data.get("name"), v, skip=1)


class DivisionAxiomSpec(_Strict):
    """A registered ``division.*`` axiom with keyword parameters (``mms`` takes ``alpha``) and an
    optional column ``label`` (default: the name)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    label: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        _div_get(v, "axiom")
        return v

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_signature("axiom", info.data.get("name"), v, skip=2)

    @property
    def column(self) -> str:
        """The short name used in the ``axiom.*`` / ``slack.*`` / ``witness.*`` columns."""
        return self.label or _div_get(self.name, "axiom").short_name


class AdversarialOnlineAnalysis(_Strict):
    """Worst-case search for an online rule (``type: adversarial_online``; spec §6).

    For every ``n`` in ``n`` and ``m`` in ``m``, :func:`fairsim.mechanisms._division_adversary.
    adversarial_online_search` runs ``algorithm`` (``goods_two_agents``: n must be 2; ``chores``)
    with ``restarts`` x ``iterations`` and integer ``values_range``; one ``analyses.parquet`` row
    each, ``expected`` = the bound (0.5 for goods, 2 - 1/n for chores) [F].
    """

    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: Literal["adversarial_online"]
    algorithm: Literal["goods_two_agents", "chores"]
    n: list[Annotated[int, Field(ge=2, le=8)]] = Field(min_length=1)
    m: list[Annotated[int, Field(ge=1, le=16)]] = Field(min_length=1)
    restarts: int = Field(default=20, ge=1, le=10_000)
    iterations: int = Field(default=200, ge=0, le=100_000)
    values_range: tuple[int, int] = (1, 100)
    temperature: float = Field(default=0.05, ge=0.0)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> AdversarialOnlineAnalysis:
        if self.algorithm == "goods_two_agents" and any(k != 2 for k in self.n):
            raise ValueError(f"analysis {self.id!r}: goods_two_agents needs n = 2; got {self.n}")
        lo, hi = self.values_range
        if not (0 <= lo <= hi and 1 <= hi <= 1_000_000):
            raise ValueError(
                f"analysis {self.id!r}: values_range must satisfy 0 <= low <= high, "
                f"1 <= high <= 1000000; got {self.values_range}"
            )
        return self


DEFAULT_DIVISION_AXIOMS = ["ef1", "efx", "prop1", "mms"]
DEFAULT_DIVISION_METRICS = [
    "mms_ratio",
    "utilitarian_welfare",
    "nash_welfare",
    "egalitarian_welfare",
    "envy_count",
]


class DivisionScenario(_Strict):
    """Fair division of indivisible goods or chores (``kind: fair_division``)."""

    kind: Literal["fair_division"]
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    seed: int = Field(0, ge=0)
    replications: int = Field(1, ge=1, le=10_000_000)
    instances: DivisionInstances
    behaviours: list[DivisionBehaviourSpec] = Field(
        default_factory=lambda: [DivisionBehaviourSpec(name="truthful")], min_length=1
    )
    mechanisms: list[DivisionMechanismSpec] = Field(min_length=1)
    axioms: list[DivisionAxiomSpec] = Field(
        default_factory=lambda: [DivisionAxiomSpec(name=a) for a in DEFAULT_DIVISION_AXIOMS]
    )
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_DIVISION_METRICS))
    sweep: SweepSpec | None = None
    claims: list[ClaimSpec] = Field(default_factory=list)
    analyses: list[AdversarialOnlineAnalysis] = Field(default_factory=list)

    @field_validator("mechanisms", "behaviours", "axioms", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return _names_to_dicts(v)

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str]) -> list[str]:
        return _check_registered(v, "metric", "division")

    @model_validator(mode="after")
    def _checks(self) -> DivisionScenario:
        _check_unique([m.display for m in self.mechanisms], "mechanism labels")
        _check_unique([a.column for a in self.axioms], "axiom labels")
        _check_shares(self.behaviours)
        _check_analysis_claims(self.analyses, self.claims)
        return self


__all__ = [
    "AdversarialOnlineAnalysis",
    "DEFAULT_DIVISION_AXIOMS",
    "DEFAULT_DIVISION_METRICS",
    "DivisionAxiomSpec",
    "DivisionBehaviourSpec",
    "DivisionInstances",
    "DivisionMechanismSpec",
    "DivisionScenario",
]
