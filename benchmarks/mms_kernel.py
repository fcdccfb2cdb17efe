"""Exact MMS: fairsim's kernel vs a straightforward HiGHS MILP and a complete-greedy search.

Usage: PYTHONPATH=. python benchmarks/mms_kernel.py [--instances 3] [--limit 5]

Random goods instances, values uniform in 1..1000, sizes 4x20 .. 10x60 (n agents = n bundles).
* fairsim: ``maximin_share(v, n, time_limit=limit)`` (DFS + MILP fallback), cache cleared.
* MILP: x[g, b] binary, maximise t s.t. every bundle >= t; HiGHS via scipy.optimize.milp,
  mip_rel_gap=0, time_limit=limit; proven when status is optimal.
* complete greedy: depth-first over items (descending) into bundles in ascending-sum order,
  equal sums skipped, pruned by the average bound; stops at the time limit (written here, not
  prtpy's code).
Prints per-size median times, speed-up ratios and proven counts (markdown table).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def plain_milp(v: np.ndarray, n: int, limit: float) -> tuple[float, bool]:
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    m = v.size
    nv = m * n + 1
    c = np.zeros(nv)
    c[-1] = -1.0
    A = lil_matrix((m + n, nv))
    lo = np.zeros(m + n)
    hi = np.zeros(m + n)
    for g in range(m):
        for b in range(n):
            A[g, g * n + b] = 1.0
            A[m + b, g * n + b] = float(v[g])
        lo[g] = hi[g] = 1.0
    for b in range(n):
        A[m + b, nv - 1] = -1.0
        lo[m + b], hi[m + b] = 0.0, np.inf
    ub = np.ones(nv)
    ub[-1] = float(v.sum())
    res = milp(
        c,
        constraints=LinearConstraint(A.tocsr(), lo, hi),
        bounds=Bounds(np.zeros(nv), ub),
        integrality=np.ones(nv),
        options={"mip_rel_gap": 0.0, "time_limit": limit, "disp": False},
    )
    val = -res.fun if res.x is not None else float("nan")
    return val, res.status == 0


def complete_greedy(v: np.ndarray, n: int, limit: float) -> tuple[int, bool]:
    vals = sorted((int(x) for x in v), reverse=True)
    total = sum(vals)
    cap = total // n
    suffix = [0] * (len(vals) + 1)
    for i in range(len(vals) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + vals[i]
    sums = [0] * n
    best = [-1]
    deadline = time.perf_counter() + limit
    timed_out = [False]

    def rec(i: int) -> bool:
        if time.perf_counter() > deadline:
            timed_out[0] = True
            return True
        if i == len(vals):
            mn = min(sums)
            if mn > best[0]:
                best[0] = mn
            return best[0] >= cap
        # bound: the smallest bundle can at most receive everything left
        if min(sums) + suffix[i] <= best[0]:
            return False
        seen = set()
        for b in sorted(range(n), key=lambda k: sums[k]):
            if sums[b] in seen:
                continue
            seen.add(sums[b])
            sums[b] += vals[i]
            stop = rec(i + 1)
            sums[b] -= vals[i]
            if stop:
                return True
        return False

    rec(0)
    return best[0], not timed_out[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--limit", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    from fairsim.allocation import mms as M

    M.maximin_share([3, 3, 2, 2, 2], 2)  # compile / load the numba cache
    plain_milp(np.array([3, 3, 2, 2, 2]), 2, 1.0)
    rng = np.random.default_rng(args.seed)
    print(
        "| n x m | fairsim median (ms) | MILP median (ms) | MILP/fairsim | complete greedy median "
        "(ms) | CG/fairsim | proven fairsim / MILP / CG | value mismatches |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for n, m in [(4, 20), (6, 30), (8, 40), (10, 60)]:
        tf, tm, tc = [], [], []
        pf = pm = pc = 0
        bad = 0
        for _ in range(args.instances):
            v = rng.integers(1, 1001, size=m)
            M.clear_cache()
            t0 = time.perf_counter()
            r = M.maximin_share(v, n, time_limit=args.limit)
            tf.append(time.perf_counter() - t0)
            pf += r.proven
            t0 = time.perf_counter()
            mv, mp = plain_milp(v, n, args.limit)
            tm.append(time.perf_counter() - t0)
            pm += mp
            t0 = time.perf_counter()
            cv, cp = complete_greedy(v, n, args.limit)
            tc.append(time.perf_counter() - t0)
            pc += cp
            if r.proven and mp and round(mv) != r.value:
                bad += 1
            if r.proven and cp and cv != r.value:
                bad += 1
        f, mm, cc = (float(np.median(x)) * 1e3 for x in (tf, tm, tc))
        k = args.instances
        print(
            f"| {n} x {m} | {f:.1f} | {mm:.1f} | {mm / f:.1f} | {cc:.1f} | {cc / f:.1f} | "
            f"{pf}/{k} / {pm}/{k} / {pc}/{k} | {bad} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
