"""Compare fairsim's PB rules with pabutools on every approval file (spec budgeting.md §8.1, §9).

Run in a SEPARATE venv holding pabutools (GPL) and fairsim (editable), never in fairsim's own:

    python3 -m venv /tmp/pb-bench && /tmp/pb-bench/bin/pip install pabutools
    /tmp/pb-bench/bin/pip install --no-deps -e /work/main
    /tmp/pb-bench/bin/python benchmarks/pb_pabutools.py [--folder DIR] [--timeout S] [--time-only]

Per file and rule: identical selected sets (Phragmén compared as sets, spec §4.4). Then times MES
(cost) on the largest file against pabutools' MES (multiprofile-free default profile).
"""

from __future__ import annotations

import argparse
import glob
import multiprocessing as mp
import os
import time
import warnings


def _pabu(path: str, rule: str, q: mp.Queue) -> None:
    from pabutools.election import Cardinality_Sat, Cost_Sat, parse_pabulib
    from pabutools.rules import (
        greedy_utilitarian_welfare,
        method_of_equal_shares,
        sequential_phragmen,
    )

    inst, prof = parse_pabulib(path)
    t = time.perf_counter()
    if rule == "greedy":
        out = greedy_utilitarian_welfare(inst, prof, sat_class=Cost_Sat)
    elif rule == "greedy_card":
        out = greedy_utilitarian_welfare(inst, prof, sat_class=Cardinality_Sat)
    elif rule == "mes_cost":
        out = method_of_equal_shares(inst, prof, sat_class=Cost_Sat)
    elif rule == "mes_card":
        out = method_of_equal_shares(inst, prof, sat_class=Cardinality_Sat)
    else:
        out = sequential_phragmen(inst, prof)
    q.put((sorted(p.name for p in out), time.perf_counter() - t))


def pabutools_run(path: str, rule: str, timeout: float):
    q: mp.Queue = mp.Queue()
    p = mp.Process(target=_pabu, args=(path, rule, q))
    p.start()
    p.join(timeout)
    if p.is_alive():
        p.terminate()
        p.join()
        return None
    return q.get() if not q.empty() else None


def fairsim_run(e, rule: str):
    from fairsim.mechanisms import budgeting as b

    t = time.perf_counter()
    if rule == "greedy":
        out = b.greedy(e, "cost")
    elif rule == "greedy_card":
        out = b.greedy(e, "cardinality")
    elif rule == "mes_cost":
        out = b.method_of_equal_shares(e, "cost")
    elif rule == "mes_card":
        out = b.method_of_equal_shares(e, "cardinality")
    else:
        out = b.sequential_phragmen(e)
    return sorted(out.selected), time.perf_counter() - t


RULES = ("greedy", "greedy_card", "mes_cost", "mes_card", "phragmen")


def main() -> None:
    from fairsim.io.pabulib import read

    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default="/work/shared/data/pabulib")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--time-only", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    files = sorted(glob.glob(os.path.join(args.folder, "*.pb")))
    approval = []
    for f in files:
        with open(f, encoding="utf-8-sig") as fh:
            head = fh.read(20000)
        if "vote_type;approval" in head:
            approval.append(f)
    if not args.time_only:
        same = {r: 0 for r in RULES}
        timeouts = {r: 0 for r in RULES}
        for k, f in enumerate(approval):
            e = read(f)
            print(f"[{k + 1}/{len(approval)}] {os.path.basename(f)}", flush=True)
            for r in RULES:
                ours, _ = fairsim_run(e, r)
                theirs = pabutools_run(f, r, args.timeout)
                if theirs is None:
                    timeouts[r] += 1
                    print(f"TIMEOUT {r} {os.path.basename(f)}", flush=True)
                elif theirs[0] == ours:
                    same[r] += 1
                else:
                    print(
                        f"MISMATCH {r} {os.path.basename(f)} ours-theirs="
                        f"{sorted(set(ours) - set(theirs[0]))} theirs-ours="
                        f"{sorted(set(theirs[0]) - set(ours))}",
                        flush=True,
                    )
        for r in RULES:
            print(f"{r}: identical {same[r]}/{len(approval)} (pabutools timeouts {timeouts[r]})")
    big = max(approval, key=os.path.getsize)
    t = time.perf_counter()
    e = read(big)
    t_read = time.perf_counter() - t
    fairsim_run(e, "mes_cost")  # compile / warm cache
    ours = min(fairsim_run(e, "mes_cost")[1] for _ in range(3))
    theirs = pabutools_run(big, "mes_cost", 3600)
    print(
        f"largest {os.path.basename(big)}: {e.m} projects x {e.n_voters} voters; "
        f"fairsim read {t_read:.2f} s, MES(cost) {ours * 1000:.1f} ms; "
        f"pabutools MES(cost) {theirs[1] if theirs else float('nan'):.2f} s; "
        f"ratio {(theirs[1] / ours) if theirs else float('nan'):.0f}x"
    )


if __name__ == "__main__":
    main()
