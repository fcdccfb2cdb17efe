"""RFFL reputation mechanism on synthetic rounds (spec federated.md §4.2, §6 item 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fairsim.errors import InputError  # noqa: E402
from fairsim.mechanisms.federated import RoundRecord, make, rffl_reputation  # noqa: E402

LAYERS = [(0, 10), (10, 40), (40, 47)]
P = 47


def rec(updates: np.ndarray, sizes: np.ndarray, t: int, clients=None) -> RoundRecord:  # type: ignore[no-untyped-def]
    k = updates.shape[0]
    cl = np.arange(k) if clients is None else np.asarray(clients)
    return RoundRecord(
        t=t,
        theta_prev=torch.zeros(P, dtype=torch.float64),
        updates=torch.as_tensor(updates, dtype=torch.float64),
        clients=cl,
        sizes=np.asarray(sizes, dtype=np.float64),
        layer_slices=LAYERS,
        n_clients=6,
    )


def np_clip(u: np.ndarray, gamma: float) -> np.ndarray:
    out = u.copy()
    for i, row in enumerate(u):
        nrm = np.sqrt(np.sum(row**2))
        if nrm > gamma:
            out[i] = gamma * row / nrm
    return out


def np_cos(a: np.ndarray, b: np.ndarray) -> float:
    den = np.sqrt(np.sum(a**2)) * np.sqrt(np.sum(b**2))
    return float(np.sum(a * b) / den) if den > 1e-10 else 0.0


def test_reputations_after_round_zero_equal_psi_share() -> None:
    rng = np.random.default_rng(0)
    g = rng.normal(size=P)
    ups = np.array([g * (i + 1) * 0.1 + rng.normal(size=P) * 0.3 * i for i in range(6)])
    sizes = np.array([5.0, 10.0, 15.0, 20.0, 25.0, 30.0])
    mech = rffl_reputation(6, sizes)
    res = mech.step(rec(ups, sizes, 0))
    clipped = np_clip(ups, 0.5)
    agg = (sizes / sizes.sum()) @ clipped
    psi = np.array([np_cos(c, agg) for c in clipped])
    np.testing.assert_allclose(mech.contributions, psi / psi.sum(), rtol=1e-10)
    np.testing.assert_allclose(res.contrib_round, psi, rtol=1e-10)
    np.testing.assert_allclose(res.weights.numpy(), sizes / sizes.sum())
    assert float(res.weights.sum()) == pytest.approx(1.0)


def test_topk_mask_counts_per_layer_and_download_bytes() -> None:
    rng = np.random.default_rng(1)
    g = rng.normal(size=P)
    ups = np.array([g + rng.normal(size=P) * s for s in (0.1, 0.5, 1.0, 2.0, 4.0, 8.0)])
    sizes = np.full(6, 10.0)
    mech = rffl_reputation(6, sizes)
    res = mech.step(rec(ups, sizes, 0))
    clipped = np_clip(ups, 0.5)
    agg = clipped.mean(axis=0)
    r = mech.contributions
    q = r / r.max()
    reward = res.downloads.numpy() - clipped  # own_update="keep": download = clip(Δ) + mask(Δ_g)
    total_bytes = 0.0
    for i in range(6):
        sent = 0
        for start, stop in LAYERS:
            kept = np.flatnonzero(np.abs(reward[i, start:stop]) > 1e-12)
            want = math.ceil(q[i] * (stop - start))
            assert kept.size == want
            # the kept entries are the largest |Δ_g| of the layer, with Δ_g's values
            top = np.argsort(-np.abs(agg[start:stop]), kind="stable")[:want]
            assert set(kept.tolist()) == set(top.tolist())
            np.testing.assert_allclose(reward[i, start:stop][kept], agg[start:stop][kept])
            sent += want
        total_bytes += min(sent * 8.0, P * 4.0)
    assert res.download_bytes == pytest.approx(total_bytes)
    assert np.argmax(r) == 0  # the top-reputation client gets the full aggregate
    np.testing.assert_allclose(reward[0], agg, atol=1e-15)


def test_magnitude_ties_are_broken_by_index() -> None:
    from fairsim.mechanisms._federated_rffl import sparse_masks, topk_counts

    agg = torch.tensor([0.5, -1.0, 1.0, -1.0, 1.0, 0.2, -0.3, 0.3], dtype=torch.float64)
    layers = [(0, 5), (5, 8)]
    counts = [np.array([2, 3, 0]), np.array([1, 2, 3])]
    mask = sparse_masks(agg, counts, layers).numpy()
    assert np.flatnonzero(mask[0]).tolist() == [1, 2, 6]
    assert np.flatnonzero(mask[1]).tolist() == [1, 2, 3, 6, 7]
    assert np.flatnonzero(mask[2]).tolist() == [5, 6, 7]
    # ceil(q * |layer|), with float noise like 0.3 * 10 = 3.0000000000000004 rounded away
    assert topk_counts(np.array([0.0, 0.3, 0.31, 1.0]), 10).tolist() == [0, 3, 4, 10]


def run_rounds(ups_fn, rounds: int, n: int = 6):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(42)
    g = rng.normal(size=P)
    g *= 0.3 / np.sqrt(np.sum(g**2))
    sizes = np.full(n, 100.0)
    mech = rffl_reputation(n, sizes)
    removed_at: dict[int, int] = {}
    for t in range(rounds):
        sel = mech.select(t, np.ones(n, dtype=bool), rng)
        cl = np.flatnonzero(sel)
        ups = np.array([ups_fn(i, g, rng) for i in cl])
        res = mech.step(rec(ups, sizes[cl], t, clients=cl))
        assert float(res.weights.sum()) == pytest.approx(1.0)
        for i in res.removed:
            removed_at.setdefault(i, t)
    return mech, removed_at


def test_random_free_rider_removed_by_round_20_and_honest_kept() -> None:
    def ups(i, g, rng):  # type: ignore[no-untyped-def]
        if i == 5:
            return rng.uniform(-1, 1, size=P)
        return g + rng.normal(size=P) * 0.02

    mech, removed_at = run_rounds(ups, 20)
    assert 5 in removed_at and removed_at[5] <= 19
    assert set(removed_at) == {5}
    assert not mech.select(20, np.ones(6, dtype=bool), np.random.default_rng(0))[5]
    assert mech.contributions[5] == 0
    assert mech.contributions.sum() == pytest.approx(1.0)


def test_sign_flip_client_removed() -> None:
    def ups(i, g, rng):  # type: ignore[no-untyped-def]
        honest = g + rng.normal(size=P) * 0.02
        return -honest if i == 4 else honest

    _, removed_at = run_rounds(ups, 15)
    assert set(removed_at) == {4}
    assert removed_at[4] >= 10  # removal starts at round 10


def test_cffl_replaces_own_entries_inside_mask() -> None:
    rng = np.random.default_rng(3)
    ups = rng.normal(size=(3, P)) * 0.05
    sizes = np.ones(3)
    keep = rffl_reputation(3, sizes, clip_norm=10.0).step(rec(ups, sizes, 0)).downloads.numpy()
    cffl = rffl_reputation(3, sizes, clip_norm=10.0, own_update="cffl")
    res = cffl.step(rec(ups, sizes, 0)).downloads.numpy()
    agg = ups.mean(axis=0)
    mask = np.abs(keep - ups) > 1e-12
    np.testing.assert_allclose(res[mask], np.broadcast_to(agg, ups.shape)[mask])
    np.testing.assert_allclose(res[~mask], ups[~mask])


def test_rffl_validation_and_make() -> None:
    with pytest.raises(InputError, match="sizes"):
        rffl_reputation(3, [1.0, 2.0])
    with pytest.raises(InputError, match="own_update"):
        rffl_reputation(2, [1.0, 1.0], own_update="nope")
    with pytest.raises(InputError, match="clip_norm"):
        rffl_reputation(2, [1.0, 1.0], clip_norm=0.0)
    mech = make("rffl", 4, np.ones(4), 10, np.random.default_rng(0), clip_norm=1.0)
    assert mech.personal and mech.clip_norm == 1.0
