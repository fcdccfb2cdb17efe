"""One-round reconstruction (OR), multi-round λ_t weights and FAE's "mr" values against exact
Fraction references computed here by enumeration (spec federated.md §4.4, §4.6)."""

from __future__ import annotations

from fractions import Fraction
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from fairsim import registry  # noqa: E402
from fairsim.errors import InputError  # noqa: E402
from fairsim.mechanisms._federated_fae import permutation_values  # noqa: E402
from fairsim.mechanisms.federated import RoundRecord, fae, make, mr_exact, or_exact  # noqa: E402

F = Fraction


def u_float(thetas):  # noqa: ANN001, ANN201 - a nonlinear utility (b, P) -> (b,)
    return (thetas[:, 0] * 2 - thetas[:, 1]) ** 2 + thetas[:, 1]


def u_frac(theta: list[Fraction]) -> Fraction:
    return (theta[0] * 2 - theta[1]) ** 2 + theta[1]


def shapley_frac(n: int, value) -> list[Fraction]:  # noqa: ANN001
    """Exact Shapley by enumerating all n! orders (Fractions)."""
    phi = [F(0)] * n
    orders = list(permutations(range(n)))
    for order in orders:
        s: frozenset[int] = frozenset()
        for i in order:
            phi[i] += value(s | {i}) - value(s)
            s = s | {i}
    return [p / len(orders) for p in phi]


def coalition_frac(base: list[Fraction], upd: dict[int, list[Fraction]], sizes, s) -> list:  # noqa: ANN001
    """base + Σ_{i∈s} (n_i / n_s) Δ_i over the clients of ``upd`` in ``s`` (Fractions)."""
    inside = [i for i in upd if i in s]
    if not inside:
        return list(base)
    tot = sum(F(sizes[i]) for i in inside)
    return [base[p] + sum(F(sizes[i]) / tot * upd[i][p] for i in inside) for p in range(2)]


THETA0 = [F(1, 2), F(-1, 4)]
# round 0: all three clients; round 1: clients 0 and 2 only (partial participation)
ROUNDS = [
    ({0: [F(1, 2), F(1, 4)], 1: [F(-1, 4), F(1, 2)], 2: [F(1, 8), F(-3, 8)]}, {0: 3, 1: 1, 2: 2}),
    ({0: [F(-1, 8), F(1, 8)], 2: [F(3, 8), F(1, 4)]}, {0: 3, 2: 1}),
]


def _record(t: int, theta_prev: list[Fraction], utility=None) -> RoundRecord:  # noqa: ANN001
    upd, sizes = ROUNDS[t]
    cl = sorted(upd)
    return RoundRecord(
        t=t,
        theta_prev=torch.tensor([float(x) for x in theta_prev], dtype=torch.float64),
        updates=torch.tensor([[float(x) for x in upd[i]] for i in cl], dtype=torch.float64),
        clients=np.array(cl, dtype=np.int64),
        sizes=np.array([float(sizes[i]) for i in cl]),
        layer_slices=[(0, 2)],
        n_clients=3,
        utility=utility if utility is not None else u_float,
    )


def _global_path() -> list[list[Fraction]]:
    """θ^0, θ^1, θ^2 of FedAvg (size weights) on ROUNDS."""
    path = [THETA0]
    for upd, sizes in ROUNDS:
        path.append(coalition_frac(path[-1], upd, sizes, set(upd)))
    return path


def test_or_exact_matches_fraction_reconstruction() -> None:
    path = _global_path()
    mech = or_exact(3)
    for t in range(2):
        mech.step(_record(t, path[t]))

    def value(s: frozenset[int]) -> Fraction:
        theta = list(THETA0)
        for upd, sizes in ROUNDS:  # θ_S = θ^0 + Σ_t Σ_{i∈S∩P_t} (ñ_i/ñ_{S∩P_t}) Δ_i^t
            delta = coalition_frac([F(0), F(0)], upd, sizes, s)
            theta = [theta[p] + delta[p] for p in range(2)]
        return u_frac(theta)

    want = shapley_frac(3, value)
    np.testing.assert_allclose(mech.contributions, [float(w) for w in want], atol=1e-12)
    assert mech.evaluations == 2 * 8  # 2^K rebuilt models valued after each round
    # efficiency: Σφ = u(θ_N) − u(θ^0) and θ_N is FedAvg's final model under full reconstruction
    assert float(sum(want)) == pytest.approx(float(u_frac(path[2]) - u_frac(THETA0)))


def test_or_exact_round_values_are_increments() -> None:
    path = _global_path()
    mech = or_exact(3)
    first = mech.step(_record(0, path[0])).contrib_round
    second = mech.step(_record(1, path[1])).contrib_round
    np.testing.assert_allclose(first + second, mech.contributions, atol=1e-12)
    # after round 0 alone, OR equals the round-0 exact Shapley (θ_S = θ^0 + coalition update)
    upd, sizes = ROUNDS[0]
    want = shapley_frac(3, lambda s: u_frac(coalition_frac(THETA0, upd, sizes, s)))
    np.testing.assert_allclose(first, [float(w) for w in want], atol=1e-12)


