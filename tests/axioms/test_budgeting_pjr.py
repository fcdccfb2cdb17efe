"""PJR and EJR search with live-class pruning and the signature cover (spec budgeting.md §6.1, §7).

Golden verdicts come from ``holds`` in test_budgeting.py: a Fraction brute force over every
voter subset and project set, independent of the search, the MILPs and the pruning.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.axioms import _budgeting_pjr
from fairsim.axioms import budgeting as ab
from fairsim.axioms._budgeting_common import profile
from tests.axioms.test_budgeting import _election, _mask, holds


def _instance(rnd: random.Random, rows: int, m: int, p_w: float = 0.45):
    costs = [rnd.randint(1, 6) for _ in range(m)]
    budget = rnd.randint(max(costs), sum(costs))
    sets = [{c for c in range(m) if rnd.random() < 0.5} for _ in range(rows)]
    weights = [rnd.randint(1, 4) for _ in range(rows)]
    W = {c for c in range(m) if rnd.random() < p_w}
    return sets, weights, costs, budget, W


@pytest.mark.parametrize("utility", ["cost", "cardinality"])
def test_larger_random_instances_match_brute_force(utility):
    # 7 ballot rows and 6 projects: deeper searches than test_budgeting's, where the live
    # pruning and the multi-signature cover both act
    rnd = random.Random(11 if utility == "cost" else 12)
    seen = {("pjr", True): 0, ("pjr", False): 0, ("ejr", False): 0}
    for _ in range(60):
        sets, weights, costs, budget, W = _instance(rnd, 7, 6)
        e = _election(sets, weights, costs, budget)
        Wm = _mask(W, len(costs))
        for axiom, f in (("pjr", ab.pjr), ("ejr", ab.ejr)):
            want = holds(axiom, sets, weights, costs, budget, W, utility)
            seen[(axiom, want)] = seen.get((axiom, want), 0) + 1
            for meth in ("enumerate", "ilp", "auto"):
                v = f(e, Wm, utility, method=meth)
                assert v.holds == want, (axiom, meth, sets, weights, costs, budget, W)
                if not want:
                    _assert_real_violation(axiom, v, sets, weights, costs, budget, W, utility)
                else:
                    assert v.slack >= -1e-12
    assert all(seen.values()), seen


def _assert_real_violation(axiom, v, sets, weights, costs, budget, W, utility):
    """Re-check a witness from scratch: cohesive, large enough, and under-represented."""
    T = {int(p) for p in v.witness["projects"]}
    G = v.witness["voters"]
    n = sum(weights)
    u = (lambda X: sum(costs[c] for c in X)) if utility == "cost" else len
    assert G and all(T <= sets[r] for r in G)
    assert sum(weights[r] for r in G) * budget >= n * sum(costs[c] for c in T)
    if axiom == "ejr":
        assert all(u(sets[r] & W) < u(T) for r in G)
    else:
        assert u(set().union(*(sets[r] for r in G)) & W) < u(T)
    assert v.slack <= 1e-12


def test_cover_milp_agrees_with_enumeration(monkeypatch):
    # force the max-coverage MILP for every T (no signature enumeration) and compare
    rnd = random.Random(5)
    checked = 0
    for _ in range(40):
        sets, weights, costs, budget, W = _instance(rnd, 7, 6, p_w=0.6)
        e = _election(sets, weights, costs, budget)
        Wm = _mask(W, len(costs))
        want = holds("pjr", sets, weights, costs, budget, W, "cost")
        monkeypatch.setattr(_budgeting_pjr, "ENUM_SIGS", 0)
        v = ab.pjr(e, Wm, "cost", method="enumerate")
        monkeypatch.setattr(_budgeting_pjr, "ENUM_SIGS", 12)
        assert v.holds == want
        if not want:
            _assert_real_violation("pjr", v, sets, weights, costs, budget, W, "cost")
        checked += 1
    assert checked == 40


def test_heaviest_cover_hand_example():
    # W = {a, b, c}, costs 1, 2, 4 (cost utility). Eligible signatures: {a} weight 3, {b} weight 2,
    # {a, b} weight 1, {c} weight 5. With u(T) = 4: X = {a, b} (u = 3 < 4) covers 3 + 2 + 1 = 6;
    # X = {c} has u = 4, not < 4. Heaviest cover: 6 (hand count).
    sets = [{"a"}, {"b"}, {"a", "b"}, {"c"}]
    from fairsim.io.pabulib import Election

    e = Election.from_sets(sets, {"a": 1, "b": 2, "c": 4, "t": 4}, 8, multiplicities=[3, 2, 1, 5])
    P = profile(e, "cost")
    Wm = np.array([p in ("a", "b", "c") for p in P.ids])
    E = np.arange(P.A.shape[0])
    E = E[(P.A & Wm).astype(float) @ P.u < 4]
    wg, G = _budgeting_pjr.heaviest_cover(P, Wm, E, 4.0)
    assert wg == 6
    assert sorted(P.voters(G)) == [0, 1, 2]
    for k in (0, 12):  # the MILP gives the same answer
        _budgeting_pjr.ENUM_SIGS, old = k, _budgeting_pjr.ENUM_SIGS
        try:
            assert _budgeting_pjr.heaviest_cover(P, Wm, E, 4.0)[0] == 6
        finally:
            _budgeting_pjr.ENUM_SIGS = old


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(2, 6),
    st.integers(1, 6),
    st.sampled_from(["cost", "cardinality"]),
)
def test_ejr_implies_pjr_and_search_matches_brute(seed, rows, m, utility):
    rnd = random.Random(seed)
    sets, weights, costs, budget, W = _instance(rnd, rows, m)
    e = _election(sets, weights, costs, budget)
    Wm = _mask(W, m)
    p = ab.pjr(e, Wm, utility, method="enumerate")
    assert p.holds == holds("pjr", sets, weights, costs, budget, W, utility)
    if ab.ejr(e, Wm, utility, method="enumerate").holds:
        assert p.holds


def test_pjr_on_real_district_file():
    # the small approval files in tests/data: the search agrees with the PJR MILP (MES, greedy)
    import os

    from fairsim.io import pabulib
    from fairsim.mechanisms import budgeting as mb

    path = os.path.join(os.path.dirname(__file__), "..", "data", "pabulib")
    files = sorted(f for f in os.listdir(path) if f.endswith(".pb"))
    ran = 0
    for f in files:
        e = pabulib.read(os.path.join(path, f))
        if e.vote_type != "approval" or len(e.project_ids) > 30:
            continue
        e = e.compress()
        for W, util in ((mb.greedy(e), "cost"), (mb.method_of_equal_shares(e, "cost"), "cost")):
            a = ab.pjr(e, W, util, method="enumerate")
            b = ab.pjr(e, W, util, method="ilp")
            assert a.holds == b.holds, f
            ran += 1
    assert ran >= 2


def test_inconclusive_is_its_own_status(monkeypatch):
    # a cover whose MILP answer fails the exact re-check leaves PJR open: status
    # "inconclusive", holds False, never read as a violation
    sets, weights, costs, budget = [{0, 1}, {0, 2}, {1, 2}], [2, 2, 2], [1, 1, 1], 3
    e = _election(sets, weights, costs, budget)
    W = _mask(set(), 3)
    assert ab.pjr(e, W, "cardinality", method="enumerate").status == "fails"

    monkeypatch.setattr(_budgeting_pjr, "heaviest_cover", _cover_left_open)
    v = ab.pjr(e, W, "cardinality", method="enumerate")
    assert v.inconclusive and v.status == "inconclusive" and not v.holds
    assert v.witness["inconclusive"]
    assert ab.pjr(e, _mask({0, 1, 2}, 3), "cardinality").status == "holds"


def _cover_left_open(P, Wm, E, uT):
    raise _budgeting_pjr.Inconclusive


def test_simulator_leaves_inconclusive_cells_null():
    from fairsim.axioms import Verdict
    from fairsim.sim import budgeting as sb
    from fairsim.sim import schema as S

    ok, bad = Verdict("fjr", True), Verdict("fjr", False, {"voters": [1]}, -0.5)
    open_ = Verdict("fjr", False, {"inconclusive": True}, 0.0, inconclusive=True)
    for years, want in (
        ([ok, ok], True),
        ([ok, open_], None),
        ([open_, bad], False),
    ):
        row: dict = {}
        sb._aggregate(row, [({}, {"fjr": v}) for v in years])
        assert row[S.AXIOM_PREFIX + "fjr"] is want
        if want is None:
            assert "inconclusive" in row[S.WITNESS_PREFIX + "fjr"]
        if want is False:
            assert '"voters"' in row[S.WITNESS_PREFIX + "fjr"]


def test_district_file_pjr_search_matches_milp_and_ejr_gap():
    # Warszawa 2017 Nowolipki-Powązki (30 projects, 2,850 voters; the in-repo copy): the live
    # search and the PJR MILP agree for three rules; MES (cost) fails EJR but satisfies PJR,
    # because the EJR witness group's approvals cover more than u(T) of W between them
    import os

    from fairsim.io import pabulib
    from fairsim.mechanisms import budgeting as mb

    path = os.path.join(
        os.path.dirname(__file__),
        *("..", "..", "scenarios", "budgeting", "data"),
        "Poland_Warszawa_2017_Nowolipki__Powazki.pb",
    )
    e = pabulib.read(path).compress()
    mes = mb.method_of_equal_shares(e, "cost")
    for W, util in (
        (mes, "cost"),
        (mb.greedy(e, "cost"), "cost"),
        (mb.method_of_equal_shares(e, "cardinality"), "cardinality"),
    ):
        a = ab.pjr(e, W, util, method="enumerate")
        b = ab.pjr(e, W, util, method="ilp")
        assert a.status == b.status == "holds"
    v = ab.ejr(e, mes, "cost")
    assert not v.holds and v.witness["projects"] == ["2300"]
    pos = {p: j for j, p in enumerate(e.project_ids)}
    costs = dict(zip(e.project_ids, (int(c) for c in e.costs), strict=True))
    rows = e.approvals.tolil().rows
    union = set().union(*(set(rows[r]) for r in v.witness["voters"]))
    covered = sum(costs[p] for p in mes.selected if pos[p] in union)
    assert covered >= costs["2300"]


def test_fjr_open_levels_are_inconclusive(monkeypatch):
    # every level MILP times out and the quick search finds nothing: FJR stays open
    from fairsim.axioms import _budgeting_fjr as fj

    sets, weights, costs, budget = [{0, 1}, {0, 2}, {3}], [2, 2, 1], [1, 1, 1, 1], 3
    e = _election(sets, weights, costs, budget)
    W = _mask({3}, 4)
    assert ab.fjr(e, W, "cardinality", method="ilp").status == "fails"
    monkeypatch.setattr(fj, "_search", lambda *a, **k: None)
    monkeypatch.setattr(fj, "_interval_milp", lambda *a, **k: ("timeout", None))
    v = ab.fjr(e, W, "cardinality", method="ilp")
    assert v.status == "inconclusive" and v.inconclusive and not v.holds
    assert v.witness["open_levels"] >= 1
