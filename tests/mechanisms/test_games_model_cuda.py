"""ModelUtilityGame with backend="torch" on a CUDA device (skipped without one, e.g. in CI).

The CUDA path trains in float32, so values agree with the float64 numpy reference within a
float32 tolerance; Shapley values computed from them agree too, and efficiency holds exactly for
the CUDA game itself.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # pragma: no cover - depends on the machine
    pytest.skip("no CUDA device", allow_module_level=True)

from fairsim.mechanisms._games_model import ModelUtilityGame  # noqa: E402
from fairsim.mechanisms.valuation import shapley  # noqa: E402


def _data(seed: int = 1, n: int = 5, per: int = 60):
    rng = np.random.default_rng(seed)
    m = n * per
    X = rng.normal(size=(m, 4))
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.4 * rng.normal(size=m) > 0).astype(np.int64)
    own = np.repeat(np.arange(n), per)
    Xv = rng.normal(size=(300, 4))
    yv = (Xv[:, 0] - 0.5 * Xv[:, 1] > 0).astype(np.int64)
    return X, y, own, Xv, yv


@pytest.mark.parametrize("model,lr", [("logreg", 0.5), ("mlp", 0.1)])
def test_cuda_values_match_numpy_reference(model, lr):
    d = _data()
    n = 5
    rows = (np.arange(1 << n)[:, None] >> np.arange(n)[None, :]) & 1 == 1
    kw = dict(model=model, lr=lr, epochs=80, metric="neg_log_loss", seed=4)
    ref = ModelUtilityGame(*d, backend="numpy", **kw).value(rows)
    gpu_game = ModelUtilityGame(*d, backend="torch", device="cuda", batch_size=32, **kw)
    got = gpu_game.value(rows)
    np.testing.assert_allclose(got, ref, atol=2e-4, rtol=0)
    phi_ref = shapley(ModelUtilityGame(*d, backend="numpy", **kw), method="exact").values
    res = shapley(gpu_game, method="exact")
    np.testing.assert_allclose(res.values, phi_ref, atol=5e-4, rtol=0)
    grand = got[-1] - got[0]
    assert abs(res.values.sum() - grand) <= 1e-9
