"""Backend dispatch for the facility-location kernels (the networkx backend pattern).

``backend`` is ``"auto" | "numpy" | "numba" | "torch"``. ``"auto"`` picks numba for numpy input (and
for torch tensors on the CPU), numpy for batches of fewer than :data:`SMALL_BATCH` rows, and torch
for torch tensors on CUDA. The output type follows the input:
numpy in, numpy out; torch tensor in, float64 tensor on the same device out.

Every entry point returns ``(out, bad)`` where ``bad`` is the first row holding NaN/inf or a value
outside ``[lo, hi]`` (``-1`` if none): numba finds it inside its single pass, the other backends
with one vectorised mask. The public layer (:mod:`fairsim.mechanisms.facility`) turns ``bad`` into
an error message; this module imports nothing else from fairsim.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BACKENDS = ("auto", "numpy", "numba", "torch")

#: Uniform Phantom uses a generated sorting-network kernel for 2 <= n <= NETWORK_MAX_N (numba
#: backend) and the O(n) bucket walk of :mod:`fairsim.allocation._facility_numba` otherwise.
NETWORK_MAX_N = 16

#: ``"auto"`` sends batches with fewer rows than this to the numpy reference: waking numba's
#: thread pool costs more than the work for a handful of profiles (the simulator scores one
#: profile at a time), and every backend gives bit-identical results.
SMALL_BATCH = 64


def is_torch(x: Any) -> bool:
    """True for a ``torch.Tensor`` (checked without importing torch)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "device")


def resolve_backend(backend: str, X: Any) -> str:
    """Concrete backend for ``backend`` given the input (see the module docstring)."""
    if backend != "auto":
        return backend
    if is_torch(X) and X.device.type != "cpu":
        return "torch"
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2 and shape[0] < SMALL_BATCH:
        return "numpy"
    return "numba"


def _first_bad_row_numpy(X: np.ndarray, lo: float, hi: float) -> int:
    ok = (X >= lo) & (X <= hi)  # NaN compares False
    rows = np.flatnonzero(~ok.all(axis=1))
    return int(rows[0]) if rows.size else -1


def _first_bad_row_torch(T: Any, lo: float, hi: float) -> int:
    ok = ((T >= lo) & (T <= hi)).all(dim=1)
    if bool(ok.all()):
        return -1
    return int((~ok).nonzero()[0, 0])


def _as_numpy(X: Any) -> np.ndarray:
    if is_torch(X):
        X = X.detach().cpu().numpy()
    return np.asarray(X, dtype=np.float64)


def _like_input(out: Any, X: Any) -> Any:
    """Convert ``out`` to the type (and device) of the input ``X``."""
    if is_torch(X):
        import torch

        if isinstance(out, torch.Tensor):
            return out.to(X.device)
        return torch.from_numpy(np.asarray(out)).to(X.device)
    if is_torch(out):
        return out.detach().cpu().numpy()
    return out


def uniform_phantom_kernel(
    X: Any, lo: float = 0.0, hi: float = 1.0, backend: str = "auto"
) -> tuple[Any, int]:
    """UP of each row of a ``(B, n)`` batch with phantoms ``lo + (hi - lo) * k / n``."""
    be = resolve_backend(backend, X)
    if be == "torch":
        from fairsim.allocation._facility_torch import _to_tensor, uniform_phantom_torch

        T, _ = _to_tensor(X)
        bad = _first_bad_row_torch(T, lo, hi)
        out = uniform_phantom_torch(T, lo, hi) if bad < 0 else None
        return (_like_input(out, X) if out is not None else None), bad
    A = _as_numpy(X)
    if be == "numba":
        from fairsim.allocation._facility_numba import n_chunks, uniform_phantom_numba

        out = np.empty(A.shape[0])
        bad_rows = np.full(n_chunks(A.shape[0]), A.shape[0], dtype=np.int64)
        n = A.shape[1]
        if 2 <= n <= NETWORK_MAX_N:
            # fixed sorting network in registers + closed form (generated, one kernel per n)
            from fairsim.allocation._facility_networks import KERNELS
            from fairsim.allocation._facility_numpy import up_phantoms

            caps = np.ascontiguousarray(up_phantoms(n, lo, hi)[n:0:-1])
            KERNELS[n](A, caps, float(lo), float(hi), out, bad_rows)
        else:
            # O(n) bucket walk over the phantom grid
            uniform_phantom_numba(A, float(lo), float(hi), out, bad_rows)
        bad = int(bad_rows.min()) if bad_rows.size else A.shape[0]
        return _like_input(out, X), (bad if bad < A.shape[0] else -1)
    from fairsim.allocation._facility_numpy import uniform_phantom_numpy

    bad = _first_bad_row_numpy(A, lo, hi)
    if bad >= 0:
        return None, bad
    return _like_input(uniform_phantom_numpy(A, lo, hi), X), -1


def phantom_median_kernel(
    X: Any, P: Any, lo: float = 0.0, hi: float = 1.0, backend: str = "auto"
) -> tuple[Any, int]:
    """Median of each row of ``X`` (B, n) with phantoms ``P`` ((q,) shared or (B, q))."""
    be = resolve_backend(backend, X)
    if be == "torch":
        from fairsim.allocation._facility_torch import _to_tensor, phantom_median_torch

        T, _ = _to_tensor(X)
        bad = _first_bad_row_torch(T, lo, hi)
        if bad >= 0:
            return None, bad
        return _like_input(phantom_median_torch(T, P), X), -1
    A = _as_numpy(X)
    PA = _as_numpy(P)
    if be == "numba":
        from fairsim.allocation._facility_numba import n_chunks, phantom_median_numba

        out = np.empty(A.shape[0])
        bad_rows = np.full(n_chunks(A.shape[0]), A.shape[0], dtype=np.int64)
        P2 = np.ascontiguousarray(PA if PA.ndim == 2 else PA[None, :])
        phantom_median_numba(A, P2, float(lo), float(hi), out, bad_rows)
        bad = int(bad_rows.min()) if bad_rows.size else A.shape[0]
        return _like_input(out, X), (bad if bad < A.shape[0] else -1)
    from fairsim.allocation._facility_numpy import phantom_median_numpy

    bad = _first_bad_row_numpy(A, lo, hi)
    if bad >= 0:
        return None, bad
    return _like_input(phantom_median_numpy(A, PA), X), -1


__all__ = [
    "BACKENDS",
    "is_torch",
    "phantom_median_kernel",
    "resolve_backend",
    "uniform_phantom_kernel",
]
