"""Numpy reference kernels for facility location on a line (spec ``facility.md`` §4, §10.1).

Kernels trust their inputs: ``X`` is a ``(B, n)`` float64 array inside ``[lo, hi]``; phantoms are
``(q,)`` (shared by every row) or ``(B, q)`` (one vector per row). Phantoms of the Uniform Phantom
mechanism are computed as ``lo + (hi - lo) * (k / n)``, never ``k * (1 / n)`` (spec §10.3), so with
the default interval ``[0, 1]`` they are exactly the float64 values ``k / n``.
"""

from __future__ import annotations

import numpy as np


def up_phantoms(n: int, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """The n + 1 Uniform Phantom grid points ``lo + (hi - lo) * (k / n)``, k = 0..n."""
    k = np.arange(n + 1, dtype=np.float64)
    return lo + (hi - lo) * (k / n)


def uniform_phantom_numpy(X: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """UP through the closed form ``max_k min(x_(k), (n - k + 1) / n)`` (spec §4.2).

    One ``np.sort`` along the rows, then a vectorised min/max: O(n log n) per profile.
    """
    n = X.shape[1]
    S = np.sort(X, axis=1)
    grid = up_phantoms(n, lo, hi)
    caps = grid[n:0:-1]  # (n - k + 1) / n for k = 1..n
    return np.max(np.minimum(S, caps), axis=1)


def phantom_median_numpy(X: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Median of the n reports and q phantoms per row (n + q odd), via ``np.partition``."""
    B, n = X.shape
    P2 = P if P.ndim == 2 else np.broadcast_to(P, (B, P.shape[0]))
    Z = np.concatenate([X, P2], axis=1)
    mid = Z.shape[1] // 2
    return np.partition(Z, mid, axis=1)[:, mid]


def order_statistic_numpy(X: np.ndarray, k: int) -> np.ndarray:
    """The k-th smallest entry of each row, 1-based k."""
    return np.partition(X, k - 1, axis=1)[:, k - 1]


__all__ = [
    "order_statistic_numpy",
    "phantom_median_numpy",
    "uniform_phantom_numpy",
    "up_phantoms",
]
