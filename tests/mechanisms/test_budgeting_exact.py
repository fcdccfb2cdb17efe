"""Tests of the exact rational mode of the PB rules (spec budgeting.md §1 ``exact``, §4)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from fairsim.errors import InputError
from fairsim.io import pabulib
from fairsim.io.pabulib import Election
from fairsim.mechanisms.budgeting import greedy, method_of_equal_shares, sequential_phragmen

DATA = Path(__file__).resolve().parents[1] / "data" / "pabulib"
FILES = sorted(DATA.glob("*.pb"))


def _random_instance(rng: np.random.Generator) -> Election:
    m = int(rng.integers(2, 7))
    ids = [f"p{j}" for j in range(m)]
    costs = [int(rng.integers(1, 10)) for _ in range(m)]
    rows = int(rng.integers(1, 8))
    sets = [{ids[j] for j in range(m) if rng.random() < 0.45} for _ in range(rows)]
    mult = [int(rng.integers(1, 4)) for _ in range(rows)]
    budget = int(rng.integers(3, 2 + sum(costs)))
    return Election.from_sets(sets, dict(zip(ids, costs, strict=True)), budget, multiplicities=mult)


def _rules(e: Election, exact: bool) -> list[list[str]]:
    out = []
    for u in ("cost", "cardinality"):
        out.append(greedy(e, u, exact=exact).selected)
        for comp in (None, "greedy", "add1"):
            out.append(method_of_equal_shares(e, u, comp, add1_step=0.5, exact=exact).selected)
    for ov in ("stop", "skip"):
        out.append(sequential_phragmen(e, on_overflow=ov, exact=exact).selected)
    return out


def test_exact_equals_float_on_random_integer_instances() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        e = _random_instance(rng)
        assert _rules(e, True) == _rules(e, False)


@pytest.mark.parametrize("path", FILES, ids=[p.stem[:30] for p in FILES])
def test_exact_equals_float_on_pabulib_files(path: Path) -> None:
    e = pabulib.read(path)
    for u in ("cost", "cardinality"):
        fl = method_of_equal_shares(e, u)
        if fl.details["near_ties"]:
            continue
        ex = method_of_equal_shares(e, u, exact=True)
        assert ex.selected == fl.selected
        assert [float(r) for r in ex.details["rho"]] == pytest.approx(fl.details["rho"], rel=1e-9)
        assert greedy(e, u, exact=True).selected == greedy(e, u).selected
    assert sequential_phragmen(e, exact=True).selected == sequential_phragmen(e).selected


def test_greedy_budget_overflow_hidden_by_float_tolerance() -> None:
    # B = 1, costs 0.6 and 0.4000000001: 0.6 + 0.4000000001 = 1.0000000001 > 1 (by hand), but the
    # float rule's money tolerance 1e-9 * max(1, B) accepts it.
    e = Election.from_sets([{"a", "b"}, {"a"}], {"a": 0.6, "b": 0.4000000001}, 1.0)
    assert greedy(e).selected == ["a", "b"]
    ex = greedy(e, exact=True)
    assert ex.selected == ["a"]
    assert ex.details["skipped"] == ["b"]
    assert ex.details["cost"] == Fraction(3, 5)


def test_phragmen_near_tie_resolved_exactly() -> None:
    # one voter each; t_a = 1.0000000000001 > t_b = 1 (hand), relative gap 1e-13 < float's 1e-12
    # tie width, so float ties them and the id order picks "a"; B = 1.5 fits only one of them.
    e = Election.from_sets([{"a"}, {"b"}], {"a": 1.0000000000001, "b": 1.0}, 1.5)
    assert sequential_phragmen(e).selected == ["a"]
    ex = sequential_phragmen(e, exact=True)
    assert ex.selected == ["b"]
    assert ex.details["loads"] == [Fraction(1)]
    assert ex.details["tie_breaks"] == []


def test_phragmen_exact_tie_point_one_plus_point_two() -> None:
    # voter 1 approves x (0.1) and a (0.2); voter 2 approves b (0.3); B = 1.
    # t_x = 1/10 first; then t_a = (2/10 + 1/10)/1 = 3/10 = t_b exactly (float: 0.30000000000000004
    # vs 0.3); the exact tie goes to "a" by id order; then b at t = 3/10 too.
    e = Election.from_sets([{"x", "a"}, {"b"}], {"x": 0.1, "a": 0.2, "b": 0.3}, 1.0)
    ex = sequential_phragmen(e, exact=True)
    assert ex.selected == ["x", "a", "b"]
    assert ex.details["loads"] == [Fraction(1, 10), Fraction(3, 10), Fraction(3, 10)]
    assert ex.details["tie_breaks"] == [(1, ["a", "b"], "a")]
    assert ex.details["cost"] == Fraction(3, 5)
    assert all(type(t) is Fraction for t in ex.details["loads"])


def test_mes_near_tie_order_and_fraction_details() -> None:
    # cardinality utility, B = 4, four voters (b_i = 1); a (cost 1 + 1e-13) by voters 0,1,
    # b (cost 1) by voters 2,3: rho_a = cost_a / 2 > rho_b = 1/2 (hand), within float's tie width.
    sets = [{"a"}, {"a"}, {"b"}, {"b"}]
    e = Election.from_sets(sets, {"a": 1.0000000000001, "b": 1.0}, 4.0)
    assert method_of_equal_shares(e, "cardinality").selected == ["a", "b"]
    ex = method_of_equal_shares(e, "cardinality", exact=True)
    assert ex.selected == ["b", "a"]
    ca = Fraction("1.0000000000001")
    assert ex.details["rho"] == [Fraction(1, 2), ca / 2]
    assert ex.details["payments"]["b"] == {ex.details["voter_class"][2]: Fraction(1, 2)}
    vb = ex.details["voter_budgets"]
    assert list(vb) == [1 - ca / 2, 1 - ca / 2, Fraction(1, 2), Fraction(1, 2)]
    assert all(type(x) is Fraction for x in vb)
    assert ex.details["near_ties"] == []


def test_mes_exact_tie_and_capped_payment() -> None:
    # cost utility, B = 3, n = 3 (b_i = 1). a (cost 2) by {0,1,2}; voter 0 also wants c (cost 0.9).
    # Round 1: rho_a = 1/3 (each pays 2/3), rho_c = 1 (voter 0 pays 0.9 alone): a first.
    # Round 2: voter 0 has 1/3 < 0.9: c unaffordable. Selected [a]; budgets (1/3, 1/3, 1/3).
    e = Election.from_sets([{"a", "c"}, {"a"}, {"a"}], {"a": 2.0, "c": 0.9}, 3.0)
    ex = method_of_equal_shares(e, exact=True)
    assert ex.selected == ["a"]
    assert ex.details["rho"] == [Fraction(1, 3)]
    assert list(ex.details["voter_budgets"]) == [Fraction(1, 3)] * 3
    # greedy completion: 2 + 9/10 <= 3, so c is added
    assert method_of_equal_shares(e, completion="greedy", exact=True).selected == ["a", "c"]


def test_raw_strings_rebuild_rationals() -> None:
    e = Election.from_sets([{"a"}], {"a": 0.1}, 0.3)
    e.project_meta["cost"] = ["0,1"]
    e.meta["budget"] = "0.3"
    assert greedy(e, exact=True).details["cost"] == Fraction(1, 10)


@pytest.mark.parametrize("bad", [1, 0, "yes", None, np.bool_(True)])
def test_exact_must_be_bool(bad: object) -> None:
    e = Election.from_sets([{"a"}], {"a": 1.0}, 1.0)
    for call in (
        lambda: greedy(e, exact=bad),  # type: ignore[arg-type]
        lambda: method_of_equal_shares(e, exact=bad),  # type: ignore[arg-type]
        lambda: sequential_phragmen(e, exact=bad),  # type: ignore[arg-type]
    ):
        with pytest.raises(InputError, match="exact"):
            call()


def _ref_mes_voters(sets, costs, budget, mult, utility):  # type: ignore[no-untyped-def]
    """Independent voter-expanded MES in Fractions by bisection-free breakpoint search (§4.2)."""
    voters = [s for s, k in zip(sets, mult, strict=True) for _ in range(k)]
    b = [Fraction(budget) / len(voters)] * len(voters)
    cand = sorted((c for c in costs if any(c in s for s in voters)), key=str)
    rhos, chosen = [], []
    while True:
        best = None
        for c in cand:
            u = Fraction(costs[c]) if utility == "cost" else Fraction(1)
            sup = [i for i, s in enumerate(voters) if c in s]
            # rho is the least value among {b_i/u} and closed forms where payments reach cost(c)
            pts = sorted({b[i] / u for i in sup})
            rho = None
            for k, hi in enumerate(pts):
                capped = sum(b[i] for i in sup if b[i] / u < hi)
                free = sum(1 for i in sup if b[i] / u >= hi)
                r = (Fraction(costs[c]) - capped) / (free * u)
                lo = pts[k - 1] if k else Fraction(0)
                if lo <= r <= hi:
                    rho = r
                    break
            if rho is not None and (best is None or rho < best[0]):
                best = (rho, c, u, sup)
        if best is None:
            return chosen, rhos
        rho, c, u, sup = best
        for i in sup:
            b[i] -= min(b[i], rho * u)
        chosen.append(c)
        rhos.append(rho)
        cand.remove(c)


def test_exact_mes_matches_independent_reference() -> None:
    rng = np.random.default_rng(11)
    for _ in range(40):
        m = int(rng.integers(2, 6))
        ids = [f"p{j}" for j in range(m)]
        costs = {p: float(rng.integers(1, 9)) / 4 for p in ids}
        rows = int(rng.integers(1, 6))
        sets = [{p for p in ids if rng.random() < 0.5} for _ in range(rows)]
        mult = [int(rng.integers(1, 3)) for _ in range(rows)]
        budget = float(rng.integers(1, 12)) / 2
        e = Election.from_sets(sets, costs, budget, multiplicities=mult)
        for u in ("cost", "cardinality"):
            out = method_of_equal_shares(e, u, exact=True)
            sel, rhos = _ref_mes_voters(sets, costs, budget, mult, u)
            assert out.selected == sel
            assert out.details["rho"] == rhos
