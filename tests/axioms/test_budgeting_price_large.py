"""Priceability certificates and the reduced (row generation, merged classes) path.

The dual certificate of a "not priceable" verdict is re-checked here by a plain Fraction loop
over voters written from the Lagrangian bound (budget row >= α(d − b), pay row >= π(cost −
paid), leftover row >= λ(leftover − cost)); weak duality (a certificate never exceeds the
simplex optimum) is tested on random multipliers; the reduced path must agree with the full
simplex LP on random instances and on real Pabulib files.
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.axioms import _budgeting_price as pr
from fairsim.axioms import budgeting as ab
from fairsim.axioms._budgeting_common import outcome_mask, profile
from tests.axioms.test_budgeting_price import _election

mb = pytest.importorskip("fairsim.mechanisms.budgeting")


def _plain_bound(sets, weights, costs, budget, W, pi, lam):
    """Lower bound on the total relaxation from multipliers (dicts by project index), by a
    plain loop; None if the multipliers are outside the region where the bound is valid."""
    m = len(costs)
    approved = set().union(*sets)
    off = [c for c in range(m) if c not in W and c in approved]
    pi = {c: Fraction(pi.get(c, 0.0)) for c in W}
    lam = {c: Fraction(lam.get(c, 0.0)) for c in off}
    if any(abs(v) > 1 for v in pi.values()) or any(not 0 <= v <= 1 for v in lam.values()):
        return None
    n = sum(Fraction(x) for x in weights)
    b0 = Fraction(budget) / n
    beta = Fraction(0)
    for c in off:
        beta += lam[c] * sum(Fraction(weights[i]) for i, s in enumerate(sets) if c in s)
    for i, s in enumerate(sets):
        tw = [c for c in s if c in W]
        if not tw:
            continue
        a = max(Fraction(0), max(pi[c] for c in tw) + sum(lam[c] for c in s if c in lam))
        if a > 1:
            return None
        beta -= Fraction(weights[i]) * a
    if beta < 0:
        return None
    val = sum(pi[c] * Fraction(costs[c]) for c in W) - sum(lam[c] * Fraction(costs[c]) for c in off)
    return val + b0 * beta


def _cert_dicts(cert):
    pi = {ord(k) - ord("a"): v for k, v in cert["pi"].items()}
    lam = {ord(k) - ord("a"): v for k, v in cert["lambda"].items()}
    return pi, lam


def test_hand_certificate_of_the_greedy_example():
    # voters 1-3 approve {a, b} (cost 2 each), voter 4 approves {c} (cost 1); B = n = 4,
    # W = {a, b}; least relaxation 1/3 (see test_budgeting_price). By hand: π_a = π_b = 1/3,
    # λ_c = 1 give α = 1/3 for voters 1-3, β = 1 − 3·(1/3) = 0, bound 4/3 − 1 = 1/3.
    sets, costs, budget, W = [{0, 1}, {0, 1}, {0, 1}, {2}], [2, 2, 1], 4, {0, 1}
    assert _plain_bound(sets, [1] * 4, costs, budget, W, {0: 1 / 3, 1: 1 / 3}, {2: 1}) == (
        pytest.approx(1 / 3, abs=1e-15)
    )
    e = _election(sets, costs, budget)
    P = profile(e, "cost")
    Wm = outcome_mask(P, ["a", "b"])
    pi, lam = np.array([1 / 3, 1 / 3, 0.0]), np.array([0.0, 0.0, 1.0])
    lb = pr.dual_bound(P, Wm, pi, lam)
    assert lb is not None and abs(lb - Fraction(1, 3)) < Fraction(1, 10**8)
    # the multipliers it returns (rounded to 2^-30) are the ones the bound was computed from
    assert lb == _plain_bound(sets, [1] * 4, costs, budget, W, {0: pi[0], 1: pi[1]}, {2: lam[2]})
    v = ab.priceable(e, ["a", "b"])
    cert = v.witness["certificate"]
    assert cert["lower_bound"] == pytest.approx(1 / 3, abs=1e-7)
    assert v.witness["relaxation_exact"] is True
    assert _plain_bound(sets, [1] * 4, costs, budget, W, *_cert_dicts(cert)) == pytest.approx(
        cert["lower_bound"], rel=1e-12
    )
    # α <= 1 is enforced by scaling: π = 1 and λ = 1 on a voter of a and c would give α = 2
    pi2, lam2 = np.array([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    e2 = _election([{0, 2}, {1}, {2}], [1, 1, 1], 3)
    P2 = profile(e2, "cost")
    lb2 = pr.dual_bound(P2, outcome_mask(P2, ["a", "b"]), pi2, lam2)
    assert lb2 is not None and pi2[0] <= 0.5 and lam2[2] <= 0.5


instances = st.integers(1, 5).flatmap(
    lambda m: st.tuples(
        st.lists(st.sets(st.integers(0, m - 1), max_size=m), min_size=1, max_size=7),
        st.lists(st.integers(1, 9), min_size=m, max_size=m),
        st.integers(1, 20),
        st.sets(st.integers(0, m - 1), max_size=m),
        st.lists(st.integers(1, 3), min_size=7, max_size=7),
    )
)


def _setup(inst):
    sets, costs, budget, Wset, mult = inst
    weights = mult[: len(sets)]
    e = _election(sets, costs, budget, weights)
    P = profile(e, "cost")
    Wm = outcome_mask(P, [chr(ord("a") + c) for c in Wset])
    return sets, weights, costs, budget, Wset, P, Wm


@settings(max_examples=60, deadline=None)
@given(instances)
def test_certificate_checks_and_is_tight(inst):
    sets, weights, costs, budget, Wset, P, Wm = _setup(inst)
    sol = pr.solve(P, Wm, fast=False, reduce=False)
    v = pr.verdict(P, sol)
    if v.holds:
        assert "certificate" not in sol
        return
    cert = v.witness["certificate"]  # small LPs: the simplex duals always verify
    lb = _plain_bound(sets, weights, costs, budget, Wset, *_cert_dicts(cert))
    assert lb is not None and float(lb) == pytest.approx(cert["lower_bound"], rel=1e-12)
    assert lb > 0
    # weak duality and tightness: the dual bound of the optimal basis is the optimum
    total = sol["total"] / sol["scale"]
    assert float(lb) <= total + 1e-9 * max(1.0, total)
    assert float(lb) == pytest.approx(total, rel=1e-6, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(instances, st.data())
def test_any_multipliers_give_a_valid_lower_bound(inst, data):
    sets, weights, costs, budget, Wset, P, Wm = _setup(inst)
    m = len(costs)
    pi = np.array([data.draw(st.floats(-1.5, 1.5)) for _ in range(m)])
    lam = np.array([data.draw(st.floats(-0.5, 1.5)) for _ in range(m)])
    lb = pr.dual_bound(P, Wm, pi, lam)
    if lb is None:
        return
    # the repaired multipliers are valid and give exactly the reported bound
    piD = {c: float(pi[c]) for c in Wset}
    lamD = {c: float(lam[c]) for c in range(m) if c not in Wset}
    assert _plain_bound(sets, weights, costs, budget, Wset, piD, lamD) == lb
    total = pr.solve(P, Wm, fast=False, reduce=False)["total"] / (P.n / P.budget)
    assert float(lb) <= total + 1e-7 * max(1.0, total)


@settings(max_examples=60, deadline=None)
@given(instances)
def test_reduced_path_agrees_with_simplex(inst):
    sets, weights, costs, budget, Wset, P, Wm = _setup(inst)
    ref = pr.solve(P, Wm, fast=False, reduce=False)
    red = pr.solve(P, Wm, fast=False, reduce=True)
    ok = red["total"] <= red["tol"]
    assert ok == (ref["total"] <= ref["tol"])
    if ok:
        W = set(Wset)
        pay = red["payments"][P.row_class]
        rows = [sorted(s) for s in sets]
        assert ab.is_price_system(
            _election(rows, costs, budget, weights),
            sorted(chr(ord("a") + c) for c in W),
            red["b"],
            pay,
        ).holds
    else:
        assert red["total"] == pytest.approx(ref["total"], rel=1e-6, abs=1e-7)


@settings(max_examples=30, deadline=None)
@given(instances)
def test_bound_mode_reports_a_certified_lower_bound(inst):
    # with no time budget the reduced path stops at its first certified bound
    sets, weights, costs, budget, Wset, P, Wm = _setup(inst)
    ref = pr.solve(P, Wm, fast=False, reduce=False)
    saved = pr.BOUND_AFTER_S
    pr.BOUND_AFTER_S = -1.0
    try:
        red = pr.solve(P, Wm, fast=False, reduce=True)
    finally:
        pr.BOUND_AFTER_S = saved
    assert (red["total"] <= red["tol"]) == (ref["total"] <= ref["tol"])
    if "certificate" in red:
        cert = red["certificate"]
        lb = _plain_bound(sets, weights, costs, budget, Wset, *_cert_dicts(cert))
        assert lb is not None and lb > 0
        assert red["total"] <= ref["total"] * (1 + 1e-7) + 1e-9
        assert red["upper"] >= ref["total"] * (1 - 1e-7) - 1e-9


SHARED = "/work/shared/data/pabulib"
NOT_PRICEABLE = [  # greedy (cost) outcomes the full simplex finds not priceable
    "France_Toulouse_2022_10_-_Jolimont_Soupetard_Roseraie_Gloire_Gramont_Amouroux.pb",
    "Netherlands_Amsterdam_613.pb",
]


@pytest.mark.parametrize("name", NOT_PRICEABLE)
def test_reduced_path_on_real_files(name):
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        pytest.skip("shared Pabulib data absent")
    from fairsim.io import pabulib

    e = pabulib.read(path).compress()
    P = profile(e, "cost")
    Wm = outcome_mask(P, mb.greedy(e, "cost"))
    ref = pr.solve(P, Wm, fast=False, reduce=False)
    red = pr.solve(P, Wm, fast=False, reduce=True)
    assert ref["total"] > ref["tol"] and red["total"] > red["tol"]
    assert red["total"] == pytest.approx(ref["total"], rel=1e-6)
    assert red["certificate"]["lower_bound"] * red["scale"] > red["tol"]


WARSZAWA_2026 = os.path.join(SHARED, "Poland_Warszawa_2026.pb")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(WARSZAWA_2026), reason="shared Pabulib data absent")
def test_warszawa_2026_greedy_not_priceable_in_seconds():
    # 83 projects, 51,202 ballot classes: the full simplex LP runs for more than 400 s
    import time

    from fairsim.io import pabulib

    e = pabulib.read(WARSZAWA_2026).compress()
    W = mb.greedy(e, "cost")
    t = time.perf_counter()
    v = ab.priceable(e, W)
    assert time.perf_counter() - t < 60
    assert not v.holds
    cert = v.witness["certificate"]
    # re-check the certificate over the ballot classes with exact arithmetic
    P = profile(e, "cost")
    Wm = outcome_mask(P, W)
    pos = {p: i for i, p in enumerate(P.ids)}
    pi = {pos[k]: Fraction(x) for k, x in cert["pi"].items()}
    lam = {pos[k]: Fraction(x) for k, x in cert["lambda"].items()}
    W_idx = set(np.flatnonzero(Wm).tolist())
    beta = Fraction(0)
    for c, lc in lam.items():
        beta += lc * int(P.w[P.A[:, c]].sum())
    for z in range(P.A.shape[0]):
        row = np.flatnonzero(P.A[z])
        tw = [c for c in row if c in W_idx]
        if tw:
            a = max(
                Fraction(0),
                max(pi.get(c, Fraction(0)) for c in tw) + sum(lam.get(c, Fraction(0)) for c in row),
            )
            assert a <= 1
            beta -= int(P.w[z]) * a
    assert beta >= 0
    val = sum(x * Fraction(P.costs[c]) for c, x in pi.items())
    val -= sum(x * Fraction(P.costs[c]) for c, x in lam.items())
    val += Fraction(P.budget) / int(P.w.sum()) * beta
    assert float(val) == pytest.approx(cert["lower_bound"], rel=1e-12)
    assert v.witness["relaxation"] == pytest.approx(cert["lower_bound"], rel=1e-9)
    assert v.witness["relaxation_upper"] >= v.witness["relaxation"]


def test_screen_hand_instance():
    # voters 1-2 approve {a} (cost 2), voters 3-4 approve {b} (cost 1); B = n = 4, W = {a}:
    # voters 3-4 approve nothing in W, keep b >= 1 each, 2 > cost(b) = 1: screened, bound 1
    e = _election([{0}, {0}, {1}, {1}], [2, 1], 4)
    P = profile(e, "cost")
    Wm = outcome_mask(P, ["a"])
    assert pr._screen(P, Wm).tolist() == [1]
    lam = np.array([0.0, 1.0])
    assert pr.dual_bound(P, Wm, np.zeros(2), lam) == 1
    # W = {a, b} is priceable (b = 1, each voter pays 1): nothing to screen
    assert pr._screen(P, outcome_mask(P, ["a", "b"])).size == 0
    v = ab.priceable(e, ["a"])
    assert not v.holds and v.witness["relaxation"] == pytest.approx(1.0, abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(instances)
def test_screen_implies_not_priceable(inst):
    sets, weights, costs, budget, Wset, P, Wm = _setup(inst)
    rows = pr._screen(P, Wm)
    if rows.size:
        sol = pr.solve(P, Wm, fast=False, reduce=False)
        assert sol["total"] > sol["tol"]
        c = int(rows[0])
        n = sum(weights)
        free = sum(w for s, w in zip(sets, weights, strict=False) if c in s and not (s & Wset))
        assert Fraction(free) * Fraction(budget) > Fraction(costs[c]) * n
