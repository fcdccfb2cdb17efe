"""Federated mechanisms on CUDA float32 records (skipped without a CUDA device, e.g. in CI).

Mechanisms keep the record's dtype and device; their float64 numpy bookkeeping agrees with the
same rounds run on CPU in float64 within a float32 tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # pragma: no cover - depends on the machine
    pytest.skip("no CUDA device", allow_module_level=True)

from fairsim.mechanisms import federated as F  # noqa: E402

P = 64
STAR = np.linspace(-1.0, 1.0, P)


def _rounds(device: str, dtype):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    star = torch.as_tensor(STAR, dtype=dtype, device=device)

    def util(th):  # type: ignore[no-untyped-def]
        return 1.0 / (1.0 + (th - star).pow(2).sum(dim=1) / P)

    def local_util(th, owners):  # type: ignore[no-untyped-def]
        return util(th)

    recs = []
    for t in range(3):
        q = 1.0 - np.arange(5) / 5
        ups = np.array([0.3 * q[i] * STAR + 0.2 * rng.normal(size=P) for i in range(5)])
        recs.append(
            F.RoundRecord(
                t,
                torch.zeros(P, dtype=dtype, device=device),
                torch.as_tensor(ups, dtype=dtype, device=device),
                np.arange(5),
                np.full(5, 10.0),
                [(0, 32), (32, P)],
                5,
                util,
                local_util,
            )
        )
    return recs


@pytest.mark.parametrize("name", ["rffl", "fedce", "mr_exact", "loo", "fae", "gtg_shapley"])
def test_cuda_float32_matches_cpu_float64(name: str) -> None:
    out = {}
    for device, dtype in (("cuda", torch.float32), ("cpu", torch.float64)):
        mech = (
            F.make(name, 5, np.full(5, 10.0), 10, np.random.default_rng(1), within_trunc=0.0)
            if name == "gtg_shapley"
            else F.make(name, 5, np.full(5, 10.0), 10, np.random.default_rng(1))
        )
        for rec in _rounds(device, dtype):
            res = mech.step(rec)
            for tensor in (res.weights, res.downloads):
                if tensor is not None:
                    assert tensor.device.type == device and tensor.dtype == dtype
        out[device] = mech.contributions
    np.testing.assert_allclose(out["cuda"], out["cpu"], atol=2e-3)
