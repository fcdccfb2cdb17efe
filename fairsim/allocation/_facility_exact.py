"""Exact rational reference kernels (``fractions.Fraction``) for facility location (spec §10.3).

Rows are lists of Fractions; these are the ground truth the float backends are tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def phantom_median_exact(row: Sequence[Fraction], phantoms: Sequence[Fraction]) -> Fraction:
    """The middle element of ``row + phantoms`` (odd total count), by sorting."""
    pts = sorted(list(row) + list(phantoms))
    return pts[(len(pts) - 1) // 2]


def up_phantoms_exact(n: int, lo: Fraction = Fraction(0), hi: Fraction = Fraction(1)) -> list:
    """The n - 1 interior UP phantoms ``lo + (hi - lo) * k / n``, k = 1..n-1."""
    return [lo + (hi - lo) * Fraction(k, n) for k in range(1, n)]


def uniform_phantom_exact(
    row: Sequence[Fraction], lo: Fraction = Fraction(0), hi: Fraction = Fraction(1)
) -> Fraction:
    """UP(x) = med(x_1..x_n, 1/n, ..., (n-1)/n) in exact arithmetic (spec §4.2)."""
    return phantom_median_exact(row, up_phantoms_exact(len(row), lo, hi))


__all__ = ["phantom_median_exact", "uniform_phantom_exact", "up_phantoms_exact"]
