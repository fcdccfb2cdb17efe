"""Sweep expansion: grid x zip x random, order, validation with file:line, determinism."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from fairsim.errors import InputError, ScenarioError
from fairsim.scenarios import schema
from fairsim.scenarios.loader import load_scenario, load_scenario_text, scenario_base_dir
from fairsim.scenarios.sweeps import (
    SWEEP_SPAWN_KEY,
    DesignPoint,
    count_design_points,
    count_runs,
    expand,
    parse_path,
)

FILES = Path(__file__).parent / "files"

BASE = """\
kind: facility_location
name: t
seed: 5
agents:
  n: 5
  locations: {distribution: beta, a: 2.0, b: 2.0}
mechanisms: [uniform_phantom]
"""


def load(text: str, **kw):
    return load_scenario_text(textwrap.dedent(text), "t.yaml", **kw)


def sweep_error(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        expand(load(text))
    return str(info.value).splitlines()


def test_no_sweep_gives_one_point():
    s = load(BASE)
    (dp,) = expand(s)
    assert dp == DesignPoint(index=0, params={}, scenario=s)
    assert dp.scenario.sweep is None
    assert count_design_points(s) == 1
    assert count_runs(s) == 1


def test_grid_zip_random_count_and_order():
    s = load_scenario(FILES / "sweep.yaml")
    points = expand(s)
    assert len(points) == 3 * 2 * 2 * 2 == count_design_points(s)
    assert count_runs(s) == 24 * 2
    assert [p.index for p in points] == list(range(24))
    # grid first key slowest, then second grid key, then zip, then random samples (innermost)
    expected_prefix = []
    for n in (3, 5, 7):
        for mechs in (["uniform_phantom"], ["median", "average"]):
            for a, b in ((1.0, 4.0), (2.0, 0.5)):
                for _ in range(2):
                    expected_prefix.append((n, mechs, a, b))
    got = [
        (
            p.params["agents.n"],
            p.params["mechanisms"],
            p.params["agents.locations.a"],
            p.params["agents.locations.b"],
        )
        for p in points
    ]
    assert got == expected_prefix
    assert list(points[0].params) == [
        "agents.n",
        "mechanisms",
        "agents.locations.a",
        "agents.locations.b",
        "dynamics.max_rounds",
    ]
    # the swept values are applied to a concrete, validated scenario without a sweep
    for p in points:
        sc = p.scenario
        assert isinstance(sc, schema.FacilityScenario) and sc.sweep is None
        assert sc.agents.n == p.params["agents.n"]
        assert [m.name for m in sc.mechanisms] == p.params["mechanisms"]
        assert (sc.agents.locations.a, sc.agents.locations.b) == (
            p.params["agents.locations.a"],
            p.params["agents.locations.b"],
        )
        assert sc.dynamics.max_rounds == p.params["dynamics.max_rounds"]
        assert sc.replications == 2 and sc.seed == 3 and sc.name == "sweep"
        assert scenario_base_dir(sc) == FILES.resolve()


def test_random_draws_follow_documented_stream_and_are_shared():
    s = load_scenario(FILES / "sweep.yaml")
    points = expand(s)
    rng = np.random.default_rng(np.random.SeedSequence(3, spawn_key=(SWEEP_SPAWN_KEY,)))
    want = [int(v) for v in rng.integers(10, 100, size=2, endpoint=True)]
    for block in range(12):  # the same two samples under every grid x zip combination
        got = [points[2 * block + k].params["dynamics.max_rounds"] for k in range(2)]
        assert got == want
    assert all(10 <= v <= 100 and isinstance(v, int) for v in want)


def test_random_sweeps_deterministic_and_seeded():
    text = BASE + textwrap.dedent(
        """\
        sweep:
          random:
            samples: 50
            params:
              agents.locations.a: {uniform: [0.5, 3.0]}
              agents.n: {randint: [2, 4]}
              mechanisms: {choice: [[median], [uniform_phantom, average]]}
        """
    )
    a = [p.params for p in expand(load(text))]
    b = [p.params for p in expand(load(text))]
    c = [p.params for p in expand(load(text, seed=6))]
    assert a == b
    assert a != c
    assert len(a) == 50
    assert all(0.5 <= p["agents.locations.a"] <= 3.0 for p in a)
    assert {p["agents.n"] for p in a} == {2, 3, 4}  # inclusive bounds, 50 draws
    assert {tuple(p["mechanisms"]) for p in a} == {("median",), ("uniform_phantom", "average")}


def test_seed_override_changes_random_but_not_grid():
    text = BASE + "sweep:\n  grid: {agents.n: [3, 4]}\n"
    assert [p.params for p in expand(load(text))] == [p.params for p in expand(load(text, seed=9))]
    assert [p.scenario.seed for p in expand(load(text, seed=9))] == [9, 9]


def test_sweep_over_whole_locations_and_list_items():
    text = BASE.replace(
        "mechanisms: [uniform_phantom]",
        "mechanisms: [uniform_phantom, {name: constant, params: {c: 0.5}}]",
    ) + textwrap.dedent(
        """\
        sweep:
          grid:
            agents.locations:
              - {distribution: endpoints, p: 0.3}
              - {distribution: uniform}
            mechanisms[1].params.c: [0.1, 0.9]
        """
    )
    points = expand(load(text))
    assert len(points) == 4
    assert isinstance(points[0].scenario.agents.locations, schema.EndpointLocations)
    assert isinstance(points[3].scenario.agents.locations, schema.UniformLocations)
    assert [p.scenario.mechanisms[1].params["c"] for p in points] == [0.1, 0.9, 0.1, 0.9]
    assert [p.scenario.mechanisms[1].display for p in points][:2] == [
        "constant(c=0.1)",
        "constant(c=0.9)",
    ]


def test_count_runs_with_swept_replications():
    text = BASE + "sweep:\n  grid: {replications: [1, 4]}\n  zip: {agents.n: [3, 4, 5]}\n"
    s = load(text)
    assert count_design_points(s) == 6
    assert count_runs(s) == 3 * 1 + 3 * 4
    assert sum(p.scenario.replications for p in expand(s)) == 15


# ------------------------------------------------------------------ errors with file:line


def test_zip_length_mismatch():
    text = BASE + "sweep:\n  zip:\n    agents.n: [3, 4]\n    agents.locations.a: [1.0]\n"
    with pytest.raises(ScenarioError) as info:
        load(text)
    assert str(info.value) == (
        "t.yaml:9: sweep.zip: zip lists must have equal lengths; "
        "got {'agents.n': 2, 'agents.locations.a': 1}"
    )


def test_empty_grid_list():
    with pytest.raises(
        ScenarioError, match=r"^t\.yaml:9: sweep\.grid: grid list for 'agents\.n' is empty$"
    ):
        load(BASE + "sweep:\n  grid:\n    agents.n: []\n")


def test_unknown_path_rejected_at_load():
    with pytest.raises(ScenarioError) as info:
        load(BASE + "sweep:\n  grid:\n    agents.m: [1, 2]\n")
    assert str(info.value) == (
        "t.yaml:10: sweep.grid[\"agents.m\"]: unknown path 'agents.m': "
        "agents has no field 'm'; fields: n, locations, behaviours"
    )


def test_path_into_other_distribution_rejected():
    text = BASE.replace("{distribution: beta, a: 2.0, b: 2.0}", "{distribution: uniform}")
    with pytest.raises(ScenarioError) as info:
        load(text + "sweep:\n  zip:\n    agents.locations.a: [1, 2]\n")
    (line,) = str(info.value).splitlines()
    assert line.startswith('t.yaml:10: sweep.zip["agents.locations.a"]: unknown path')
    assert "agents.locations has no field 'a'" in line


def test_overlapping_and_bad_keys():
    with pytest.raises(ScenarioError) as info:
        load(
            BASE
            + "sweep:\n  grid:\n    agents.locations: [{distribution: uniform}]\n"
            + "  zip:\n    agents.locations.a: [1.0]\n    a..b: [1]\n"
        )
    lines = str(info.value).splitlines()
    assert lines[0].startswith('t.yaml:12: sweep.zip["agents.locations.a"]: overlaps sweep key')
    assert lines[1].startswith('t.yaml:13: sweep.zip["a..b"]: sweep key must be a dotted path')


def test_bad_grid_value_names_key_and_item_line():
    text = BASE + "sweep:\n  grid:\n    agents.n:\n      - 3\n      - 0\n"
    assert sweep_error(text) == [
        't.yaml:12: sweep.grid["agents.n"][1]: value 0 for agents.n: agents.n: '
        "Input should be greater than or equal to 1"
    ]


def test_bad_mechanism_list_in_sweep():
    text = BASE + "sweep:\n  grid:\n    mechanisms:\n      - [median]\n      - [median, medain]\n"
    (line,) = sweep_error(text)
    assert line.startswith(
        "t.yaml:12: sweep.grid.mechanisms[1]: value ['median', 'medain'] for mechanisms: "
        "mechanisms[1]: unknown mechanism 'medain'; available: "
    )


def test_bad_random_value_points_at_param():
    text = (
        BASE + "sweep:\n  random:\n    samples: 3\n    params:\n      agents.n: {randint: [0, 0]}\n"
    )
    lines = sweep_error(text)
    assert lines[0] == (
        't.yaml:12: sweep.random.params["agents.n"]: value 0 for agents.n: agents.n: '
        "Input should be greater than or equal to 1"
    )


def test_random_param_validation():
    with pytest.raises(ScenarioError, match=r"t\.yaml:12: .*low <= high"):
        load(
            BASE
            + "sweep:\n  random:\n    samples: 3\n    params:\n      agents.n: {randint: [5, 2]}\n"
        )
    with pytest.raises(ScenarioError, match="exactly one of uniform, randint, choice"):
        load(BASE + "sweep:\n  random:\n    samples: 3\n    params:\n      seed: {}\n")


def test_swept_csv_n_checked_per_point():
    text = (FILES / "quick.yaml").read_text() + "sweep:\n  grid:\n    agents.n: [4, 3]\n"
    s = load_scenario_text(text, "q.yaml", base_dir=FILES)  # base n matches; not checked at load
    with pytest.raises(ScenarioError) as info:
        expand(s)
    (line,) = str(info.value).splitlines()
    assert line.startswith('q.yaml:24: sweep.grid["agents.n"][1]: value 3 for agents.n: ')
    assert "rows hold 4 locations but the scenario has n=3 agents" in line


def test_expand_rejects_non_scenarios():
    with pytest.raises(InputError, match="validated scenario model"):
        expand({"kind": "facility_location"})


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("agents.n", ("agents", "n")),
        ("mechanisms[1].params.c", ("mechanisms", 1, "params", "c")),
        ("mechanisms.1.params.c", ("mechanisms", 1, "params", "c")),
        ("replications", ("replications",)),
    ],
)
def test_parse_path(key, path):
    assert parse_path(key) == path


@pytest.mark.parametrize("key", ["", ".a", "a.", "a..b", "a[x]", "a]b"])
def test_parse_path_rejects(key):
    with pytest.raises(InputError):
        parse_path(key)
