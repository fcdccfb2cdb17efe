"""PB axiom checks on real Pabulib files (spec budgeting.md §6-§7): JR, EJR, EJR-1, PJR, FJR,
priceability.

For every approval file in the folder with at most ``--max-projects`` projects, run MES (cost
utility), MES (cardinality utility), greedy (cost utility) and sequential Phragmén (checked with
cardinality utility), then time the exact checks (same utility as the rule). (File, rule) tasks
go to ``--jobs`` worker processes, each task with a wall-clock limit ``--timeout`` (a worker
that runs out is killed and replaced; the checks it had not finished count as "not reached");
FJR gets ``--fjr-limit`` seconds inside (an unfinished FJR is reported as "inconclusive").
Results go to a JSON-lines file, one line per (file, rule), and a summary table is printed.

    .venv/bin/python benchmarks/pb_axioms.py [--folder DIR] [--min-projects 0] [--max-projects 100]
        [--timeout 300] [--fjr-limit 120] [--jobs 1] [--checks ejr,pjr] [--rules mes_cost]
        [--out /tmp/pb_axioms.jsonl]
    .venv/bin/python benchmarks/pb_axioms.py --summarize /tmp/pb_axioms.jsonl
"""

from __future__ import annotations

import argparse
import glob
import json
import multiprocessing as mp
import os
import queue
import time
import warnings
from typing import Any

RULES = [
    ("mes_cost", "cost"),
    ("mes_card", "cardinality"),
    ("greedy_cost", "cost"),
    ("phragmen", "cardinality"),
]
AXIOMS = ("jr", "ejr", "ejr1", "pjr", "fjr", "priceable")


def _verdict(v: object) -> str:
    return str(getattr(v, "status", "holds" if getattr(v, "holds", False) else "fails"))


def _work(tasks: mp.Queue, q: mp.Queue, fjr_limit: float, only: tuple[str, ...]) -> None:
    """Worker loop: (path, rule, utility) tasks in, (name, verdict, seconds) items out, then
    None per task. Imports once; the parent kills and replaces a worker that runs out of time."""
    warnings.simplefilter("ignore")
    import scipy.optimize  # noqa: F401 - import outside the timed checks

    import fairsim.mechanisms.budgeting as mb
    from fairsim.axioms import budgeting as ab
    from fairsim.io import pabulib

    def run(path: str, rule: str, utility: str) -> None:
        e = pabulib.read(path).compress()
        if rule.startswith("mes"):
            W = mb.method_of_equal_shares(e, utility)
        elif rule == "phragmen":
            W = mb.sequential_phragmen(e)
        else:
            W = mb.greedy(e, utility)
        checks = {
            "priceable": lambda: ab.priceable(e, W),
            "fjr": lambda: ab.fjr(e, W, utility, time_limit=fjr_limit),
            "ejr": lambda: ab.ejr(e, W, utility),
            "ejr1": lambda: ab.ejr_up_to_one(e, W, utility),
            "jr": lambda: ab.jr(e, W, utility),
            "pjr": lambda: ab.pjr(e, W, utility),
        }
        for name, f in checks.items():
            if name not in only:
                continue
            t = time.perf_counter()
            v = f()
            q.put((name, _verdict(v), time.perf_counter() - t))
        q.put(None)

    while True:
        task = tasks.get()
        if task is None:
            return
        run(*task)


class _Slot:
    """One worker process with its own task and result queues."""

    def __init__(self, ctx: Any, fjr_limit: float, only: tuple[str, ...]) -> None:
        self.tasks: mp.Queue = ctx.Queue()
        self.q: mp.Queue = ctx.Queue()
        self.p = ctx.Process(target=_work, args=(self.tasks, self.q, fjr_limit, only), daemon=True)
        self.p.start()
        self.rec: dict[str, Any] | None = None
        self.deadline = 0.0


