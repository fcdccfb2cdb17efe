"""ModelUtilityGame: numpy vs torch agreement, purity, sanity and validation (spec valuation §9)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- solver="newton": the regularised optimum (batched damped Newton) --------------------------


def _data3(seed: int = 1, n: int = 4, per: int = 30):
    rng = np.random.default_rng(seed)
    m = n * per
    X = rng.normal(size=(m, 3))
    W = np.array([[2.0, -1.0, 0.0], [0.0, 1.5, -1.5], [0.5, 0.0, 1.0]])
    y = np.argmax(X @ W + rng.gumbel(size=(m, 3)), axis=1).astype(np.int64)
    Xv = rng.normal(size=(90, 3))
    yv = np.argmax(Xv @ W + rng.gumbel(size=(90, 3)), axis=1).astype(np.int64)
    return X, y, np.repeat(np.arange(n), per), Xv, yv


def _scipy_val_log_loss(X, y, own, Xv, yv, parties, l2: float, n_cls: int) -> float:
    """Independent optimum: full C-column softmax, all (d+1)C parameters free, scipy BFGS."""
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    mu, sd = X.mean(0), X.std(0)
    rows = np.isin(own, parties)
    xs = np.hstack([(X[rows] - mu) / sd, np.ones((rows.sum(), 1))])
    xv = np.hstack([(Xv - mu) / sd, np.ones((len(yv), 1))])
    Y = np.eye(n_cls)[y[rows]]
    d1 = xs.shape[1]

    def fun(t):
        th = t.reshape(d1, n_cls)
        z = xs @ th
        lp = log_softmax(z, axis=1)
        P = np.exp(lp)
        pen = np.ones((d1, 1))
        pen[-1] = 0
        f = -np.mean(np.sum(lp * Y, axis=1)) + 0.5 * l2 * np.sum(th[:-1] ** 2)
        g = xs.T @ (P - Y) / len(Y) + l2 * pen * th
        return f, g.ravel()

    res = minimize(fun, np.zeros(d1 * n_cls), jac=True, method="BFGS", options={"gtol": 1e-11})
    lpv = log_softmax(xv @ res.x.reshape(d1, n_cls), axis=1)
    return float(np.mean(lpv[np.arange(len(yv)), yv]))


@pytest.mark.parametrize("data,l2", [(_data, 1e-3), (_data3, 1e-3), (_data, 1e-4)])
def test_newton_matches_independent_optimum(data, l2: float) -> None:
    X, y, own, Xv, yv = data()
    n_cls = int(y.max()) + 1
    g = ModelUtilityGame(X, y, own, Xv, yv, solver="newton", l2=l2, metric="neg_log_loss")
    for parties in ([0, 2], [1, 2, 3], [3]):
        row = np.isin(np.arange(4), parties)
        ref = _scipy_val_log_loss(X, y, own, Xv, yv, parties, l2, n_cls)
        assert g.value(row)[0] == pytest.approx(ref, abs=1e-7)


@pytest.mark.parametrize("data", [_data, _data3])
@pytest.mark.parametrize("metric", ["neg_log_loss", "accuracy"])
def test_newton_numpy_and_torch_agree(data, metric: str) -> None:
    # two classes: torch runs the binary difference-coordinate kernel, numpy the C-column one
    pytest.importorskip("torch")
    d = data()
    kw = dict(solver="newton", metric=metric, cache=False)
    a = ModelUtilityGame(*d, backend="numpy", **kw).value(_all_rows(4))
    b = ModelUtilityGame(*d, backend="torch", batch_size=5, **kw).value(_all_rows(4))
    np.testing.assert_allclose(a, b, atol=1e-10)
    assert a[0] == ModelUtilityGame(*d, **kw).empty_value  # empty coalition never trained


def test_newton_separable_and_single_class_coalitions() -> None:
    # party 0 holds only class 0 (its bias optimum is at infinity: the gradient stop ends it),
    # parties 1-3 are linearly separable with a tiny penalty (damped steps); values stay finite
    pytest.importorskip("torch")
    X, _, own, Xv, yv = _data()
    y = (X[:, 0] > 0).astype(np.int64)
    y[own == 0] = 0
    kw = dict(solver="newton", l2=1e-5, cache=False)
    rows = _all_rows(4)
    for metric in ("accuracy", "neg_log_loss"):
        a = ModelUtilityGame(X, y, own, Xv, yv, metric=metric, **kw).value(rows)
        b = ModelUtilityGame(X, y, own, Xv, yv, metric=metric, backend="torch", **kw).value(rows)
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)

        if metric == "accuracy":
            assert a[1] == pytest.approx(np.mean(yv == 0))  # {0}: predicts class 0 everywhere
            assert a[0b1110] >= 0.95  # separable parties learn the rule x0 > 0


def test_newton_beats_gd_on_training_objective() -> None:
    # the optimum has a lower regularised training loss than 200 GD steps from the same start
    from fairsim.allocation._coalition_numpy import forward, newton_one, train_one

    X, y, own, Xv, yv = _data()
    g = ModelUtilityGame(X, y, own, Xv, yv)
    x, Y = g._x[own < 2], g._y1h[own < 2]

    def objective(p):
        z = forward("logreg", p, x)
        z = z - z.max(1, keepdims=True)
        lp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return -np.mean(np.sum(lp * Y, 1)) + 0.5e-3 * np.sum(p[0] ** 2)

    p_gd = train_one("logreg", x, Y, [np.zeros((3, 2)), np.zeros(2)], 200, 0.5, 1e-3)
    p_nt = newton_one(x, Y, 1e-3, 1e-12, 100)
    assert objective(p_nt) < objective(p_gd) - 1e-6


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"solver": "lbfgs"}, "solver"),
        ({"solver": "newton", "model": "mlp"}, "model='logreg'"),
        ({"solver": "newton", "l2": 0.0}, "l2 > 0"),
        ({"solver": "newton", "tol": 0.0}, "tol"),
    ],
)
def test_newton_validation(kw: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        ModelUtilityGame(*_data(), **kw)


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_cls=st.sampled_from([2, 3]),
    l2=st.sampled_from([1e-4, 1e-2, 0.3]),
)
def test_newton_backends_agree_property(seed: int, n_cls: int, l2: float) -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 9, size=3)  # tiny, unequal parties: one- and few-row coalitions
    own = np.repeat(np.arange(3), per)
    X = rng.normal(size=(own.size, 2))
    y = rng.integers(0, n_cls, size=own.size)
    Xv, yv = rng.normal(size=(20, 2)), rng.integers(0, n_cls, size=20)
    kw = dict(solver="newton", l2=l2, metric="neg_log_loss", n_classes=n_cls, cache=False)
    a = ModelUtilityGame(X, y, own, Xv, yv, **kw).value(_all_rows(3))
    b = ModelUtilityGame(X, y, own, Xv, yv, backend="torch", batch_size=3, **kw).value(_all_rows(3))
    assert np.all(np.isfinite(a))
    # both stop at max |grad| <= 1e-10; with curvature >= l2/2 the optima agree to ~1e-6 relative
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)


# --- row layouts of the torch backend: masking vs padding (spec §9) ----------------------------


def _data_all_classes(n_cls: int, seed: int = 5, n: int = 4):
    """Unequal parties, each holding every class: every coalition's optimum is finite."""
    rng = np.random.default_rng(seed)
    per = rng.integers(n_cls + 2, 25, size=n)
    own = np.repeat(np.arange(n), per)
    X = rng.normal(size=(own.size, 3))
    y = np.argmax(X @ rng.normal(size=(3, n_cls)) + rng.gumbel(size=(own.size, n_cls)), axis=1)
    for i in range(n):  # force every class into every party
        y[np.flatnonzero(own == i)[:n_cls]] = np.arange(n_cls)
    Xv = rng.normal(size=(50, 3))
    yv = rng.integers(0, n_cls, size=50)
    return X, y.astype(np.int64), own, Xv, yv


