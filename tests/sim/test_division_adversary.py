"""The fair_division plugin's ``adversarial_online`` analyses (spec division.md §6)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairsim.errors import ScenarioError
from fairsim.mechanisms._division_online import online_chores, online_goods_two_agents
from fairsim.reports.summary import summarize
from fairsim.scenarios.loader import load_scenario_text
from fairsim.sim import runner
from fairsim.sim.division import run_analyses

BASE = """
kind: fair_division
name: adv_div
seed: 11
replications: 1
instances: {generator: uniform, n: 2, m: 4, low: 1, high: 9}
mechanisms: [online_goods_two_agents]
axioms: [ef1]
metrics: [mms_ratio]
"""

ANALYSES = """analyses:
  - {id: goods, type: adversarial_online, algorithm: goods_two_agents, n: [2], m: [4],
     restarts: 5, iterations: 60, values_range: [0, 4]}
  - {id: chores, type: adversarial_online, algorithm: chores, n: [2, 3], m: [4, 5],
     restarts: 2, iterations: 20}
claims:
  - {id: tight, text: worst goods ratio is exactly 0.5, type: ratio_formula, analysis: goods,
     tol: 0.0}
"""


def _mms(v: list[int], n: int, chores: bool) -> int:
    vals = []
    for labels in itertools.product(range(n), repeat=len(v)):
        sums = [0] * n
        for g, k in enumerate(labels):
            sums[k] += v[g]
        vals.append(max(sums) if chores else min(sums))
    return min(vals) if chores else max(vals)


def test_analyses_rows_and_claim(tmp_path: Path) -> None:
    text = BASE + ANALYSES
    s = load_scenario_text(text)
    runner.run_scenario(s, tmp_path / "r", scenario_text=text, progress=False, workers=1)
    ana = pd.read_parquet(tmp_path / "r" / "analyses.parquet")
    assert len(ana) == 1 + 2 * 2 and ana["error"].isna().all()
    for _, r in ana.iterrows():
        n, m = int(r["n"]), int(r["method"].split("=")[1])
        goods = r["analysis"] == "goods"
        assert r["type"] == "adversarial_online"
        assert r["expected"] == (0.5 if goods else 2 - 1 / n)
        assert r["profiles_checked"] == (5 * 61 if goods else 2 * 21)
        stream = np.asarray(r["worst_profile"], dtype=np.int64).reshape(n, m)
        # recompute the ratio of the reported worst instance with brute-force MMS
        if goods:
            x = online_goods_two_agents(stream).assignment
            rs = [
                Fraction(int(stream[i, x == i].sum()), _mms(stream[i].tolist(), n, False))
                for i in range(n)
                if _mms(stream[i].tolist(), n, False) > 0
            ]
            assert float(min(rs)) == r["ratio"] == 0.5
        else:
            x = online_chores(stream).assignment
            rs = [
                Fraction(int(stream[i, x == i].sum()), _mms(stream[i].tolist(), n, True))
                for i in range(n)
            ]
            assert float(max(rs)) == r["ratio"] <= r["expected"]
    claims = {c.id: c for c in summarize(tmp_path / "r").claims}
    assert claims["tight"].status == "PASS"


def test_analyses_are_seeded() -> None:
    s = load_scenario_text(BASE + ANALYSES)
    a, b = run_analyses(s, 3), run_analyses(s, 3)
    assert [r["worst_profile"] for r in a] == [r["worst_profile"] for r in b]
    assert [r["ratio"] for r in a] == [r["ratio"] for r in b]


def test_no_analyses_gives_no_rows() -> None:
    assert run_analyses(load_scenario_text(BASE), 0) == []


@pytest.mark.parametrize(
    "extra, match",
    [
        (
            "analyses:\n  - {id: g, type: adversarial_online, algorithm: goods_two_agents, "
            "n: [3], m: [4]}\n",
            "n = 2",
        ),
        (
            "analyses:\n  - {id: g, type: adversarial_online, algorithm: chores, n: [2], "
            "m: [4], values_range: [3, 1]}\n",
            "values_range",
        ),
        (
            "claims:\n  - {id: c, text: t, type: ratio_formula, analysis: nope}\n",
            "unknown analysis",
        ),
    ],
)
def test_schema_rejects(extra: str, match: str) -> None:
    with pytest.raises((ScenarioError, ValueError), match=match):
        load_scenario_text(BASE + extra)
