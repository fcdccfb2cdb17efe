"""Fairness axioms and welfare metrics, one module per domain.

Every axiom check returns a :class:`Verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """Result of one axiom check.

    Attributes
    ----------
    axiom:
        Registry-style name of the axiom (``"ufs"``, ``"strategyproofness"``, ...).
    holds:
        Whether the outcome satisfies the axiom (within the check's tolerance).
    witness:
        ``None`` when the axiom holds; otherwise a dict naming a concrete counterexample (the
        violated group, the agent, the misreport, ...), so a report can show *why*.
    slack:
        Signed distance of the outcome to the tightest (or the violated) constraint: ``>= -tol``
        when the axiom holds, negative when violated, ``+inf`` when the axiom is vacuous.
    inconclusive:
        True when an exact check stopped before deciding (a solver time limit, or a solver
        answer that failed the exact re-check). ``holds`` is then False but is *not* a
        violation: the witness says what was left open. Read :attr:`status` to tell the three
        cases apart.
    """

    axiom: str
    holds: bool
    witness: dict[str, Any] | None = None
    slack: float = field(default=float("inf"))
    inconclusive: bool = False

    @property
    def status(self) -> str:
        """``"holds"``, ``"fails"`` (a violation, with its witness) or ``"inconclusive"``."""
        if self.inconclusive:
            return "inconclusive"
        return "holds" if self.holds else "fails"

    def __bool__(self) -> bool:
        return bool(self.holds)


__all__ = ["Verdict"]
