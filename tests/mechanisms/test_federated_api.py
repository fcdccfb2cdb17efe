"""make(), registry entries and the FedAvg baselines (fedapi §A, spec federated.md §4.6)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fairsim import registry  # noqa: E402
from fairsim.errors import InputError  # noqa: E402
from fairsim.mechanisms import federated as F  # noqa: E402


def util(th):  # type: ignore[no-untyped-def]
    return 1.0 / (1.0 + (th - 1.0).pow(2).sum(dim=1))


def local_util(th, owners):  # type: ignore[no-untyped-def]
    return util(th)


def record(k: int, n: int, t: int = 0, clients=None, sizes=None) -> F.RoundRecord:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(t)
    ups = torch.as_tensor(rng.normal(size=(k, 6)) * 0.1 + 0.2)
    cl = np.arange(k) if clients is None else np.asarray(clients)
    return F.RoundRecord(
        t=t,
        theta_prev=torch.zeros(6, dtype=torch.float64),
        updates=ups,
        clients=cl,
        sizes=np.arange(1.0, k + 1) if sizes is None else np.asarray(sizes, dtype=float),
        layer_slices=[(0, 2), (2, 6)],
        n_clients=n,
        utility=util,
        local_utility=local_util,
    )


@pytest.mark.parametrize("name", F.NAMES)
def test_make_builds_every_mechanism_and_weights_sum_to_one(name: str) -> None:
    mech = F.make(name, 4, np.arange(1.0, 5.0), 10, np.random.default_rng(0))
    assert mech.name == name
    avail = np.array([True, True, False, True])
    sel = mech.select(0, avail, np.random.default_rng(1))
    assert sel.dtype == bool and not sel[2]
    cl = np.flatnonzero(sel)
    for t in range(3):
        res = mech.step(record(cl.size, 4, t, clients=cl))
        assert res.contrib_round.shape == (4,) and res.contrib_round[2] == 0
        if res.weights is not None:
            assert float(res.weights.sum()) == pytest.approx(1.0)
            assert res.weights.shape == (cl.size,)
        assert (res.downloads is not None) == mech.personal
    assert mech.contributions.shape == (4,)
    assert isinstance(mech.evaluations, int)
    assert mech.removed == frozenset()


def test_registry_entries() -> None:
    mechs = {e.short_name: e for e in registry.entries("mechanism", domain="federated")}
    assert set(F.NAMES) <= set(mechs)
    assert mechs["rffl"].extra["personal"] is True
    assert mechs["gtg_shapley"].extra["role"] == "incentive"
    assert mechs["fedavg"].extra["role"] == "baseline"
    import fairsim.axioms.federated  # noqa: F401

    metrics = {e.short_name for e in registry.entries("metric", domain="federated")}
    assert {"collaborative_fairness", "detection_stats", "equality_gap"} <= metrics


def test_make_rejects_unknown_names_and_parameters() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="unknown federated mechanism"):
        F.make("fedprox", 3, np.ones(3), 5, rng)
    with pytest.raises(InputError, match="bad parameters"):
        F.make("fedce", 3, np.ones(3), 5, rng, gamma=2)
    with pytest.raises(InputError, match="n_clients"):
        F.make("fedavg", 0, np.ones(3), 5, rng)
    assert F.make("federated.loo", 3, np.ones(3), 5, rng).name == "loo"


def test_fedavg_and_size_share_contributions() -> None:
    fa = F.fedavg(3)
    ss = F.size_share(3, [2.0, 2.0, 4.0])
    for clients, sizes in (([0, 1, 2], [1.0, 1.0, 2.0]), ([0, 2], [1.0, 3.0])):
        rec = record(len(clients), 3, clients=clients, sizes=sizes)
        r1 = fa.step(rec)
        ss.step(rec)
        assert r1.weights is None
    np.testing.assert_allclose(fa.contributions, [0.25 + 0.25, 0.25, 0.5 + 0.75])
    np.testing.assert_allclose(ss.contributions, np.array([1.0, 1.0, 3.0]) / 5.0)


def test_module_imports_without_torch_and_factories_name_the_extra() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import fairsim.mechanisms.federated as F, fairsim.axioms.federated\n"
        "assert F.fedavg(3).name == 'fedavg'\n"
        "try:\n    F.gtg_shapley()\nexcept ValueError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'fairsim[torch]'" in out.stdout


@pytest.mark.parametrize("name", ["rffl", "fedce", "gtg_shapley", "fae"])
def test_float32_records_keep_dtype(name: str) -> None:
    mech = F.make(name, 3, np.ones(3), 10, np.random.default_rng(0))
    rec = record(3, 3)
    rec.theta_prev = rec.theta_prev.float()
    rec.updates = rec.updates.float()
    res = mech.step(rec)
    if res.weights is not None:
        assert res.weights.dtype == torch.float32
    if res.downloads is not None:
        assert res.downloads.dtype == torch.float32
    assert np.all(np.isfinite(res.contrib_round))