@pytest.mark.parametrize("lam", [1.0, 0.5])
def test_mr_exact_round_weights(lam: float) -> None:
    path = _global_path()
    mech = mr_exact(3, round_weight=lam)
    for t in range(2):
        mech.step(_record(t, path[t]))
    want = [F(0)] * 3
    for t, (upd, sizes) in enumerate(ROUNDS):
        players = sorted(upd)
        phi = shapley_frac(
            len(players),
            lambda s, upd=upd, sizes=sizes, t=t, players=players: u_frac(
                coalition_frac(path[t], upd, sizes, {players[j] for j in s})
            ),
        )
        for j, i in enumerate(players):
            want[i] += F(lam) ** t * phi[j]
    np.testing.assert_allclose(mech.contributions, [float(w) for w in want], atol=1e-12)
    assert mech.evaluations == 8 + 4


def test_permutation_values_both_orders_is_exact() -> None:
    rec = _record(1, _global_path()[1])  # two participants: clients 0 and 2
    vals, used = permutation_values(rec, u_float, np.array([[0, 1], [1, 0]]))
    upd, sizes = ROUNDS[1]
    base = _global_path()[1]
    want = shapley_frac(
        2, lambda s: u_frac(coalition_frac(base, upd, sizes, {[0, 2][j] for j in s}))
    )
    np.testing.assert_allclose(vals, [float(w) for w in want], atol=1e-12)
    assert used == 4  # ∅, {0}, {2}, {0, 2}, each once


def test_fae_mr_values_are_efficient_and_decayed() -> None:
    path = _global_path()
    mech = fae(3, dv_method="mr", rng=1)
    res = mech.step(_record(0, path[0]))
    # any permutation mix telescopes: Σψ^0 = 0.98^1 (u(θ^1) − u(θ^0))
    want = 0.98 * float(u_frac(path[1]) - u_frac(path[0]))
    assert res.contrib_round.sum() == pytest.approx(want, abs=1e-12)
    assert 0 < mech.evaluations <= 8
    with pytest.raises(InputError, match="utility"):
        rec = _record(0, path[0])
        rec.utility = None
        fae(3, dv_method="mr", rng=1).step(rec)


def test_registry_and_make() -> None:
    e = registry.get("or_exact", "mechanism", domain="federated")
    assert e.extra["role"] == "baseline" and e.extra["personal"] is False
    m = make("or_exact", 3, np.ones(3), 5, np.random.default_rng(0))
    assert m.name == "or_exact"
    assert (
        make("mr_exact", 3, np.ones(3), 5, np.random.default_rng(0), round_weight=0.9).round_weight
        == 0.9
    )
    with pytest.raises(InputError, match="max_players"):
        or_exact(11)
    with pytest.raises(InputError, match="round_weight"):
        mr_exact(3, round_weight=1.5)


@settings(max_examples=15, deadline=None)
@given(
    k=st.integers(1, 4),
    rounds=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_or_exact_efficiency_and_symmetry_property(k: int, rounds: int, seed: int) -> None:
    """Σφ = u(θ_N) − u(θ^0), θ_N the FedAvg model of the rounds (all-client reconstruction);
    clients 0 and 1 with identical updates and sizes in every round get equal values."""
    rng = np.random.default_rng(seed)
    theta = torch.tensor(rng.normal(size=2), dtype=torch.float64)
    theta0 = theta.clone()
    mech = or_exact(k)
    for t in range(rounds):
        part = np.sort(rng.choice(k, size=int(rng.integers(1, k + 1)), replace=False))
        ups = torch.tensor(rng.normal(size=(k, 2)), dtype=torch.float64)
        sizes = rng.integers(1, 5, size=k).astype(float)
        if k >= 2:
            ups[1], sizes[1] = ups[0], sizes[0]
        if k >= 2 and (0 in part) != (1 in part):  # keep 0 and 1 symmetric: both or neither
            part = np.union1d(part, [0, 1])
        rec = RoundRecord(t, theta, ups[part], part, sizes[part], [(0, 2)], k, utility=u_float)
        mech.step(rec)
        w = torch.tensor(sizes[part] / sizes[part].sum(), dtype=torch.float64)
        theta = theta + w @ ups[part]
    phi = mech.contributions
    want = float(u_float(theta[None])[0] - u_float(theta0[None])[0])
    assert phi.sum() == pytest.approx(want, abs=1e-9)
    if k >= 2:
        assert phi[0] == pytest.approx(phi[1], abs=1e-9)
