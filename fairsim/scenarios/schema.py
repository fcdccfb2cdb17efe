"""Pydantic v2 schema of scenario files.

A scenario file is a YAML mapping whose ``kind:`` key chooses the domain model (:data:`KINDS`).
Unknown keys are rejected everywhere (``extra="forbid"``). Names of mechanisms, axioms and metrics
are checked against :mod:`fairsim.registry`, so a typo is reported with its file and line by the
loader (:mod:`fairsim.scenarios.loader`).

The YAML reference in the README documents every field defined here.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fairsim import registry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_params(
    kind: str, name: Any, params: dict[str, Any], domain: str = "facility"
) -> dict[str, Any]:
    """Check ``params`` against the keyword parameters the registry documents for ``name``.

    Only entries that document their parameters are checked: unknown keys and missing required
    ones (``{"required": True}`` in the entry's metadata) are errors.
    """
    if not isinstance(name, str):
        return params  # the name itself failed validation and is reported
    try:
        documented = registry.get(name, kind, domain=domain).params
    except ValueError:
        return params
    if not documented:
        return params
    unknown = sorted(set(params) - set(documented))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for {kind} {name!r}; "
            f"parameters: {', '.join(documented)}"
        )
    missing = [
        k
        for k, meta in documented.items()
        if isinstance(meta, dict) and meta.get("required") and k not in params
    ]
    if missing:
        raise ValueError(f"{kind} {name!r} needs parameter(s) {', '.join(map(repr, missing))}")
    return params


def _names_to_dicts(v: Any) -> Any:
    """A list entry given as a bare name becomes ``{"name": name}`` (before validation)."""
    return [{"name": m} if isinstance(m, str) else m for m in v] if isinstance(v, list) else v


def _check_registered(names: list[str], kind: str, domain: str) -> list[str]:
    """``names``, each checked to be a registered ``kind`` of ``domain`` (the registry's error)."""
    for name in names:
        registry.get(name, kind, domain=domain)
    return names


def _check_unique(items: list[str], what: str) -> None:
    """``"<what> must be unique; repeated: [...]"`` when ``items`` repeat."""
    dup = {x for x in items if items.count(x) > 1}
    if dup:
        raise ValueError(f"{what} must be unique; repeated: {sorted(dup)}")


def _check_shares(behaviours: list[Any]) -> None:
    """The behaviours' ``share`` fields sum to 1 (up to 1e-9)."""
    total = sum(b.share for b in behaviours)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"behaviour shares must sum to 1; got {total:g}")


def _check_claims_without_analyses(claims: list[Any]) -> None:
    """Claim ids are unique and none is a ``ratio_formula`` claim (kinds without analyses)."""
    _check_unique([c.id for c in claims], "claim ids")
    for c in claims:
        if isinstance(c, RatioFormulaClaim):
            raise ValueError(f"claim {c.id!r}: ratio_formula claims need facility analyses")


def _check_analysis_claims(analyses: list[Any], claims: list[Any]) -> None:
    """Analysis and claim ids are unique together; every ``ratio_formula`` claim names a known
    analysis."""
    _check_unique([a.id for a in analyses] + [c.id for c in claims], "analysis and claim ids")
    known = {a.id for a in analyses}
    for c in claims:
        if isinstance(c, RatioFormulaClaim) and c.analysis not in known:
            raise ValueError(f"claim {c.id!r} refers to unknown analysis {c.analysis!r}")


def _check_pabulib_source(generator: str, path: str | None, n: int | None) -> None:
    """``path`` goes with (and only with) generator ``pabulib``; other generators need ``n``."""
    if generator == "pabulib":
        if path is None:
            raise ValueError("generator 'pabulib' needs 'path' (a .pb file)")
    else:
        if path is not None:
            raise ValueError(f"'path' goes with generator 'pabulib' only; got {generator}")
        if n is None:
            raise ValueError(f"generator {generator!r} needs 'n' (number of voters)")


class _RegisteredScored(_Strict):
    """A scenario whose ``axioms`` and ``metrics`` are lists of names registered in the
    subclass's ``scenario_domain`` (checked on validation)."""

    scenario_domain: ClassVar[str]

    @field_validator("axioms", check_fields=False)
    @classmethod
    def _axioms(cls, v: list[str]) -> list[str]:
        return _check_registered(v, "axiom", cls.scenario_domain)

    @field_validator("metrics", check_fields=False)
    @classmethod
    def _metrics(cls, v: list[str]) -> list[str]:
        return _check_registered(v, "metric", cls.scenario_domain)


# --------------------------------------------------------------------------------------------
# Location distributions (facility location). Drawn by fairsim.agents.locations.draw_locations.
# --------------------------------------------------------------------------------------------


class _LocBase(_Strict):
    round_to: int | None = Field(
        default=None,
        ge=1,
        description="Round every location to a multiple of 1/round_to (creates co-located agents).",
    )


class UniformLocations(_LocBase):
    distribution: Literal["uniform"] = "uniform"
    low: float = Field(default=0.0, ge=0.0, le=1.0)
    high: float = Field(default=1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _order(self) -> UniformLocations:
        if self.low > self.high:
            raise ValueError(f"low={self.low} must be <= high={self.high}")
        return self


class BetaLocations(_LocBase):
    distribution: Literal["beta"]
    a: float = Field(gt=0.0)
    b: float = Field(gt=0.0)


class ClusteredLocations(_LocBase):
    """Mixture of normals clipped to [0, 1]; ``weights`` default to equal."""

    distribution: Literal["clustered"]
    centers: list[Annotated[float, Field(ge=0.0, le=1.0)]] = Field(min_length=1)
    spread: float = Field(0.05, ge=0.0)
    weights: list[Annotated[float, Field(ge=0.0)]] | None = None

    @model_validator(mode="after")
    def _weights(self) -> ClusteredLocations:
        if self.weights is not None:
            if len(self.weights) != len(self.centers):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but centers has {len(self.centers)}"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights must have a positive sum")
        return self


class BimodalLocations(_LocBase):
    """Two clusters at ``left`` and ``right`` with share ``p_left`` of the agents at ``left``."""

    distribution: Literal["bimodal"]
    left: float = Field(0.2, ge=0.0, le=1.0)
    right: float = Field(0.8, ge=0.0, le=1.0)
    spread: float = Field(0.05, ge=0.0)
    p_left: float = Field(0.5, ge=0.0, le=1.0)


class EndpointLocations(_LocBase):
    """Every agent at 0 or 1; each independently at 1 with probability ``p``."""

    distribution: Literal["endpoints"]
    p: float = Field(0.5, ge=0.0, le=1.0)


class CsvLocations(_LocBase):
    """Profiles read from a CSV file; ``path`` is relative to the scenario file's folder.

    Cells are numbers in [0, 1], comma-separated; blank lines are skipped; a first row in which
    no cell is a number is a header. Three modes [F]:

    * default: every data row is one profile of exactly ``n`` locations; replication ``r`` uses
      row ``r % rows``;
    * ``column: <name>``: the named column (the file needs a header) is one profile of exactly
      ``n`` locations;
    * ``sample: true``: ``n`` values drawn uniformly with replacement from all values of the file
      (or of ``column`` when given).
    """

    distribution: Literal["csv"]
    path: str = Field(min_length=1, description="CSV file, relative to the scenario file.")
    column: str | None = Field(default=None, description="Use only this column (needs a header).")
    sample: bool = Field(
        default=False, description="Draw n values with replacement instead of reading a profile."
    )


LocationSpec = Annotated[
    UniformLocations
    | BetaLocations
    | ClusteredLocations
    | BimodalLocations
    | EndpointLocations
    | CsvLocations,
    Field(discriminator="distribution"),
]


# --------------------------------------------------------------------------------------------
# Agents and behaviours
# --------------------------------------------------------------------------------------------


class BehaviourSpec(_Strict):
    """A behaviour and the share of agents that follow it.

    ``name`` is a registered behaviour (``truthful``, ``best_response``, ``random_misreport``);
    ``params`` go to the behaviour (e.g. ``{scale: 0.2}`` for random misreports).
    """

    #: registry domain the name is looked up in; each scenario kind subclasses with its own
    registry_domain: ClassVar[str] = "facility"

    name: str
    share: float = Field(default=1.0, ge=0.0, le=1.0)
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        registry.get(v, "behaviour", domain=cls.registry_domain)
        return v

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_params("behaviour", info.data.get("name"), v, domain=cls.registry_domain)


class FacilityAgents(_Strict):
    n: int = Field(ge=1, le=100_000)
    locations: LocationSpec = Field(
        default_factory=lambda: UniformLocations(),
        description="Location distribution; a mapping without 'distribution' means uniform.",
    )
    behaviours: list[BehaviourSpec] = Field(
        default_factory=lambda: [BehaviourSpec(name="truthful")], min_length=1
    )

    @field_validator("behaviours", mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [{"name": v}]
        return v

    @field_validator("locations", mode="before")
    @classmethod
    def _default_uniform(cls, v: Any) -> Any:
        if isinstance(v, dict) and "distribution" not in v:
            return {"distribution": "uniform", **v}
        return v

    @model_validator(mode="after")
    def _shares(self) -> FacilityAgents:
        _check_shares(self.behaviours)
        return self


class MechanismSpec(_Strict):
    """A mechanism to compare: a registered name, keyword parameters and a display label.

    ``params`` are checked against the parameters the mechanism documents in the registry
    (``fairsim list`` shows them): unknown names and missing required ones are errors.
    """

    #: registry domain the name is looked up in; each scenario kind subclasses with its own
    registry_domain: ClassVar[str] = "facility"

    name: str
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    label: str | None = None

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        registry.get(v, "mechanism", domain=cls.registry_domain)
        return v

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return _check_params("mechanism", info.data.get("name"), v, domain=cls.registry_domain)

    @property
    def display(self) -> str:
        if self.label:
            return self.label
        if not self.params:
            return self.name
        args = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.name}({args})"


class DynamicsSpec(_Strict):
    """Report dynamics: iterate reports until no report moves more than ``tol`` or ``max_rounds``."""

    max_rounds: int = Field(default=50, ge=1, le=100_000)
    tol: float = Field(default=1e-12, ge=0.0)
    record_rounds: bool = True


# --------------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------------


class RandomParam(_Strict):
    """One randomly sampled parameter: exactly one of ``uniform``, ``randint``, ``choice``."""

    uniform: tuple[float, float] | None = None
    randint: tuple[int, int] | None = None  # inclusive bounds
    choice: list[Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> RandomParam:
        given = [k for k in ("uniform", "randint", "choice") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of uniform, randint, choice")
        for name in ("uniform", "randint"):
            bounds = getattr(self, name)
            if bounds is not None and not bounds[0] <= bounds[1]:
                raise ValueError(f"{name} bounds must satisfy low <= high; got {list(bounds)}")
        if self.uniform is not None and not all(math.isfinite(b) for b in self.uniform):
            raise ValueError(f"uniform bounds must be finite; got {list(self.uniform)}")
        if self.choice is not None and len(self.choice) == 0:
            raise ValueError("choice needs at least one value")
        return self


class RandomSweep(_Strict):
    """``samples`` random design points; ``params`` maps a dotted path to how it is drawn."""

    samples: int = Field(ge=1, le=1_000_000)
    params: dict[str, RandomParam] = Field(min_length=1)


class SweepSpec(_Strict):
    """Design points = grid (cartesian product) x zip (parallel lists) x random samples.

    Keys are dotted paths into the scenario (``agents.n``, ``agents.locations``,
    ``agents.locations.a``, ``mechanisms``, ``mechanisms[0].params.c``, ``dynamics.max_rounds``,
    ``replications``); a swept value replaces the whole value at its path. The grid's first key
    varies slowest; random samples are drawn once from the scenario seed and crossed with every
    grid and zip combination (see :mod:`fairsim.scenarios.sweeps`).
    """

    grid: dict[str, list[Any]] = Field(default_factory=dict)
    zip: dict[str, list[Any]] = Field(default_factory=dict)
    random: RandomSweep | None = None

    @field_validator("zip")
    @classmethod
    def _zip_lengths(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        lengths = {k: len(vals) for k, vals in v.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"zip lists must have equal lengths; got {lengths}")
        if any(n == 0 for n in lengths.values()):
            raise ValueError("zip lists must not be empty")
        return v

    @field_validator("grid")
    @classmethod
    def _grid_nonempty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for k, vals in v.items():
            if len(vals) == 0:
                raise ValueError(f"grid list for {k!r} is empty")
        return v


# --------------------------------------------------------------------------------------------
# Analyses and claims (paper reproductions)
# --------------------------------------------------------------------------------------------


class ApproximationAnalysis(_Strict):
    """Worst-case ratio search (fairsim.axioms.facility.approximation_ratio) for each n."""

    id: str
    type: Literal["approximation_ratio"]
    mechanisms: list[MechanismSpec] = Field(min_length=1)
    n: list[Annotated[int, Field(ge=1, le=64)]] = Field(min_length=1)
    objective: Literal["sw", "tc", "mc"] = "sw"
    method: Literal["exhaustive", "random"] = "exhaustive"
    grid: int | None = Field(default=None, ge=1)
    samples: int | None = Field(default=None, ge=1)
    expected: str | None = Field(
        default=None, description="Registered formula (kind 'formula') giving the expected ratio."
    )

    @field_validator("mechanisms", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return _names_to_dicts(v)

    @field_validator("expected")
    @classmethod
    def _formula(cls, v: str | None) -> str | None:
        if v is not None:
            registry.get(v, "formula", domain="facility")
        return v


AnalysisSpec = Annotated[ApproximationAnalysis, Field(discriminator="type")]


class AxiomMatrixClaim(_Strict):
    """Per mechanism and axiom: ``always`` (holds on every run) or ``violated`` (some run fails,
    with a witness)."""

    id: str
    text: str
    type: Literal["axiom_matrix"]
    expect: dict[str, dict[str, Literal["always", "violated"]]]


class RatioFormulaClaim(_Strict):
    """The ratios of analysis ``analysis`` compared with its ``expected`` value: equal within
    ``tol`` (``bound: equal``, the default), or a one-sided guarantee — ``at_most`` (ratio <=
    expected + tol, e.g. a worst cost ratio under its bound) or ``at_least`` (ratio >=
    expected - tol)."""

    id: str
    text: str
    type: Literal["ratio_formula"]
    analysis: str
    tol: float = Field(1e-9, ge=0.0)
    bound: Literal["equal", "at_most", "at_least"] = "equal"


class MetricBoundClaim(_Strict):
    """For runs of ``mechanism``: ``metric`` lies in [min, max] on every run (and the dynamics
    converged if ``require_converged``)."""

    id: str
    text: str
    type: Literal["metric_bound"]
    mechanism: str
    metric: str
    min: float | None = None
    max: float | None = None
    require_converged: bool = False


ClaimSpec = Annotated[
    AxiomMatrixClaim | RatioFormulaClaim | MetricBoundClaim, Field(discriminator="type")
]


# --------------------------------------------------------------------------------------------
# Scenario kinds
# --------------------------------------------------------------------------------------------

DEFAULT_FACILITY_AXIOMS = [
    "ifs",
    "ufs",
    "proportionality",
    "pf",
    "unanimity",
    "pareto",
    "strong_proportionality",
    "strategyproofness",
]
DEFAULT_FACILITY_METRICS = [
    "social_welfare",
    "total_cost",
    "max_cost",
    "sw_ratio",
    "tc_ratio",
    "mc_ratio",
]


class FacilityScenario(_RegisteredScored):
    """One-dimensional facility location on [0, 1] (``kind: facility_location``)."""

    scenario_domain: ClassVar[str] = "facility"
    kind: Literal["facility_location"]
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    seed: int = Field(0, ge=0)
    replications: int = Field(1, ge=1, le=10_000_000)
    agents: FacilityAgents
    mechanisms: list[MechanismSpec] = Field(min_length=1)
    axioms: list[str] = Field(default_factory=lambda: list(DEFAULT_FACILITY_AXIOMS))
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_FACILITY_METRICS))
    dynamics: DynamicsSpec = Field(default_factory=lambda: DynamicsSpec())
    sweep: SweepSpec | None = None
    analyses: list[AnalysisSpec] = Field(default_factory=list)
    claims: list[ClaimSpec] = Field(default_factory=list)

    @field_validator("mechanisms", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return _names_to_dicts(v)

    @model_validator(mode="after")
    def _labels_unique(self) -> FacilityScenario:
        _check_unique([m.display for m in self.mechanisms], "mechanism labels")
        _check_analysis_claims(self.analyses, self.claims)
        return self


# --------------------------------------------------------------------------------------------
# Participatory budgeting (kind: participatory_budgeting; runner: fairsim.sim.budgeting)
# --------------------------------------------------------------------------------------------


class CostSpec(_Strict):
    """Project costs uniform on [low, high] (integers when both bounds are integers) [F]."""

    low: float = Field(default=1.0, gt=0.0)
    high: float = Field(default=10.0, gt=0.0)

    @model_validator(mode="after")
    def _order(self) -> CostSpec:
        if self.low > self.high:
            raise ValueError(f"low={self.low} must be <= high={self.high}")
        return self


class PBInstances(_Strict):
    """How each instance is made (:mod:`fairsim.agents.budgeting`).

    ``generator``: ``impartial_culture`` (``p``), ``euclidean`` (``dim`` 1 or 2, ``radius``),
    ``resampling`` (``p``, ``phi``) with ``n`` voters, ``m`` projects, ``costs`` and
    ``budget_fraction``; or ``pabulib`` with ``path`` (relative to the scenario file) and
    optionally ``n`` (resample n voters with replacement; default: the file's voters as is).
    """

    generator: Literal["impartial_culture", "euclidean", "resampling", "pabulib"]
    n: int | None = Field(default=None, ge=1, le=100_000)
    m: int = Field(default=8, ge=1, le=200)
    p: float = Field(default=0.3, ge=0.0, le=1.0)
    phi: float = Field(default=0.5, ge=0.0, le=1.0)
    radius: float = Field(default=0.3, ge=0.0)
    dim: Literal[1, 2] = 1
    costs: CostSpec = Field(default_factory=lambda: CostSpec())
    budget_fraction: float = Field(default=0.5, gt=0.0, le=1.0)
    path: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _source(self) -> PBInstances:
        _check_pabulib_source(self.generator, self.path, self.n)
        return self


class PBBehaviourSpec(BehaviourSpec):
    """A voter behaviour (``truthful`` or ``truncate`` with ``params: {k}``) and its share."""

    registry_domain: ClassVar[str] = "budgeting"


class PBMechanismSpec(MechanismSpec):
    """A registered ``budgeting.*`` rule with parameters (``utility``, ``completion``, ...)."""

    registry_domain: ClassVar[str] = "budgeting"


PBExPost = Literal["jr", "pjr", "ejr", "ejr_up_to_one", "fjr", "exhaustive", "feasible"]
PBExAnte = Literal["ifs", "strong_ifs", "ufs", "strong_ufs", "gfs"]


class CompatibilitySearchAnalysis(_Strict):
    """Random search for instances on which no lottery has the combination (``type:
    compatibility_search``; :func:`fairsim.axioms.budgeting.find_incompatibility`, spec
    ``budgeting.md`` §7). One ``analyses.parquet`` row per ``n``: ``mechanism`` = the
    combination, ``objective`` = the generator, ``ratio`` = share of trials found incompatible,
    ``expected`` = ``expected_share`` (for a ``ratio_formula`` claim), ``profiles_checked`` =
    trials, ``worst_profile`` = the smallest witness encoded as [n, m, B, costs, 0/1 ballots
    row-major] [F]."""

    id: str = Field(min_length=1)
    type: Literal["compatibility_search"]
    ex_post: list[PBExPost] = Field(default_factory=lambda: list[PBExPost](["fjr"]))
    ex_ante: list[PBExAnte] = Field(default_factory=lambda: list[PBExAnte](["strong_ufs"]))
    bb1: Literal["two", "over", "under", "none"] = "two"
    bb1_reference: Literal["marginals", "budget"] = "marginals"
    utility: Literal["cost", "cardinality"] = "cardinality"
    generator: Literal["impartial_culture", "euclidean", "resampling"] = "impartial_culture"
    n: list[Annotated[int, Field(ge=1, le=50)]] = Field(default_factory=lambda: [6], min_length=1)
    m: int = Field(default=5, ge=1, le=10)
    p: float = Field(default=0.4, ge=0.0, le=1.0)
    radius: float = Field(default=0.3, ge=0.0)
    dim: Literal[1, 2] = 1
    costs: CostSpec = Field(default_factory=lambda: CostSpec(low=1.0, high=6.0))
    budget_fraction: float = Field(default=0.4, gt=0.0, le=1.0)
    trials: int = Field(default=100, ge=1, le=100_000)
    expected_share: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("ex_post", "ex_ante", mode="before")
    @classmethod
    def _one(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @property
    def label(self) -> str:
        """The combination as text, e.g. ``ex post fjr + BB1(two) / ex ante strong_ufs``."""
        post = "+".join(self.ex_post) or "-"
        bb = "" if self.bb1 == "none" else f" + BB1({self.bb1}, {self.bb1_reference})"
        return f"ex post {post}{bb} / ex ante {'+'.join(self.ex_ante) or '-'}"


PBAnalysisSpec = Annotated[CompatibilitySearchAnalysis, Field(discriminator="type")]


class ElectionsSpec(_Strict):
    """``years: 1`` is a one-shot election; ``years > 1`` repeats it yearly (a
    :class:`fairsim.sim.budgeting.PBElectionModel`), recording each year in ``rounds.parquet``
    [F]. Each year draws a fresh instance; ``carry_over``: the probability that a project left
    unfunded is resubmitted the next year (it replaces a fresh project, keeping its cost and its
    approvals); ``patience``: a ballot class that got nothing for that many consecutive years
    switches to approving only its ``patience_k`` favourites (``truncate``) [F]."""

    years: int = Field(default=1, ge=1, le=1000)
    carry_over: float = Field(default=0.0, ge=0.0, le=1.0)
    patience: int | None = Field(default=None, ge=1, le=1000)
    patience_k: int = Field(default=1, ge=0, le=1000)


DEFAULT_PB_AXIOMS = ["jr", "pjr", "ejr", "fjr", "ejr_up_to_one"]
DEFAULT_PB_METRICS = [
    "welfare_cost",
    "welfare_cardinality",
    "spend_share",
    "num_projects",
    "coverage",
    "gini",
]


class BudgetingScenario(_RegisteredScored):
    """Participatory budgeting with approval ballots (``kind: participatory_budgeting``).

    ``utility`` (``cost`` or ``cardinality``) is the voters' utility used by the ex-post axioms
    and passed to every rule that takes a ``utility`` parameter and does not set one [F].
    """

    scenario_domain: ClassVar[str] = "budgeting"
    kind: Literal["participatory_budgeting"]
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    seed: int = Field(0, ge=0)
    replications: int = Field(1, ge=1, le=10_000_000)
    instances: PBInstances
    behaviours: list[PBBehaviourSpec] = Field(
        default_factory=lambda: [PBBehaviourSpec(name="truthful")], min_length=1
    )
    mechanisms: list[PBMechanismSpec] = Field(min_length=1)
    utility: Literal["cost", "cardinality"] = "cost"
    axioms: list[str] = Field(default_factory=lambda: list(DEFAULT_PB_AXIOMS))
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_PB_METRICS))
    elections: ElectionsSpec = Field(default_factory=lambda: ElectionsSpec())
    sweep: SweepSpec | None = None
    claims: list[ClaimSpec] = Field(default_factory=list)
    analyses: list[PBAnalysisSpec] = Field(default_factory=list)

    @field_validator("mechanisms", "behaviours", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return _names_to_dicts(v)

    @model_validator(mode="after")
    def _checks(self) -> BudgetingScenario:
        _check_unique([m.display for m in self.mechanisms], "mechanism labels")
        _check_shares(self.behaviours)
        _check_unique(
            [a.id for a in self.analyses] + [c.id for c in self.claims], "analysis and claim ids"
        )
        known = {a.id: a for a in self.analyses}
        for c in self.claims:
            if isinstance(c, RatioFormulaClaim):
                an = known.get(c.analysis)
                if an is None:
                    raise ValueError(f"claim {c.id!r} refers to unknown analysis {c.analysis!r}")
                if an.expected_share is None:
                    raise ValueError(
                        f"claim {c.id!r}: analysis {c.analysis!r} needs 'expected_share'"
                    )
        return self


# kind -> model. Later domains add their scenario models here.
from fairsim.scenarios.schema_budget_aggregation import (  # noqa: E402
    BudgetAggregationScenario,
)
from fairsim.scenarios.schema_data_sharing import DataSharingScenario  # noqa: E402
from fairsim.scenarios.schema_division import DivisionScenario  # noqa: E402
from fairsim.scenarios.schema_federated import FederatedScenario  # noqa: E402

KINDS: dict[str, type[BaseModel]] = {
    "facility_location": FacilityScenario,
    "participatory_budgeting": BudgetingScenario,
    "fair_division": DivisionScenario,
    "data_sharing": DataSharingScenario,
    "federated": FederatedScenario,
    "budget_aggregation": BudgetAggregationScenario,
}

Scenario: TypeAlias = (
    FacilityScenario
    | BudgetingScenario
    | DivisionScenario
    | DataSharingScenario
    | FederatedScenario
    | BudgetAggregationScenario
)

__all__ = [
    "KINDS",
    "AxiomMatrixClaim",
    "BehaviourSpec",
    "BudgetingScenario",
    "CompatibilitySearchAnalysis",
    "DynamicsSpec",
    "FacilityAgents",
    "FacilityScenario",
    "MechanismSpec",
    "MetricBoundClaim",
    "RatioFormulaClaim",
    "Scenario",
    "SweepSpec",
]
