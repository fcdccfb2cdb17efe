"""Federated kernels: datasets, partitions (spec federated.md §2.1), loader, batched SGD, evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from fairsim.allocation import _federated_torch as FT  # noqa: E402
from fairsim.errors import InputError  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one intra-op thread (as simulate uses) keeps the tests fast on busy CPUs."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _labels(m=1000, C=10, seed=0):
    return np.random.default_rng(seed).permutation(np.arange(m) % C)


@pytest.mark.parametrize("method", FT.PARTITIONS)
@pytest.mark.parametrize("K", [1, 5, 20])
def test_partition_exact_and_min_size(method, K):
    y = _labels()
    alpha = 5.0 if method == "quantity" else 0.5  # Dir(0.5) sizes over 20 clients: too small
    parts = FT.partition(y, K, method, alpha, np.random.default_rng(K))
    assert len(parts) == K
    allidx = np.concatenate(parts)
    assert np.array_equal(np.sort(allidx), np.arange(y.size))  # each sample exactly once
    assert min(p.size for p in parts) >= FT.MIN_SIZE


def _label_skew(alpha, seeds=range(4), K=10):
    """Mean total-variation distance between a client's label mix and the global one."""
    out = []
    for s in seeds:
        y = _labels(2000, 10, s)
        for p in FT.partition(y, K, "dirichlet", alpha, np.random.default_rng(100 + s)):
            mix = np.bincount(y[p], minlength=10) / p.size
            out.append(0.5 * np.abs(mix - 0.1).sum())
    return float(np.mean(out))


def test_dirichlet_label_skew_falls_with_alpha():
    skews = [_label_skew(a) for a in (0.1, 1.0, 100.0)]
    assert skews[0] > skews[1] > skews[2]
    assert skews[0] > 0.5 and skews[2] < 0.1


def test_partition_gives_up_after_100_attempts():
    y = _labels(200)
    with pytest.raises(InputError, match="100 attempts"):
        FT.partition(y, 19, "dirichlet", 0.01, np.random.default_rng(0))
    with pytest.raises(InputError, match="min_size"):
        FT.partition(y, 25, "iid", 0.5, np.random.default_rng(0))


def test_shards_give_each_client_few_labels():
    y = _labels(1000)
    parts = FT.partition(y, 10, "shards", 0.5, np.random.default_rng(3))
    # 2 shards of 50 label-sorted rows each: at most 2 labels per shard
    assert max(np.unique(y[p]).size for p in parts) <= 4
    assert all(p.size == 100 for p in parts)


def test_splits_and_local_split():
    rng = np.random.default_rng(0)
    sv, te, pool = FT.split_indices(1000, rng)
    assert (sv.size, te.size, pool.size) == (100, 200, 700)
    assert np.array_equal(np.sort(np.concatenate([sv, te, pool])), np.arange(1000))
    parts = [np.arange(0, 50), np.arange(50, 61)]
    tr, va = FT.local_split(parts, rng)
    assert [v.size for v in va] == [10, 2]
    for p, a, b in zip(parts, tr, va, strict=True):
        assert np.array_equal(np.sort(np.concatenate([a, b])), p)


@pytest.mark.parametrize("name", FT.DATASETS)
def test_datasets_shapes_balanced(name):
    X, y = FT.make_dataset(name, 600, 20, 10, np.random.default_rng(0))
    d = 64 if name == "image_blobs" else 20
    assert X.shape == (600, d) and y.shape == (600,)
    assert np.array_equal(np.bincount(y), np.full(10, 60))
    # class means are distinct: nearest-mean classification beats chance by far
    mu = np.stack([X[y == c].mean(0) for c in range(10)])
    pred = np.argmin(((X[:, None, :] - mu[None]) ** 2).sum(-1), axis=1)
    assert np.mean(pred == y) > 0.5


def test_loader_stream_is_successive_permutations():
    sizes = np.array([40, 7, 100])
    L = FT.Loader(sizes, np.random.default_rng(0))
    streams = []
    for _ in range(3):
        idx, mask = L.next_round(np.array([0]), 5, 32)
        assert mask.all()
        streams.append(idx[0].reshape(-1))
    s = np.concatenate(streams)  # 480 = 12 permutations of 40 rows
    for e in range(12):
        assert np.array_equal(np.sort(s[40 * e : 40 * (e + 1)]), np.arange(40))
    # a client with n < B uses all its rows every step, padded and masked
    idx, mask = L.next_round(np.array([1, 2]), 4, 32)
    assert mask[0].sum(axis=1).tolist() == [7] * 4
    assert all(np.array_equal(np.sort(idx[0, s][mask[0, s]]), np.arange(7)) for s in range(4))
    assert mask[1].all() and idx[1].max() < 100


