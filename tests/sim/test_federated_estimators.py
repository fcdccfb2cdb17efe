"""Observers follow FedAvg's trajectory; local-validation accuracy by hand (numpy); OR's
efficiency on a real run (spec federated.md §4.6, §5)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from fairsim.sim.federated import FederatedModel, make_config, simulate  # noqa: E402

SMALL = dict(n_samples=600, n_features=4, n_classes=3, local_steps=3, batch_size=16, lr=0.1)


def test_observers_share_fedavg_trajectory() -> None:
    kw = dict(n_clients=4, rounds=3, seed=7, partition="quantity", alpha=1.0, standalone=False)
    base = simulate(mechanism="fedavg", **kw, **SMALL)  # type: ignore[arg-type]
    for mech in ("gtg_shapley", "mr_exact", "or_exact", "loo"):
        res = simulate(mechanism=mech, **kw, **SMALL)  # type: ignore[arg-type]
        for key in ("accuracy", "client_accuracy", "local_accuracy", "participants"):
            np.testing.assert_array_equal(res.history[key], base.history[key], err_msg=mech)
        np.testing.assert_array_equal(res.local_accuracy, base.local_accuracy)
        assert res.evaluations > 0 and base.evaluations == 0


def _logreg_local_acc(theta: np.ndarray, X: np.ndarray, y: np.ndarray, n: int, C: int) -> float:
    d = X.shape[1]
    W, b = theta[: C * d].reshape(C, d), theta[C * d :]
    pred = np.argmax(X[:n] @ W.T + b, axis=1)
    return float(np.mean(pred == y[:n]))


@pytest.mark.parametrize("mechanism", ["fedavg", "rffl"])
def test_local_accuracy_by_hand(mechanism: str) -> None:
    cfg = make_config(
        5, 0, mechanism, 3, 3, participation="uniform", participation_rate=0.6, standalone=False,
        **SMALL,  # type: ignore[arg-type]
    )  # fmt: skip
    fm = FederatedModel(cfg)
    held = np.tile(fm.theta0.numpy().astype(np.float64), (5, 1))
    for _ in range(3):
        fm.step()
        part = fm.hist["participants"][-1]
        if mechanism == "fedavg":  # participants take the new global model, the others keep theirs
            held[part] = fm.theta.numpy()
        else:
            held = fm.client_models.numpy().astype(np.float64)
        Xlv, ylv = fm.Xlv.numpy(), fm.ylv.numpy()
        want = [_logreg_local_acc(held[i], Xlv[i], ylv[i], int(fm.nlv[i]), 3) for i in range(5)]
        np.testing.assert_allclose(fm.hist["local_accuracy"][-1], want, atol=1e-12)
    res = fm.result(0.0)
    assert res.local_accuracy.shape == (5,) and res.history["local_accuracy"].shape == (3, 5)
    np.testing.assert_array_equal(res.local_accuracy, res.history["local_accuracy"][-1])


def test_or_exact_efficiency_on_a_run() -> None:
    """Full participation, truthful sizes: the all-client rebuilt model is FedAvg's θ^T, so the
    OR values sum to u(θ^T) − u(θ^0) on the server validation set."""
    cfg = make_config(4, 0, "or_exact", 3, 11, standalone=False, **SMALL)  # type: ignore[arg-type]
    fm = FederatedModel(cfg)
    for _ in range(3):
        fm.step()
    import torch

    vals = fm.utility(torch.stack([fm.theta, fm.theta0])).double().numpy()
    assert fm.mech.contributions.sum() == pytest.approx(vals[0] - vals[1], abs=1e-6)
    assert fm.mech.evaluations == 3 * 16
