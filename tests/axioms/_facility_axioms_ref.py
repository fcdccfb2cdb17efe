"""Independent reference implementations (exact Fractions, brute force) for the facility tests.

Nothing here calls fairsim: these are the golden values the tests compare against.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import numpy as np


def up_ref(x):
    """Uniform Phantom by its definition: median of x and the n-1 phantoms k/n (spec §4.2)."""
    n = len(x)
    pts = sorted([Fraction(v) for v in x] + [Fraction(k, n) for k in range(1, n)])
    return pts[n - 1]


def subsets(n):
    for m in range(1, n + 1):
        yield from combinations(range(n), m)


def pf_interval_bruteforce(x):
    """Intersect |y - x_i| <= 1 - |S|/n + range(S) over every subset S (2^n), clipped to [0,1]."""
    x = [Fraction(v) for v in x]
    n = len(x)
    lo, hi = Fraction(0), Fraction(1)
    for S in subsets(n):
        vals = [x[i] for i in S]
        r = 1 - Fraction(len(S), n) + (max(vals) - min(vals))
        for v in vals:
            lo, hi = max(lo, v - r), min(hi, v + r)
    return lo, hi


def ufs_interval_bruteforce(x):
    """Intersect over every subset of co-located agents."""
    x = [Fraction(v) for v in x]
    n = len(x)
    lo, hi = Fraction(0), Fraction(1)
    for S in subsets(n):
        if len({x[i] for i in S}) != 1:
            continue
        r = 1 - Fraction(len(S), n)
        z = x[S[0]]
        lo, hi = max(lo, z - r), min(hi, z + r)
    return lo, hi


def ifs_interval_bruteforce(x):
    x = [Fraction(v) for v in x]
    n = len(x)
    r = 1 - Fraction(1, n)
    lo = max([Fraction(0)] + [v - r for v in x])
    hi = min([Fraction(1)] + [v + r for v in x])
    return lo, hi


# ----------------------------------------------------------------- reference mechanisms (callables)
def up_batch(X):
    X = np.asarray(X, dtype=np.float64)
    S = np.sort(X, axis=-1)
    n = S.shape[-1]
    # phantom-median form with n+1 phantoms {0, 1/n, ..., 1}: median of 2n+1 points
    P = np.broadcast_to(np.arange(n + 1) / n, S.shape[:-1] + (n + 1,))
    return np.sort(np.concatenate([S, P], axis=-1), axis=-1)[..., n]


up_batch.batched = True
up_batch.anonymous = True


def median_left(X):
    S = np.sort(np.asarray(X, dtype=np.float64), axis=-1)
    return S[..., (S.shape[-1] + 1) // 2 - 1]


median_left.batched = True
median_left.anonymous = True


def midpoint(X):
    X = np.asarray(X, dtype=np.float64)
    return (X.min(axis=-1) + X.max(axis=-1)) / 2


midpoint.batched = True
midpoint.anonymous = True


def leftmost(X):
    return np.asarray(X, dtype=np.float64).min(axis=-1)


leftmost.batched = True
leftmost.anonymous = True


def average(X):
    return np.asarray(X, dtype=np.float64).mean(axis=-1)


average.batched = True
average.anonymous = True
average.monotone = True


def dictator0(x):
    """Per-profile (n,) callable: not batched, not anonymous."""
    return float(x[0])


def random_rank(x):
    """Lottery of Random Rank: each order statistic w.p. 1/n (merged)."""
    n = len(x)
    out = {}
    for v in x:
        out[float(v)] = out.get(float(v), 0.0) + 1.0 / n
    return sorted(out.items())


random_rank.randomized = True
random_rank.anonymous = True
