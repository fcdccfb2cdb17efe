"""Federated metrics against hand-worked examples (spec federated.md §5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fairsim.axioms.federated import (
    collaborative_fairness,
    communication_cost,
    detection_rounds,
    detection_stats,
    equality_gap,
    estimator_flags,
    gap_series,
)
from fairsim.errors import InputError


def test_collaborative_fairness_hand_values() -> None:
    s = np.array([0.5, 0.6, 0.7, 0.9, 0.1])
    o = np.array([0.6, 0.7, 0.9, 0.8, 5.0])
    h = np.array([True, True, True, True, False])
    res = collaborative_fairness(s, o, h)
    # honest pairs: (.5,.6) (.6,.7) (.7,.9) (.9,.8); Pearson by hand
    x, y = s[:4], o[:4]
    dx, dy = x - x.mean(), y - y.mean()
    want = float((dx * dy).sum() / math.sqrt((dx**2).sum() * (dy**2).sum()))
    assert res["pearson"] == pytest.approx(want)
    # ranks (1,2,3,4) vs (1,2,4,3): Spearman = 1 - 6*2/(4*15) = 0.8
    assert res["spearman"] == pytest.approx(0.8)


def test_collaborative_fairness_nan_cases() -> None:
    h = np.array([True, False, False])
    assert math.isnan(collaborative_fairness([1, 2, 3], [1, 2, 3], h)["pearson"])
    h = np.ones(3, dtype=bool)
    res = collaborative_fairness([1, 2, 3], [4, 4, 4], h)
    assert math.isnan(res["pearson"]) and math.isnan(res["spearman"])
    with pytest.raises(InputError, match="honest_mask"):
        collaborative_fairness([1, 2], [1, 2], [1, 1])


def test_detection_stats_hand_example() -> None:
    flags = np.array(
        [
            [0, 1, 0, 0],
            [0, 0, 1, 0],
            [1, 1, 1, 0],
            [1, 1, 1, 1],
            [1, 1, 1, 0],
        ],
        dtype=bool,
    )
    fr = np.array([True, True, False, False])
    h = np.array([False, False, True, True])
    np.testing.assert_array_equal(detection_rounds(flags), [2, 2, 1, np.inf])
    res = detection_stats(flags, fr, h)
    assert res["detection_rate"] == 1.0
    assert res["false_positive_rate"] == 0.5
    assert res["mean_detection_round"] == 2.0
    fr2 = np.array([True, False, False, True])
    assert detection_stats(flags, fr2, h)["mean_detection_round"] == np.inf


def test_equality_gap_hand_example() -> None:
    acc = np.array([[0.2, 0.5, 0.9, 0.0], [0.4, 0.5, 0.6, 1.0], [0.5, 0.5, 0.5, 0.0]])
    h = np.array([True, True, True, False])
    np.testing.assert_allclose(gap_series(acc, h), [0.7, 0.2, 0.0])
    res = equality_gap(acc, h)
    assert res["gap_final"] == pytest.approx(0.0)
    assert res["gap_auc"] == pytest.approx(0.9)
    assert res["std_final"] == pytest.approx(0.0)
    res = equality_gap(acc[:2], h)
    assert res["std_final"] == pytest.approx(math.sqrt(((0.4 - 0.5) ** 2 + 0 + 0.1**2) / 3))


def test_communication_cost_hand_example() -> None:
    res = communication_cost([4e6, 2e6], [1e6, 1e6])
    assert res["mb_total"] == pytest.approx(8.0)
    assert res["mb_per_round"] == pytest.approx(4.0)
    assert res["uplink_mb"] == pytest.approx(6.0)
    with pytest.raises(InputError, match="downlink_bytes"):
        communication_cost([1.0], [1.0, 2.0])


def test_estimator_flags_threshold() -> None:
    # n = 4: threshold 1/12 ≈ 0.0833 of the total
    c = np.array([0.5, 0.3, 0.12, 0.08])
    np.testing.assert_array_equal(estimator_flags(c, 4), [False, False, False, True])
    c = np.array([-1.0, 0.5, 0.5, 0.0])  # sum 0: raw values against 1/12
    np.testing.assert_array_equal(estimator_flags(c, 4), [True, False, False, True])
    with pytest.raises(InputError, match="contributions"):
        estimator_flags([1.0, 2.0], 3)
