"""Issue 3: MES (cost utility) fails exact EJR on Warszawa 2017 Nowolipki-Powązki (EJR-1 holds).

Everything golden here is computed independently of fairsim: the .pb file is parsed with the
csv module, MES is re-run from its definition (Peters, Pierczyński, Skowron arXiv 2008.13276;
spec §4.2) in exact Fraction arithmetic, and the EJR witness is checked by hand arithmetic.
pabutools 1.2.3 (run in a separate venv, not here) selects the same eight projects.
"""

from __future__ import annotations

import csv
import os
from fractions import Fraction

import pytest

from fairsim.axioms import budgeting as ab

# the in-repo copy shipped with scenarios/budgeting/compare_rules.yaml (same bytes as Pabulib's)
PATH = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "scenarios",
    "budgeting",
    "data",
    "Poland_Warszawa_2017_Nowolipki__Powazki.pb",
)


def _parse(path: str) -> tuple[Fraction, dict[str, Fraction], list[frozenset[str]]]:
    """Minimal independent .pb reader: budget, project costs, approval ballots."""
    section = None
    header: list[str] = []
    budget = Fraction(0)
    costs: dict[str, Fraction] = {}
    ballots: list[frozenset[str]] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f, delimiter=";"):
            if not row:
                continue
            if len(row) == 1 and row[0].strip().upper() in ("META", "PROJECTS", "VOTES"):
                section, header = row[0].strip().upper(), []
                continue
            if not header:
                header = [h.strip() for h in row]
                continue
            rec = dict(zip(header, row, strict=False))
            if section == "META" and rec["key"] == "budget":
                budget = Fraction(rec["value"].replace(",", "."))
            elif section == "PROJECTS":
                costs[rec["project_id"]] = Fraction(rec["cost"].replace(",", "."))
            elif section == "VOTES":
                ballots.append(frozenset(x for x in rec["vote"].split(",") if x))
    return budget, costs, ballots


def _mes_cost(budget: Fraction, costs: dict[str, Fraction], ballots: list[frozenset[str]]):
    """MES with cost utility in Fractions: every voter starts with B/n; each round buys the
    project whose supporters can pay it with the smallest equal per-voter payment q (capped by
    their budgets), i.e. the least rho = q / cost; ties by str order of the id."""
    n = len(ballots)
    b = [budget / n] * n
    supp = {c: [i for i, A in enumerate(ballots) if c in A] for c in costs}
    chosen: list[str] = []
    alive = {c for c in costs if costs[c] > 0 and supp[c]}
    while True:
        best = None
        for c in sorted(alive):
            money = sum(b[i] for i in supp[c])
            if money < costs[c]:
                continue
            # equal payment q with sum(min(b_i, q)) = cost
            rest, k = costs[c], len(supp[c])
            for bi in sorted(b[i] for i in supp[c]):
                q = rest / k
                if q <= bi:
                    break
                rest -= bi
                k -= 1
            rho = q / costs[c]
            if best is None or rho < best[0]:
                best = (rho, c, q)
        if best is None:
            return chosen
        _, c, q = best
        for i in supp[c]:
            b[i] -= min(b[i], q)
        chosen.append(c)
        alive.discard(c)
        alive = {d for d in alive if sum(b[i] for i in supp[d]) >= costs[d]}


@pytest.fixture(scope="module")
def nowolipki():
    if not os.path.exists(PATH):
        pytest.skip(f"{PATH} not available")
    return _parse(PATH)


def test_independent_mes_matches_fairsim_and_pabutools(nowolipki):
    budget, costs, ballots = nowolipki
    W = _mes_cost(budget, costs, ballots)
    # pabutools 1.2.3 method_of_equal_shares(sat_class=Cost_Sat) on this file, as a set
    assert sorted(W) == sorted(["1296", "1310", "1320", "1432", "1485", "1794", "618", "73"])
    from fairsim.io import pabulib
    from fairsim.mechanisms.budgeting import method_of_equal_shares

    e = pabulib.read(PATH)
    assert method_of_equal_shares(e).selected == W
    assert method_of_equal_shares(e, exact=True).selected == W


def test_ejr_witness_is_genuine(nowolipki):
    budget, costs, ballots = nowolipki
    W = set(_mes_cost(budget, costs, ballots))
    n = len(ballots)
    assert (n, budget, costs["2300"]) == (2850, Fraction(886525), Fraction(152950))
    # group: supporters of project 2300 whose cost-utility from W is below cost(2300)
    uW = [sum((costs[c] for c in A & W), Fraction(0)) for A in ballots]
    G = [i for i, A in enumerate(ballots) if "2300" in A and uW[i] < costs["2300"]]
    assert "2300" not in W
    assert len(G) == 590
    # {2300}-cohesive: |G|·B >= n·cost(T): 590·886525 = 523,049,750 >= 2850·152950 = 435,907,500
    assert len(G) * budget == 523_049_750
    assert n * costs["2300"] == 435_907_500
    assert max(uW[i] for i in G) < costs["2300"]
    # EJR-1 (strict) still holds for this T: every member has u_i(W) + u(2300) > u(T) iff u_i(W) > 0
    assert any(uW[i] > 0 for i in G)

    from fairsim.io import pabulib
    from fairsim.mechanisms.budgeting import method_of_equal_shares

    e = pabulib.read(PATH)
    out = method_of_equal_shares(e)
    for method in ("enumerate", "ilp"):
        v = ab.ejr(e, out, method=method)
        assert not v.holds
        if method == "enumerate":
            assert v.witness["projects"] == ["2300"]
            assert sorted(v.witness["voters"]) == G
            assert v.witness["group_weight"] == 590
    assert ab.ejr_up_to_one(e, out).holds
