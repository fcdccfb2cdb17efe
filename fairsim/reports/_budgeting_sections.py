"""Report section of PB compatibility searches (``analyses:`` entries of ``type:
compatibility_search``; :func:`fairsim.sim.budgeting.run_analyses`) [F].

``pb-compat``: one row per analysis and n — the combination, the generator, trials, the
incompatible instances found (count and share) and the smallest witness instance written out
(budget, costs, ballots with multiplicities) from ``worst_profile`` =
[n, m, B, costs..., 0/1 ballots row-major].
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from fairsim.reports.domains import DomainSection
    from fairsim.reports.summary import Summary


def decode_instance(code: Any) -> str:
    """Text of an instance encoded as [n, m, B, costs..., 0/1 ballots]; '' when absent."""
    if code is None:
        return ""
    x = np.asarray(code, dtype=np.float64).ravel()
    if x.size < 3:
        return ""
    n, m = int(x[0]), int(x[1])
    if x.size != 3 + m + n * m:
        return "(malformed instance)"
    costs = x[3 : 3 + m]
    A = x[3 + m :].reshape(n, m) > 0.5
    counts: dict[tuple[int, ...], int] = {}
    for r in A:
        key = tuple(np.flatnonzero(r).tolist())
        counts[key] = counts.get(key, 0) + 1
    cs = " ".join(f"p{j}={c:g}" for j, c in enumerate(costs))
    bs = " ".join(
        "{" + ",".join(f"p{j}" for j in k) + "}" + f"x{v}" for k, v in sorted(counts.items())
    )
    return f"B={x[2]:g}; costs {cs}; ballots {bs}"


def compat_table(analyses: pd.DataFrame) -> pd.DataFrame:
    """The ``pb-compat`` table (empty without compatibility_search rows)."""
    if len(analyses) == 0 or "type" not in analyses.columns:
        return pd.DataFrame()
    df = analyses[analyses["type"] == "compatibility_search"]
    rows = []
    for _, r in df.iterrows():
        trials = r.get("profiles_checked")
        share = r.get("ratio")
        ok = share is not None and not (isinstance(share, float) and math.isnan(share))
        found = int(round(float(share) * int(trials))) if ok and trials is not None else None
        err = r.get("error")
        rows.append(
            {
                "analysis": r["analysis"],
                "combination": r["mechanism"],
                "generator": r.get("objective"),
                "n": r.get("n"),
                "trials": trials,
                "incompatible": found,
                "share": float(share) if ok else math.nan,
                "decided by": r.get("method"),
                "smallest witness": decode_instance(r.get("worst_profile")) or "none found",
                "error": err if isinstance(err, str) else "",
            }
        )
    out = pd.DataFrame(rows)
    if len(out) and not out["error"].astype(bool).any():
        out = out.drop(columns=["error"])
    return out


def pb_compat(summary: Summary) -> list[DomainSection]:
    from fairsim.reports.build import _table
    from fairsim.reports.domains import DomainSection

    t = compat_table(summary.analyses)
    if len(t) == 0:
        return []
    note = (
        "Random search for instances on which NO lottery has the combination (the compatibility "
        "oracle of spec budgeting.md §7: an LP over lotteries on the project sets that satisfy "
        "the ex-post axioms, or a MILP with BB1 against cost(p), under the ex-ante constraints). "
        "An incompatible instance comes with a Farkas certificate re-checked in exact arithmetic; "
        "none found in N trials is evidence, not proof, of compatibility."
    )
    block = {"type": "table", "table": _table(t, digits=6), "summary": ""}
    return [DomainSection("pb-compat", "Compatibility of fairness properties", note, [block])]


BUILDERS = (pb_compat,)
