"""Numba kernels for exact semivalues and coalition tables (spec ``valuation.md`` §4).

Coefficient form: for a semivalue with coefficients ``p_s`` (Shapley: ``w_s = s!(n-1-s)!/n!``),
``phi_i = sum_T v(T) c_i(T)`` with ``c_i(T) = p_{|T|-1}`` if ``i in T`` else ``-p_{|T|}``. One
O(n 2^n) pass over the table, parallel over blocks of masks; each block accumulates its own
vector and the blocks are summed at the end (float64 throughout). Kernels trust their inputs.

Table builders compute all ``2^n`` values in bitmask order (player ``i`` is bit ``i``) with the
subset recursion ``t[m] = t[m & (m - 1)] + x[lowbit(m)]``, O(2^n).
"""

from __future__ import annotations

import numba as nb
import numpy as np

_BLOCK = 1 << 14


@nb.njit(cache=True, parallel=True)
def semivalue_chunk(vals, start, n, p_in, p_out):  # pragma: no cover - numba
    """Return ``sum_T vals[T - start] c_i(T)`` over masks ``start .. start + len(vals) - 1``.

    ``p_in[s]`` is the weight of a coalition of size ``s`` that contains ``i`` (so ``p_{s-1}``) and
    ``p_out[s]`` the weight of one of size ``s`` that does not (``p_s``); both have length n + 1.
    """
    k = vals.shape[0]
    nblocks = (k + _BLOCK - 1) // _BLOCK
    acc = np.zeros((nblocks, n))
    for b in nb.prange(nblocks):
        lo = b * _BLOCK
        hi = min(k, lo + _BLOCK)
        local = np.zeros(n)
        tot_out = 0.0
        for t in range(lo, hi):
            m = start + t
            s = 0
            mm = m
            while mm:
                mm &= mm - 1
                s += 1
            v = vals[t]
            a = v * p_in[s]
            c = v * p_out[s]
            tot_out += c
            ac = a + c
            for i in range(n):
                if (m >> i) & 1:
                    local[i] += ac
        for i in range(n):
            acc[b, i] = local[i] - tot_out
    out = np.zeros(n)
    for b in range(nblocks):
        for i in range(n):
            out[i] += acc[b, i]
    return out


@nb.njit(cache=True)
def subset_sums(x):  # pragma: no cover - numba
    """``t[mask] = sum_{i in mask} x[i]`` for every mask, O(2^n)."""
    n = x.shape[0]
    t = np.zeros(np.int64(1) << n)
    for m in range(1, np.int64(1) << n):
        low = m & (-m)
        i = 0
        while (np.int64(1) << i) != low:
            i += 1
        t[m] = t[m ^ low] + x[i]
    return t


@nb.njit(cache=True)
def subset_max(x, empty):  # pragma: no cover - numba
    """``t[mask] = max_{i in mask} x[i]``, ``t[0] = empty``."""
    n = x.shape[0]
    t = np.empty(np.int64(1) << n)
    t[0] = empty
    for m in range(1, np.int64(1) << n):
        low = m & (-m)
        i = 0
        while (np.int64(1) << i) != low:
            i += 1
        rest = m ^ low
        t[m] = x[i] if rest == 0 else max(t[rest], x[i])
    return t


@nb.njit(cache=True, parallel=True)
def soug_table(n, carriers, coefs):  # pragma: no cover - numba
    """``t[mask] = sum_t coefs[t] 1[carriers[t] subset of mask]``."""
    size = np.int64(1) << n
    t = np.zeros(size)
    nblocks = (size + _BLOCK - 1) // _BLOCK
    for b in nb.prange(nblocks):
        lo = b * _BLOCK
        hi = min(size, lo + _BLOCK)
        for m in range(lo, hi):
            acc = 0.0
            for j in range(carriers.shape[0]):
                if (m & carriers[j]) == carriers[j]:
                    acc += coefs[j]
            t[m] = acc
    return t


@nb.njit(cache=True, parallel=True)
def glove_table(n, left_mask):  # pragma: no cover - numba
    """``t[mask] = min(|mask & L|, |mask & R|)``."""
    size = np.int64(1) << n
    t = np.empty(size)
    nblocks = (size + _BLOCK - 1) // _BLOCK
    for b in nb.prange(nblocks):
        lo = b * _BLOCK
        hi = min(size, lo + _BLOCK)
        for m in range(lo, hi):
            a = 0
            mm = m & left_mask
            while mm:
                mm &= mm - 1
                a += 1
            c = 0
            mm = m & ~left_mask
            while mm:
                mm &= mm - 1
                c += 1
            t[m] = min(a, c)
    return t
