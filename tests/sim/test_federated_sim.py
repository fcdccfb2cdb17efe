"""The federated simulator (spec federated.md §2, §5, §6 acceptance tests 2, 5, 7; fedapi §C)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fairsim.allocation import _federated_torch as FT  # noqa: E402
from fairsim.errors import InputError  # noqa: E402
from fairsim.sim.facility import child_seed  # noqa: E402
from fairsim.sim.federated import FederatedModel, make_config, simulate  # noqa: E402

SMALL = {"n_samples": 1200, "rounds": 4, "local_steps": 3}


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one intra-op thread (as simulate uses) keeps the tests fast on busy CPUs."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_k1_fedavg_equals_centralised_sgd():
    """Acceptance 2: one client under FedAvg = plain SGD on its rows with the same batches."""
    cfg = make_config(1, 0, "fedavg", 5, 7, n_samples=400, n_features=6, n_classes=3,
                      local_steps=4, batch_size=16, lr=0.2, dtype="float64")  # fmt: skip
    fm = FederatedModel(cfg)
    for _ in range(5):
        fm.step()
    # independent reference: nn.Linear + torch.optim.SGD on the client's rows, same batches
    lin = torch.nn.Linear(6, 3).double()
    with torch.no_grad():
        lin.weight.copy_(fm.theta0[:18].view(3, 6))
        lin.bias.copy_(fm.theta0[18:])
    opt = torch.optim.SGD(lin.parameters(), lr=0.2)
    loader = FT.Loader(fm.true_sizes, np.random.default_rng(child_seed(cfg["seed_seq"], 2, 0)))
    X, y = fm.Xtr[0], fm.ytr[0]
    for _ in range(5):
        idx, mask = loader.next_round(np.array([0]), 4, 16)
        assert mask.all()
        for s in range(4):
            opt.zero_grad()
            rows = torch.as_tensor(idx[0, s])
            torch.nn.functional.cross_entropy(lin(X[rows]), y[rows]).backward()
            opt.step()
    ref = torch.cat([lin.weight.detach().reshape(-1), lin.bias.detach()])
    assert torch.allclose(fm.theta, ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("mechanism", ["fedavg", "rffl"])
def test_vmap_equals_loop_backend(mechanism):
    kinds = ["honest", "noisy", "free_rider", "sign_flip", "honest"]
    runs = [
        simulate(
            5,
            mechanism=mechanism,
            seed=3,
            client_types=kinds,
            dtype="float64",
            backend=b,
            partition="dirichlet",
            **SMALL,
        )  # fmt: skip
        for b in ("vmap", "loop")
    ]
    a, b = runs
    for key in ("accuracy", "client_accuracy", "contributions"):
        assert np.allclose(a.history[key], b.history[key], atol=1e-10, rtol=0), key
    assert np.array_equal(a.history["participants"], b.history["participants"])
    assert np.allclose(a.standalone, b.standalone, atol=1e-10)


def test_reproducible_and_seed_sensitive():
    kw = {"mechanism": "rffl", "free_riders": 1, "participation": "uniform",
          "participation_rate": 0.6, **SMALL}  # fmt: skip
    a, b, c = simulate(5, seed=11, **kw), simulate(5, seed=11, **kw), simulate(5, seed=12, **kw)
    for key in a.history:
        assert np.array_equal(a.history[key], b.history[key]), key
    assert np.array_equal(a.contributions, b.contributions)
    assert np.array_equal(a.standalone, b.standalone) and a.fairness == b.fairness
    assert not np.array_equal(a.history["participants"], c.history["participants"])


def test_history_shapes_comm_and_result_fields():
    r = simulate(4, 1, "fedavg", 3, 0, n_samples=800, local_steps=2)
    T, n, P = 3, 4, 20 * 10 + 10
    assert r.history["accuracy"].shape == (T,)
    for key in ("client_accuracy", "contributions", "participants", "flagged"):
        assert r.history[key].shape == (T, n), key
    assert r.history["gap"].shape == (T,)
    assert np.all(r.history["uplink_bytes"] == n * P * 4)
    assert np.all(r.history["downlink_bytes"] == n * P * 4)
    assert r.comm_mb_total == pytest.approx(2 * T * n * P * 4 / 1e6)
    assert r.client_types == ("honest", "honest", "honest", "free_rider")
    # full participation under a global mechanism: everyone holds theta^t, gap 0
    assert np.all(r.history["client_accuracy"] == r.history["accuracy"][:, None])
    assert r.gap_final == 0.0 and r.accuracy == r.history["accuracy"][-1]
    assert r.standalone.shape == (n,) and np.all((r.standalone >= 0) & (r.standalone <= 1))
    assert r.params["n_clients"] == 4 and r.mechanism == "fedavg" and r.wall_time > 0


def test_partial_participation_and_stale_models():
    r = simulate(8, 0, "fedavg", 6, 1, participation="uniform", participation_rate=0.4,
                 n_samples=1600, local_steps=2)  # fmt: skip
    part = r.history["participants"]
    assert np.all(part.sum(axis=1) == 4)  # ceil(0.4 * 8)
    ca = r.history["client_accuracy"]
    for t in range(1, 6):
        for i in range(8):
            if part[t, i]:
                assert ca[t, i] == r.history["accuracy"][t]
            else:  # [F] a non-participant keeps the model it held
                assert ca[t, i] == ca[t - 1, i]
    rb = simulate(8, 0, "fedavg", 6, 1, participation="bernoulli", participation_rate=0.5,
                  n_samples=1600, local_steps=2, standalone=False)  # fmt: skip
    assert 0 < rb.history["participants"].mean() < 1
    assert np.isnan(rb.fairness) and np.all(np.isnan(rb.standalone))


def test_rffl_removes_random_free_rider():
    """Acceptance 5 (driven through the simulator): 5 IID honest + 1 random free rider."""
    r = simulate(6, 1, "rffl", 20, 0)
    assert 5 in r.removed
    assert set(r.removed) <= {5}  # no honest client removed
    assert r.detection_rate == 1.0 and r.false_positive_rate == 0.0
    assert r.mean_detection_round <= 20
    # personal models: each client holds its own model; the free rider's stops improving
    assert r.client_accuracy[:5].min() > r.client_accuracy[5]


def test_learning_happens_mlp_image_blobs():
    r = simulate(4, 0, "fedavg", 8, 0, dataset="image_blobs", model="mlp", hidden=16,
                 n_samples=1200, lr=0.1)  # fmt: skip
    assert r.history["accuracy"][-1] > 0.5  # 10 classes: chance is 0.1
    assert r.history["accuracy"][-1] > r.history["accuracy"][0]


def test_sign_flip_attack_hurts_fedavg():
    base = simulate(5, 0, "fedavg", 6, 2, n_samples=1500, standalone=False)
    kinds = ["honest"] * 4 + ["sign_flip"]
    att = simulate(5, 0, "fedavg", 6, 2, n_samples=1500, standalone=False, client_types=kinds,
                   behaviour_params={"sign_flip": {"lam": 10.0}})  # fmt: skip
    # FedAvg's aggregate is 0.8 * honest mean - 2 * (flipped honest update): gradient ascent
    assert att.accuracy < base.accuracy - 0.2
    assert att.history["accuracy"][-1] < att.history["accuracy"][0] + 0.05


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_clients": 0}, "n_clients"),
        ({"free_riders": 11}, "free_riders"),
        ({"client_types": ["honest"] * 3}, "client_types"),
        ({"client_types": ["honest"] * 9 + ["evil"]}, "client_types"),
        ({"dataset": "mnist"}, "dataset"),
        ({"partition": "zipf"}, "partition"),
        ({"lr": 0.0}, "lr"),
        ({"participation": "some"}, "participation"),
        ({"participation_rate": 1.5}, "participation_rate"),
        ({"dtype": "float16"}, "dtype"),
        ({"backend": "jax"}, "backend"),
        ({"mechanism": "nope"}, "nope"),
        ({"n_samples": 50}, "n_samples"),
        ({"behaviour_params": {"free_rider": {"mode": "x"}}}, "mode"),
    ],
)
def test_invalid_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        simulate(**{"rounds": 1, **kwargs})


def test_fedce_communication_adds_coefficients():
    """Spec §5: FedCE adds K floats down and 1 float up per participant."""
    r = simulate(4, 0, "fedce", 2, 0, n_samples=800, local_steps=2, standalone=False)
    P = 210
    assert np.all(r.history["uplink_bytes"] == 4 * (P + 1) * 4)
    assert np.all(r.history["downlink_bytes"] == 4 * (P + 4) * 4)


def test_mesa_model_agents_and_datacollector():
    from fairsim.agents.federated import client_agent_class

    cfg = make_config(5, 2, "rffl", 3, 0, n_samples=1000, local_steps=2)
    fm = FederatedModel(cfg)
    for _ in range(3):
        fm.step()
    assert len(fm.agents) == 5
    ags = sorted(fm.agents, key=lambda a: a.client_id)
    assert all(isinstance(a, client_agent_class()) for a in ags)
    assert [a.kind for a in ags] == ["honest"] * 3 + ["free_rider"] * 2
    assert [a.claimed_size for a in ags[3:]] == [float(np.median(fm.true_sizes[:3]))] * 2
    # training and local-validation rows of all clients: disjoint, and together the pool
    rows = np.concatenate([np.concatenate([a.train_idx, a.val_idx]) for a in ags])
    assert rows.size == np.unique(rows).size == 700  # 70% of 1000
    df = fm.datacollector.get_model_vars_dataframe()
    assert len(df) == 3 and np.allclose(df["accuracy"].to_numpy(), fm.hist["accuracy"])
