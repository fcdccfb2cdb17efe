"""Numba kernels for phantom medians, parallel over the batch (spec ``facility.md`` §4.1, §4.2).

Both kernels fuse input validation into their single read of the data: a row holding NaN/inf or a
value outside ``[lo, hi]`` gets ``out[b] = nan`` and its chunk records the first bad row in
``bad_row``; the caller (Python) then locates the offending entry and raises. This keeps the public
``uniform_phantom`` at one pass over the input (the performance target in BENCHMARKS.md).

Uniform Phantom uses an O(n) bucket walk over the phantom grid ``p_k = lo + (hi - lo) * (k / n)``:
count the reports per cell ``[p_j, p_{j+1})``, walk the cells in order interleaving the phantoms,
and select inside the one cell that holds the n-th of the 2n - 1 points (usually one or two
elements). Cell indices come from ``int((v - lo) * n / (hi - lo))`` corrected by exact comparisons
against the phantom table, so the result is bit-identical to the sort-based closed form.

For 2 <= n <= 16 the dispatcher (:mod:`fairsim.allocation.facility`) prefers the generated
sorting-network kernels of :mod:`fairsim.allocation._facility_networks` (about 3x less work per
row, see BENCHMARKS.md); the bucket walk here serves n = 1 and n > 16.

The general phantom median copies the n reports and q phantoms of a row into a small buffer and
runs an in-place quickselect (expected O(n + q)).
"""

from __future__ import annotations

import numba as nb
import numpy as np

_CHUNK = 2048


