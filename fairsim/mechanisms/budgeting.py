"""Participatory budgeting: deterministic rules (spec ``budgeting.md`` §1, §4).

:func:`greedy`, :func:`method_of_equal_shares` (with ``"greedy"`` / ``"add1"`` completions),
:func:`sequential_phragmen` and :func:`max_welfare` take a :class:`fairsim.io.pabulib.Election`
and return an :class:`Outcome`. Default ties: plain ``str`` order of ``project_id`` (pabutools'
lexicographic tie-breaking, so ``"10" < "2"``). Registered as kind ``"mechanism"`` under
``budgeting.<name>``.
"""

from __future__ import annotations

from fairsim.mechanisms._budgeting_common import UTILITIES, Outcome
from fairsim.mechanisms._budgeting_rules import greedy, method_of_equal_shares, sequential_phragmen
from fairsim.mechanisms._budgeting_welfare import max_welfare
from fairsim.registry import register

_UTIL = {"utility": {"type": "str", "choices": list(UTILITIES), "default": "cost"}}
_TIE = {"tie_break": {"type": "str|callable", "default": None, "doc": "None = str order of ids"}}
_EXACT = {"exact": {"type": "bool", "default": False, "doc": "Fraction arithmetic, exact ties"}}

register(
    "budgeting.greedy",
    "mechanism",
    claims=("exhaustive",),
    violates=("ejr", "ejr_up_to_one", "pjr", "jr", "fjr"),
    params={**_UTIL, **_TIE, **_EXACT, "fund_unsupported": {"type": "bool", "default": True}},
)(greedy)
register(
    "budgeting.method_of_equal_shares",
    "mechanism",
    claims=("ejr_up_to_one", "priceability"),
    violates=("exhaustive", "fjr"),
    params={
        **_UTIL,
        **_TIE,
        **_EXACT,
        "completion": {"type": "str", "choices": [None, "greedy", "add1"], "default": None},
        "add1_step": {"type": "float", "default": 1.0},
        "add1_convention": {"type": "str", "choices": ["pabutools", "pabulib"]},
    },
)(method_of_equal_shares)
register(
    "budgeting.sequential_phragmen",
    "mechanism",
    violates=("ejr",),
    params={**_TIE, **_EXACT, "on_overflow": {"type": "str", "choices": ["stop", "skip"]}},
)(sequential_phragmen)
register(
    "budgeting.max_welfare",
    "mechanism",
    violates=("jr", "pjr", "ejr", "ejr_up_to_one", "fjr"),
    params={**_UTIL, **_TIE},
)(max_welfare)

# The Greedy Cohesive Rule and the BW-GCR-PB fair lottery (registered in their own module).
from fairsim.mechanisms._budgeting_lottery import (  # noqa: E402
    Lottery,
    dependent_rounding,
    fair_lottery,
    greedy_cohesive,
)

__all__ = [
    "Lottery",
    "Outcome",
    "UTILITIES",
    "dependent_rounding",
    "fair_lottery",
    "greedy",
    "greedy_cohesive",
    "max_welfare",
    "method_of_equal_shares",
    "sequential_phragmen",
]
