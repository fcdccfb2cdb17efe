"""Pabulib ``.pb`` files and the :class:`Election` container (spec ``budgeting.md`` §1, §3).

:func:`read` and :func:`write` are lossless up to :meth:`Election.compress` (multiplicities are
written as repeated rows). The format is described by Stolicki, Szufa, Talmon, *Pabulib: A
Participatory Budgeting Library*, arXiv 2012.06539.
"""

from __future__ import annotations

from fairsim.io._pabulib_election import VOTE_TYPES, Election
from fairsim.io._pabulib_read import PabulibWarning, read
from fairsim.io._pabulib_write import write

__all__ = ["VOTE_TYPES", "Election", "PabulibWarning", "read", "write"]
