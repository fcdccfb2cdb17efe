"""Ex-ante PB checks (IFS, UFS, Strong UFS, GFS; spec budgeting.md §6.3) on real Pabulib files.

Marginals: 1 on the MES (cost) outcome and ``--rest`` on every other project. GFS runs with
``method="auto"`` (closure-LP bound, then the group test, then the MILP); ``--milp`` also times
the plain GFS MILP (``method="ilp"``, the path ``auto`` used before the bound) side by side, in a
child process with a wall-clock limit ``--timeout``.

    .venv/bin/python benchmarks/pb_exante.py FILE.pb [FILE.pb ...] [--rest 0.3] [--milp]
        [--timeout 600]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import warnings
from typing import Any


def _setup(path: str, rest: float) -> tuple[Any, Any]:
    import numpy as np

    import fairsim.mechanisms.budgeting as mb
    from fairsim.io import pabulib

    e = pabulib.read(path).compress()
    sel = set(mb.method_of_equal_shares(e, "cost").selected)
    return e, np.array([1.0 if q in sel else rest for q in e.project_ids])


def _milp(path: str, rest: float, q: Any) -> None:
    warnings.simplefilter("ignore")
    from fairsim.axioms import budgeting as ab

    e, p = _setup(path, rest)
    t = time.perf_counter()
    v = ab.gfs(e, p, method="ilp")
    q.put((v.holds, time.perf_counter() - t))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--rest", type=float, default=0.3, help="marginal of unselected projects")
    ap.add_argument("--milp", action="store_true", help="also time GFS by the plain MILP")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from fairsim.axioms import budgeting as ab

    print("| file | m | n | IFS | UFS | Strong UFS | GFS (auto) | GFS (MILP) |")
    print("|---|---:|---:|---|---|---|---|---|")
    for path in args.files:
        e, p = _setup(path, args.rest)
        cells = []
        for f in (ab.ifs, ab.ufs, ab.strong_ufs, ab.gfs):
            t = time.perf_counter()
            v = f(e, p)
            cells.append(f"{'holds' if v.holds else 'fails'} ({time.perf_counter() - t:.2f} s)")
        milp = "-"
        if args.milp:
            q: Any = mp.get_context("spawn").Queue()
            proc = mp.get_context("spawn").Process(target=_milp, args=(path, args.rest, q))
            proc.start()
            proc.join(args.timeout)
            if proc.is_alive():
                proc.kill()
                milp = f"> {args.timeout:.0f} s"
            else:
                holds, secs = q.get()
                milp = f"{'holds' if holds else 'fails'} ({secs:.2f} s)"
        name = path.rsplit("/", 1)[-1].removesuffix(".pb")
        print(
            f"| {name} | {len(e.project_ids)} | {int(e.n_voters)} | "
            + " | ".join(cells)
            + f" | {milp} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
