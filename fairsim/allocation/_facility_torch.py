"""Torch kernels for phantom medians (CPU or CUDA), spec ``facility.md`` §4.1, §4.2, §10.1.

torch is imported inside the functions, so importing this module is cheap. Each kernel accepts a
torch tensor (any device) or a numpy array: a tensor in gives a float64 tensor on the same device
out; a numpy array in gives a numpy array out (computed on the CPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.allocation._facility_numpy import up_phantoms


def _to_tensor(X: Any) -> tuple[Any, bool]:
    import torch

    if isinstance(X, torch.Tensor):
        return X.to(torch.float64), True
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)), False


def _back(t: Any, was_tensor: bool) -> Any:
    return t if was_tensor else t.numpy()


def uniform_phantom_torch(X: Any, lo: float = 0.0, hi: float = 1.0) -> Any:
    """UP = max_k min(x_(k), (n - k + 1) / n) after a row sort (closed form of spec §4.2).

    The caps are built in float64 by numpy as ``lo + (hi - lo) * (k / n)`` and moved to the
    device, so results are bit-identical to the numpy reference.
    """
    import torch

    T, was_tensor = _to_tensor(X)
    n = T.shape[1]
    caps = torch.from_numpy(up_phantoms(n, lo, hi)[n:0:-1].copy()).to(T.device)
    S = torch.sort(T, dim=1).values
    res = torch.minimum(S, caps).amax(dim=1)
    return _back(res, was_tensor)


def phantom_median_torch(X: Any, P: Any) -> Any:
    """Median of the n reports and q phantoms of each row (n + q odd); P is (q,) or (B, q)."""
    import torch

    T, was_tensor = _to_tensor(X)
    if isinstance(P, torch.Tensor):
        PT = P.to(device=T.device, dtype=torch.float64)
    else:
        PT = torch.from_numpy(np.ascontiguousarray(P, dtype=np.float64)).to(T.device)
    B = T.shape[0]
    if PT.ndim == 1:
        PT = PT.unsqueeze(0).expand(B, PT.shape[0])
    Z = torch.cat([T, PT], dim=1)
    mid = Z.shape[1] // 2
    res = torch.sort(Z, dim=1).values[:, mid]
    return _back(res, was_tensor)


__all__ = ["phantom_median_torch", "uniform_phantom_torch"]
