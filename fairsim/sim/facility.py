"""The facility-location Mesa model: one run of one mechanism on one instance.

Definitions follow ``shared/spec/facility.md``: costs and welfare §2.1, outcome axioms §3, the
best-response game and its Gauss–Seidel dynamics §7.

A run ("simulation") goes:

1. **Behaviour assignment** (:func:`assign_behaviours`): a seeded permutation of the agents; the
   first ``round(share * n)`` agents of it follow the first behaviour, the next ones the second,
   ..., and every remaining agent the last behaviour.
2. **Round 0**: every agent makes its initial report (truthful and best-responding agents report
   their true location, random misreporters draw theirs).
3. **Sweeps** (:meth:`FacilityModel.step`, one Mesa step each): the strategic agents, in agent
   order, each choose a new report given the others' current reports (Gauss–Seidel: later agents
   already see the earlier agents' new reports). The dynamics stop when no report moved more than
   ``dynamics.tol`` in a sweep (converged) or after ``dynamics.max_rounds`` sweeps. A run without
   strategic agents has round 0 only.
4. **Scoring** on the TRUE locations: metrics (``f(x, y) -> float``) and outcome axioms
   (``f(x, y) -> Verdict``) of the final outcome; mechanism axioms (strategyproofness,
   ``f(mechanism, x, params=...) -> Verdict``) once, on the true profile.

Randomized mechanisms [F]: every evaluation within one run draws from a fresh generator built from
the run's mechanism seed (common random numbers), so the outcomes of different rounds and the
``truthful_outcome`` differ only through the reports, never through the random draw.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mesa
import numpy as np

from fairsim import registry
from fairsim.agents.facility import Behaviour, _agent_class, make_behaviour
from fairsim.errors import InputError
from fairsim.scenarios.schema import BehaviourSpec, DynamicsSpec, MechanismSpec

# Children of a run's SeedSequence (spawn_key = (design_point, replication) + (child,)).
SEED_INSTANCE = 0
SEED_BEHAVIOUR = 1
SEED_MECHANISM = 2
SEED_MESA = 3


def child_seed(seed_seq: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """The child of ``seed_seq`` with ``spawn_key`` extended by ``key`` (stateless, unlike spawn)."""
    return np.random.SeedSequence(
        seed_seq.entropy, spawn_key=tuple(seed_seq.spawn_key) + tuple(int(k) for k in key)
    )


def round_half_up(value: float) -> int:
    """``round`` with halves rounded up (Python's ``round`` rounds halves to even)."""
    return int(math.floor(value + 0.5))


def assign_behaviours(n: int, shares: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """Index of the behaviour of each of ``n`` agents, assigned by ``shares``.

    With ``perm = rng.permutation(n)``, the first ``round(shares[0] * n)`` agents of ``perm`` get
    behaviour 0, the next ``round(shares[1] * n)`` behaviour 1, ..., and all remaining agents the
    last behaviour (rounding half up; counts are cut so they never exceed ``n``) [F].
    """
    if n < 1:
        raise InputError(f"n must be >= 1; got {n}")
    if len(shares) == 0:
        raise InputError("shares must name at least one behaviour")
    out = np.full(n, len(shares) - 1, dtype=np.int64)
    perm = rng.permutation(n)
    start = 0
    for b, share in enumerate(shares[:-1]):
        count = min(round_half_up(float(share) * n), n - start)
        out[perm[start : start + count]] = b
        start += count
    return out


def behaviour_label(behaviours: Sequence[BehaviourSpec]) -> str:
    """The ``behaviour`` column: the name alone for one behaviour, else ``name:share`` joined by
    ``+`` (``best_response:0.5+truthful:0.5``)."""
    if len(behaviours) == 1:
        return behaviours[0].name
    return "+".join(f"{b.name}:{b.share:g}" for b in behaviours)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, Fractions, tuples and sets to JSON-serialisable values."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating, Fraction)):
        f = float(obj)
        return f if math.isfinite(f) else str(f)
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def witness_json(witness: Any) -> str | None:
    """A verdict's witness as JSON text (``None`` when the axiom holds)."""
    if witness is None:
        return None
    return json.dumps(to_jsonable(witness), sort_keys=True)


@dataclass
class AxiomResult:
    """One axiom verdict flattened for the results table."""

    holds: bool
    slack: float
    witness: str | None


@dataclass
class RunRecord:
    """Everything one run produces; the runner turns it into rows of the results store."""

    locations: list[float]
    reports: list[float]
    outcome: float
    truthful_outcome: float
    rounds: int
    converged: bool
    metrics: dict[str, float] = field(default_factory=dict)
    axioms: dict[str, AxiomResult] = field(default_factory=dict)
    round_rows: list[dict[str, Any]] = field(default_factory=list)


class FacilityModel(mesa.Model):
    """One run of one mechanism on one instance of facility location (see the module docstring).

    Parameters
    ----------
    locations:
        The agents' true locations, shape ``(n,)`` in [0, 1].
    mechanism:
        The mechanism to run (registry name, params).
    behaviours:
        Behaviours with shares (summing to 1).
    dynamics:
        Stopping rule of the dynamics (``max_rounds`` sweeps, ``tol``) and whether rounds are kept.
    axioms, metrics:
        Registered facility axiom and metric names scored at the end on the true locations.
    seed_seq:
        The run's ``SeedSequence`` (``spawn_key = (design_point, replication)``). Behaviour
        assignment and the agents' RNGs use child ``(1,)`` (the same for every mechanism: paired),
        the mechanism's draws child ``(2, mechanism_order)``.
    mechanism_order:
        Position of the mechanism in the scenario's list (keys its RNG).
    """

    def __init__(
        self,
        locations: Any,
        mechanism: MechanismSpec,
        behaviours: Sequence[BehaviourSpec] = (),
        dynamics: DynamicsSpec | None = None,
        axioms: Sequence[str] = (),
        metrics: Sequence[str] = (),
        seed_seq: np.random.SeedSequence | int = 0,
        *,
        mechanism_order: int = 0,
    ) -> None:
        if not isinstance(seed_seq, np.random.SeedSequence):
            seed_seq = np.random.SeedSequence(seed_seq)
        super().__init__(rng=int(child_seed(seed_seq, SEED_MESA).generate_state(1)[0]))
        x = np.asarray(locations, dtype=np.float64).reshape(-1)
        if x.size == 0 or not np.all(np.isfinite(x)) or (x < 0).any() or (x > 1).any():
            raise InputError(f"locations must be a non-empty array in [0, 1]; got {x!r}")
        self.true_locations = x
        self.n = int(x.size)
        self.dynamics = dynamics if dynamics is not None else DynamicsSpec.model_validate({})
        if not behaviours:
            behaviours = [BehaviourSpec.model_validate({"name": "truthful"})]
        self.behaviour_specs = list(behaviours)

        entry = registry.get(mechanism.name, "mechanism", domain="facility")
        self.mechanism_entry = entry
        self.mechanism_name = entry.name
        self.mechanism_params = dict(mechanism.params)
        self.randomized = bool(entry.randomized)
        self._mech_seq = child_seed(seed_seq, SEED_MECHANISM, mechanism_order)

        self.axiom_entries = [registry.get(a, "axiom", domain="facility") for a in axioms]
        self.metric_entries = [registry.get(m, "metric", domain="facility") for m in metrics]
        self.outcome_axioms = [
            e for e in self.axiom_entries if e.extra.get("signature", "outcome") == "outcome"
        ]

        # Behaviours and agents (paired across mechanisms: seeded by the behaviour child only).
        beh_seq = child_seed(seed_seq, SEED_BEHAVIOUR)
        objs: list[Behaviour] = [make_behaviour(b.name, b.params) for b in self.behaviour_specs]
        idx = assign_behaviours(
            self.n,
            [b.share for b in self.behaviour_specs],
            np.random.default_rng(child_seed(beh_seq, 0)),
        )
        self.behaviour_index = idx
        agent_cls = _agent_class()
        self.agent_list = [
            agent_cls(
                self,
                i,
                float(x[i]),
                objs[int(idx[i])],
                np.random.default_rng(child_seed(beh_seq, 1, i)),
            )
            for i in range(self.n)
        ]
        self.strategic_agents = [a for a in self.agent_list if a.strategic]

        # Round 0.
        self.reports = np.array([a.initial_report() for a in self.agent_list], dtype=np.float64)
        self.sweeps = 0
        self.converged = not self.strategic_agents
        self.running = bool(self.strategic_agents)
        self.round_rows: list[dict[str, Any]] = []
        self.outcome = self.evaluate(self.reports)
        self._record(0, None)

    # ---------------------------------------------------------------- mechanism evaluation
    def mechanism_rng(self) -> np.random.Generator:
        """A fresh generator with the run's mechanism draw (common random numbers)."""
        return np.random.default_rng(self._mech_seq)

    def evaluate(self, reports: Any) -> float:
        """The mechanism's outcome on ``reports`` (one sample for randomized mechanisms)."""
        X = np.asarray(reports, dtype=np.float64).reshape(1, -1)
        if self.randomized:
            y = self.mechanism_entry.func(X, self.mechanism_rng(), **self.mechanism_params)
        else:
            y = self.mechanism_entry.func(X, **self.mechanism_params)
        return float(np.asarray(y, dtype=np.float64).reshape(-1)[0])

    def agent_cost(self, i: int, report: float, true_location: float) -> float:
        """Cost ``|g(report, r_-i) - x_i|`` of agent ``i`` against the current reports (expected
        over the exact lottery for randomized mechanisms, spec §2.1)."""
        r = self.reports.copy()
        r[i] = report
        if not self.randomized:
            return abs(self.evaluate(r) - true_location)
        from fairsim.mechanisms.facility import lottery

        lot = lottery(self.mechanism_entry.short_name, r, **self.mechanism_params)
        return float(sum(float(p) * abs(float(y) - true_location) for y, p in lot))

    # ---------------------------------------------------------------- dynamics
    def step(self) -> None:
        """One Gauss–Seidel sweep over the strategic agents, in agent order."""
        before = self.reports.copy()
        for agent in self.strategic_agents:
            agent.step()
            self.reports[agent.index] = agent.report
        self.sweeps += 1
        change = float(np.max(np.abs(self.reports - before))) if self.n else 0.0
        self.outcome = self.evaluate(self.reports)
        self._record(self.sweeps, change)
        if change <= self.dynamics.tol:
            self.converged = True
            self.running = False
        elif self.sweeps >= self.dynamics.max_rounds:
            self.running = False

    def _record(self, round_: int, change: float | None) -> None:
        if not self.dynamics.record_rounds:
            return
        x, y = self.true_locations, self.outcome
        row: dict[str, Any] = {
            "round": round_,
            "outcome": y,
            "reports": self.reports.tolist(),
            "max_change": change,
            "metric.social_welfare": float(self.n - np.abs(y - x).sum()),
        }
        for e in self.outcome_axioms:
            row[f"axiom.{e.short_name}"] = bool(e.func(x, y).holds)
        self.round_rows.append(row)

    # ---------------------------------------------------------------- final scoring
    def score(self) -> tuple[dict[str, float], dict[str, AxiomResult]]:
        """Metrics and axiom verdicts of the final outcome on the true locations."""
        x, y = self.true_locations, self.outcome
        metrics = {e.short_name: float(e.func(x, y)) for e in self.metric_entries}
        axioms: dict[str, AxiomResult] = {}
        for e in self.axiom_entries:
            if e.extra.get("signature", "outcome") == "mechanism":
                v = e.func(self.mechanism_name, x, params=dict(self.mechanism_params))
            else:
                v = e.func(x, y)
            axioms[e.short_name] = AxiomResult(
                bool(v.holds), float(v.slack), None if v.holds else witness_json(v.witness)
            )
        return metrics, axioms

    def result(self) -> RunRecord:
        """Run the dynamics to the end (if not done) and score the final outcome."""
        while self.running:
            self.step()
        metrics, axioms = self.score()
        return RunRecord(
            locations=self.true_locations.tolist(),
            reports=self.reports.tolist(),
            outcome=self.outcome,
            truthful_outcome=self.evaluate(self.true_locations),
            rounds=1 + self.sweeps,
            converged=self.converged,
            metrics=metrics,
            axioms=axioms,
            round_rows=self.round_rows,
        )


def simulate_facility(
    locations: Any,
    mechanism_spec: MechanismSpec,
    behaviours: Sequence[BehaviourSpec],
    dynamics: DynamicsSpec,
    axioms: Sequence[str],
    metrics: Sequence[str],
    seed_seq: np.random.SeedSequence | int,
    *,
    mechanism_order: int = 0,
) -> RunRecord:
    """Build a :class:`FacilityModel`, run it to the end and return its :class:`RunRecord`.

    This is what the batch runner calls for each (design point, replication, mechanism).
    """
    model = FacilityModel(
        locations,
        mechanism_spec,
        behaviours,
        dynamics,
        axioms,
        metrics,
        seed_seq,
        mechanism_order=mechanism_order,
    )
    return model.result()


__all__ = [
    "AxiomResult",
    "FacilityModel",
    "RunRecord",
    "assign_behaviours",
    "behaviour_label",
    "child_seed",
    "simulate_facility",
]
