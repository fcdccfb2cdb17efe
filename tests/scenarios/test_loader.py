"""Scenario loader: safe YAML, validation, ``file:line: field.path: message`` errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.errors import InputError, ScenarioError
from fairsim.scenarios import _yaml, schema
from fairsim.scenarios.loader import (
    load_scenario,
    load_scenario_text,
    read_text,
    scenario_base_dir,
    scenario_hash,
    scenario_source,
)

FILES = Path(__file__).parent / "files"

BASE = """\
kind: facility_location
name: t
agents:
  n: 5
mechanisms: [uniform_phantom, median]
"""


def load(text: str, **kw):
    return load_scenario_text(textwrap.dedent(text), "t.yaml", **kw)


def error_lines(text: str, **kw) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load(text, **kw)
    return str(info.value).splitlines()


# ------------------------------------------------------------------ valid files


def test_quick_file_loads_with_defaults_and_shorthands():
    s = load_scenario(FILES / "quick.yaml")
    assert isinstance(s, schema.FacilityScenario)
    assert (s.name, s.seed, s.replications, s.agents.n) == ("quick", 11, 3, 4)
    assert isinstance(s.agents.locations, schema.CsvLocations)
    assert [m.name for m in s.mechanisms] == ["uniform_phantom", "median", "constant"]
    assert s.mechanisms[2].params == {"c": 0.25}
    assert [b.name for b in s.agents.behaviours] == ["truthful"]
    assert s.axioms == ["ifs", "ufs", "pf"]
    assert s.dynamics.max_rounds == 20 and s.dynamics.tol == 1e-12
    assert scenario_base_dir(s) == FILES.resolve()
    src = scenario_source(s)
    assert src is not None and src.filename.endswith("quick.yaml")
    assert src.lines[("agents", "locations", "path")] == 11


def test_defaults_fill_in():
    s = load(BASE)
    assert s.seed == 0 and s.replications == 1
    assert isinstance(s.agents.locations, schema.UniformLocations)
    assert s.axioms == schema.DEFAULT_FACILITY_AXIOMS
    assert s.metrics == schema.DEFAULT_FACILITY_METRICS
    assert s.sweep is None


def test_locations_without_distribution_mean_uniform():
    s = load(BASE.replace("  n: 5\n", "  n: 5\n  locations: {low: 0.2, high: 0.6}\n"))
    assert isinstance(s.agents.locations, schema.UniformLocations)
    assert (s.agents.locations.low, s.agents.locations.high) == (0.2, 0.6)


def test_seed_override():
    assert load(BASE + "seed: 4\n").seed == 4
    assert load(BASE + "seed: 4\n", seed=99).seed == 99
    assert load_scenario(FILES / "quick.yaml", seed=5).seed == 5
    with pytest.raises(InputError, match="seed"):
        load(BASE, seed=-1)


def test_anchors_aliases_merge_and_exponent_floats():
    s = load(
        """\
        kind: facility_location
        name: &nm shared
        description: *nm
        agents: {n: 3}
        mechanisms: [median]
        dynamics:
          <<: {max_rounds: 7, tol: 1e-9}
          max_rounds: 9
        """
    )
    assert s.description == s.name == "shared"
    assert s.dynamics.max_rounds == 9  # an explicit key wins over the merged one
    assert s.dynamics.tol == 1e-9  # YAML 1.2 float, not the string "1e-9"


def test_hash_is_canonical():
    a = load(BASE)
    b = load(
        "name: t\nmechanisms:\n  - {name: uniform_phantom}\n  - median\n"
        "kind: facility_location\nagents: {n: 5, locations: {distribution: uniform}}\nseed: 0\n"
    )
    assert a == b
    assert scenario_hash(a) == scenario_hash(b)
    assert len(scenario_hash(a)) == 64
    assert scenario_hash(load(BASE, seed=1)) != scenario_hash(a)


# ------------------------------------------------------------------ error format, literally


def test_message_format_literal_bad_value():
    text = BASE.replace("  n: 5\n", "  n: 5\n  locations: {distribution: beta, a: 0, b: 2}\n")
    assert error_lines(text) == ["t.yaml:5: agents.locations.a: Input should be greater than 0"]


def test_message_format_literal_nested_block():
    text = """\
    kind: facility_location
    name: t
    agents:
      n: 5
      locations:
        distribution: beta
        a: 1
        b: -2
    mechanisms: [median]
    """
    assert error_lines(text) == ["t.yaml:8: agents.locations.b: Input should be greater than 0"]


def test_unknown_key_has_line_and_allowed_keys():
    text = BASE + "dynamics:\n  max_round: 3\n"
    assert error_lines(text) == [
        "t.yaml:7: dynamics.max_round: unknown key 'max_round'; "
        "allowed keys: max_rounds, tol, record_rounds"
    ]


def test_unknown_top_level_key():
    (line,) = error_lines(BASE + "replicatoins: 4\n")
    assert line.startswith(
        "t.yaml:6: replicatoins: unknown key 'replicatoins'; allowed keys: kind,"
    )


def test_missing_required_key_points_at_parent():
    text = (
        "kind: facility_location\nname: t\nagents:\n  behaviours: truthful\nmechanisms: [median]\n"
    )
    assert error_lines(text) == ["t.yaml:3: agents.n: required key is missing"]


def test_bad_types_each_reported():
    text = BASE.replace("  n: 5", "  n: five") + "replications: [1]\n"
    lines = error_lines(text)
    assert lines[0] == (
        "t.yaml:4: agents.n: Input should be a valid integer, unable to parse string as an integer"
    )
    assert lines[1] == "t.yaml:6: replications: Input should be a valid integer"
    assert len(lines) == 2


def test_unknown_mechanism_lists_available_names():
    (line,) = error_lines(BASE.replace("median]", "medain]"))
    assert line.startswith("t.yaml:5: mechanisms[1]: unknown mechanism 'medain'; available: ")
    for name in ("uniform_phantom", "median", "average", "random_rank", "constant"):
        assert name in line


def test_unknown_axiom_and_metric():
    lines = error_lines(BASE + "axioms: [ifs, fairness]\nmetrics:\n  - welfare\n")
    assert lines[0].startswith("t.yaml:6: axioms: unknown axiom 'fairness'; available: ")
    assert "strategyproofness" in lines[0]
    assert lines[1].startswith("t.yaml:7: metrics: unknown metric 'welfare'; available: ")


def test_unknown_distribution_points_at_its_key():
    text = BASE.replace("  n: 5\n", "  n: 5\n  locations:\n    distribution: gaussian\n")
    (line,) = error_lines(text)
    assert line.startswith(
        "t.yaml:6: agents.locations.distribution: unknown distribution 'gaussian'"
    )
    assert "'beta'" in line and "'csv'" in line


def test_model_validator_error():
    text = BASE.replace(
        "  n: 5\n", "  n: 5\n  locations: {distribution: uniform, low: 0.8, high: 0.2}\n"
    )
    assert error_lines(text) == ["t.yaml:5: agents.locations: low=0.8 must be <= high=0.2"]


def test_behaviour_shares_must_sum_to_one():
    text = BASE.replace(
        "  n: 5\n",
        "  n: 5\n  behaviours:\n    - {name: truthful, share: 0.5}\n    - {name: best_response, share: 0.2}\n",
    )
    assert error_lines(text) == ["t.yaml:3: agents: behaviour shares must sum to 1; got 0.7"]


# ------------------------------------------------------------------ kind


ALL_KINDS = ", ".join(sorted(schema.KINDS))
assert "facility_location" in ALL_KINDS and "participatory_budgeting" in ALL_KINDS


def test_missing_kind():
    assert error_lines("name: t\nagents: {n: 3}\n") == [
        "t.yaml:1: kind: missing; the top-level 'kind:' key must be one of: " + ALL_KINDS
    ]


def test_unknown_kind():
    assert error_lines("name: t\n\nkind: voting\n") == [
        "t.yaml:3: kind: unknown kind 'voting'; available: " + ALL_KINDS
    ]


# ------------------------------------------------------------------ YAML-level errors


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "!!python/name:os.system",
        "!custom 3",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
    ],
)
def test_tags_rejected(tagged, tmp_path):
    marker = tmp_path / "pwned"
    text = BASE + f"description: {tagged.replace('pwned', str(marker))}\n"
    (line,) = error_lines(text)
    assert line.startswith("t.yaml:6: description: unsupported YAML tag ")
    assert not marker.exists()


def test_tag_on_nested_mapping_rejected():
    text = BASE.replace("  n: 5\n", "  n: 5\n  locations: !!python/object:dict {a: 1}\n")
    (line,) = error_lines(text)
    assert line.startswith(
        "t.yaml:5: agents.locations: unsupported YAML tag 'tag:yaml.org,2002:python/object:dict'"
    )


def test_duplicate_keys():
    text = BASE + "seed: 1\nseed: 2\n"
    assert error_lines(text) == ["t.yaml:7: seed: duplicate key 'seed' (first defined on line 6)"]
    nested = BASE.replace("  n: 5\n", "  n: 5\n  n: 6\n")
    assert error_lines(nested) == [
        "t.yaml:5: agents.n: duplicate key 'n' (first defined on line 4)"
    ]


def test_syntax_error_has_line():
    (line,) = error_lines(BASE + "agents: [1, 2\n")
    assert line.startswith("t.yaml:") and "YAML syntax error" in line
    (line,) = error_lines("kind: facility_location\nname: t\n  bad: indent\n")
    assert line.startswith("t.yaml:3: YAML syntax error")


@pytest.mark.parametrize("text", ["", "   \n# only a comment\n"])
def test_empty_file(text):
    assert error_lines(text) == ["t.yaml: empty scenario file"]


def test_top_level_must_be_mapping():
    assert error_lines("- a\n- b\n") == [
        "t.yaml:1: the top level must be a mapping of keys; got a list"
    ]


def test_two_documents_rejected():
    (line,) = error_lines(BASE + "---\nkind: facility_location\n")
    assert "YAML syntax error" in line and "single document" in line


def test_recursive_alias_and_alias_bomb(monkeypatch):
    monkeypatch.setattr(_yaml, "_MAX_VALUES", 50_000)
    (line,) = error_lines(BASE + "description: &a [1, *a]\n")
    assert "recursive alias" in line
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 8):
        bomb += f"a{i}: &a{i} [{', '.join(['*a' + (str(i - 1) if i > 1 else '')] * 10)}]\n"
    (line,) = error_lines(bomb)
    assert "more than 50000 values" in line


def test_read_text_errors(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        read_text(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"kind: facility_location\nname: \xff\xfe\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    assert str(info.value) == f"{bad}:2: file is not valid UTF-8 text"


def test_file_errors_name_the_path_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("quick.yaml").write_text(BASE + "\n\n\n\n\n\nagents: {n: 0}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario("quick.yaml")
    assert (
        str(info.value) == "quick.yaml:12: agents: duplicate key 'agents' (first defined on line 3)"
    )
    Path("quick.yaml").write_text(BASE.replace("n: 5", "n: 0"))
    with pytest.raises(ScenarioError) as info:
        load_scenario("quick.yaml")
    assert str(info.value) == "quick.yaml:4: agents.n: Input should be greater than or equal to 1"
    assert info.value.issues == [
        ("quick.yaml", 4, "agents.n", "Input should be greater than or equal to 1")
    ]


def test_csv_problems_reported_at_load(tmp_path):
    data = Path(__file__).parents[1] / "data"
    (tmp_path / "bad.csv").write_text((data / "locations_bad_cell.csv").read_text())
    f = tmp_path / "s.yaml"
    f.write_text(
        BASE.replace("n: 5", "n: 3").replace(
            "  n: 3\n", "  n: 3\n  locations:\n    distribution: csv\n    path: bad.csv\n"
        )
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    msg = str(info.value)
    assert msg.startswith(f"{f}:7: agents.locations.path: {tmp_path / 'bad.csv'}:2: ")
    assert "'abc'" in msg
    f.write_text(f.read_text().replace("bad.csv", "missing.csv"))
    with pytest.raises(ScenarioError, match="location file not found"):
        load_scenario(f)


def test_mechanism_params_checked_against_registry():
    text = BASE.replace("median]", "{name: constant, params: {cc: 0.5}}]")
    (line,) = error_lines(text)
    assert line.startswith(
        "t.yaml:5: mechanisms[1].params: unknown parameter(s) 'cc' for mechanism 'constant'; "
        "parameters: c"
    )
    text = BASE.replace("median]", "constant]")
    assert error_lines(text) == [
        "t.yaml:5: mechanisms[1]: mechanism 'constant' needs parameter(s) 'c'"
    ]
    s = load(BASE.replace("median]", "{name: median, params: {side: right}}]"))
    assert s.mechanisms[1].params == {"side": "right"}


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=True),
    st.text(alphabet="abcxyz _-", max_size=8),
)
_keys = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _values, min_size=1, max_size=5))
def test_parser_agrees_with_pyyaml_safe_load(doc):
    text = yaml.safe_dump(doc, default_flow_style=False, sort_keys=False)
    value, lines = _yaml.parse_yaml(text, "h.yaml")
    assert value == yaml.safe_load(text)
    # every value path has a line inside the file, and keys appear on their line
    n_lines = text.count("\n")
    stack = [((), value)]
    while stack:
        path, v = stack.pop()
        if path:
            assert 1 <= lines[path] <= n_lines
        if isinstance(v, dict):
            for k, sub in v.items():
                assert k in text.splitlines()[lines[(*path, k)] - 1]
                stack.append(((*path, k), sub))
        elif isinstance(v, list):
            stack.extend(((*path, i), sub) for i, sub in enumerate(v))
