"""The federated simulator on a CUDA device (skipped where no GPU is present, e.g. in CI).

float64 on CUDA must reproduce the CPU run (same batches, same maths: rounding-level differences
only); float32 on CUDA must learn, stay reproducible and keep its tensors on the device.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # pragma: no cover - depends on the machine
    pytest.skip("no CUDA device", allow_module_level=True)

from fairsim.sim.federated import FederatedModel, make_config, simulate  # noqa: E402

KW = {"n_samples": 2000, "rounds": 6, "local_steps": 4}


@pytest.mark.parametrize("mechanism", ["fedavg", "rffl", "fedce"])
def test_cuda_float64_matches_cpu(mechanism):
    kinds = ["honest", "honest", "noisy", "free_rider", "sign_flip"]
    runs = [
        simulate(
            5,
            mechanism=mechanism,
            seed=4,
            client_types=kinds,
            dtype="float64",
            device=dev,
            partition="dirichlet",
            **KW,
        )  # fmt: skip
        for dev in ("cpu", "cuda")
    ]
    a, b = runs
    assert np.array_equal(a.history["participants"], b.history["participants"])
    for key in ("accuracy", "client_accuracy", "contributions"):
        assert np.allclose(a.history[key], b.history[key], atol=1e-6, rtol=0), key
    assert np.allclose(a.standalone, b.standalone, atol=1e-6)
    assert a.removed == b.removed


def test_cuda_float32_learns_reproducibly_and_stays_on_device():
    kw = {"n_clients": 20, "free_riders": 2, "mechanism": "rffl", "seed": 1, "device": "cuda"}
    a, b = simulate(**kw, **KW), simulate(**kw, **KW)
    assert a.accuracy > 0.5
    assert np.allclose(a.history["accuracy"], b.history["accuracy"], atol=1e-6)
    assert np.allclose(a.contributions, b.contributions, atol=1e-6)
    fm = FederatedModel(make_config(**kw, **KW))
    fm.step()
    for t in (fm.theta, fm.Xtr, fm.ytr, fm.Xte, fm.client_models):
        assert t.device.type == "cuda"
    assert fm.theta.dtype == torch.float32


def test_cuda_mlp_image_blobs_many_clients():
    r = simulate(50, 0, "fedavg", 5, 0, dataset="image_blobs", model="mlp", n_samples=5000,
                 device="cuda", lr=0.1)  # fmt: skip
    assert r.accuracy > 0.3 and r.history["accuracy"][-1] > r.history["accuracy"][0]
