"""PB axiom checks on real Pabulib files (spec budgeting.md §6-§7): EJR, FJR, PJR, priceability.

For every approval file in the folder with at most ``--max-projects`` projects, run MES (cost
utility), MES (cardinality utility) and greedy (cost utility), then time the exact checks of
EJR, PJR, FJR (same utility as the rule) and priceability. Each (file, rule) runs in its own
process with a wall-clock limit; FJR gets ``--fjr-limit`` seconds inside (an unfinished FJR is
reported as "inconclusive"). Results go to a JSON-lines file, one line per (file, rule), and a
summary table is printed.

    .venv/bin/python benchmarks/pb_axioms.py [--folder DIR] [--min-projects 0] [--max-projects 100]
        [--timeout 300] [--fjr-limit 120] [--out /tmp/pb_axioms.jsonl]
    .venv/bin/python benchmarks/pb_axioms.py --summarize /tmp/pb_axioms.jsonl
"""

from __future__ import annotations

import argparse
import glob
import json
import multiprocessing as mp
import os
import time
import warnings

RULES = [("mes_cost", "cost"), ("mes_card", "cardinality"), ("greedy_cost", "cost")]


def _verdict(v: object) -> str:
    w = getattr(v, "witness", None) or {}
    if w.get("inconclusive"):
        return "inconclusive"
    return "holds" if getattr(v, "holds", False) else "fails"


def _work(path: str, rule: str, utility: str, fjr_limit: float, q: mp.Queue) -> None:
    warnings.simplefilter("ignore")
    import scipy.optimize  # noqa: F401 - import outside the timed checks

    import fairsim.mechanisms.budgeting as mb
    from fairsim.axioms import budgeting as ab
    from fairsim.io import pabulib

    e = pabulib.read(path).compress()
    if rule.startswith("mes"):
        W = mb.method_of_equal_shares(e, utility)
    else:
        W = mb.greedy(e, utility)
    checks = {  # the checks this benchmark is about first; PJR (slowest, X ⊆ W search) last
        "priceable": lambda: ab.priceable(e, W),
        "fjr": lambda: ab.fjr(e, W, utility, time_limit=fjr_limit),
        "ejr": lambda: ab.ejr(e, W, utility),
        "pjr": lambda: ab.pjr(e, W, utility),
    }
    for name, f in checks.items():
        t = time.perf_counter()
        v = f()
        q.put((name, _verdict(v), time.perf_counter() - t))
    q.put(None)


def summarize(path: str) -> None:
    """Markdown tables from a results file: verdict counts and times per rule and axiom."""
    import statistics

    recs = [json.loads(line) for line in open(path)]
    print(f"{len({r['file'] for r in recs})} files, {len(recs)} (file, rule) runs\n")
    print("| rule | axiom | holds | fails | inconclusive | not reached | median s | max s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for rule, _ in RULES:
        rows = [r for r in recs if r["rule"] == rule]
        for ax in ("ejr", "pjr", "fjr", "priceable"):
            got = [r[ax] for r in rows if ax in r]
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
    with open(args.out, "w") as out:
        for path, m, n in files:
            for rule, utility in RULES:
                q: mp.Queue = ctx.Queue()
                p = ctx.Process(target=_work, args=(path, rule, utility, args.fjr_limit, q))
                p.start()
                rec: dict[str, object] = {"file": os.path.basename(path), "m": m, "n": n}
                rec["rule"] = rule
                deadline = time.monotonic() + args.timeout
                while True:
                    try:
                        item = q.get(timeout=max(0.1, deadline - time.monotonic()))
                    except Exception:  # noqa: BLE001 - queue.Empty: the worker ran out of time
                        rec["timeout"] = True
                        break
                    if item is None:
                        break
                    name, verdict, secs = item
                    rec[name] = verdict
                    rec[name + "_s"] = round(secs, 3)
                p.kill()
                p.join()
                out.write(json.dumps(rec) + "\n")
                out.flush()
                print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
