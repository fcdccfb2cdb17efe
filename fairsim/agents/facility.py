"""Facility-location agents and their reporting behaviours.

An agent has a private ``true_location`` in [0, 1] (spec ``shared/spec/facility.md`` §2.1: cost
``|y - x_i|``), a current ``report`` and a ``behaviour``. A behaviour is a small object with

* ``initial(agent, model) -> float``: the report of round 0, and
* ``choose(agent, model) -> float``: the report after the agent's turn in a Gauss–Seidel sweep,
* ``strategic: bool``: whether the model calls ``choose`` in the sweeps at all.

Behaviours are registered as kind ``"behaviour"`` under ``facility.<name>``; the registered callable
is a factory ``factory(**params) -> behaviour``:

* ``facility.truthful``: always report the true location.
* ``facility.best_response``: minimise the agent's own cost given the others' *current* reports
  (spec §7 dynamics), through :func:`fairsim.axioms.facility.best_response`.
* ``facility.random_misreport``: a report drawn once, in round 0, from the agent's own RNG and kept.

The model (:class:`fairsim.sim.facility.FacilityModel`) must expose ``reports`` (float array, the
current reports of all agents, indexed by ``agent.index``), ``mechanism_name`` (dotted registry
name), ``mechanism_params`` (dict) and ``mechanism_rng()`` (a fresh generator with the run's draw).

:class:`FacilityAgent` subclasses :class:`mesa.Agent`; Mesa is imported only when the class is first
used (module ``__getattr__``), so resolving a behaviour name through the registry stays cheap.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from fairsim.errors import InputError
from fairsim.registry import register

if TYPE_CHECKING:  # pragma: no cover
    import mesa


class Behaviour(Protocol):
    """What the model needs from a behaviour (see the module docstring)."""

    name: str
    strategic: bool

    def initial(self, agent: Any, model: Any) -> float: ...

    def choose(self, agent: Any, model: Any) -> float: ...


def _no_params(name: str, params: dict[str, Any]) -> None:
    if params:
        raise InputError(f"behaviour {name!r} takes no parameters; got {', '.join(sorted(params))}")


@register(
    "facility.truthful",
    "behaviour",
    description="Report the true location in every round.",
    strategic=False,
)
class Truthful:
    """Truthful reporting: ``report = true_location`` in every round."""

    name = "truthful"
    strategic = False

    def __init__(self, **params: Any) -> None:
        _no_params(self.name, params)

    def initial(self, agent: Any, model: Any) -> float:
        return float(agent.true_location)

    def choose(self, agent: Any, model: Any) -> float:
        return float(agent.true_location)

    def __repr__(self) -> str:
        return "Truthful()"


@register(
    "facility.best_response",
    "behaviour",
    description="Best response to the others' current reports (Gauss-Seidel dynamics, spec §7).",
    strategic=True,
    params={"tol": "cost improvement below which the current report is kept (default 1e-12)"},
)
class BestResponse:
    """Best response to the other agents' current reports (spec §7, "Dynamics").

    Round 0 is truthful. In its turn the agent calls
    :func:`fairsim.axioms.facility.best_response` (exact bisection for monotone deterministic
    mechanisms, candidate search otherwise; expected cost for randomized mechanisms) and moves to the
    returned report only if that lowers its cost by more than ``tol`` (default ``1e-12``); otherwise
    it keeps its current report. Keeping the current report among equally good ones is fairsim's
    choice [F]: it stops dynamics from wandering across the flat pieces of phantom mechanisms.
    """

    name = "best_response"
    strategic = True

    def __init__(self, *, tol: float = 1e-12, **params: Any) -> None:
        _no_params(self.name, params)
        try:
            tol_f = float(tol)
        except (TypeError, ValueError):
            raise InputError(f"best_response tol must be a number >= 0; got {tol!r}") from None
        if not math.isfinite(tol_f) or tol_f < 0:
            raise InputError(f"best_response tol={tol!r} outside allowed range [0, inf)")
        self.tol = tol_f

    def initial(self, agent: Any, model: Any) -> float:
        return float(agent.true_location)

    def choose(self, agent: Any, model: Any) -> float:
        from fairsim.axioms.facility import best_response

        reports = np.array(model.reports, dtype=np.float64)
        i = int(agent.index)
        x_i = float(agent.true_location)
        current = float(reports[i])
        report, cost = best_response(
            model.mechanism_name,
            reports,
            i,
            x_i,
            params=dict(model.mechanism_params),
            rng=agent.agent_rng,
        )
        current_cost = model.agent_cost(i, current, x_i)
        if float(cost) < current_cost - self.tol:
            return float(min(1.0, max(0.0, float(report))))
        return current

    def __repr__(self) -> str:
        return f"BestResponse(tol={self.tol!r})"


@register(
    "facility.random_misreport",
    "behaviour",
    description="A random report drawn once (gaussian around, or uniform regardless of, the truth).",
    strategic=False,
    params={
        "scale": "standard deviation of the gaussian noise (default 0.2)",
        "mode": "'gaussian' (true location + scale * N(0, 1)) or 'uniform' (U[0, 1])",
    },
)
class RandomMisreport:
    """Non-strategic noisy reporting, drawn once in round 0 from the agent's own RNG [F].

    ``mode="gaussian"``: ``clip(true_location + scale * N(0, 1), 0, 1)``;
    ``mode="uniform"``: ``U[0, 1]``, regardless of the true location (``scale`` is ignored).
    The report is then kept in every round.
    """

    name = "random_misreport"
    strategic = False
    MODES = ("gaussian", "uniform")

    def __init__(self, *, scale: float = 0.2, mode: str = "gaussian", **params: Any) -> None:
        _no_params(self.name, params)
        if isinstance(scale, bool):
            raise InputError(f"random_misreport scale must be a number >= 0; got {scale!r}")
        try:
            scale_f = float(scale)
        except (TypeError, ValueError):
            raise InputError(
                f"random_misreport scale must be a number >= 0; got {scale!r}"
            ) from None
        if not math.isfinite(scale_f) or scale_f < 0:
            raise InputError(f"random_misreport scale={scale!r} outside allowed range [0, inf)")
        if mode not in self.MODES:
            raise InputError(f"random_misreport mode must be one of {self.MODES}; got {mode!r}")
        self.scale = scale_f
        self.mode = mode

    def initial(self, agent: Any, model: Any) -> float:
        rng: np.random.Generator = agent.agent_rng
        if self.mode == "uniform":
            value = float(rng.random())
        else:
            value = float(agent.true_location) + self.scale * float(rng.standard_normal())
        return float(min(1.0, max(0.0, value)))

    def choose(self, agent: Any, model: Any) -> float:
        return float(agent.report)

    def __repr__(self) -> str:
        return f"RandomMisreport(scale={self.scale!r}, mode={self.mode!r})"


def make_behaviour(name: str, params: dict[str, Any] | None = None) -> Behaviour:
    """Build a registered facility behaviour from its name and parameters.

    ``name`` is a short (``"truthful"``) or dotted (``"facility.truthful"``) registry name; an
    unknown name or parameter raises :class:`~fairsim.errors.InputError`.
    """
    from fairsim import registry

    entry = registry.get(name, "behaviour", domain="facility")
    return entry.func(**dict(params or {}))  # type: ignore[no-any-return]


_AGENT_CLASS: type | None = None


def _agent_class() -> type:
    """Define :class:`FacilityAgent` on first use (imports Mesa)."""
    global _AGENT_CLASS
    if _AGENT_CLASS is not None:
        return _AGENT_CLASS
    import mesa

    class FacilityAgent(mesa.Agent):
        """A facility-location agent (a :class:`mesa.Agent`).

        Attributes: ``index`` (position in the profile, 0-based), ``true_location`` (private type,
        spec §2.1), ``report`` (current report), ``behaviour`` (see the module docstring) and
        ``agent_rng`` (the agent's own ``numpy.random.Generator``, used by random behaviours).
        """

        def __init__(
            self,
            model: mesa.Model,
            index: int,
            true_location: float,
            behaviour: Behaviour,
            rng: np.random.Generator,
        ) -> None:
            super().__init__(model)
            self.index = int(index)
            self.true_location = float(true_location)
            self.behaviour = behaviour
            self.agent_rng = rng
            self.report = float(true_location)

        @property
        def strategic(self) -> bool:
            return bool(self.behaviour.strategic)

        def initial_report(self) -> float:
            """Round 0: set and return the behaviour's initial report."""
            self.report = float(self.behaviour.initial(self, self.model))
            return self.report

        def step(self) -> None:
            """One turn in a sweep: ask the behaviour for a new report."""
            self.report = float(self.behaviour.choose(self, self.model))

        def __repr__(self) -> str:
            return (
                f"FacilityAgent(index={self.index}, true_location={self.true_location!r}, "
                f"report={self.report!r}, behaviour={self.behaviour!r})"
            )

    FacilityAgent.__module__ = __name__
    FacilityAgent.__qualname__ = "FacilityAgent"
    _AGENT_CLASS = FacilityAgent
    return FacilityAgent


def __getattr__(name: str) -> Any:
    if name == "FacilityAgent":
        return _agent_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Behaviour",
    "BestResponse",
    "FacilityAgent",  # noqa: F822 - defined lazily by __getattr__
    "RandomMisreport",
    "Truthful",
    "make_behaviour",
]
