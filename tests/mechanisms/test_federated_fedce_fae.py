"""FedCE and FAE on synthetic rounds (spec federated.md §4.3, §4.4, §6 items 3 and 6)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import f as f_dist

torch = pytest.importorskip("torch")

from fairsim.errors import InputError  # noqa: E402
from fairsim.mechanisms._federated_fae import hotelling_pvalue  # noqa: E402
from fairsim.mechanisms.federated import RoundRecord, fae, fedce, make  # noqa: E402

P = 5
STARS = np.array([[1.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0], [0.5, 0.5, 1.0, 0, 0]])


def lu_np(theta: np.ndarray, owner: int) -> float:
    return 1.0 / (1.0 + float(np.sum((theta - STARS[owner]) ** 2)))


class LocalUtility:
    def __init__(self) -> None:
        self.seen: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, th, owners):  # type: ignore[no-untyped-def]
        self.seen.append((th.numpy().copy(), np.asarray(owners).copy()))
        vals = [lu_np(r, int(o)) for r, o in zip(th.numpy(), owners, strict=True)]
        return torch.as_tensor(vals, dtype=torch.float64)


def nc(x: np.ndarray, lo: float = 1e-3) -> np.ndarray:
    y = x / x.sum()
    y = np.maximum(y, lo)
    return y / y.sum()


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-10))


def frec(theta: np.ndarray, ups: np.ndarray, t: int, lu) -> RoundRecord:  # type: ignore[no-untyped-def]
    return RoundRecord(
        t=t,
        theta_prev=torch.as_tensor(theta),
        updates=torch.as_tensor(ups),
        clients=np.arange(ups.shape[0]),
        sizes=np.ones(ups.shape[0]),
        layer_slices=[(0, P)],
        n_clients=ups.shape[0],
        local_utility=lu,
    )


def test_fedce_two_rounds_match_hand_computation() -> None:
    rng = np.random.default_rng(0)
    ups0 = rng.normal(size=(3, P)) * 0.3
    ups1 = rng.normal(size=(3, P)) * 0.3
    theta0 = np.zeros(P)
    lu = LocalUtility()
    mech = fedce(3)
    res0 = mech.step(frec(theta0, ups0, 0, lu))
    # round 0: θ_{-k} = θ^{-1} (no previous local model), c = 1/3
    m0 = np.array([lu_np(theta0, k) for k in range(3)])
    b = 1 - (0 + m0) / 2
    g = ups0.mean(axis=0)
    cos0 = np.array([cos(ups0[k], g - ups0[k] / 3) for k in range(3)])
    a = 1 - cos0
    c0 = nc(nc(a) * nc(b))
    np.testing.assert_allclose(res0.weights.numpy(), c0, rtol=1e-10)
    assert float(res0.weights.sum()) == pytest.approx(1.0)
    # round 1: minus model from θ^0 and θ_k^last = θ^{-1} + Δ_k^0
    theta1 = theta0 + c0 @ ups0
    res1 = mech.step(frec(theta1, ups1, 1, lu))
    minus = np.array([(theta1 - c0[k] * (theta0 + ups0[k])) / (1 - c0[k]) for k in range(3)])
    np.testing.assert_allclose(lu.seen[1][0], minus, rtol=1e-10)
    m1 = np.array([lu_np(minus[k], k) for k in range(3)])
    b = 1 - (0 + m0 + m1) / 3
    g1 = c0 @ ups1
    cos1 = np.array([cos(ups1[k], g1 - c0[k] * ups1[k]) for k in range(3)])
    a = 1 - (cos0 + cos1) / 2
    c1 = nc(nc(a) * nc(b))
    np.testing.assert_allclose(res1.weights.numpy(), c1, rtol=1e-10)
    np.testing.assert_allclose(mech.contributions, (c0 + c1) / 2, rtol=1e-10)


def test_fedce_plus_mode_and_clipping() -> None:
    ups = np.array([[1.0, 0, 0, 0, 0], [1.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0]])
    lu = LocalUtility()
    res = fedce(3, mode="plus").step(frec(np.zeros(P), ups, 0, lu))
    m0 = np.array([lu_np(np.zeros(P), k) for k in range(3)])
    g = ups.mean(axis=0)
    a = 1 - np.array([cos(ups[k], g - ups[k] / 3) for k in range(3)])
    # clients 0 and 1 agree (cos = 1 → a = 0 → clipped at 1e-3)
    want = nc(nc(a) + nc(1 - m0 / 2))
    np.testing.assert_allclose(res.weights.numpy(), want, rtol=1e-10)
    assert res.weights.numpy().min() >= 1e-3 / 1.01


def test_fedce_needs_local_utility_and_validates() -> None:
    with pytest.raises(InputError, match="local_utility"):
        fedce(3).step(frec(np.zeros(P), np.ones((3, P)), 0, None))
    with pytest.raises(InputError, match="mode"):
        fedce(3, mode="sum")
    with pytest.raises(InputError, match="clip_min"):
        fedce(4, clip_min=0.5)


def frec_fae(ups: np.ndarray, sizes: np.ndarray, t: int, clients=None) -> RoundRecord:  # type: ignore[no-untyped-def]
    cl = np.arange(ups.shape[0]) if clients is None else np.asarray(clients)
    return RoundRecord(
        t=t,
        theta_prev=torch.zeros(ups.shape[1], dtype=torch.float64),
        updates=torch.as_tensor(ups, dtype=torch.float64),
        clients=cl,
        sizes=np.asarray(sizes, dtype=np.float64),
        layer_slices=[(0, ups.shape[1])],
        n_clients=6,
    )


def test_fae_identical_updates_value_one_over_n() -> None:
    ups = np.tile(np.arange(1.0, 5.0), (6, 1))
    mech = fae(6, rng=0)
    res = mech.step(frec_fae(ups, np.full(6, 3.0), 0))
    np.testing.assert_allclose(res.contrib_round, np.full(6, 1 / 6), rtol=1e-12)


def test_fae_two_clients_exact_values() -> None:
    ups = np.array([[1.0, 0.0], [1.0, 1.0]])
    sizes = np.array([1.0, 3.0])
    w = sizes / sizes.sum()
    g = w @ ups
    u1, u2 = cos(g, ups[0]), cos(g, ups[1])
    mech = fae(2, dim=1, window=3, rng=0)
    r = mech.step(
        RoundRecord(0, torch.zeros(2), torch.as_tensor(ups), np.arange(2), sizes, [(0, 2)], 2)
    )
    # N = 2: ψ_i = (1/2)[u({i}) − 0] + (1/2)[u(N) − u({j})], u(N) = 1
    np.testing.assert_allclose(r.contrib_round, [(u1 + 1 - u2) / 2, (u2 + 1 - u1) / 2], rtol=1e-12)
    loo = fae(2, dim=1, window=3, rng=0, dv_method="loo")
    r = loo.step(
        RoundRecord(0, torch.zeros(2), torch.as_tensor(ups), np.arange(2), sizes, [(0, 2)], 2)
    )
    np.testing.assert_allclose(r.contrib_round, [1 - u2, 1 - u1], rtol=1e-12)


def test_fae_stops_on_stationary_values_and_probabilities_positive() -> None:
    base = np.tile(np.linspace(-1.0, 1.0, 8), (6, 1))  # ψ^t = 1/N in every round
    mech = fae(6, window=5, rng=1, beta=1e4)
    for t in range(30):
        res = mech.step(frec_fae(base, np.arange(1.0, 7.0), t))
        if not mech.exploring:
            break
    # identical rounds: the last window equals the earlier mean, T² = 0, p = 1 > α
    assert mech.stop_round == 9
    assert mech.pvalues[-1] == pytest.approx(1.0)
    p = res.selection_probs
    assert p is not None and p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p, np.full(6, 1 / 6))
    sel = mech.select(10, np.ones(6, dtype=bool), np.random.default_rng(2))
    assert sel.sum() == 3


def test_fae_keeps_exploring_while_values_drift() -> None:
    mech = fae(6, window=10, rng=1, dv_method="loo")
    rng = np.random.default_rng(5)
    for t in range(30):
        ups = rng.normal(size=(6, 8)) * 0.01
        ups[:, 0] += 1.0
        ups[:, 1] += 0.1 * t * (np.arange(6) - 2.5)  # the clients drift apart round after round
        mech.step(frec_fae(ups, np.ones(6), t))
    assert mech.exploring
    assert len(mech.pvalues) == 11 and all(p <= 0.05 for p in mech.pvalues)


def test_fae_forced_end_and_exploit_selection_frequencies() -> None:
    mech = make("fae", 6, np.ones(6), 6, np.random.default_rng(0), window=5)
    ups = np.zeros((6, 4))
    ups[:3, 0] = 1.0
    ups[3:, 0] = -0.2  # clients 3..5 push against the aggregate direction
    ups[3:, 1] = np.array([0.1, 0.2, 0.3])
    for t in range(3):
        mech.step(frec_fae(ups, np.ones(6), t))
    assert not mech.exploring and mech.stop_round == 2
    p = mech.probs
    assert p is not None and np.all(p > 0) and p[:3].min() > p[3:].max()
    avail = np.ones(6, dtype=bool)
    avail[0] = False
    rng = np.random.default_rng(9)
    counts = np.zeros(6)
    for t in range(300):
        sel = mech.select(3 + t, avail, rng)
        assert sel.sum() == 3 and not sel[0]
        counts += sel
    assert counts[1:3].min() > counts[3:].max()
    res = mech.step(frec_fae(ups[[1, 2, 4]], np.ones(3), 4, clients=[1, 2, 4]))
    assert res.weights is None and np.all(res.contrib_round == 0)


def test_hotelling_pvalue_against_direct_formula() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 3)) + np.array([0.5, 0.0, -0.2])
    mu0 = np.zeros(3)
    d = x.mean(axis=0) - mu0
    s = np.cov(x.T)
    t2 = 10 * d @ np.linalg.solve(s, d)
    want = 1 - f_dist.cdf((10 - 3) / (3 * 9) * t2, 3, 7)
    assert hotelling_pvalue(x, mu0) == pytest.approx(want, rel=1e-9)


def test_fae_validation() -> None:
    with pytest.raises(InputError, match="dim"):
        fae(6, dim=10, window=10)
    with pytest.raises(InputError, match="dv_method"):
        fae(6, dv_method="shapley")
    with pytest.raises(InputError, match="select_frac"):
        fae(6, select_frac=0.0)
