"""Facility agents and behaviours."""

from __future__ import annotations

from types import SimpleNamespace

import mesa
import numpy as np
import pytest

from fairsim import registry
from fairsim.agents import facility as fa
from fairsim.errors import InputError


def fake_agent(x: float, seed: int = 0, report: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        index=0,
        true_location=x,
        report=x if report is None else report,
        agent_rng=np.random.default_rng(seed),
    )


@pytest.mark.parametrize(
    "name, strategic", [("truthful", False), ("best_response", True), ("random_misreport", False)]
)
def test_behaviours_are_registered(name, strategic):
    e = registry.get(name, "behaviour", domain="facility")
    assert e.name == f"facility.{name}" and e.domain == "facility"
    b = e.func()
    assert b.name == name and b.strategic is strategic
    assert e.extra["strategic"] is strategic


def test_truthful():
    b = fa.make_behaviour("truthful")
    a = fake_agent(0.37, report=0.9)
    assert b.initial(a, None) == 0.37 and b.choose(a, None) == 0.37


@pytest.mark.parametrize("x", [0.0, 0.3, 0.97, 1.0])
def test_random_misreport_gaussian_matches_independent_draw(x):
    b = fa.make_behaviour("random_misreport", {"scale": 0.25})
    got = b.initial(fake_agent(x, seed=42), None)
    z = np.random.default_rng(42).standard_normal()
    assert got == min(1.0, max(0.0, x + 0.25 * z))
    a = fake_agent(x, report=got)
    assert b.choose(a, None) == got  # kept in every round


def test_random_misreport_uniform_ignores_location_and_scale():
    b = fa.make_behaviour("facility.random_misreport", {"mode": "uniform", "scale": 5})
    expected = np.random.default_rng(9).random()
    assert b.initial(fake_agent(0.0, seed=9), None) == expected
    assert b.initial(fake_agent(1.0, seed=9), None) == expected


def test_random_misreport_zero_scale_is_truthful():
    b = fa.make_behaviour("random_misreport", {"scale": 0.0})
    assert b.initial(fake_agent(0.61, seed=1), None) == 0.61


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("random_misreport", {"scale": -1}, "scale"),
        ("random_misreport", {"scale": "big"}, "scale"),
        ("random_misreport", {"mode": "cauchy"}, "mode"),
        ("random_misreport", {"sigma": 1}, "sigma"),
        ("truthful", {"x": 1}, "takes no parameters"),
        ("best_response", {"tol": -1}, "tol"),
        ("nonexistent", {}, "unknown behaviour"),
    ],
)
def test_bad_behaviour_params(name, params, match):
    with pytest.raises(InputError, match=match):
        fa.make_behaviour(name, params)


class _AverageModel(mesa.Model):
    """A minimal model exposing what BestResponse needs (the average mechanism)."""

    mechanism_name = "facility.average"
    mechanism_params: dict = {}

    def __init__(self, reports):
        super().__init__(rng=0)
        self.reports = np.asarray(reports, dtype=float)

    def agent_cost(self, i, report, x_i):
        r = self.reports.copy()
        r[i] = report
        return abs(r.mean() - x_i)


@pytest.mark.parametrize(
    "reports, i, x, expected",
    [
        ([0.0, 0.0, 1.0], 0, 0.0, 0.0),  # n*x - others = -1 -> clamp to 0
        ([0.5, 0.2, 0.4], 0, 0.3, 0.3),  # 0.9 - 0.6 = 0.3, interior
        ([0.5, 0.9, 0.9], 0, 0.9, 0.9),  # 2.7 - 1.8 = 0.9
        ([0.5, 0.0, 0.1], 0, 0.8, 1.0),  # 2.4 - 0.1 = 2.3 -> clamp to 1
    ],
)
def test_best_response_against_average_closed_form(reports, i, x, expected):
    """Spec §7: for the average the best response is clamp(n x_i - sum_{j != i} r_j, 0, 1)."""
    model = _AverageModel(reports)
    agent = fa.FacilityAgent(
        model, i, x, fa.make_behaviour("best_response"), np.random.default_rng(0)
    )
    agent.report = reports[i]
    assert agent.strategic
    agent.step()
    assert agent.report == pytest.approx(expected, abs=1e-9)


def test_best_response_keeps_current_report_when_no_gain():
    model = _AverageModel([0.0, 0.0, 0.0])
    agent = fa.FacilityAgent(
        model, 0, 0.0, fa.make_behaviour("best_response"), np.random.default_rng(0)
    )
    agent.report = 0.0
    agent.step()
    assert agent.report == 0.0


def test_facility_agent_is_a_mesa_agent():
    assert issubclass(fa.FacilityAgent, mesa.Agent)
    model = _AverageModel([0.2])
    a = fa.FacilityAgent(model, 0, 0.2, fa.make_behaviour("truthful"), np.random.default_rng(0))
    assert a in model.agents and a.report == 0.2 and a.initial_report() == 0.2
    assert fa.FacilityAgent.__module__ == "fairsim.agents.facility"
