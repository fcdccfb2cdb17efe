"""Domain-aware report sections: kind detection, the participatory-budgeting, fair-division and
data-sharing sections, on hand-made results directories whose numbers are worked out by hand
(docstrings of the fixture builders in report_fixtures.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from report_fixtures import (
    PB_XSS_FILE,
    data_sharing_results,
    division_results,
    pb_results,
    standard_results,
)
from scipy import stats

from fairsim.reports import build_report, load_results, summarize
from fairsim.reports.domains import (
    accuracy_by_round,
    domain_sections,
    facility_sections,
    pb_instance_table,
    report_kind,
)


def _html(root):
    return build_report(root).html.read_text(encoding="utf-8")


def _section(sections, sid):
    found = [s for s in sections if s.id == sid]
    assert len(found) == 1, [s.id for s in sections]
    return found[0]


def _table_rows(block):
    t = block["table"]
    return [dict(zip(t["headers"], r)) for r in t["rows"]]


@pytest.mark.parametrize("where", ["top", "scenario", "yaml", "column"])
def test_kind_from_every_place(tmp_path, where):
    root = division_results(tmp_path / "r", manifest_kind=where)
    assert report_kind(load_results(root)) == "fair_division"


def test_kind_default_facility(tmp_path):
    root = standard_results(tmp_path / "r")
    data = load_results(root)
    assert report_kind(data) == "facility_location"
    assert facility_sections("facility_location", summarize(data)) == (True, True)


# ------------------------------------------------------------------------------------------
# participatory budgeting
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    root = pb_results(tmp_path_factory.mktemp("pb") / "res")
    return root, summarize(root), _html(root)


def test_pb_sections_replace_facility_ones(pb):
    _, s, html = pb
    assert facility_sections("participatory_budgeting", s) == (False, False)
    assert 'id="pb-distributions"' in html and 'id="pb-instances"' in html
    assert 'id="ratios"' not in html and 'id="dynamics"' not in html
    assert 'href="#ratios"' not in html and 'href="#pb-instances"' in html
    assert html.count("<svg") >= 3  # metric means, axiom heatmap, spend/welfare boxes


def test_pb_instance_table_by_hand(pb):
    _, s, _ = pb
    headers, rows, total = pb_instance_table(s)
    assert headers == [
        "distribution",
        "utility",
        "rule",
        "runs",
        "projects",
        "cost / budget",
        "welfare_cost",
        "welfare_cardinality",
        "JR",
        "EJR",
    ]
    assert total == 4
    text = [[c["text"] for c in r] for r in rows]
    # greedy on impartial_culture: projects (2 + 1)/2, cost (10 + 8)/2, welfare (3 + 5)/2,
    # (1 + 2)/2; EJR held on 1 of 2 runs
    assert text[0] == ["impartial_culture", "cost", "greedy", "2", "1.5", "9 / 10", "4", "1.5"] + [
        "2/2",
        "1/2",
    ]
    assert text[1] == ["impartial_culture", "cost", "mes", "2", "1", "6 / 10", "2", "1"] + [
        "2/2",
        "2/2",
    ]
    assert text[2] == [PB_XSS_FILE, "cost", "greedy", "1", "3", "4 / 5", "7", "3", "yes", "yes"]
    assert text[3] == [PB_XSS_FILE, "cost", "mes", "1", "1", "5 / 5", "6", "2", "yes", "no"]
    ejr = rows[0][-1]
    assert ejr["witness"] == '{"voters": [0, 1]}' and ejr["title"].startswith("run 0-1:")
    assert rows[3][-1]["witness"] == '{"voters": [2]}'
    assert rows[0][-2]["witness"] == "" and rows[0][-2]["cls"] == "pos"


def test_pb_spend_distribution_by_hand(pb):
    _, s, _ = pb
    sec = _section(domain_sections(s), "pb-distributions")
    table = next(b for b in sec.blocks if b["type"] == "table")
    rows = {(r["mechanism"], r["metric"]): r for r in _table_rows(table)}
    g = rows[("greedy", "spend_share")]  # 10/10, 8/10, 4/5
    assert float(g["mean"]) == pytest.approx(2.6 / 3, abs=1e-4)
    assert float(g["q50"]) == 0.8 and float(g["max"]) == 1.0 and g["count"] == "3"
    m = rows[("mes", "spend_share")]  # 6/10, 6/10, 5/5
    assert float(m["q50"]) == 0.6 and float(m["mean"]) == pytest.approx(2.2 / 3, abs=1e-4)
    w = rows[("mes", "welfare_cost")]  # 2, 2, 6
    assert float(w["mean"]) == pytest.approx(10 / 3, abs=1e-3)
    assert any(b["type"] == "figure" and b["svg"].startswith("<svg") for b in sec.blocks)


def test_pb_html_escaped_and_witnesses(pb):
    _, _, html = pb
    assert "pabulib:&lt;b&gt;warsaw&lt;/b&gt;" in html and "<b>warsaw" not in html
    assert 'title="run 0-1: {&#34;voters&#34;: [0, 1]}"' in html
    # the axiom matrix shows the failing run's selected projects, not facility locations
    assert "selected: [p1]" in html
    assert "true locations" not in html
    assert "<script" not in html.lower()


# ------------------------------------------------------------------------------------------
# fair division
# ------------------------------------------------------------------------------------------


def test_division_sections_by_hand(tmp_path):
    root = division_results(tmp_path / "r")
    s = summarize(root)
    secs = domain_sections(s)
    assert [x.id for x in secs] == ["fd-mms", "fd-welfare"]
    mms = _table_rows(next(b for b in secs[0].blocks if b["type"] == "table"))
    rr = next(r for r in mms if r["mechanism"] == "round_robin")
    # 0.5, 0.75, 1, 1: mean 0.8125; linear quantiles q25 = 0.5 + 0.75 * 0.25, q50 = 0.875
    assert float(rr["mean"]) == 0.8125 and float(rr["q25"]) == 0.6875
    assert float(rr["q50"]) == 0.875 and float(rr["q05"]) == pytest.approx(0.5375, abs=1e-4)
    mnw = next(r for r in mms if r["mechanism"] == "mnw")
    assert float(mnw["q05"]) == 1.0 and float(mnw["max"]) == 1.0
    welfare = _table_rows(next(b for b in secs[1].blocks if b["type"] == "table"))
    nw = next(
        r for r in welfare if r["mechanism"] == "round_robin" and r["metric"] == "nash_welfare"
    )
    # 1, 3, 1, 3: mean 2, s = sqrt(4/3), half-width t_{0.975,3} * s / 2
    half = stats.t.ppf(0.975, 3) * math.sqrt(4 / 3) / 2
    assert float(nw["mean"]) == 2.0
    assert float(nw["ci_low"]) == pytest.approx(2 - half, rel=1e-3)
    assert float(nw["ci_high"]) == pytest.approx(2 + half, rel=1e-3)
    html = _html(root)
    assert 'id="fd-mms"' in html and 'id="fd-welfare"' in html and 'id="ratios"' not in html
    assert "(2/4)" in html  # mms held on 2 of 4 round-robin runs in the axiom matrix


def test_ratio_metric_shows_ratio_section_for_other_kinds(tmp_path):
    root = division_results(tmp_path / "r")
    df = pd.read_parquet(root / "results.parquet")
    df["metric.price_ratio"] = 1.25
    df.to_parquet(root / "results.parquet", index=False)
    s = summarize(root)
    assert facility_sections("fair_division", s) == (True, False)
    html = _html(root)
    assert 'id="ratios"' in html and 'id="dynamics"' not in html


# ------------------------------------------------------------------------------------------
# data sharing
# ------------------------------------------------------------------------------------------


def test_data_sharing_accuracy_by_round(tmp_path):
    root = data_sharing_results(tmp_path / "r")
    s = summarize(root)
    t = accuracy_by_round(s)
    assert len(t) == 6 and set(t["count"]) == {3}  # the failed run's rounds are left out
    for r in range(3):
        sh = t[(t["mechanism"] == "shapley") & (t["round"] == r)].iloc[0]
        # 0.5 + 0.1 r + 0.01 k for k = 0, 1, 2: mean + 0.01, s = 0.01
        half = stats.t.ppf(0.975, 2) * 0.01 / math.sqrt(3)
        assert sh["mean"] == pytest.approx(0.51 + 0.1 * r)
        assert sh["ci_high"] - sh["mean"] == pytest.approx(half)
        lo = t[(t["mechanism"] == "loo") & (t["round"] == r)].iloc[0]
        assert lo["mean"] == pytest.approx(0.4 + 0.1 * r)
        assert lo["ci_low"] == pytest.approx(lo["mean"])
    secs = domain_sections(s)
    assert [x.id for x in secs] == ["ds-metrics", "ds-accuracy"]
    acc = _table_rows(next(b for b in secs[0].blocks if b["type"] == "table"))
    sh = next(r for r in acc if r["mechanism"] == "shapley" and r["metric"] == "accuracy")
    assert float(sh["mean"]) == pytest.approx(0.71) and sh["count"] == "3"
    loo = next(r for r in acc if r["mechanism"] == "loo" and r["metric"] == "accuracy")
    assert loo["count"] == "3"  # the run that raised is not counted
    html = _html(root)
    assert 'id="ds-metrics"' in html and 'id="ds-accuracy"' in html
    assert 'id="dynamics"' not in html and 'id="ratios"' not in html


def test_data_sharing_without_round_metrics(tmp_path):
    root = data_sharing_results(tmp_path / "r")
    rd = pd.read_parquet(root / "rounds.parquet").drop(columns=["metric.accuracy"])
    rd.to_parquet(root / "rounds.parquet", index=False)
    s = summarize(root)
    assert len(accuracy_by_round(s)) == 0
    assert [x.id for x in domain_sections(s)] == ["ds-metrics"]