def _setup(model, dtype, K=6, seed=0):
    rng = np.random.default_rng(seed)
    X, y = FT.make_dataset("gaussian_mixture", 800, 5, 3, rng)
    parts = FT.partition(y, K, "dirichlet", 0.5, rng)
    parts[0] = parts[0][:12]  # one client with fewer rows than B
    Xp, yp, n = FT.pad_stack(X, y, parts, "cpu", dtype)
    spec = FT.ModelSpec(model, 5, 3, hidden=8)
    L = FT.Loader(n, np.random.default_rng(seed + 1))
    cl = np.arange(K)
    idx, mask = L.next_round(cl, 4, 16)
    xb, yb, mb = FT.gather_batches(Xp, yp, cl, idx, mask)
    th = torch.as_tensor(np.stack([spec.init(rng) for _ in range(K)]), dtype=dtype)
    return spec, th, xb, yb, mb, X, y


@pytest.mark.parametrize("model", FT.MODELS)
def test_vmap_equals_loop_float64(model):
    spec, th, xb, yb, mb, *_ = _setup(model, torch.float64)
    a = FT.train_vmap(spec, th, xb, yb, mb, 0.1)
    b = FT.train_loop(spec, th, xb, yb, mb, 0.1)
    assert torch.allclose(a, b, atol=1e-10, rtol=0)
    assert not torch.allclose(a, th)  # it trained


def test_sgd_step_matches_closed_form_logreg():
    """One masked SGD step against the softmax-regression gradient written out in numpy."""
    spec, th, xb, yb, mb, *_ = _setup("logreg", torch.float64)
    out = FT.train_vmap(spec, th, xb[:, :1], yb[:, :1], mb[:, :1], 0.3).numpy()
    for i in range(th.shape[0]):
        W = th[i, :15].numpy().reshape(3, 5)  # nn.Linear weight (C, d)
        b = th[i, 15:].numpy()
        x, yy, m = xb[i, 0].numpy(), yb[i, 0].numpy(), mb[i, 0].numpy()
        z = x @ W.T + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - np.eye(3)[yy]) * (m / m.sum())[:, None]
        W2, b2 = W - 0.3 * g.T @ x, b - 0.3 * g.sum(0)
        assert np.allclose(out[i], np.concatenate([W2.ravel(), b2]), atol=1e-12)


def test_accuracy_and_local_accuracy_match_numpy():
    spec, th, xb, yb, mb, X, y = _setup("mlp", torch.float64)
    Xt, yt = torch.as_tensor(X[:300]), torch.as_tensor(y[:300])
    acc = FT.accuracy(spec, th, Xt, yt, chunk=4).numpy()

    def predict(theta, x):
        t = theta.numpy()
        W1, b1 = t[:40].reshape(8, 5), t[40:48]
        W2, b2 = t[48:72].reshape(3, 8), t[72:75]
        return (np.maximum(x @ W1.T + b1, 0) @ W2.T + b2).argmax(1)

    assert spec.n_params == 75
    ref = [np.mean(predict(th[i], X[:300]) == y[:300]) for i in range(th.shape[0])]
    assert np.allclose(acc, ref, atol=0)
    parts = [np.arange(0, 30), np.arange(30, 45), np.arange(45, 45)]
    Xv, yv, nv = FT.pad_stack(X, y, parts, "cpu", torch.float64)
    owners = np.array([1, 0, 2, 1])
    la = FT.local_accuracy(spec, th[:4], owners, Xv, yv, nv).numpy()
    for j, o in enumerate(owners):
        p = parts[o]
        want = np.mean(predict(th[j], X[p]) == y[p]) if p.size else 0.0
        assert la[j] == pytest.approx(want, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(FT.PARTITIONS),
    K=st.integers(1, 12),
    alpha=st.floats(0.3, 50.0),
    m=st.integers(300, 900),
    C=st.integers(2, 10),
    seed=st.integers(0, 2**31),
)
def test_partition_property_every_sample_once(method, K, alpha, m, C, seed):
    y = np.random.default_rng(seed).integers(0, C, size=m)
    try:
        parts = FT.partition(y, K, method, alpha, np.random.default_rng(seed))
    except InputError:
        return  # the documented give-up (min_size unreachable)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(m))
    assert min(p.size for p in parts) >= FT.MIN_SIZE
