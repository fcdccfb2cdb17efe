"""``kind: federated`` scenarios: validation, client types, errors with file:line: field."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairsim.errors import ScenarioError
from fairsim.scenarios.loader import load_scenario, load_scenario_text
from fairsim.scenarios.schema import KINDS
from fairsim.scenarios.schema_federated import FederatedScenario
from fairsim.scenarios.sweeps import expand

ROOT = Path(__file__).resolve().parents[2]

TEXT = """\
kind: federated
name: fl_small
seed: 1
n_clients: 6
behaviours:
  - {name: free_rider, count: 2, params: {mode: zero}}
  - {name: noisy, count: 1}
data: {n_samples: 600, n_features: 5, n_classes: 3, partition: dirichlet, alpha: 1.0}
training: {local_steps: 2, batch_size: 16, lr: 0.1}
rounds: 4
mechanisms:
  - fedavg
  - {name: rffl, params: {clip_norm: 1.0}, label: rffl_c1}
compare_to: fedavg
"""


def _err(text: str) -> str:
    with pytest.raises(ScenarioError) as exc:
        load_scenario_text(text, filename="fl.yaml")
    return str(exc.value)


def test_kind_registered_and_fields() -> None:
    assert KINDS["federated"] is FederatedScenario
    s = load_scenario_text(TEXT)
    assert isinstance(s, FederatedScenario)
    # honest clients first, then the groups in the order given
    assert s.types() == ["honest", "honest", "honest", "free_rider", "free_rider", "noisy"]
    assert s.behaviour_params() == {"free_rider": {"mode": "zero"}}
    assert [m.display for m in s.mechanisms] == ["fedavg", "rffl_c1"]
    assert s.data.partition == "dirichlet" and s.data.alpha == 1.0
    assert s.training.model == "logreg" and s.training.backend == "vmap"
    assert s.analyses == []


def test_share_rounds_to_clients() -> None:
    text = TEXT.replace(
        "{name: free_rider, count: 2, params: {mode: zero}}", "{name: sign_flip, share: 0.25}"
    )
    s = load_scenario_text(text)
    # round(0.25 * 6) = round(1.5) -> 2 (half up), plus the noisy client
    assert s.types() == ["honest"] * 3 + ["sign_flip"] * 2 + ["noisy"]


def test_explicit_client_types() -> None:
    text = TEXT.split("behaviours:")[0] + (
        "client_types: [honest, scaled, honest, honest, free_rider, honest]\n"
        "data: {n_samples: 600}\nrounds: 2\nmechanisms: [fedavg]\n"
    )
    s = load_scenario_text(text)
    assert s.types() == ["honest", "scaled", "honest", "honest", "free_rider", "honest"]


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "words"),
    [
        ("rounds: 4", "rounds: 0", 10, "rounds", "greater than or equal to 1"),
        ("n_clients: 6", "n_client: 6", 4, "n_client", "unknown key"),
        ("partition: dirichlet", "partition: pathological", 8, "data.partition", "iid"),
        (
            "{name: noisy, count: 1}",
            "{name: lazy, count: 1}",
            7,
            "behaviours[1].name",
            "free_rider",
        ),
        ("  - fedavg\n", "  - fedsgd\n", 12, "mechanisms[0]", "unknown mechanism"),
        ("compare_to: fedavg", "compare_to: rffl", None, "", "not a mechanism label"),
        ("count: 2, params", "count: 6, params", None, "", "n_clients is 6"),
        ("lr: 0.1", "lr: -0.1", 9, "training.lr", "greater than 0"),
    ],
)
def test_bad_fields_name_file_line_and_field(
    old: str, new: str, line: int | None, path: str, words: str
) -> None:
    assert old in TEXT
    msg = _err(TEXT.replace(old, new))
    assert words in msg
    if line is not None:
        assert f"fl.yaml:{line}: {path}" in msg, msg


def test_client_types_checks() -> None:
    head = TEXT.split("behaviours:")[0]
    tail = "data: {n_samples: 600}\nrounds: 2\nmechanisms: [fedavg]\n"
    assert "n_clients is 6" in _err(head + "client_types: [honest, honest]\n" + tail)
    both = TEXT.replace(
        "rounds: 4", "rounds: 4\nclient_types: [honest, honest, honest, honest, honest, honest]"
    )
    assert "not both" in _err(both)
    assert "free_rider" in _err(
        head + "client_types: [honest, x, honest, honest, honest, honest]\n" + tail
    )


def test_duplicate_labels_and_small_data() -> None:
    dup = TEXT.replace("label: rffl_c1", "label: fedavg")
    assert "unique" in _err(dup)
    assert "too small" in _err(TEXT.replace("n_samples: 600", "n_samples: 40"))


def test_unknown_behaviour_or_mechanism_parameter() -> None:
    msg = _err(TEXT.replace("params: {mode: zero}", "params: {speed: 2}"))
    assert "speed" in msg and "fl.yaml:6: behaviours[0].params" in msg
    msg = _err(TEXT.replace("params: {clip_norm: 1.0}", "params: {clip: 1.0}"))
    assert "'clip'" in msg and "fl.yaml:13: mechanisms[1].params" in msg


def test_conflicting_behaviour_params() -> None:
    text = TEXT.replace(
        "{name: noisy, count: 1}", "{name: free_rider, count: 1, params: {mode: random}}"
    )
    assert "parameters twice" in _err(text)


def test_sweep_expands_per_point() -> None:
    text = TEXT + "sweep:\n  grid: {rounds: [2, 3], data.alpha: [0.1, 10.0]}\n"
    s = load_scenario_text(text)
    points = expand(s)
    assert len(points) == 4
    got = sorted((p.scenario.rounds, p.scenario.data.alpha) for p in points)
    assert got == [(2, 0.1), (2, 10.0), (3, 0.1), (3, 10.0)]


@pytest.mark.parametrize(
    "path",
    [
        "scenarios/federated/free_riders.yaml",
        "scenarios/papers/rffl_reputation.yaml",
        "scenarios/papers/fae_equality.yaml",
        "scenarios/papers/gtg_shapley.yaml",
        "scenarios/papers/fedce_uniformity.yaml",
    ],
)
def test_shipped_scenarios_validate(path: str) -> None:
    s = load_scenario(ROOT / path)
    assert s.kind == "federated" and s.claims


def test_reference_must_be_a_mechanism_label() -> None:
    s = load_scenario_text(TEXT + "reference: rffl_c1\n")
    assert s.reference == "rffl_c1"
    assert load_scenario_text(TEXT).reference is None
    msg = _err(TEXT + "reference: mr_exact\n")
    assert "reference 'mr_exact' is not a mechanism label" in msg
    s = load_scenario_text(TEXT.replace("  - fedavg\n", "  - fedavg\n  - or_exact\n"))
    assert [m.name for m in s.mechanisms] == ["fedavg", "or_exact", "rffl"]
