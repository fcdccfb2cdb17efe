"""FacilityModel: behaviour assignment, round 0, best-response dynamics (spec §7), scoring."""

from __future__ import annotations

from fractions import Fraction

import mesa
import numpy as np
import pytest

from fairsim.errors import InputError
from fairsim.scenarios.schema import BehaviourSpec, DynamicsSpec, MechanismSpec
from fairsim.sim.facility import (
    FacilityModel,
    assign_behaviours,
    behaviour_label,
    child_seed,
    simulate_facility,
)

SEQ = np.random.SeedSequence(7, spawn_key=(0, 0))
OUTCOME_AXIOMS = ["ifs", "ufs", "pf", "proportionality", "unanimity", "pareto"]


def up_exact(x) -> Fraction:
    """Uniform Phantom by definition: the median of x and the n+1 phantoms k/n (exact)."""
    n = len(x)
    pts = sorted([Fraction(float(v)) for v in x] + [Fraction(k, n) for k in range(n + 1)])
    return pts[n]


def beh(name: str, share: float = 1.0, **params) -> BehaviourSpec:
    return BehaviourSpec(name=name, share=share, params=params)


# ------------------------------------------------------------------ behaviour assignment


@pytest.mark.parametrize(
    "n, shares, counts",
    [
        (5, [0.5, 0.5], [3, 2]),  # round half up: 2.5 -> 3, remainder to the last
        (10, [0.3, 0.3, 0.4], [3, 3, 4]),
        (7, [1 / 3, 2 / 3], [2, 5]),
        (4, [0.0, 1.0], [0, 4]),
        (3, [0.9, 0.05, 0.05], [3, 0, 0]),  # counts cut at n
        (1, [1.0], [1]),
    ],
)
def test_assign_behaviours_counts(n, shares, counts):
    idx = assign_behaviours(n, shares, np.random.default_rng(3))
    assert idx.shape == (n,)
    assert np.bincount(idx, minlength=len(shares)).tolist() == counts


def test_assign_behaviours_follows_the_seeded_permutation():
    perm = np.random.default_rng(11).permutation(8)
    idx = assign_behaviours(8, [0.25, 0.25, 0.5], np.random.default_rng(11))
    assert sorted(np.flatnonzero(idx == 0)) == sorted(perm[:2])
    assert sorted(np.flatnonzero(idx == 1)) == sorted(perm[2:4])
    again = assign_behaviours(8, [0.25, 0.25, 0.5], np.random.default_rng(11))
    assert np.array_equal(idx, again)


def test_assign_behaviours_rejects_bad_input():
    with pytest.raises(InputError, match="n must be"):
        assign_behaviours(0, [1.0], np.random.default_rng(0))
    with pytest.raises(InputError, match="shares"):
        assign_behaviours(3, [], np.random.default_rng(0))


def test_behaviour_label():
    assert behaviour_label([beh("truthful")]) == "truthful"
    assert (
        behaviour_label([beh("best_response", 0.5), beh("truthful", 0.5)])
        == "best_response:0.5+truthful:0.5"
    )


