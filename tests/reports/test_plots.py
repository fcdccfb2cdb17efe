"""SVG figures: inline-ready, deterministic, unique ids across figures."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from report_fixtures import build_results

from fairsim.reports import plots
from fairsim.reports.summary import summarize


@pytest.fixture(scope="module")
def figs(tmp_path_factory):
    root = build_results(tmp_path_factory.mktemp("p") / "r", n_values=(3, 5, 7))
    s = summarize(root)
    return s, plots.all_plots(s)


def _all(figs):
    out = [v for k, v in figs.items() if k != "sweeps" and v is not None]
    return out + list(figs["sweeps"].values())


def test_all_present_and_inline(figs):
    _, f = figs
    assert all(f[k] for k in ("metrics", "axioms", "ratios", "dynamics"))
    assert list(f["sweeps"]) == ["param.agents.n"]
    for svg in _all(f):
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata>" not in svg


def test_labels_are_text(figs):
    _, f = figs
    assert "uniform_phantom" in f["metrics"] and "strategyproofness" in f["axioms"]


def test_ids_unique_across_figures(figs):
    _, f = figs
    ids = Counter(i for svg in _all(f) for i in re.findall(r'\bid="([^"]+)"', svg))
    assert ids and max(ids.values()) == 1
    for svg in _all(f):  # every internal reference resolves inside its own figure
        own = set(re.findall(r'\bid="([^"]+)"', svg))
        refs = re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', svg)
        assert {a or b for a, b in refs} <= own


def test_deterministic(figs):
    s, f = figs
    assert plots.metric_means(s) == f["metrics"]
    assert plots.sweep_lines(s, "param.agents.n") == f["sweeps"]["param.agents.n"]


def test_nothing_to_draw(tmp_path):
    root = build_results(tmp_path / "r", rounds=False, n_values=(3,))
    s = summarize(root)
    assert plots.dynamics(s) is None
    assert plots.numeric_params(s) == []


def test_no_movement_no_dynamics_plot(tmp_path):
    import pandas as pd

    root = build_results(tmp_path / "r")
    rd = pd.read_parquet(root / "rounds.parquet")
    res = pd.read_parquet(root / "results.parquet")[["run_id", "mechanism", "outcome"]]
    rd = rd.drop(columns="outcome").merge(res, on=["run_id", "mechanism"])
    rd.to_parquet(root / "rounds.parquet")
    s = summarize(root)
    assert len(s.distance) > 0 and (s.distance["mean_distance"] == 0).all()
    assert plots.dynamics(s) is None
