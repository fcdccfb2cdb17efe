"""Priceability times on real Pabulib files (spec budgeting.md §6.2).

For every approval file in ``--folder`` with at most ``--max-projects`` projects, compute MES
(cost), MES (cardinality) and greedy (cost) and time ``fairsim.axioms.budgeting.priceable`` on
each outcome, one (file, rule) task per child process with a wall-clock limit ``--timeout``.
``--path`` picks the solver route of ``_budgeting_price.solve``: ``auto`` (default: PDLP, then
row generation with a certificate, then simplex) or ``simplex`` (``fast=False,
reduce=False``: the full simplex LP only, the reference). One JSON line per task goes to
``--out``; the slowest tasks are printed.

    .venv/bin/python benchmarks/pb_price.py [--folder DIR] [--max-projects 100]
        [--timeout 120] [--path auto|simplex] [--files a.pb,b.pb] [--out /tmp/pb_price.jsonl]
"""

from __future__ import annotations

import argparse
import glob
import json
import multiprocessing as mp
import os
import time
from typing import Any

RULES = ("mes_cost", "mes_card", "greedy")


def _task(path: str, rule: str, route: str, q: Any) -> None:
    from fairsim.axioms import _budgeting_price as pr
    from fairsim.axioms._budgeting_common import outcome_mask, profile
    from fairsim.io import pabulib
    from fairsim.mechanisms import budgeting as mb

    e = pabulib.read(path).compress()
    if rule == "greedy":
        W = mb.greedy(e, "cost")
    else:
        W = mb.method_of_equal_shares(e, "cost" if rule == "mes_cost" else "cardinality")
    P = profile(e, "cost")
    Wm = outcome_mask(P, W)
    kw = {} if route == "auto" else {"fast": False, "reduce": False}
    t = time.perf_counter()
    sol = pr.solve(P, Wm, **kw)
    v = pr.verdict(P, sol)
    dt = time.perf_counter() - t
    wit = v.witness or {}
    q.put(
        {
            "file": os.path.basename(path),
            "rule": rule,
            "classes": int(P.A.shape[0]),
            "projects": int(P.A.shape[1]),
            "priceable": bool(v.holds),
            "relaxation": wit.get("relaxation"),
            "exact": wit.get("relaxation_exact"),
            "certified": "certificate" in wit,
            "seconds": round(dt, 3),
        }
    )


def _approval_files(folder: str, max_projects: int) -> list[str]:
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "*.pb"))):
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(4000).lower()
        if "vote_type;approval" not in head.replace(" ", ""):
            continue
        n_proj = None
        for line in head.splitlines():
            if line.startswith("num_projects;"):
                n_proj = int(line.split(";")[1])
        if n_proj is None or n_proj <= max_projects:
            out.append(path)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folder", default="/work/shared/data/pabulib")
    ap.add_argument("--max-projects", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--path", choices=("auto", "simplex"), default="auto")
    ap.add_argument("--files", default="")
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--out", default="/tmp/pb_price.jsonl")
    a = ap.parse_args()
    if a.files:
        files = [os.path.join(a.folder, f) for f in a.files.split(",")]
    else:
        files = _approval_files(a.folder, a.max_projects)
    rows = []
    with open(a.out, "w") as out:
        for path in files:
            for rule in a.rules.split(","):
                q: Any = mp.Queue()
                p = mp.Process(target=_task, args=(path, rule, a.path, q))
                t = time.perf_counter()
                p.start()
                p.join(a.timeout)
                if p.is_alive():
                    p.terminate()
                    p.join()
                    row = {"file": os.path.basename(path), "rule": rule, "timeout": a.timeout}
                else:
                    row = q.get() if not q.empty() else {"file": path, "rule": rule, "error": 1}
                row["wall"] = round(time.perf_counter() - t, 2)
                rows.append(row)
                out.write(json.dumps(row) + "\n")
                out.flush()
    rows.sort(key=lambda r: -float(r.get("seconds", r.get("timeout", 0))))
    for r in rows[:10]:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
