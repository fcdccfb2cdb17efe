"""Scale of the batch runner: throughput, parallel speed-up, memory, framework overhead.

Runs a facility sweep of ``--runs`` runs (design points x replications; one mechanism, Uniform
Phantom, scored on UFS and PF and social welfare) through the real runner (`run_scenario`, the
same path as ``fairsim run``: Mesa model per run, Parquet chunks, ledger), once with 1 worker on a
subset and once with ``--workers`` on the full sweep, and compares it with calling the library
functions directly on the same instances (a plain Python loop over profiles), and with one
batched kernel call (the floor).

Usage::

    python benchmarks/scale_runner.py --runs 100000 --workers 2 --subset 10000

Writes a markdown table to stdout (and to ``--markdown FILE`` if given).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def scenario_text(runs: int) -> str:
    points = 10
    reps = max(1, runs // points)
    return f"""
kind: facility_location
name: scale
seed: 1
replications: {reps}
agents:
  n: 7
  locations: {{distribution: uniform}}
mechanisms: [uniform_phantom]
axioms: [ufs, pf]
metrics: [social_welfare]
dynamics: {{record_rounds: false}}
sweep:
  grid:
    agents.locations.low: [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45]
"""


def run_batch(runs: int, workers: int, executor: str) -> tuple[float, Path]:
    from fairsim.scenarios.loader import load_scenario_text
    from fairsim.sim.runner import run_scenario

    scen = load_scenario_text(scenario_text(runs), "scale.yaml")
    out = Path(tempfile.mkdtemp(prefix="fairsim-scale-"))
    t0 = time.perf_counter()
    run_scenario(scen, out, workers=workers, progress=False, executor=executor)
    return time.perf_counter() - t0, out


def direct_loop(X: np.ndarray) -> float:
    from fairsim.axioms import facility as ax
    from fairsim.mechanisms import facility as fl

    t0 = time.perf_counter()
    for x in X:
        y = fl.uniform_phantom(x)
        ax.ufs(x, y)
        ax.pf(x, y)
        ax.social_welfare(x, y)
    return time.perf_counter() - t0


def batched(X: np.ndarray) -> float:
    from fairsim.axioms import facility as ax
    from fairsim.mechanisms import facility as fl

    fl.uniform_phantom(X[:10])
    t0 = time.perf_counter()
    y = fl.uniform_phantom(X)
    ax.ufs(X, y)
    ax.pf(X, y)
    ax.social_welfare(X, y)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--subset", type=int, default=10_000, help="runs for the 1-worker timing")
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()

    # warm-up (numba cache, imports) outside the timed region
    t_warm, out = run_batch(20, 1, "sequential")
    shutil.rmtree(out)

    t1, out1 = run_batch(args.subset, 1, "sequential")
    import pandas as pd

    n1 = len(pd.read_parquet(out1 / "results.parquet"))
    X = np.array(pd.read_parquet(out1 / "results.parquet")["locations"].tolist())
    shutil.rmtree(out1)

    tw, outw = run_batch(args.runs, args.workers, "local")
    nw = len(pd.read_parquet(outw / "results.parquet"))
    size_mb = sum(f.stat().st_size for f in outw.rglob("*") if f.is_file()) / 1e6
    shutil.rmtree(outw)

    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    td = direct_loop(X)
    tb = batched(np.ascontiguousarray(X))

    rows = [
        ("runner, 1 worker (sequential)", n1, t1),
        (f"runner, {args.workers} workers (process pool)", nw, tw),
        ("library calls in a Python loop (same instances)", len(X), td),
        ("one batched call per function (same instances)", len(X), tb),
    ]
    lines = [
        f"Facility sweep, n = 7, Uniform Phantom scored on UFS, PF and social welfare; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "",
        "| path | runs | wall (s) | runs/s | us per run |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, n, t in rows:
        lines.append(f"| {name} | {n} | {t:.2f} | {n / t:,.0f} | {1e6 * t / n:,.1f} |")
    rate1, ratew = n1 / t1, nw / tw
    lines += [
        "",
        f"- parallel speed-up ({args.workers} workers vs 1): {ratew / rate1:.2f}x",
        f"- framework overhead per run vs the plain library loop: "
        f"{1e6 * (t1 / n1 - td / len(X)):.0f} us ({(t1 / n1) / (td / len(X)):.1f}x)",
        f"- peak RSS: main process {self_rss:.0f} MB, largest worker {child_rss:.0f} MB; "
        f"results directory {size_mb:.1f} MB for {nw} runs",
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
