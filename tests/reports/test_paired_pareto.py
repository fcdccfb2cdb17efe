"""Paired differences against a baseline and the welfare-vs-fairness front; the golden numbers
are recomputed here with numpy/scipy from the raw fixture tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from report_fixtures import build_results, standard_results
from scipy import stats

from fairsim.cli import main
from fairsim.errors import InputError
from fairsim.reports import build_report, summarize
from fairsim.reports.pareto import dominated, pareto_table


@pytest.fixture(scope="module")
def std(tmp_path_factory):
    return standard_results(tmp_path_factory.mktemp("paired") / "res")


def _t_interval(d: np.ndarray) -> tuple[float, float, float]:
    d = d[np.isfinite(d)]
    m = float(d.mean())
    lo, hi = stats.t.interval(0.95, d.size - 1, loc=m, scale=stats.sem(d))
    return m, float(lo), float(hi)


def _raw_diff(root, col: str, mech: str, base: str) -> pd.DataFrame:
    df = pd.read_parquet(root / "results.parquet")
    df = df[df["error"].isna()]
    wide = df.pivot(index="run_id", columns="mechanism", values=col).astype(float)
    n = df.drop_duplicates("run_id").set_index("run_id")["n"]
    return pd.DataFrame({"d": wide[mech] - wide[base], "n": n.reindex(wide.index)})


@pytest.mark.parametrize("col", ["metric.social_welfare", "metric.sw_ratio", "axiom.ufs"])
def test_paired_matches_scipy(std, col):
    s = summarize(std, baseline="median")
    assert s.baseline == "median"
    raw = _raw_diff(std, col, "uniform_phantom", "median")
    t = s.paired.set_index(["mechanism", "group", "group_value", "quantity"])
    m, lo, hi = _t_interval(raw["d"].to_numpy())
    row = t.loc[("uniform_phantom", "all", "all", col)]
    assert row["mean"] == pytest.approx(m, rel=1e-12, abs=1e-15)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
    assert row["count"] == int(np.isfinite(raw["d"]).sum())
    # median errored on run 1-3 and uniform_phantom has sw_ratio = inf on 0-0: unpaired there
    assert row["excluded"] == 8 - row["count"]
    for nv in (3, 5):
        sub = raw[raw["n"] == nv]["d"].to_numpy()
        m, lo, hi = _t_interval(sub)
        r = t.loc[("uniform_phantom", "n", str(nv), col)]
        assert r["mean"] == pytest.approx(m, abs=1e-12)
        if np.isfinite(lo):
            assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
    assert ("median", "all", "all", col) not in t.index  # no row for the baseline itself


def test_axiom_difference_is_share_difference(std):
    s = summarize(std, baseline="median")
    r = s.paired.set_index(["mechanism", "group", "quantity"]).loc[
        ("uniform_phantom", "all", "axiom.ufs")
    ]
    # jointly evaluated runs: 7 (median raised on 1-3); UP holds on all, median fails on 2
    assert r["count"] == 7 and r["mean"] == pytest.approx(2 / 7)


def test_default_baseline_is_first_in_order(std):
    s = summarize(std)
    assert s.baseline == "uniform_phantom"
    assert set(s.paired["mechanism"]) == {"median"}
    with pytest.raises(InputError, match=r"baseline='nosuch'.*uniform_phantom, median"):
        summarize(std, baseline="nosuch")


def test_paired_rows_in_summary_csv_and_html(tmp_path):
    root = standard_results(tmp_path / "r")
    paths = build_report(root, baseline="median")
    csv = pd.read_csv(paths.summary_csv)
    p = csv[csv["section"] == "paired"]
    assert set(p["mechanism"]) == {"uniform_phantom"}
    assert {"all", "n", "param.agents.n"} <= set(p["group"])
    html = paths.html.read_text()
    assert 'id="paired"' in html and "Paired differences against median" in html
    assert 'id="pareto"' in html


def test_cli_baseline(tmp_path, capsys):
    root = build_results(tmp_path / "r", n_values=(3,), reps=3, rounds=False, analyses=False)
    assert main(["report", str(root), "--baseline", "median"]) == 0
    assert "against median" in (root / "report.html").read_text()
    assert main(["report", str(root), "--baseline", "nope"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "uniform_phantom, median" in err and "Traceback" not in err


def test_dominated_hand_example():
    x = np.array([1.0, 2.0, 2.0, 0.5, 3.0, np.nan])
    y = np.array([1.0, 0.5, 1.0, 0.5, 0.2, 9.0])
    # (2,1) dominates (1,1), (2,0.5) and (0.5,0.5); (3,0.2) is not dominated; NaN never on front
    assert dominated(x, y).tolist() == [True, True, False, True, False, True]
    # equal points do not dominate each other
    assert dominated(np.array([1.0, 1.0]), np.array([1.0, 1.0])).tolist() == [False, False]


def test_pareto_table_from_raw(std):
    s = summarize(std)
    table, info = pareto_table(s)
    assert info["welfare"] == "social_welfare" and info["axioms"] == ["ufs"]  # rounds' axioms
    df = pd.read_parquet(std / "results.parquet")
    df = df[df["error"].isna()]
    g = df.groupby("mechanism")
    sw = g["metric.social_welfare"].mean()
    ufs = g["axiom.ufs"].mean()
    t = table.set_index("mechanism")
    for m in ("uniform_phantom", "median"):
        assert t.loc[m, "welfare"] == pytest.approx(sw[m])
        assert t.loc[m, "fairness"] == pytest.approx(ufs[m])
    expect = ~dominated(
        sw[["uniform_phantom", "median"]].to_numpy(), ufs[["uniform_phantom", "median"]].to_numpy()
    )
    assert t["on_front"].tolist() == expect.tolist()
    both, _ = pareto_table(s, axioms=["ufs", "strategyproofness"])
    sp = g["axiom.strategyproofness"].mean()
    assert both.set_index("mechanism").loc["median", "fairness"] == pytest.approx(
        (ufs["median"] + sp["median"]) / 2
    )
    with pytest.raises(InputError, match="nosuch"):
        pareto_table(s, axioms=["nosuch"])
    with pytest.raises(InputError, match="fairness"):
        pareto_table(s, fairness="gini")


def test_pareto_max_cost(tmp_path):
    root = build_results(tmp_path / "r", mechanisms=("a", "b", "c"), n_values=(3,), reps=2)
    df = pd.read_parquet(root / "results.parquet")
    welfare = {"a": 1.0, "b": 2.0, "c": 0.5}
    cost = {"a": 0.2, "b": 0.6, "c": 0.7}  # c is dominated by a (less welfare, more cost)
    df["metric.social_welfare"] = df["mechanism"].map(welfare)
    df["metric.max_cost"] = df["mechanism"].map(cost)
    df.to_parquet(root / "results.parquet")
    table, info = pareto_table(summarize(root), fairness="max_cost")
    t = table.set_index("mechanism")
    assert t["on_front"].to_dict() == {"a": True, "b": True, "c": False}
    assert t.loc["c", "fairness"] == pytest.approx(0.7) and info["minimise_fairness"]
