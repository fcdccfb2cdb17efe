"""Greedy Cohesive Rule and BW-GCR-PB on real Pabulib district files (spec budgeting.md §4.6, §5.3).

Usage: ``python benchmarks/pb_gcr.py [--methods bnb,milp] [--check-enumerate] FILE...``
(FILE relative to /work/shared/data/pabulib or a path). For each file and utility it times
``greedy_cohesive(e, utility, method=...)`` and once ``fair_lottery(e)``; with
``--check-enumerate`` it also runs the 2^|C′| enumeration (only sensible up to ~23 projects) and
reports whether the outcomes (selection, groups, tie lists) are identical. Times are wall-clock
seconds of one call after a warm-up call on a tiny instance (numba compilation excluded).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

from fairsim.io.pabulib import Election, read
from fairsim.mechanisms._budgeting_lottery import fair_lottery, greedy_cohesive

DATA = "/work/shared/data/pabulib"


def _load(name: str) -> Election:
    path = name if os.path.exists(name) else os.path.join(DATA, name)
    if not path.endswith(".pb"):
        path += ".pb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(path).compress()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--methods", default="bnb")
    ap.add_argument("--check-enumerate", action="store_true")
    ap.add_argument("--no-lottery", action="store_true")
    args = ap.parse_args()
    tiny = Election.from_sets([{"a", "b"}, {"b", "c"}], {"a": 1, "b": 1, "c": 1}, 2)
    for u in ("cardinality", "cost"):  # compile the kernels once
        greedy_cohesive(tiny, u, method="bnb")
    for name in args.files:
        e = _load(name)
        m = len(e.project_ids)
        for u in ("cardinality", "cost"):
            ref = None
            if args.check_enumerate:
                t = time.perf_counter()
                ref = greedy_cohesive(e, u, method="enumerate", max_projects=m)
                te = time.perf_counter() - t
            for meth in args.methods.split(","):
                t = time.perf_counter()
                out = greedy_cohesive(e, u, method=meth)
                dt = time.perf_counter() - t
                row = (
                    f"{os.path.basename(name)[:48]:48s} m={m:3d} {u:11s} {meth:5s} {dt:8.2f}s "
                    f"rounds={len(out.details['groups'])} |W|={len(out.selected)}"
                )
                if ref is not None:
                    same = (out.selected, out.details["groups"], out.details["tie_breaks"]) == (
                        ref.selected,
                        ref.details["groups"],
                        ref.details["tie_breaks"],
                    )
                    row += f" enumerate {te:.2f}s identical={same}"
                print(row, flush=True)
        if not args.no_lottery:
            t = time.perf_counter()
            L = fair_lottery(e, 0)
            dt = time.perf_counter() - t
            print(
                f"{os.path.basename(name)[:48]:48s} m={m:3d} fair_lottery      {dt:8.2f}s "
                f"|W_G|={len(L.details['W_gcr'])} cost(p)/B={L.details['cost'] / e.budget:.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
