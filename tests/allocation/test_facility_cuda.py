"""The torch backend on a CUDA device (skipped where no GPU is present, e.g. in CI).

Same exact Fraction reference as the CPU backends: results must be equal bit for bit, stay on
the device, and bad input must raise a clear InputError naming the entry.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # pragma: no cover - depends on the machine
    pytest.skip("no CUDA device", allow_module_level=True)

from fairsim.errors import InputError  # noqa: E402
from fairsim.mechanisms import facility as fac  # noqa: E402


def ref_median(row, phantoms) -> Fraction:
    pts = sorted([Fraction(float(v)) for v in row] + [Fraction(p) for p in phantoms])
    return pts[(len(pts) - 1) // 2]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 15, 40])
def test_uniform_phantom_on_cuda_matches_exact_reference(n):
    rng = np.random.default_rng(100 + n)
    X = rng.random((2000, n))
    X[::2] = np.round(X[::2] * n) / n  # reports on the phantoms
    T = torch.from_numpy(X).cuda()
    out = fac.uniform_phantom(T, backend="torch")
    assert isinstance(out, torch.Tensor) and out.is_cuda
    expected = np.array([float(ref_median(r, [Fraction(k, n) for k in range(1, n)])) for r in X])
    np.testing.assert_array_equal(out.cpu().numpy(), expected)
    # "auto" picks torch for CUDA tensors
    np.testing.assert_array_equal(fac.uniform_phantom(T).cpu().numpy(), expected)


def test_phantom_median_on_cuda_matches_exact_reference():
    rng = np.random.default_rng(7)
    X = rng.random((1000, 6))
    P = np.array([0.1, 0.5, 0.5, 0.9, 1.0])
    out = fac.phantom_median(torch.from_numpy(X).cuda(), P)
    assert out.is_cuda
    expected = np.array([float(ref_median(r, P)) for r in X])
    np.testing.assert_array_equal(out.cpu().numpy(), expected)


def test_cuda_bad_input_names_the_entry():
    X = torch.rand((500, 4), dtype=torch.float64, device="cuda")
    X[123, 2] = float("nan")
    with pytest.raises(InputError, match=r"x\[123, 2\]=nan"):
        fac.uniform_phantom(X)
    X[123, 2] = 1.5
    with pytest.raises(InputError, match=r"x\[123, 2\]=1.5 outside interval \[0, 1\]"):
        fac.uniform_phantom(X)
