"""Federated report sections on a hand-made results directory (numbers worked out by hand)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import _common, write_domain_dir

from fairsim.reports import build_report, summarize
from fairsim.reports._federated_sections import group_lines, mechanism_table
from fairsim.reports.domains import domain_sections

MECHS = ("fedavg", "rffl")


def federated_results(root: Path, with_rounds: bool = True) -> Path:
    """Mechanisms fedavg and rffl, 3 replications each, plus a 4th rffl run that raised.

    fedavg run k: accuracy 0.8 + 0.01 k, fairness 0.2, detection_rate 0, detection_round inf,
    free_riders_removed False. rffl run k: accuracy 0.78, fairness 0.9 - 0.1 k, detection_rate 1,
    detection_round 10 + k, free_riders_removed True. Round r (1..3): accuracy 0.5 + 0.1 r,
    gap 0.3 / r; free riders' share 1.0 (fedavg) / 1 - r / 3 (rffl), honest share 1.0.
    """
    rows: list[dict[str, Any]] = []
    rounds: list[dict[str, Any]] = []
    for rep in range(4):
        for order, mech in enumerate(MECHS):
            if rep == 3 and mech == "fedavg":
                continue
            failed = rep == 3
            row = _common(f"0-{rep}", mech, order, "federated", n=5)
            fed = mech == "fedavg"
            row.update(
                {
                    "metric.accuracy": None if failed else (0.8 + 0.01 * rep if fed else 0.78),
                    "metric.fairness": None if failed else (0.2 if fed else 0.9 - 0.1 * rep),
                    "metric.detection_rate": None if failed else (0.0 if fed else 1.0),
                    "metric.detection_round": None if failed else (math.inf if fed else 10 + rep),
                    "axiom.free_riders_removed": None if failed else (not fed),
                    "error": "RuntimeError: diverged" if failed else None,
                }
            )
            rows.append(row)
            for r in range(1, 4):
                rounds.append(
                    {
                        "run_id": f"0-{rep}",
                        "design_point": 0,
                        "replication": rep,
                        "mechanism": mech,
                        "round": r,
                        "outcome": 0.5 + 0.1 * r,
                        "metric.accuracy": 99.0 if failed else 0.5 + 0.1 * r,
                        "metric.gap": 0.3 / r,
                        "metric.fr_contribution": 1.0 if fed else 1.0 - r / 3,
                        "metric.honest_contribution": 1.0,
                    }
                )
    return write_domain_dir(root, "federated", rows, rounds if with_rounds else None)


def test_mechanism_table_by_hand(tmp_path: Path) -> None:
    s = summarize(federated_results(tmp_path / "r"))
    t = mechanism_table(s).set_index("mechanism")
    assert list(t.index) == list(MECHS)
    assert t.loc["fedavg", "runs"] == 3 and t.loc["rffl", "runs"] == 3  # failed run left out
    assert t.loc["fedavg", "accuracy"] == pytest.approx(0.81)
    assert t.loc["rffl", "fairness (Pearson)"] == pytest.approx(0.8)
    assert t.loc["rffl", "detection round"] == pytest.approx(11.0)
    assert math.isnan(t.loc["fedavg", "detection round"])  # never detects: no finite round
    assert t.loc["fedavg", "FR removed"] == "0/3" and t.loc["rffl", "FR removed"] == "3/3"
    assert "gap(T)" not in t.columns  # metrics absent from the results are not shown


def test_group_lines_by_hand(tmp_path: Path) -> None:
    s = summarize(federated_results(tmp_path / "r"))
    g = group_lines(s)
    fr = g[g["mechanism"] == "rffl · free riders"].sort_values("round")
    assert fr["mean"].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert set(g["mechanism"]) == {
        "fedavg · free riders",
        "fedavg · honest",
        "rffl · free riders",
        "rffl · honest",
    }


def test_sections_and_html(tmp_path: Path) -> None:
    root = federated_results(tmp_path / "r")
    secs = domain_sections(summarize(root))
    assert [x.id for x in secs] == ["fl-table", "fl-rounds"]
    figures = [b for b in secs[1].blocks if b["type"] == "figure"]
    assert len(figures) == 3 and all("<svg" in b["svg"] for b in figures)
    html = build_report(root).html.read_text(encoding="utf-8")
    assert 'id="fl-table"' in html and 'id="fl-rounds"' in html
    assert "rffl · free riders" in html


def test_no_rounds_no_round_section(tmp_path: Path) -> None:
    root = federated_results(tmp_path / "r", with_rounds=False)
    assert [x.id for x in domain_sections(summarize(root))] == ["fl-table"]


def test_reference_and_local_columns(tmp_path: Path) -> None:
    """gtg: rank corr 0.9 and 0.7 (mean 0.8), evals/ref 0.25 and 0.35 (mean 0.3); mr: 1 and 1;
    local acc std 0.1 / 0.2; an all-NaN reference column is dropped."""
    rows = []
    for rep in range(2):
        for order, mech in enumerate(("gtg", "mr")):
            row = _common(f"0-{rep}", mech, order, "federated", n=4)
            gtg = mech == "gtg"
            row.update(
                {
                    "metric.accuracy": 0.9,
                    "metric.local_acc_std": 0.1 if gtg else 0.2,
                    "metric.rank_corr_ref": (0.9 - 0.2 * rep) if gtg else 1.0,
                    "metric.eval_ratio_ref": (0.25 + 0.1 * rep) if gtg else 1.0,
                }
            )
            rows.append(row)
    t = mechanism_table(summarize(write_domain_dir(tmp_path / "a", "federated", rows)))
    t = t.set_index("mechanism")
    assert t.loc["gtg", "rank corr vs ref"] == pytest.approx(0.8)
    assert t.loc["gtg", "evals / ref"] == pytest.approx(0.3)
    assert t.loc["mr", "rank corr vs ref"] == 1.0
    assert t.loc["mr", "local acc std"] == pytest.approx(0.2)
    for row in rows:
        row["metric.rank_corr_ref"] = math.nan
    t = mechanism_table(summarize(write_domain_dir(tmp_path / "b", "federated", rows)))
    assert "rank corr vs ref" not in t.columns and "local acc std" in t.columns


def test_local_spread_figure_when_rounds_have_it(tmp_path: Path) -> None:
    import pandas as pd

    root = federated_results(tmp_path / "r")
    rd = pd.read_parquet(root / "rounds.parquet")
    rd["metric.local_acc_std"] = 0.1 / rd["round"]
    rd.to_parquet(root / "rounds.parquet")
    secs = domain_sections(summarize(root))
    figures = [b for b in secs[1].blocks if b["type"] == "figure"]
    assert len(figures) == 4 and "local validation split" in figures[2]["caption"]
