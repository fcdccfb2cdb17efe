"""Scenario model of ``kind: budget_aggregation`` (runner: :mod:`fairsim.sim.budget_aggregation`).

Divisible participatory budgeting (spec ``facility.md`` §6, Freeman et al. JET 2021): n voters
report a division of a divisible budget over m projects; every registered
``budget_aggregation.*`` mechanism runs on the voters' REPORTS, axioms and metrics are scored on
the TRUE profile. Unknown keys are rejected; names are checked against :mod:`fairsim.registry`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

import fairsim.agents.budget_aggregation  # noqa: F401 - registers behaviours
import fairsim.axioms.budget_aggregation  # noqa: F401 - registers axioms and metrics
import fairsim.mechanisms._aggregation_baselines  # noqa: F401 - registers the baselines
import fairsim.mechanisms.budget_aggregation  # noqa: F401 - registers the moving phantoms
from fairsim.scenarios.schema import (
    BehaviourSpec,
    ClaimSpec,
    MechanismSpec,
    SweepSpec,
    _check_claims_without_analyses,
    _check_pabulib_source,
    _check_shares,
    _check_unique,
    _names_to_dicts,
    _RegisteredScored,
    _Strict,
)

_DOMAIN = "budget_aggregation"


class AggregationInstances(_Strict):
    """How each profile is drawn (:mod:`fairsim.agents.budget_aggregation`).

    ``generator``: ``dirichlet`` (``alpha``), ``single_minded``, ``clustered`` (``parties``,
    ``noise``) with ``n`` voters and ``m`` projects; or ``pabulib`` with ``path`` (relative to the
    scenario file; approval ballots split uniformly [F]) and optionally ``n`` (voters resampled
    with replacement, weighted by multiplicity; default: every non-empty ballot).
    """

    generator: Literal["dirichlet", "single_minded", "clustered", "pabulib"]
    n: int | None = Field(default=None, ge=1, le=10_000)
    m: int = Field(default=4, ge=1, le=100)
    alpha: float = Field(default=1.0, gt=0.0)
    parties: int = Field(default=3, ge=1, le=100)
    noise: float = Field(default=0.2, ge=0.0, le=1.0)
    path: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _source(self) -> AggregationInstances:
        _check_pabulib_source(self.generator, self.path, self.n)
        return self


class AggregationBehaviourSpec(BehaviourSpec):
    """``truthful`` or ``best_response`` (``params: {rounds, random, passes}``) and its share."""

    registry_domain: ClassVar[str] = _DOMAIN


class AggregationMechanismSpec(MechanismSpec):
    """A registered ``budget_aggregation.*`` rule with keyword parameters."""

    registry_domain: ClassVar[str] = _DOMAIN


class DeviationSpec(_Strict):
    """Effort of the ``strategyproofness`` deviation search
    (:func:`fairsim.axioms.budget_aggregation.strategyproofness`)."""

    random: int = Field(default=8, ge=0, le=1000)
    passes: int = Field(default=6, ge=0, le=100)
    max_voters: int = Field(default=8, ge=1, le=10_000)
    tol: float = Field(default=1e-7, ge=0.0, lt=1.0)


DEFAULT_AGGREGATION_AXIOMS = ["proportionality", "pareto", "strategyproofness", "range_respect"]
DEFAULT_AGGREGATION_METRICS = ["mean_distance", "max_distance", "distance_to_mean"]


class BudgetAggregationScenario(_RegisteredScored):
    """Divisible budget aggregation (``kind: budget_aggregation``) [F kind name]."""

    scenario_domain: ClassVar[str] = _DOMAIN
    kind: Literal["budget_aggregation"]
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    seed: int = Field(0, ge=0)
    replications: int = Field(1, ge=1, le=10_000_000)
    instances: AggregationInstances
    behaviours: list[AggregationBehaviourSpec] = Field(
        default_factory=lambda: [AggregationBehaviourSpec(name="truthful")], min_length=1
    )
    mechanisms: list[AggregationMechanismSpec] = Field(min_length=1)
    axioms: list[str] = Field(default_factory=lambda: list(DEFAULT_AGGREGATION_AXIOMS))
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_AGGREGATION_METRICS))
    deviation: DeviationSpec = Field(default_factory=lambda: DeviationSpec())
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

    @model_validator(mode="after")
    def _checks(self) -> BudgetAggregationScenario:
        _check_unique([m.display for m in self.mechanisms], "mechanism labels")
        _check_shares(self.behaviours)
        _check_claims_without_analyses(self.claims)
        return self


__all__ = [
    "DEFAULT_AGGREGATION_AXIOMS",
    "DEFAULT_AGGREGATION_METRICS",
    "AggregationBehaviourSpec",
    "AggregationInstances",
    "AggregationMechanismSpec",
    "BudgetAggregationScenario",
    "DeviationSpec",
]
