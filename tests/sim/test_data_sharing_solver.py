"""The data-sharing scenario's model options ``solver`` and ``layout`` (spec valuation §9)."""

from __future__ import annotations

from itertools import combinations
from math import factorial

import numpy as np
import pytest

from fairsim.errors import ScenarioError
from fairsim.mechanisms._games_model import ModelUtilityGame
from fairsim.scenarios.loader import load_scenario_text
from fairsim.sim import data_sharing as D

TEXT = """
kind: data_sharing
name: ds_newton
seed: 7
data: {n_features: 3, n_classes: 2, class_sep: 1.0, n_val: 150}
parties:
  - {size: 60}
  - {size: 30}
  - {size: 20, label_noise: 0.3}
model: {metric: neg_log_loss, solver: newton, l2: 0.01, epochs: 50, backend: BACKEND, layout: LAYOUT}
mechanisms: [proportional]
metrics: [accuracy]
"""


def _shapley_direct(scenario) -> np.ndarray:
    """Shapley values by the permutation-weight formula over a game built directly."""
    seq = np.random.SeedSequence(scenario.seed, spawn_key=(0, 0))
    _, contrib, _, Xv, yv = D.build_parties(scenario, seq)
    X = np.concatenate([c.X for c in contrib])
    y = np.concatenate([c.y for c in contrib]).astype(np.int64)
    own = np.repeat(np.arange(3), [c.X.shape[0] for c in contrib])
    g = ModelUtilityGame(
        X, y, own, Xv, yv, solver="newton", l2=0.01, epochs=50, metric="neg_log_loss", n_classes=2
    )

    def v(s: tuple[int, ...]) -> float:
        return float(g.value(np.isin(np.arange(3), s))[0])

    phi = np.zeros(3)
    for i in range(3):
        others = [j for j in range(3) if j != i]
        for r in range(3):
            for s in combinations(others, r):
                wt = factorial(r) * factorial(3 - r - 1) / factorial(3)
                phi[i] += wt * (v((*s, i)) - v(s))
    return phi


@pytest.mark.parametrize("backend,layout", [("numpy", "auto"), ("torch", "pad"), ("torch", "mask")])
def test_newton_scenario_runs_and_matches_game(backend: str, layout: str) -> None:
    if backend == "torch":
        pytest.importorskip("torch")
    s = load_scenario_text(TEXT.replace("BACKEND", backend).replace("LAYOUT", layout))
    assert s.model.solver == "newton" and s.model.layout == layout
    rows, _ = D.run_one(s, 0, 0, s.seed)
    assert "error" not in rows[0] or rows[0]["error"] is None, rows[0].get("error")
    np.testing.assert_allclose(rows[0]["values"], _shapley_direct(s), rtol=0, atol=1e-10)


def test_defaults_unchanged_and_newton_checks() -> None:
    base = TEXT.replace("BACKEND", "numpy").replace("LAYOUT", "auto")
    plain = load_scenario_text(base.replace(", solver: newton", ""))
    assert plain.model.solver == "gd" and plain.model.layout == "auto"
    with pytest.raises(ScenarioError, match="logreg"):
        load_scenario_text(
            base.replace("metric: neg_log_loss,", "metric: neg_log_loss, model: mlp,")
        )
    with pytest.raises(ScenarioError, match="l2 > 0"):
        load_scenario_text(base.replace("l2: 0.01", "l2: 0.0"))
    with pytest.raises(ScenarioError, match="layout"):
        load_scenario_text(base.replace("layout: auto", "layout: ragged"))
