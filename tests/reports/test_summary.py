"""Numbers of the summary, checked against independent numpy/scipy computations on the raw
Parquet data and hand counts from the fixture's construction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from report_fixtures import build_results
from scipy import stats

from fairsim.reports.stats import grouped_mean_ci, mean_ci, wilson
from fairsim.reports.summary import SUMMARY_COLUMNS, summarize, write_summary_csv

Z = stats.norm.ppf(0.975)


def _raw(results_dir):
    return pd.read_parquet(results_dir / "results.parquet")


def _t_ci(vals):
    vals = np.asarray(vals, dtype=float)
    k = vals.size
    m = vals.mean()
    h = stats.t.ppf(0.975, k - 1) * vals.std(ddof=1) / math.sqrt(k)
    return m, m - h, m + h


def test_mean_ci_by_hand():
    # values 1 and 3: mean 2, s = sqrt(2), half-width t_{0.975,1} * sqrt(2)/sqrt(2)
    out = mean_ci([np.nan, np.inf, 1.0, 3.0, -np.inf])
    assert out["count"] == 2 and out["excluded"] == 3
    assert out["mean"] == 2.0
    assert out["std"] == pytest.approx(math.sqrt(2))
    assert out["ci_low"] == pytest.approx(2.0 - 12.706204736174696, rel=1e-12)
    assert out["ci_high"] == pytest.approx(2.0 + 12.706204736174696, rel=1e-12)


def test_mean_ci_single_and_empty():
    one = mean_ci([2.5, np.nan])
    assert (one["mean"], one["ci_low"], one["ci_high"], one["count"]) == (2.5, 2.5, 2.5, 1)
    assert one["excluded"] == 1
    none = mean_ci([np.nan])
    assert none["count"] == 0 and math.isnan(none["mean"]) and math.isnan(none["ci_low"])


def test_grouped_matches_scalar():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"g": rng.integers(0, 3, 40), "v": rng.normal(size=40)})
    df.loc[[1, 5], "v"] = np.inf
    out = grouped_mean_ci(df, ["g"], ["v"])
    for _, r in out.iterrows():
        m, lo, hi = _t_ci(df.loc[(df["g"] == r["g"]) & np.isfinite(df["v"]), "v"])
        assert r["mean"] == pytest.approx(m) and r["ci_low"] == pytest.approx(lo)
        assert r["ci_high"] == pytest.approx(hi)


def test_wilson_closed_forms():
    # p = 1: lower end n / (n + z^2); p = 0: upper end z^2 / (n + z^2)
    lo, hi = wilson(8, 8)
    assert lo == pytest.approx(8 / (8 + Z * Z)) and hi == pytest.approx(1.0)
    lo, hi = wilson(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-15) and hi == pytest.approx(Z * Z / (10 + Z * Z))
    # general case against the textbook formula
    k, n = 5, 7
    p = k / n
    c = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    h = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    assert wilson(k, n) == pytest.approx((c - h, c + h))
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_metric_means_and_ci(results_dir):
    raw = _raw(results_dir)
    s = summarize(results_dir)
    t = s.metric_table
    # uniform_phantom social welfare, all 8 runs
    vals = raw.loc[raw["mechanism"] == "uniform_phantom", "metric.social_welfare"]
    m, lo, hi = _t_ci(vals)
    row = t[
        (t.mechanism == "uniform_phantom") & (t.group == "all") & (t.metric == "social_welfare")
    ]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["count"] == 8 and row["excluded"] == 0
    assert row["mean"] == pytest.approx(m) and row["ci_low"] == pytest.approx(lo)
    assert row["ci_high"] == pytest.approx(hi)
    # the run 0-0 has sw_ratio = inf: left out and counted
    ok = raw[(raw["mechanism"] == "uniform_phantom") & (raw["run_id"] != "0-0")]
    row = t[(t.mechanism == "uniform_phantom") & (t.group == "all") & (t.metric == "sw_ratio")]
    assert row["excluded"].item() == 1 and row["count"].item() == 7
    assert row["mean"].item() == pytest.approx(ok["metric.sw_ratio"].mean())
    # the errored median run 1-3 is not counted
    row = t[(t.mechanism == "median") & (t.group == "all") & (t.metric == "social_welfare")]
    assert row["count"].item() == 7


def test_grouped_by_param_and_n(results_dir):
    raw = _raw(results_dir)
    t = summarize(results_dir).metric_table
    sel = raw[(raw["mechanism"] == "median") & (raw["n"] == 5) & raw["error"].isna()]
    m, lo, hi = _t_ci(sel["metric.social_welfare"])
    for group in ("n", "param.agents.n"):
        row = t[
            (t.mechanism == "median")
            & (t.group == group)
            & (t.group_value == "5")
            & (t.metric == "social_welfare")
        ]
        assert row["count"].item() == 3
        assert row["mean"].item() == pytest.approx(m)
        assert row["ci_high"].item() == pytest.approx(hi)


def test_axiom_matrix_and_witness(results_dir):
    raw = _raw(results_dir)
    s = summarize(results_dir)
    a = s.axiom_table.set_index(["mechanism", "axiom"])
    # median: ufs fails on runs 0-1 and 1-2; run 1-3 raised and is left out -> 5/7
    assert (a.loc[("median", "ufs"), "holds"], a.loc[("median", "ufs"), "evaluated"]) == (5, 7)
    assert a.loc[("median", "ufs"), "share"] == pytest.approx(5 / 7)
    assert a.loc[("uniform_phantom", "strategyproofness"), "holds"] == 8
    assert a.loc[("median", "ufs"), "ci_low"] == pytest.approx(wilson(5, 7)[0])
    w = s.witnesses[("median", "ufs")]
    assert w["run_id"] == "0-1"
    first = raw[(raw["mechanism"] == "median") & (raw["run_id"] == "0-1")].iloc[0]
    assert w["locations"] == pytest.approx(list(first["locations"]))
    assert '"run": "0-1"' in w["witness"]
    assert ("uniform_phantom", "ufs") not in s.witnesses


def test_ratio_distribution(results_dir):
    raw = _raw(results_dir)
    s = summarize(results_dir)
    vals = raw.loc[(raw["mechanism"] == "median") & raw["error"].isna(), "metric.sw_ratio"]
    r = s.ratio_table.set_index(["mechanism", "metric"]).loc[("median", "sw_ratio")]
    assert r["max"] == pytest.approx(vals.max())
    assert r["q50"] == pytest.approx(np.median(vals))
    assert r["count"] == 7


def test_dynamics(results_dir):
    s = summarize(results_dir)
    d = s.dynamics.set_index("mechanism")
    # median: last replication (0-3, 1-3) does not converge; 1-3 raised -> 6 of 7
    assert (d.loc["median", "converged"], d.loc["median", "runs"]) == (6, 7)
    assert d.loc["uniform_phantom", "share"] == 1.0
    # fixture: run (dp, rep) has 1 + (dp + rep) % 3 rounds; distance 0.4 / 2^r, 0 on the last
    runs = [1 + (dp + rep) % 3 for dp in range(2) for rep in range(4)]
    assert d.loc["uniform_phantom", "rounds_max"] == max(runs)
    dist = s.distance[s.distance.mechanism == "uniform_phantom"].set_index("round")
    for k in range(max(runs)):
        expect = np.mean([0.4 / 2**k if k < r - 1 else 0.0 for r in runs])
        assert dist.loc[k, "mean_distance"] == pytest.approx(expect)
    assert dist.loc[max(runs) - 1, "mean_distance"] == 0.0


def test_failures(results_dir):
    f = summarize(results_dir).failures
    assert len(f) == 1
    assert f.iloc[0]["run_id"] == "1-3" and f.iloc[0]["mechanism"] == "median"
    assert "boom" in f.iloc[0]["error"]


def test_summary_csv_is_tidy(results_dir, tmp_path):
    s = summarize(results_dir)
    path = write_summary_csv(s, tmp_path / "summary.csv")
    df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    assert list(df.columns) == SUMMARY_COLUMNS
    assert set(df["section"]) >= {"metrics", "axioms", "ratios", "analyses", "dynamics"}
    row = df[(df.section == "axioms") & (df.mechanism == "median") & (df.quantity == "ufs")]
    assert row["mean"].item() == pytest.approx(5 / 7) and row["count"].item() == 7
    fails = df[(df.section == "failures") & (df.mechanism == "median")]
    assert fails["mean"].item() == 1


def test_empty_rounds_and_analyses(tmp_path):
    root = build_results(tmp_path / "r", rounds=False, analyses=False)
    s = summarize(root)
    assert len(s.distance) == 0 and len(s.analyses) == 0
    assert len(s.metric_table) > 0


def test_missing_optional_files(tmp_path):
    root = build_results(tmp_path / "r")
    for name in ("rounds.parquet", "analyses.parquet", "manifest.json", "scenario.yaml"):
        (root / name).unlink()
    s = summarize(root)
    assert s.claims == [] and len(s.distance) == 0
    assert s.mechanisms == ["uniform_phantom", "median"]
