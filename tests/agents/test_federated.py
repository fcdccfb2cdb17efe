"""Federated client behaviours (spec federated.md §3)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fairsim import registry  # noqa: E402
from fairsim.agents import federated as AG  # noqa: E402
from fairsim.errors import InputError  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one intra-op thread (as simulate uses) keeps the tests fast on busy CPUs."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _ctx(t=5, P=12, step_norm=0.7, seed=0):
    return AG.UpdateContext(t, P, step_norm, np.random.default_rng(seed))


def _delta(m=3, P=12):
    return torch.as_tensor(np.random.default_rng(1).standard_normal((m, P)))


@pytest.mark.parametrize("kind", AG.KINDS)
def test_registered_as_behaviours(kind):
    e = registry.get(f"federated.{kind}", "behaviour")
    assert e.kind == "behaviour" and e.domain == "federated"
    assert isinstance(e.func(), AG.Behaviour) and e.func().kind == kind


def test_honest_noisy_label_flip_upload_true_update():
    d = _delta()
    for kind in ("honest", "noisy", "label_flip"):
        assert torch.equal(AG.make_behaviour(kind).transform(d, _ctx()), d)


def test_sign_flip_and_scaled():
    d = _delta()
    assert torch.equal(AG.make_behaviour("sign_flip").transform(d, _ctx()), -d)
    assert torch.allclose(AG.make_behaviour("scaled").transform(d, _ctx()), 10 * d)
    assert torch.allclose(AG.make_behaviour("scaled", {"lam": 2.5}).transform(d, _ctx()), 2.5 * d)


def test_free_rider_modes():
    d = _delta(4, 50)
    z = AG.make_behaviour("free_rider", {"mode": "zero"}).transform(d, _ctx(P=50))
    assert torch.count_nonzero(z) == 0
    r = AG.make_behaviour("free_rider").transform(d, _ctx(P=50)).numpy()  # default "random"
    assert r.shape == (4, 50) and r.min() >= -1 and r.max() <= 1 and r.std() > 0.4
    st = AG.make_behaviour("free_rider", {"mode": "stealth"})
    s = st.transform(d, _ctx(P=50, step_norm=0.3)).numpy()
    assert np.allclose(np.linalg.norm(s, axis=1), 0.3)
    s0 = st.transform(d, _ctx(t=1, P=50, step_norm=None)).numpy()
    assert np.allclose(np.linalg.norm(s0, axis=1), 1e-3 * np.sqrt(50))
    # directions differ between clients (independent draws)
    assert abs(float(s[0] @ s[1])) < 0.3 * 0.3 * 0.9


def test_sign_randomize_keeps_magnitudes():
    d = _delta(2, 400)
    out = AG.make_behaviour("sign_randomize").transform(d, _ctx()).numpy()
    assert np.allclose(np.abs(out), np.abs(d.numpy()))
    flipped = np.mean(np.sign(out) != np.sign(d.numpy()))
    assert 0.4 < flipped < 0.6


def test_relabel():
    y = np.random.default_rng(0).permutation(np.arange(2000) % 10)
    rng = np.random.default_rng(2)
    assert np.array_equal(AG.make_behaviour("honest").relabel(y, rng, 10), y)
    lf = AG.make_behaviour("label_flip").relabel(y, rng, 10)
    assert np.all(lf[y == 1] == 7) and np.array_equal(lf[y != 1], y[y != 1])
    nz = AG.make_behaviour("noisy", {"p": 1.0}).relabel(y, rng, 10)
    # every label uniform: agrees with the truth about 1/10 of the time
    assert 0.07 < np.mean(nz == y) < 0.13
    assert np.array_equal(AG.make_behaviour("noisy", {"p": 0.0}).relabel(y, rng, 10), y)
    half = AG.make_behaviour("noisy").relabel(y, rng, 10)  # p = 0.5: 0.5 + 0.5/10 agree
    assert 0.5 < np.mean(half == y) < 0.6


def test_claimed_sizes_free_riders_claim_median_honest():
    beh = [AG.make_behaviour(k) for k in ("honest", "noisy", "scaled", "free_rider", "honest")]
    got = AG.claimed_sizes(np.array([10, 40, 1000, 5, 20]), beh)
    assert got.tolist() == [10, 40, 1000, 20, 20]  # median of honest/noisy {10, 40, 20}
    assert [b.honest for b in beh] == [True, True, False, False, True]


def test_invalid_parameters():
    with pytest.raises(InputError, match="mode"):
        AG.make_behaviour("free_rider", {"mode": "lazy"})
    with pytest.raises(InputError, match="p"):
        AG.make_behaviour("noisy", {"p": 1.5})
    with pytest.raises(InputError, match="client type"):
        AG.make_behaviour("byzantine")
    with pytest.raises(InputError, match="bad parameters"):
        AG.make_behaviour("honest", {"q": 1})


def test_client_agent_is_a_mesa_agent():
    import mesa

    cls = AG.client_agent_class()
    assert issubclass(cls, mesa.Agent)
    m = mesa.Model(rng=0)
    a = cls(m, 3, AG.make_behaviour("honest"), np.arange(8), np.arange(8, 10), 8.0)
    assert (a.client_id, a.row, a.kind, a.true_size, a.claimed_size) == (3, 3, "honest", 8, 8.0)
    assert AG.ClientAgent is cls