def summarize(path: str) -> None:
    """Markdown tables from a results file: verdict counts and times per rule and axiom."""
    import statistics

    recs = [json.loads(line) for line in open(path)]
    print(f"{len({r['file'] for r in recs})} files, {len(recs)} (file, rule) runs\n")
    print("| rule | axiom | holds | fails | inconclusive | not reached | median s | max s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for rule, _ in RULES:
        rows = [r for r in recs if r["rule"] == rule]
        if not rows:
            continue
        for ax in AXIOMS:
            got = [r[ax] for r in rows if ax in r]
            if not got and not any(r.get("timeout") for r in rows):
                continue  # not asked for in this run
            ts = [r[ax + "_s"] for r in rows if ax in r]
            med = statistics.median(ts) if ts else float("nan")
            print(
                f"| {rule} | {ax} | {got.count('holds')} | {got.count('fails')} | "
                f"{got.count('inconclusive')} | {len(rows) - len(got)} | {med:.3f} | "
                f"{max(ts, default=float('nan')):.2f} |"
            )
    big = sorted({(r["m"], r["file"]) for r in recs if r["m"] >= 40}, reverse=True)
    if big:
        print("\n| file | m | n | rule | EJR | PJR | FJR (s) | priceable (s) |")
        print("|---|---:|---:|---|---|---|---|---|")
        for m, f in big:
            for r in (r for r in recs if r["file"] == f):
                fj = f"{r.get('fjr', '-')} ({r.get('fjr_s', '-')})"
                pr = f"{r.get('priceable', '-')} ({r.get('priceable_s', '-')})"
                print(
                    f"| {f.removesuffix('.pb')} | {m} | {r['n']} | {r['rule']} | "
                    f"{r.get('ejr', '-')} | {r.get('pjr', '-')} | {fj} | {pr} |"
                )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--summarize", metavar="JSONL", help="print tables for a results file")
    ap.add_argument("--folder", default="/work/shared/data/pabulib")
    ap.add_argument("--max-projects", type=int, default=100)
    ap.add_argument("--min-projects", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--fjr-limit", type=float, default=120.0)
    ap.add_argument("--out", default="/tmp/pb_axioms.jsonl")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes side by side")
    ap.add_argument(
        "--checks", default="priceable,fjr,ejr,ejr1,jr,pjr", help="comma-separated subset"
    )
    ap.add_argument(
        "--rules",
        default=",".join(r for r, _ in RULES),
        help="comma-separated subset of " + ", ".join(r for r, _ in RULES),
    )
    ap.add_argument("--skip-done", metavar="JSONL", help="skip (file, rule) pairs in this file")
    args = ap.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return
    warnings.simplefilter("ignore")
    from fairsim.io import pabulib

    files = []
    for path in sorted(glob.glob(os.path.join(args.folder, "*.pb"))):
        try:
            e = pabulib.read(path)
        except Exception as exc:  # noqa: BLE001 - report unreadable files and go on
            print(f"skip {os.path.basename(path)}: {exc}")
            continue
        if e.vote_type == "approval" and args.min_projects <= e.m <= args.max_projects:
            files.append((path, e.m, int(e.n_voters)))
    print(f"{len(files)} approval files with {args.min_projects}..{args.max_projects} projects")
    ctx = mp.get_context("spawn")
    only = tuple(args.checks.split(","))
    done = set()
    if args.skip_done:
        done = {(r["file"], r["rule"]) for r in map(json.loads, open(args.skip_done))}
    todo = [
        (path, m, n, rule, ut)
        for path, m, n in files
        for rule, ut in RULES
        if rule in args.rules.split(",") and (os.path.basename(path), rule) not in done
    ]
    slots = [_Slot(ctx, args.fjr_limit, only) for _ in range(args.jobs)]
    with open(args.out, "w") as out:

        def finish(s: _Slot) -> None:
            assert s.rec is not None
            out.write(json.dumps(s.rec) + "\n")
            out.flush()
            print(json.dumps(s.rec), flush=True)
            s.rec = None

        while todo or any(s.rec is not None for s in slots):
            for i, s in enumerate(slots):
                if s.rec is None and todo:
                    path, m, n, rule, ut = todo.pop(0)
                    s.rec = {"file": os.path.basename(path), "m": m, "n": n, "rule": rule}
                    s.deadline = time.monotonic() + args.timeout
                    s.tasks.put((path, rule, ut))
                if s.rec is None:
                    continue
                try:
                    item = s.q.get(timeout=0.05)
                except queue.Empty:
                    if time.monotonic() > s.deadline:  # out of time: replace the worker
                        s.rec["timeout"] = True
                        s.p.kill()
                        s.p.join()
                        finish(s)
                        slots[i] = _Slot(ctx, args.fjr_limit, only)
                    continue
                if item is None:
                    finish(s)
                    continue
                name, verdict, secs = item
                s.rec[name] = verdict
                s.rec[name + "_s"] = round(secs, 3)
        for s in slots:
            s.tasks.put(None)
            s.p.join(timeout=5)


if __name__ == "__main__":
    main()
