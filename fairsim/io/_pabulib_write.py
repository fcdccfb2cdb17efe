"""Pabulib ``.pb`` writer (spec ``budgeting.md`` §1, §3 "Writer")."""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np

from fairsim.io._pabulib_election import Election


def format_number(x: float) -> str:
    """Integral values without a fraction, others in Python's shortest round-trip form."""
    xf = float(x)
    if xf.is_integer() and abs(xf) < 2**63:
        return str(int(xf))
    return repr(xf)


def _listed(e: Election, r: int) -> tuple[list[int], list[float] | None]:
    """Projects written in row r's ``vote`` cell (rank order for ordinal) and their points."""
    if e.ranks is not None:
        rk = e.ranks
        cols = rk.indices[rk.indptr[r] : rk.indptr[r + 1]]
        order = np.argsort(rk.data[rk.indptr[r] : rk.indptr[r + 1]], kind="stable")
        cols = cols[order]
    elif e.scores is not None:
        sc = e.scores
        cols = sc.indices[sc.indptr[r] : sc.indptr[r + 1]]
    else:
        a = e.approvals
        cols = a.indices[a.indptr[r] : a.indptr[r + 1]]
    pts = None
    if e.scores is not None:
        sc = e.scores
        row = dict(
            zip(
                sc.indices[sc.indptr[r] : sc.indptr[r + 1]].tolist(),
                sc.data[sc.indptr[r] : sc.indptr[r + 1]].tolist(),
                strict=True,
            )
        )
        pts = [row.get(int(c), 0.0) for c in cols]
    return [int(c) for c in cols], pts


def write(election: Election, path: str | os.PathLike[str]) -> None:
    """Write ``election`` as a ``.pb`` file (spec ``budgeting.md`` §3 "Writer").

    META key order is kept with ``num_projects``, ``num_votes`` (= n) and ``budget`` rewritten
    (``vote_type`` is added when missing); project and vote columns keep their order; costs and
    the budget use ``.`` as decimal separator. A row of multiplicity w is written w times, the
    copies after the first with ids ``{voter_id}__{k}`` (k = 1 .. w - 1) [F]; compare a re-read
    election with the original after :meth:`Election.compress`.
    """
    e = election
    meta: dict[str, Any] = dict(e.meta)
    meta["num_projects"] = str(e.m)
    meta["num_votes"] = str(e.n_voters)
    meta["budget"] = format_number(e.budget)
    meta["vote_type"] = e.vote_type
    pcols = ["project_id", *e.project_meta.keys()]
    if "cost" not in pcols:
        pcols.insert(1, "cost")
    vcols = list(e.voter_columns or ["voter_id", "vote"])
    if e.scores is not None and "points" not in vcols:
        vcols.insert(vcols.index("vote") + 1, "points")
    for c in e.voter_meta:
        if c not in vcols:
            vcols.append(c)
    assert e.voter_ids is not None and e.multiplicities is not None
    with open(path, "w", encoding="utf-8", newline="") as fh:
        wr = csv.writer(fh, delimiter=";", quotechar='"', lineterminator="\n")
        fh.write("META\n")
        wr.writerow(["key", "value"])
        for k, v in meta.items():
            wr.writerow([k, v])
        fh.write("PROJECTS\n")
        wr.writerow(pcols)
        for j, pid in enumerate(e.project_ids):
            row = [pid]
            for c in pcols[1:]:
                if c == "cost":
                    row.append(format_number(e.costs[j]))
                else:
                    v = e.project_meta.get(c, [None] * e.m)[j]
                    row.append("" if v is None else v)
            wr.writerow(row)
        fh.write("VOTES\n")
        wr.writerow(vcols)
        ids = e.project_ids
        for r, vid in enumerate(e.voter_ids):
            cols, pts = _listed(e, r)
            cells: list[str] = []
            for c in vcols[1:]:
                if c == "vote":
                    cells.append(",".join(ids[j] for j in cols))
                elif c == "points":
                    cells.append("" if pts is None else ",".join(format_number(p) for p in pts))
                else:
                    v = e.voter_meta.get(c, [None] * len(e.voter_ids))[r]
                    cells.append("" if v is None else v)
            for copy in range(int(e.multiplicities[r])):
                wr.writerow([vid if copy == 0 else f"{vid}__{copy}", *cells])


__all__ = ["format_number", "write"]
