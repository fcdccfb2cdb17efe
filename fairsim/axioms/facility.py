"""Facility location on a line: fairness axioms, strategyproofness, welfare metrics, ratios.

Spec ``shared/spec/facility.md`` (§1 API contract, §2 model, §3 axioms, §8 approximation,
§10.4-10.5 tolerances and deviation search). References: Aziz, Lam, Lee & Walsh, *Strategyproof
and Proportionally Fair Facility Location* (arXiv 2111.01566); *Random Rank* (arXiv 2205.14798);
Procaccia & Tennenholtz, *Approximate Mechanism Design without Money* (EC 2009).

Outcome axioms (``f(x, y, *, tol, interval) -> Verdict``, boolean arrays for batches):
:func:`ifs`, :func:`ufs`, :func:`proportionality`, :func:`pf`, :func:`unanimity`,
:func:`pareto`, :func:`strong_proportionality`, with :func:`feasible_interval`.
Mechanism properties: :func:`strategyproofness`, :func:`anonymity`, :func:`best_response`.
Objectives and per-instance ratios: :func:`social_welfare`, :func:`total_cost`,
:func:`max_cost`, :func:`sw_ratio`, :func:`tc_ratio`, :func:`mc_ratio`,
:func:`distance_to_uniform_phantom`. Worst cases: :func:`approximation_ratio` (and the internal
``price_of_fairness``); closed forms of spec §8.2-8.3 are registered as kind ``"formula"``.

Every axiom is registered as kind ``"axiom"`` under ``facility.<name>`` with extra
``signature="outcome"`` (called ``f(x, y)``) or ``signature="mechanism"`` (called
``f(mechanism, x, params=...)``); metrics as kind ``"metric"`` (``f(x, y) -> float``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fairsim.axioms._facility_approx import (
    FORMULAS,
    approximation_ratio,
    default_grid,
    price_of_fairness,
)
from fairsim.axioms._facility_metrics import (
    distance_to_uniform_phantom,
    max_cost,
    mc_ratio,
    social_welfare,
    sw_ratio,
    tc_ratio,
    total_cost,
)
from fairsim.axioms._facility_outcome import (  # noqa: F401  (_pf_interval_oracle: reference)
    _pf_interval_oracle,
    feasible_interval,
    ifs,
    pareto,
    pf,
    proportionality,
    strong_proportionality,
    ufs,
    unanimity,
)
from fairsim.axioms._facility_sp import anonymity, best_response, strategyproofness
from fairsim.registry import register

_OUTCOME_AXIOMS: dict[str, Callable[..., Any]] = {
    "ifs": ifs,
    "ufs": ufs,
    "proportionality": proportionality,
    "pf": pf,
    "unanimity": unanimity,
    "pareto": pareto,
    "strong_proportionality": strong_proportionality,
}
_MECHANISM_AXIOMS: dict[str, Callable[..., Any]] = {
    "strategyproofness": strategyproofness,
    "anonymity": anonymity,
}
_METRICS: dict[str, Callable[..., Any]] = {
    "social_welfare": social_welfare,
    "total_cost": total_cost,
    "max_cost": max_cost,
    "sw_ratio": sw_ratio,
    "tc_ratio": tc_ratio,
    "mc_ratio": mc_ratio,
    "distance_to_uniform_phantom": distance_to_uniform_phantom,
}

_f: Callable[..., Any]
for _name, _f in _OUTCOME_AXIOMS.items():
    register(f"facility.{_name}", "axiom", signature="outcome")(_f)
for _name, _f in _MECHANISM_AXIOMS.items():
    register(f"facility.{_name}", "axiom", signature="mechanism")(_f)
for _name, _f in _METRICS.items():
    register(f"facility.{_name}", "metric")(_f)
for _name, _f in FORMULAS.items():
    register(f"facility.{_name}", "formula")(_f)
del _name, _f

__all__ = [
    "anonymity",
    "approximation_ratio",
    "best_response",
    "default_grid",
    "distance_to_uniform_phantom",
    "feasible_interval",
    "ifs",
    "max_cost",
    "mc_ratio",
    "pareto",
    "pf",
    "price_of_fairness",
    "proportionality",
    "social_welfare",
    "strategyproofness",
    "strong_proportionality",
    "sw_ratio",
    "tc_ratio",
    "total_cost",
    "ufs",
    "unanimity",
]
