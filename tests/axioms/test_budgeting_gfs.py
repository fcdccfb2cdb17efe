"""GFS beyond enumeration: the closure-LP bound and its decision path (spec budgeting.md §6.3, §7).

References: ``_gfs_reference`` in test_budgeting.py, a Fraction enumeration over every voter
group, independent of the LP and the MILP.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsim.axioms import _budgeting_ilp
from fairsim.axioms import budgeting as ab
from fairsim.axioms._budgeting_common import profile
from tests.axioms.test_budgeting import _election, _gfs_reference, _random_instance


def _case(rnd: random.Random):
    sets, weights, costs, budget, _W = _random_instance(rnd, 5, 6)
    p = [Fraction(rnd.randint(0, 4), 4) for _ in costs]
    return sets, weights, costs, budget, p


def _max_share_minus_spend(sets, weights, costs, budget, p):
    """max over voter groups S of share(S) − spending on U_S (Fractions, brute force)."""
    from itertools import combinations

    n = sum(weights)
    idx = [i for i in range(len(sets)) if sets[i]]
    best = Fraction(0)  # the empty group
    for r in range(1, len(idx) + 1):
        for S in combinations(idx, r):
            U = set().union(*(sets[i] for i in S))
            val = Fraction(sum(weights[i] for i in S) * budget, n) - sum(p[c] * costs[c] for c in U)
            best = max(best, val)
    return best


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10**6))
def test_closure_lp_is_the_exact_share_minus_spend_maximum(seed):
    # the LP is totally unimodular: its optimum equals the integral maximum, and it bounds the
    # GFS gap of every group from above
    sets, weights, costs, budget, p = _case(random.Random(seed))
    e = _election(sets, weights, costs, budget)
    P = profile(e, "cost")
    pm = np.array([float(x) for x in p])
    bound, G = _budgeting_ilp.gfs_closure(P, pm)
    if not any(sets):  # nobody approves anything: no group, no bound
        assert bound == -np.inf and G.size == 0
        return
    want = _max_share_minus_spend(sets, weights, costs, budget, p)
    assert abs(bound - float(want)) < 1e-7
    ref = _gfs_reference(sets, weights, costs, budget, p)
    if ref is not None:
        assert -float(ref) <= bound + 1e-9  # largest gap <= bound


def test_large_path_agrees_with_group_enumeration():
    rnd = random.Random(21)
    seen = {True: 0, False: 0}
    for _ in range(60):
        sets, weights, costs, budget, p = _case(rnd)
        e = _election(sets, weights, costs, budget)
        P = profile(e, "cost")
        pm = np.array([float(x) for x in p])
        v = ab._gfs_large(P, pm)
        ref = _gfs_reference(sets, weights, costs, budget, p)
        want = ref is None or ref >= 0
        assert v.holds == want, (sets, weights, costs, budget, p)
        seen[want] += 1
        if want:
            assert v.slack <= 1e-9 + (float(ref) if ref is not None else np.inf)
        else:
            # a real violation: recompute the witness group's gap with Fractions
            G = v.witness["voters"]
            U = set().union(*(sets[r] for r in G))
            n = sum(weights)
            need = min(Fraction(sum(weights[r] for r in G) * budget, n), sum(costs[c] for c in U))
            assert sum(p[c] * costs[c] for c in U) < need
            assert v.slack < 0
    assert seen[True] and seen[False]
