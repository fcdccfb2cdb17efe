"""Fair division of indivisible items: public mechanisms (spec ``shared/spec/division.md`` §1, §5).

:func:`round_robin`, :func:`double_round_robin`, :func:`envy_cycle`, :func:`max_nash_welfare`, :func:`half_mms`, :func:`two_thirds_mms`,
:func:`three_quarters_mms`, :func:`greedy_chores`,
:func:`online_goods_two_agents`, :func:`online_chores`. Each takes a valuation matrix ``V`` of shape
``(n_agents, m)`` (utility form; :func:`greedy_chores` also takes costs) and returns an
:class:`Allocation`. Registered as kind ``"mechanism"`` under ``division.<name>``.
"""

from __future__ import annotations

from typing import Any

from fairsim.mechanisms._division_adversary import adversarial_online_search
from fairsim.mechanisms._division_basic import (
    double_round_robin,
    envy_cycle,
    greedy_chores,
    round_robin,
)
from fairsim.mechanisms._division_common import AlgorithmInvariantError, Allocation
from fairsim.mechanisms._division_cost import cost_utility_matrix, mms_allocation
from fairsim.mechanisms._division_ext import externality_two_agents
from fairsim.mechanisms._division_mms import half_mms, three_quarters_mms, two_thirds_mms
from fairsim.mechanisms._division_mnw import max_nash_welfare
from fairsim.mechanisms._division_online import (
    OnlineChores,
    OnlineGoodsTwoAgents,
    online_chores,
    online_goods_two_agents,
)
from fairsim.registry import register

_TABLE: list[tuple[str, Any, dict[str, Any]]] = [
    ("round_robin", round_robin, {"claims": ("ef1",), "violates": ("ef", "efx")}),
    ("double_round_robin", double_round_robin, {"claims": ("ef1",), "violates": ("ef",)}),
    ("envy_cycle", envy_cycle, {"claims": ("ef1",), "violates": ("ef",)}),
    ("max_nash_welfare", max_nash_welfare, {"claims": ("ef1", "po"), "violates": ("ef",)}),
    ("half_mms", half_mms, {"claims": ("mms_1/2",), "violates": ("mms",), "goods_only": True}),
    ("two_thirds_mms", two_thirds_mms, {"claims": ("mms_2/3",), "violates": ("mms",)}),
    ("three_quarters_mms", three_quarters_mms, {"claims": ("mms_3/4",), "violates": ("mms",)}),
    (
        "online_goods_two_agents",
        online_goods_two_agents,
        {"claims": ("mms_1/2",), "violates": ("mms",), "online": True},
    ),
    ("online_chores", online_chores, {"claims": (), "violates": ("mms",), "online": True}),
    ("externality_two_agents", externality_two_agents, {"claims": ("ef1_ext",), "n_agents": 2}),
    ("mms_allocation", mms_allocation, {"claims": ("mms",), "oracle": True}),
    ("greedy_chores", greedy_chores, {"claims": (), "violates": ("mms",), "chores_only": True}),
]


def _register_all() -> None:
    for name, func, meta in _TABLE:
        register(f"division.{name}", "mechanism", randomized=False, **meta)(func)


_register_all()

__all__ = [
    "adversarial_online_search",
    "AlgorithmInvariantError",
    "OnlineChores",
    "OnlineGoodsTwoAgents",
    "online_chores",
    "online_goods_two_agents",
    "Allocation",
    "double_round_robin",
    "cost_utility_matrix",
    "envy_cycle",
    "externality_two_agents",
    "greedy_chores",
    "half_mms",
    "max_nash_welfare",
    "mms_allocation",
    "round_robin",
    "three_quarters_mms",
    "two_thirds_mms",
]
