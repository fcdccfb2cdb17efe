"""Paired differences against a baseline mechanism (issue 7 item 4) [F].

Every mechanism of a comparison sees the same instance in a run (same ``run_id``: same design
point, replication and seed; DESIGN.md, "Seeds"), so mechanisms are compared *paired*: for a
mechanism ``m`` and a baseline ``b`` the per-run difference ``d_r = X_r(m) - X_r(b)`` is formed on
each run ``r`` where both values are finite and neither run raised, and the report gives the mean
of ``d_r`` with the 95% Student-t interval ``mean ± t_{0.975, k-1} s_d / sqrt(k)`` (the paired
t-interval; Student 1908). Axioms use the per-run 0/1 indicators, so ``mean(d_r)`` is the
difference of the satisfaction shares on the jointly evaluated runs and the interval is the same
paired t-interval on the differences (fairsim's choice among paired-proportion intervals [F]).
Statistics are given overall and per value of ``n`` and of each swept ``param.*`` column, with
the grouping taken from the baseline's row of the run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairsim.errors import InputError
from fairsim.reports.data import ResultsData, ok_rows
from fairsim.reports.stats import grouped_mean_ci
from fairsim.sim import schema as S

PAIRED_COLUMNS = [
    "mechanism",
    "baseline",
    "group",
    "group_value",
    "quantity",
    "count",
    "excluded",
    "mean",
    "std",
    "ci_low",
    "ci_high",
]


def resolve_baseline(data: ResultsData, baseline: str | None) -> str | None:
    """The baseline mechanism label: ``baseline`` if given (it must be one of the results'
    mechanisms), else the first mechanism in scenario order (``mechanism_order`` 0); ``None``
    when the results hold no mechanism."""
    mechs = data.mechanisms
    if baseline is None:
        return mechs[0] if mechs else None
    if not isinstance(baseline, str):
        raise InputError(f"baseline must be a mechanism label (a string); got {baseline!r}")
    if baseline not in mechs:
        raise InputError(
            f"baseline={baseline!r} is not a mechanism of these results; "
            f"choose one of: {', '.join(mechs) or '(none)'}"
        )
    return baseline


def paired_differences(
    data: ResultsData, baseline: str, groups: list[str] | None = None
) -> pd.DataFrame:
    """Paired differences ``mechanism - baseline`` of every ``metric.*`` and ``axiom.*`` column.

    Returns a long table (columns :data:`PAIRED_COLUMNS`): one row per (mechanism other than the
    baseline, group, group value, quantity), ``quantity`` being the results column
    (``metric.<name>`` or ``axiom.<name>``). ``groups`` defaults to ``"all"``, ``"n"`` and each
    ``param.*`` column. ``count`` is the number of paired runs with finite values on both sides,
    ``excluded`` the runs of the group where one side is missing, NaN, inf or raised.
    """
    df_all = data.results
    df = df_all[ok_rows(df_all)]
    qcols = [c for c in df.columns if c.startswith((S.METRIC_PREFIX, S.AXIOM_PREFIX))]
    mechs = data.mechanisms
    if baseline not in mechs or not qcols or len(mechs) < 2:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    if groups is None:
        groups = ["all", "n", *[c for c in df_all.columns if c.startswith(S.PARAM_PREFIX)]]
    keys = [g for g in groups if g != "all" and g in df_all.columns]
    # the instance of a run: its keys from the baseline's row (every row of a run shares them)
    base_all = df_all[df_all["mechanism"] == baseline].drop_duplicates("run_id")
    inst = base_all.set_index("run_id")[keys] if keys else base_all.set_index("run_id")[[]]
    vals = df[qcols].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    vals.index = pd.MultiIndex.from_arrays([df["run_id"].astype(str), df["mechanism"].astype(str)])
    vals = vals[~vals.index.duplicated()]
    inst.index = inst.index.astype(str)
    base = vals.xs(baseline, level=1).reindex(inst.index)
    parts = []
    for mech in mechs:
        if mech == baseline:
            continue
        other = vals.xs(mech, level=1) if mech in vals.index.get_level_values(1) else None
        if other is None:
            continue
        other = other.reindex(inst.index)
        with np.errstate(invalid="ignore"):  # inf - inf -> NaN, counted as excluded below
            diff = other.to_numpy() - base.to_numpy()
        frame = pd.DataFrame(diff, columns=qcols, index=inst.index)
        frame = pd.concat([inst, frame], axis=1).reset_index(drop=True)
        frame["mechanism"] = mech
        frame["_all"] = "all"
        for g in groups:
            key = "_all" if g == "all" else g
            if key not in frame.columns:
                continue
            t = grouped_mean_ci(frame, ["mechanism", key], qcols)
            if len(t) == 0:
                continue
            t = t.rename(columns={key: "group_value"})
            t["group"] = g
            parts.append(t)
    if not parts:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    from fairsim.reports.summary import _group_value

    out = pd.concat(parts, ignore_index=True)
    out["group_value"] = [_group_value(v) for v in out["group_value"]]
    out["baseline"] = baseline
    return out[PAIRED_COLUMNS]