@nb.njit(cache=True)
def _select(buf, m, k):  # pragma: no cover - compiled
    """k-th smallest (0-based) of buf[:m], in place (Hoare quickselect, insertion sort when small)."""
    lo = 0
    hi = m - 1
    while hi - lo > 16:
        mid = (lo + hi) // 2
        # median of three as pivot
        a = buf[lo]
        b = buf[mid]
        c = buf[hi]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
            if a > b:
                b = a
        pivot = b
        i = lo
        j = hi
        while i <= j:
            while buf[i] < pivot:
                i += 1
            while buf[j] > pivot:
                j -= 1
            if i <= j:
                t = buf[i]
                buf[i] = buf[j]
                buf[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return buf[k]
    for i in range(lo + 1, hi + 1):
        v = buf[i]
        j = i - 1
        while j >= lo and buf[j] > v:
            buf[j + 1] = buf[j]
            j -= 1
        buf[j + 1] = v
    return buf[k]


@nb.njit(cache=True)
def _cell_exact(v, p, n, scale, lo):  # pragma: no cover - compiled
    """Cell j with p[j] <= v < p[j+1] (last cell closed), by exact comparisons."""
    j = int((v - lo) * scale)
    if j > n - 1:
        j = n - 1
    if j < 0:
        j = 0
    while j > 0 and v < p[j]:
        j -= 1
    while j < n - 1 and v >= p[j + 1]:
        j += 1
    return j


@nb.njit(cache=True, inline="always")
def _up_walk(X, b, n, p, cnt, buf):  # pragma: no cover - compiled
    """Finish UP of row b from the cell counts ``cnt`` (see the module docstring)."""
    # j* = #{j in 1..n-1 : L_j + j <= n} with L_j = #{x_i < p_j}; L* = L_{j*}
    L = 0
    js = 0
    Ls = 0
    for j in range(1, n):
        L += cnt[j - 1]
        ok = (L + j) <= n
        js += ok
        Ls = L if ok else Ls
    r = n - js - Ls  # rank of the answer inside cell j* (<= 0: the phantom p_{j*} itself)
    if r <= 0:
        return p[js]
    a = p[js]
    z = p[js + 1]
    m = 0
    for i in range(n):
        v = X[b, i]
        buf[m] = v
        m += (v >= a) & (v < z)
    if m < r:  # only possible with approximate cells; the caller's check catches it
        return np.nan
    return _select(buf, m, r - 1)


@nb.njit(cache=True)
def _up_row_exact(X, b, n, p, cnt, buf, lo, scale):  # pragma: no cover - compiled
    """UP of row b with exactly corrected cells (the slow path)."""
    for j in range(n + 1):
        cnt[j] = 0
    for i in range(n):
        cnt[_cell_exact(X[b, i], p, n, scale, lo)] += 1
    return _up_walk(X, b, n, p, cnt, buf)


@nb.njit(parallel=True, cache=True)
def uniform_phantom_numba(X, lo, hi, out, bad_row):  # pragma: no cover - compiled
    """UP of every row of X (B, n) into out (B,); bad rows marked (see module docstring).

    ``bad_row`` has one slot per chunk of ``_CHUNK`` rows, preset to B by the caller. Cells are
    first taken as ``int((v - lo) * n / (hi - lo))``, without correction; the result y is then
    checked exactly (#points < y <= n - 1 < #points <= y over reports and phantoms, a cheap
    vectorisable pass over the row) and the row is redone with exactly corrected cells when the
    check fails (values within rounding error of a phantom). Validation counts in-range entries
    with an integer accumulator (no floating-point dependency chain).
    """
    B, n = X.shape
    p = np.empty(n + 2)
    for k in range(n + 1):
        p[k] = lo + (hi - lo) * (k / n)
    p[n] = np.inf  # sentinel: the last cell is closed at hi
    p[n + 1] = np.inf
    scale = n / (hi - lo)
    top = float(n - 1)
    nchunks = (B + _CHUNK - 1) // _CHUNK
    for c in nb.prange(nchunks):
        cnt = np.zeros(n + 1, np.int64)
        buf = np.empty(n)
        start = c * _CHUNK
        stop = min(B, start + _CHUNK)
        for b in range(start, stop):
            for j in range(n + 1):
                cnt[j] = 0
            okc = 0
            for i in range(n):
                v = X[b, i]
                okc += (v >= lo) & (v <= hi)  # NaN fails both
                t = (v - lo) * scale
                t = t if t > 0.0 else 0.0  # NaN and values < lo land in cell 0 (row rejected)
                t = t if t < top else top
                cnt[int(t)] += 1
            if okc != n:
                out[b] = np.nan
                if bad_row[c] > b:
                    bad_row[c] = b
                continue
            y = _up_walk(X, b, n, p, cnt, buf)
            # exact check: y is the n-th smallest of the 2n - 1 points
            cl = 0
            ce = 0
            for i in range(n):
                v = X[b, i]
                cl += v < y
                ce += v <= y
            jy = _cell_exact(y, p, n, scale, lo) if y == y else 0
            pl = jy - 1 if (jy >= 1 and p[jy] == y) else jy  # phantoms p_1..p_{n-1} < y
            pe = jy  # phantoms p_1..p_{n-1} <= y
            if not (y == y and cl + pl <= n - 1 and ce + pe >= n):
                y = _up_row_exact(X, b, n, p, cnt, buf, lo, scale)
            out[b] = y


@nb.njit(parallel=True, cache=True)
def phantom_median_numba(X, P, lo, hi, out, bad_row):  # pragma: no cover - compiled
    """Median of each row of X (B, n) with phantoms P (1, q) shared or (B, q) per row."""
    B, n = X.shape
    shared = P.shape[0] == 1
    q = P.shape[1]
    m = n + q
    k = m // 2
    nchunks = (B + _CHUNK - 1) // _CHUNK
    for c in nb.prange(nchunks):
        buf = np.empty(m)
        start = c * _CHUNK
        stop = min(B, start + _CHUNK)
        for b in range(start, stop):
            ok = True
            for i in range(n):
                v = X[b, i]
                if not (v >= lo and v <= hi):
                    ok = False
                    break
                buf[i] = v
            if not ok:
                out[b] = np.nan
                if bad_row[c] > b:
                    bad_row[c] = b
                continue
            r = 0 if shared else b
            for i in range(q):
                buf[n + i] = P[r, i]
            out[b] = _select(buf, m, k)


def n_chunks(B: int) -> int:
    """Number of per-chunk slots the kernels need in ``bad_row``."""
    return (B + _CHUNK - 1) // _CHUNK


__all__ = ["n_chunks", "phantom_median_numba", "uniform_phantom_numba"]
