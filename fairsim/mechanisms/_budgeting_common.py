"""Shared pieces of the participatory-budgeting rules: :class:`Outcome`, tie orders, validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairsim.errors import InputError

UTILITIES = ("cost", "cardinality")


@dataclass
class Outcome:
    """Result of a deterministic PB rule (spec ``budgeting.md`` §1).

    ``selected``: project ids in selection order; ``details``: at least ``"rule"``, ``"utility"``,
    ``"cost"`` (total cost of ``selected``) and ``"tie_breaks"`` (list of ``(round, tied ids,
    chosen)``), plus the rule's keys of spec §4.
    """

    selected: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.selected)

    def __len__(self) -> int:
        return len(self.selected)

    def __contains__(self, project_id: object) -> bool:
        return project_id in self.selected

    def mask(self, project_ids: list[str]) -> np.ndarray:
        """Boolean mask of the selected projects aligned with ``project_ids``."""
        chosen = set(self.selected)
        return np.array([p in chosen for p in project_ids], dtype=np.bool_)


def check_utility(utility: Any) -> str:
    if utility not in UTILITIES:
        raise InputError(f"utility must be one of {UTILITIES}; got {utility!r}")
    return str(utility)


def tie_rank(e: Any, tie_break: Any) -> np.ndarray:
    """rank[j] = position of project j in the tie order (0 = preferred) (spec §1 ``tie_break``).

    ``None``: plain ``str`` order of ``project_id`` (pabutools' ``lexico_tie_breaking``, so
    ``"10" < "2"``); ``"cost_then_votes"``: lower cost, then more approvals, then id; a callable:
    key on the project index (smaller key first, id order among equal keys).
    """
    m = len(e.project_ids)
    ids = e.project_ids
    if tie_break is None:
        order = sorted(range(m), key=lambda j: ids[j])
    elif tie_break == "cost_then_votes":
        s = e.support()
        order = sorted(range(m), key=lambda j: (e.costs[j], -int(s[j]), ids[j]))
    elif callable(tie_break):
        fn: Callable[[int], Any] = tie_break
        order = sorted(range(m), key=lambda j: (fn(j), ids[j]))
    else:
        raise InputError(
            f"tie_break must be None, 'cost_then_votes' or a callable; got {tie_break!r}"
        )
    rank = np.empty(m, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(m, dtype=np.int64)
    return rank


def check_election(e: Any) -> None:
    from fairsim.io._pabulib_election import Election

    if not isinstance(e, Election):
        raise InputError(f"e must be a fairsim.io.pabulib.Election; got {type(e).__name__}")
