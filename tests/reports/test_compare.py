"""Comparison of two result sets: Welch differences vs scipy, escaping, self-containedness."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from report_fixtures import XSS, build_results
from scipy import stats

from fairsim.cli import main
from fairsim.reports.compare import build_comparison, compare_axioms, compare_metrics, welch_ci
from fairsim.reports.data import load_results


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    base = tmp_path_factory.mktemp("cmp")
    a = build_results(base / "a", seed=7, error_runs={"median": ["1-3"]}, rounds=False)
    b = build_results(
        base / "b", seed=11, mechanisms=("uniform_phantom", "median", XSS), reps=5, rounds=False
    )
    return a, b


def _vals(root, mech, col):
    df = pd.read_parquet(root / "results.parquet")
    df = df[df["error"].isna() & (df["mechanism"] == mech)]
    return df[col].to_numpy(dtype=float)


def test_welch_matches_scipy(pair):
    a, b = pair
    t = compare_metrics(load_results(a), load_results(b)).set_index(["mechanism", "metric"])
    assert set(t.index.get_level_values(0)) == {"uniform_phantom", "median"}
    for mech in ("uniform_phantom", "median"):
        va = _vals(a, mech, "metric.social_welfare")
        vb = _vals(b, mech, "metric.social_welfare")
        res = stats.ttest_ind(vb, va, equal_var=False)
        ci = res.confidence_interval(0.95)
        r = t.loc[(mech, "social_welfare")]
        assert r["diff"] == pytest.approx(vb.mean() - va.mean())
        assert (r["diff_low"], r["diff_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
        assert r["welch_df"] == pytest.approx(res.df)
        assert r["count_a"] == va.size and r["count_b"] == vb.size
        lo, hi = stats.t.interval(0.95, va.size - 1, loc=va.mean(), scale=stats.sem(va))
        assert (r["ci_low_a"], r["ci_high_a"]) == pytest.approx((lo, hi))


def test_welch_edge_cases():
    d, lo, hi, df = welch_ci(np.array([1.0]), np.array([2.0, 4.0]))
    assert d == 2.0 and np.isnan(lo) and np.isnan(hi)
    assert welch_ci(np.array([1.0, 1.0]), np.array([2.0, 2.0]))[:3] == (1.0, 1.0, 1.0)
    assert np.isnan(welch_ci(np.array([]), np.array([1.0]))[0])


def test_axiom_shares(pair):
    a, b = pair
    t = compare_axioms(load_results(a), load_results(b)).set_index(["mechanism", "axiom"])
    r = t.loc[("median", "ufs")]
    # A: median fails ufs on 0-1 and 1-2 and raised on 1-3 -> 5/7; B (5 reps): fails 2 of 10
    assert (r["holds_a"], r["evaluated_a"]) == (5, 7)
    assert (r["holds_b"], r["evaluated_b"]) == (8, 10)
    assert r["share_b"] == pytest.approx(0.8)


def test_comparison_html(pair, tmp_path):
    a, b = pair
    out = tmp_path / "c.html"
    assert build_comparison(a, b, out) == out
    html = out.read_text()
    for sid in ("provenance", "metrics", "axioms", "only"):
        assert f'id="{sid}"' in html
    assert "mechanisms only in B: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "&lt;i&gt;test&lt;/i&gt;" in html and "<i>test</i>" not in html
    assert "abc123" in html and "<td>7</td>" in html and "<td>11</td>" in html  # hash, seeds
    assert "(5/7)" in html and "(8/10)" in html


def test_cli_two_dirs(pair, tmp_path, capsys):
    a, b = pair
    out = tmp_path / "cmp.html"
    assert main(["report", str(a), str(b), "--out", str(out)]) == 0
    assert out.read_text().lstrip().lower().startswith("<!doctype html")
    assert main(["report", str(a), str(b), str(a)]) == 2
    assert main(["report", str(a), str(b), "--baseline", "median"]) == 2
    assert "Traceback" not in capsys.readouterr().err
