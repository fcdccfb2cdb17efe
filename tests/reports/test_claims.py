"""Claim evaluation: statuses follow from the fixture's construction (see conftest)."""

from __future__ import annotations

import json

import pandas as pd
from report_fixtures import build_results

from fairsim.reports.summary import summarize, write_claims_csv


def _by_id(results_dir):
    return {c.id: c for c in summarize(results_dir).claims}


def test_statuses(results_dir):
    c = _by_id(results_dir)
    assert c["axioms_ok"].status == "PASS"
    assert c["axioms_wrong"].status == "FAIL"
    assert c["ratio_ok"].status == "PASS"
    assert c["ratio_bad"].status == "FAIL"
    assert c["sw_bound"].status == "PASS"  # social welfare is drawn from [0.5, 2]
    assert c["conv"].status == "FAIL"  # median run 0-3 did not converge (1-3 raised)
    assert c["ghost"].status == "NOT-EVALUATED"


def test_measured_words_and_numbers(results_dir):
    c = _by_id(results_dir)
    text = c["axioms_ok"].measured
    assert "uniform_phantom: strategyproofness held on 8/8 runs" in text
    assert "median: ufs violated on 2/7 runs" in text and "run 0-1" in text
    assert "uniform_phantom n=3: measured 1.2 vs expected 1.2 (|diff| 0" in c["ratio_ok"].measured
    assert "measured 1.5 vs expected 1.25 (|diff| 0.25" in c["ratio_bad"].measured
    assert "social_welfare in [0.5, 2] on 8/8 runs" in c["sw_bound"].measured
    assert "converged on 6/8 runs" in c["conv"].measured
    assert "1 run(s) have no social_welfare value" in c["conv"].measured


def _with_claims(tmp_path, claims, **kw):
    return build_results(tmp_path / "r", claims=claims, **kw)


def test_ratio_tolerance_and_missing_analysis(tmp_path):
    root = _with_claims(
        tmp_path,
        [
            {"id": "loose", "text": "", "type": "ratio_formula", "analysis": "sw_bad", "tol": 0.3},
            {"id": "tight", "text": "", "type": "ratio_formula", "analysis": "sw_bad", "tol": 0.2},
            {"id": "absent", "text": "", "type": "ratio_formula", "analysis": "nope"},
        ],
    )
    c = _by_id(root)
    assert c["loose"].status == "PASS"  # |1.5 - 1.25| = 0.25 <= 0.3
    assert c["tight"].status == "FAIL"
    assert c["absent"].status == "NOT-EVALUATED"


def test_ratio_one_sided_bounds(tmp_path):
    # analysis sw_bad: measured 1.5, expected 1.25 (see the fixture)
    claim = {"text": "", "type": "ratio_formula", "analysis": "sw_bad"}
    root = _with_claims(
        tmp_path,
        [
            {**claim, "id": "most", "bound": "at_most"},  # 1.5 <= 1.25: no
            {**claim, "id": "least", "bound": "at_least"},  # 1.5 >= 1.25: yes
            {**claim, "id": "most_tol", "bound": "at_most", "tol": 0.25},  # 1.5 <= 1.5: yes
        ],
    )
    c = _by_id(root)
    assert c["most"].status == "FAIL"
    assert c["least"].status == "PASS" and "measured 1.5 >= expected 1.25" in c["least"].measured
    assert c["most_tol"].status == "PASS"


def test_metric_bound_edges(tmp_path):
    root = _with_claims(
        tmp_path,
        [
            {"id": "hi", "text": "", "type": "metric_bound", "mechanism": "uniform_phantom",
             "metric": "social_welfare", "max": 0.6},
            {"id": "nometric", "text": "", "type": "metric_bound",
             "mechanism": "uniform_phantom", "metric": "nosuch"},
            {"id": "inf", "text": "", "type": "metric_bound", "mechanism": "uniform_phantom",
             "metric": "sw_ratio", "max": 2.0},
        ],
        inf_runs={"uniform_phantom": ["1-1"]},
    )  # fmt: skip
    raw = pd.read_parquet(root / "results.parquet")
    up = raw[raw.mechanism == "uniform_phantom"]["metric.social_welfare"]
    c = _by_id(root)
    assert c["hi"].status == ("PASS" if (up <= 0.6).all() else "FAIL")
    assert f"on {(up <= 0.6).sum()}/8 runs" in c["hi"].measured
    assert c["nometric"].status == "NOT-EVALUATED"
    assert c["inf"].status == "FAIL" and "on 7/8 runs" in c["inf"].measured


def test_axiom_cells_not_evaluated(tmp_path):
    root = _with_claims(
        tmp_path,
        [
            {"id": "x", "text": "", "type": "axiom_matrix",
             "expect": {"uniform_phantom": {"pareto": "always"}}},
            {"id": "y", "text": "", "type": "axiom_matrix",
             "expect": {"uniform_phantom": {"pareto": "always", "ufs": "violated"}}},
        ],
    )  # fmt: skip
    c = _by_id(root)
    assert c["x"].status == "NOT-EVALUATED"
    assert c["y"].status == "FAIL"  # a failing cell wins over a missing one


def test_invalid_claim_is_reported_not_raised(tmp_path):
    root = _with_claims(tmp_path, [{"id": "bad", "text": "?", "type": "telepathy"}])
    (c,) = summarize(root).claims
    assert c.status == "NOT-EVALUATED" and "invalid claim" in c.measured


def test_claims_from_scenario_yaml(tmp_path):
    root = _with_claims(tmp_path, [])
    manifest = json.loads((root / "manifest.json").read_text())
    del manifest["claims"]
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "scenario.yaml").write_text(
        "name: s\nclaims:\n  - id: yml\n    text: from yaml\n    type: ratio_formula\n"
        "    analysis: sw_up\n"
    )
    (c,) = summarize(root).claims
    assert (c.id, c.status) == ("yml", "PASS")


def test_claims_csv(results_dir, tmp_path):
    path = write_claims_csv(summarize(results_dir), tmp_path / "claims.csv")
    df = pd.read_csv(path)
    assert list(df.columns) == ["id", "type", "status", "text", "measured"]
    assert dict(zip(df["id"], df["status"]))["ratio_bad"] == "FAIL"
    assert len(df) == 7


def test_ratio_row_with_error_is_not_evaluated(tmp_path):
    root = _with_claims(
        tmp_path, [{"id": "e", "text": "", "type": "ratio_formula", "analysis": "sw_up"}]
    )
    an = pd.read_parquet(root / "analyses.parquet")
    an["error"] = None
    an.loc[an["analysis"] == "sw_up", "ratio"] = float("nan")
    an.loc[an["analysis"] == "sw_up", "error"] = "InputError: grid too large"
    an.to_parquet(root / "analyses.parquet")
    (c,) = summarize(root).claims
    assert c.status == "NOT-EVALUATED" and "grid too large" in c.measured