@pytest.mark.parametrize("n_cls", [2, 3])
@pytest.mark.parametrize("solver,model", [("newton", "logreg"), ("gd", "logreg"), ("gd", "mlp")])
def test_layouts_agree(n_cls: int, solver: str, model: str) -> None:
    pytest.importorskip("torch")
    d = _data_all_classes(n_cls)
    rows = _all_rows(4)
    kw = dict(
        solver=solver, model=model, metric="neg_log_loss", cache=False, epochs=25, lr=0.3, seed=2
    )
    ref = ModelUtilityGame(*d, **kw).value(rows)  # numpy, one coalition at a time
    lays = ("mask", "pad", "auto") if solver == "newton" else ("mask", "pad")
    vals = {
        lay: ModelUtilityGame(*d, backend="torch", layout=lay, batch_size=5, **kw).value(rows)
        for lay in lays
    }
    np.testing.assert_allclose(vals["pad"], vals["mask"], rtol=0, atol=1e-10)
    if "auto" in vals:  # batches of 5 sorted by size: small ones padded, large ones masked
        np.testing.assert_allclose(vals["auto"], vals["mask"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(vals["pad"], ref, rtol=0, atol=1e-10)
    assert vals["pad"][0] == ref[0]  # empty coalition: the empty value, never trained


def test_chunks_sort_and_auto_rule() -> None:
    pytest.importorskip("torch")
    from fairsim.allocation._coalition_torch import PAD_FRACTION, _chunks

    sizes = np.array([0, 90, 10, 50, 70, 20, 100])
    todo = np.flatnonzero(sizes > 0)
    mask = _chunks(sizes, todo, 100, "mask", 2)
    assert [list(i) for i, _ in mask] == [[1, 2], [3, 4], [5, 6]] and not any(p for _, p in mask)
    auto = _chunks(sizes, todo, 100, "auto", 2)
    # sorted by size: (10, 20), (50, 70), (90, 100); pad while the chunk's largest <= 60 rows
    assert [list(i) for i, _ in auto] == [[2, 5], [3, 4], [1, 6]]
    assert [p for _, p in auto] == [True, False, False] and PAD_FRACTION == 0.6
    assert all(p for _, p in _chunks(sizes, todo, 100, "pad", 2))


def test_gather_pads_with_zero_weight() -> None:
    pytest.importorskip("torch")
    from fairsim.allocation._coalition_torch import _gather

    rows = np.array([[True, False, True, True], [False, True, False, False]])
    idx, w = _gather(rows, rows.sum(1), "cpu")
    assert idx.tolist() == [[0, 2, 3], [1, 4, 4]]  # pads point past the pooled rows
    np.testing.assert_array_equal(w, [[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]])


def test_layout_validation() -> None:
    with pytest.raises(InputError, match="layout"):
        ModelUtilityGame(*_data(), layout="ragged")


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n_cls=st.sampled_from([2, 3]))
def test_pad_layout_matches_mask_property(seed: int, n_cls: int) -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 9, size=4)  # tiny unequal parties: one-row and single-class coalitions
    own = np.repeat(np.arange(4), per)
    X = rng.normal(size=(own.size, 2))
    y = rng.integers(0, n_cls, size=own.size)
    Xv, yv = rng.normal(size=(20, 2)), rng.integers(0, n_cls, size=20)
    kw = dict(solver="newton", metric="neg_log_loss", n_classes=n_cls, cache=False)
    rows = _all_rows(4)
    a = ModelUtilityGame(X, y, own, Xv, yv, backend="torch", layout="mask", **kw).value(rows)
    b = ModelUtilityGame(X, y, own, Xv, yv, backend="torch", layout="pad", batch_size=3, **kw)
    vb = b.value(rows)
    # a coalition holding every class has a finite optimum: the layouts agree to rounding;
    # without some class the optimum is at infinity and the gradient stop is rounding-sensitive
    full = np.array([np.unique(y[r[own]]).size == n_cls for r in rows])
    np.testing.assert_allclose(vb[full], a[full], rtol=0, atol=1e-10)
    np.testing.assert_allclose(vb, a, rtol=1e-5, atol=1e-8)