def test_child_seed_is_stateless_and_distinct():
    a = child_seed(SEQ, 2, 1).generate_state(4)
    b = child_seed(SEQ, 2, 1).generate_state(4)
    c = child_seed(SEQ, 2, 0).generate_state(4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# ------------------------------------------------------------------ truthful runs


def test_model_is_a_mesa_model_with_mesa_agents():
    m = FacilityModel([0.1, 0.5, 0.9], MechanismSpec(name="uniform_phantom"), seed_seq=SEQ)
    assert isinstance(m, mesa.Model)
    assert len(m.agents) == 3
    assert all(isinstance(a, mesa.Agent) for a in m.agents)
    assert [a.true_location for a in m.agent_list] == [0.1, 0.5, 0.9]


def test_truthful_uniform_phantom_run():
    x = [0.0, 0.05, 0.3, 0.95]
    rec = simulate_facility(
        x,
        MechanismSpec(name="uniform_phantom"),
        [beh("truthful")],
        DynamicsSpec(),
        OUTCOME_AXIOMS + ["strategyproofness"],
        ["social_welfare", "max_cost"],
        SEQ,
    )
    assert rec.reports == x and rec.locations == x
    assert rec.rounds == 1 and rec.converged
    assert rec.outcome == pytest.approx(float(up_exact(x)), abs=1e-12)
    assert rec.truthful_outcome == rec.outcome
    for a in OUTCOME_AXIOMS + ["strategyproofness"]:
        assert rec.axioms[a].holds, a
        assert rec.axioms[a].witness is None
    sw = sum(1 - abs(Fraction(rec.outcome) - Fraction(v)) for v in x)
    assert rec.metrics["social_welfare"] == pytest.approx(float(sw), abs=1e-12)
    mc = max(abs(Fraction(rec.outcome) - Fraction(v)) for v in x)
    assert rec.metrics["max_cost"] == pytest.approx(float(mc), abs=1e-12)
    assert len(rec.round_rows) == 1
    r0 = rec.round_rows[0]
    assert r0["round"] == 0 and r0["max_change"] is None and r0["reports"] == x
    assert r0["axiom.ufs"] is True and "axiom.strategyproofness" not in r0


def test_violation_has_json_witness():
    # median of (0, 0, 1) is 0; UFS needs the agent at 1 within 1 - 1/3 -> violated.
    rec = simulate_facility(
        [0.0, 0.0, 1.0],
        MechanismSpec(name="median"),
        [beh("truthful")],
        DynamicsSpec(),
        ["ufs", "strategyproofness"],
        [],
        SEQ,
    )
    assert rec.outcome == 0.0
    assert rec.axioms["ufs"].holds is False and rec.axioms["ufs"].slack < 0
    assert isinstance(rec.axioms["ufs"].witness, str) and rec.axioms["ufs"].witness.startswith("{")
    assert rec.axioms["strategyproofness"].holds is True


def test_average_is_not_strategyproof_on_true_profile():
    rec = simulate_facility(
        [0.0, 0.2, 1.0],
        MechanismSpec(name="average"),
        [beh("truthful")],
        DynamicsSpec(),
        ["strategyproofness"],
        [],
        SEQ,
    )
    assert rec.outcome == pytest.approx(0.4)
    assert rec.axioms["strategyproofness"].holds is False
    assert rec.axioms["strategyproofness"].witness is not None


def test_randomized_mechanism_uses_common_random_numbers():
    x = [0.1, 0.4, 0.7, 0.9]
    outs = set()
    for k in range(6):
        rec = simulate_facility(
            x,
            MechanismSpec(name="random_dictatorship"),
            [beh("truthful")],
            DynamicsSpec(),
            [],
            [],
            SEQ,
            mechanism_order=k,
        )
        assert rec.outcome in x
        assert rec.truthful_outcome == rec.outcome  # same draw, same (truthful) reports
        outs.add(rec.outcome)
        again = simulate_facility(
            x,
            MechanismSpec(name="random_dictatorship"),
            [],
            DynamicsSpec(),
            [],
            [],
            SEQ,
            mechanism_order=k,
        )
        assert again.outcome == rec.outcome
    assert len(outs) > 1  # the mechanism order keys the draw


# ------------------------------------------------------------------ dynamics (spec §7)


def test_best_response_average_reaches_uniform_phantom_001():
    rec = simulate_facility(
        [0.0, 0.0, 1.0],
        MechanismSpec(name="average"),
        [beh("best_response")],
        DynamicsSpec(max_rounds=200, tol=1e-12),
        ["ufs"],
        [],
        SEQ,
    )
    assert rec.converged
    assert abs(rec.outcome - 1 / 3) <= 1e-9
    assert rec.axioms["ufs"].holds
    rows = rec.round_rows
    assert [r["round"] for r in rows] == list(range(rec.rounds))
    assert rows[0]["reports"] == [0.0, 0.0, 1.0]
    assert rows[-1]["max_change"] <= 1e-12
    assert rows[-1]["reports"] == rec.reports


@pytest.mark.parametrize("seed", range(12))
def test_best_response_average_equilibrium_is_uniform_phantom(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    x = rng.random(n)
    if seed % 3 == 0:
        x = np.round(x * 3) / 3  # ties
    rec = simulate_facility(
        x,
        MechanismSpec(name="average"),
        [beh("best_response")],
        DynamicsSpec(max_rounds=10_000, tol=1e-12),
        [],
        [],
        SEQ,
    )
    assert rec.converged
    assert abs(Fraction(rec.outcome) - up_exact(x)) <= Fraction(1, 10**9)
    assert all(0.0 <= r <= 1.0 for r in rec.reports)


def test_random_misreporters_keep_their_draw_and_are_paired():
    behaviours = [beh("random_misreport", 0.5, scale=0.3), beh("best_response", 0.5)]
    x = [0.1, 0.2, 0.5, 0.6, 0.9, 0.95]
    a = FacilityModel(
        x, MechanismSpec(name="average"), behaviours, DynamicsSpec(max_rounds=50), seed_seq=SEQ
    )
    b = FacilityModel(
        x,
        MechanismSpec(name="midpoint"),
        behaviours,
        DynamicsSpec(max_rounds=50),
        seed_seq=SEQ,
        mechanism_order=1,
    )
    assert np.array_equal(a.behaviour_index, b.behaviour_index)
    assert np.bincount(a.behaviour_index).tolist() == [3, 3]
    noisy = [ag.index for ag in a.agent_list if ag.behaviour.name == "random_misreport"]
    r0 = a.reports.copy()
    assert np.array_equal(r0[noisy], b.reports[noisy])  # paired across mechanisms
    assert not np.array_equal(r0[noisy], np.asarray(x)[noisy])
    a.result()
    assert np.array_equal(a.reports[noisy], r0[noisy])  # drawn once, kept


def test_all_truthful_has_no_sweeps_and_max_rounds_stops():
    m = FacilityModel([0.2, 0.8], MechanismSpec(name="average"), seed_seq=SEQ)
    assert not m.running and m.converged
    m2 = FacilityModel(
        [0.1, 0.3, 0.8],
        MechanismSpec(name="average"),
        [beh("best_response")],
        DynamicsSpec(max_rounds=1, tol=0.0),
        seed_seq=SEQ,
    )
    rec = m2.result()
    assert rec.rounds == 2 and m2.sweeps == 1
    assert rec.converged is False


def test_model_rejects_bad_locations():
    with pytest.raises(InputError, match="locations"):
        FacilityModel([0.2, 1.5], MechanismSpec(name="average"), seed_seq=SEQ)
