"""ModelUtilityGame: numpy vs torch agreement, purity, sanity and validation (spec valuation §9)."""

from __future__ import annotations

import numpy as np
import pytest

from fairsim.errors import InputError
from fairsim.mechanisms._games_model import ModelUtilityGame
from fairsim.mechanisms.valuation import shapley


def _data(seed: int = 0, n: int = 4, per: int = 40):
    rng = np.random.default_rng(seed)
    m = n * per
    X = rng.normal(size=(m, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=m) > 0).astype(np.int64)
    own = np.repeat(np.arange(n), per)
    Xv = rng.normal(size=(120, 3))
    yv = (Xv[:, 0] > 0).astype(np.int64)
    return X, y, own, Xv, yv


def _all_rows(n: int) -> np.ndarray:
    return (np.arange(1 << n)[:, None] >> np.arange(n)[None, :]) & 1 == 1


@pytest.mark.parametrize("model,lr", [("logreg", 0.5), ("mlp", 0.1)])
def test_numpy_and_torch_agree(model: str, lr: float) -> None:
    pytest.importorskip("torch")
    d = _data()
    kw = dict(model=model, lr=lr, epochs=60, metric="neg_log_loss", seed=3)
    a = ModelUtilityGame(*d, backend="numpy", **kw).value(_all_rows(4))
    b = ModelUtilityGame(*d, backend="torch", batch_size=5, **kw).value(_all_rows(4))
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_logreg_matches_hand_rolled_gradient_descent() -> None:
    # independent re-derivation: binary logistic regression as 2-class softmax == sigmoid of the
    # logit difference; train coalition {0, 2} alone with explicit loops over steps
    X, y, own, Xv, yv = _data()
    g = ModelUtilityGame(X, y, own, Xv, yv, epochs=30, metric="neg_log_loss", l2=0.0)
    mu, sd = X.mean(0), X.std(0)
    rows = np.isin(own, [0, 2])
    xs, ys = (X[rows] - mu) / sd, y[rows]
    W, b = np.zeros((3, 2)), np.zeros(2)
    for _ in range(30):
        z = xs @ W + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        G = (p - np.eye(2)[ys]) / len(ys)
        W, b = W - 0.5 * xs.T @ G, b - 0.5 * G.sum(0)
    zv = ((Xv - mu) / sd) @ W + b
    pv = 1 / (1 + np.exp(-(zv[:, 1] - zv[:, 0])))
    ref = np.mean(np.log(np.where(yv == 1, pv, 1 - pv)))
    assert g.value(np.array([True, False, True, False]))[0] == pytest.approx(ref, abs=1e-12)


def test_purity_cache_and_shapes() -> None:
    g = ModelUtilityGame(*_data(), epochs=40)
    row = np.array([True, True, False, False])
    v1 = g.value(row)
    assert v1.shape == (1,) and g.evaluations == 1
    v2 = g.value(np.stack([row, row]))
    assert np.all(v2 == v1[0]) and g.evaluations == 1  # cache hit
    assert g.value(np.zeros((0, 4), bool)).shape == (0,)
    g2 = ModelUtilityGame(*_data(), epochs=40, cache=False)
    assert g2.value(row)[0] == v1[0]


def test_empty_value_and_full_beats_empty() -> None:
    X, y, own, Xv, yv = _data()
    g = ModelUtilityGame(X, y, own, Xv, yv)
    majority = np.argmax(np.bincount(y))
    assert g.value(np.zeros(4, bool))[0] == pytest.approx(np.mean(yv == majority))
    assert g.value(np.ones(4, bool))[0] >= g.value(np.zeros(4, bool))[0] + 0.2
    nll = ModelUtilityGame(X, y, own, Xv, yv, metric="neg_log_loss")
    assert nll.value(np.zeros(4, bool))[0] == pytest.approx(-np.log(2))


def test_party_without_rows_is_null_player() -> None:
    X, y, own, Xv, yv = _data(n=3)
    g = ModelUtilityGame(X, y, own, Xv, yv, n_players=4, epochs=40)
    phi = shapley(g).values
    assert abs(phi[3]) < 1e-12
    full = g.value(np.ones(4, bool))[0]
    assert phi.sum() == pytest.approx(full - g.empty_value, abs=1e-12)


def test_mlp_deterministic_from_seed() -> None:
    d = _data()
    rows = _all_rows(4)[1:]
    a = ModelUtilityGame(*d, model="mlp", lr=0.1, epochs=30, seed=1, metric="neg_log_loss")
    b = ModelUtilityGame(*d, model="mlp", lr=0.1, epochs=30, seed=1, metric="neg_log_loss")
    c = ModelUtilityGame(*d, model="mlp", lr=0.1, epochs=30, seed=2, metric="neg_log_loss")
    assert np.array_equal(a.value(rows), b.value(rows))
    assert not np.array_equal(a.value(rows), c.value(rows))


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"model": "svm"}, "model"),
        ({"backend": "jax"}, "backend"),
        ({"metric": "f1"}, "metric"),
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"device": "cuda"}, "device"),
        ({"n_players": 2}, "owners"),
    ],
)
def test_validation(kw: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        ModelUtilityGame(*_data(), **kw)


def test_bad_shapes() -> None:
    X, y, own, Xv, yv = _data()
    with pytest.raises(InputError, match="X_val"):
        ModelUtilityGame(X, y, own, Xv[:, :2], yv)
    with pytest.raises(InputError, match="y"):
        ModelUtilityGame(X, y[:-1], own, Xv, yv)


def test_torch_missing_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def fake(name: str, *a, **k):
        if name == "torch":
            raise ImportError("no torch")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(InputError, match=r"fairsim\[torch\]"):
        ModelUtilityGame(*_data(), backend="torch")
