"""Benchmark: Uniform Phantom on a (B, n) float64 batch, side by side in one run.

Rows timed (best of --repeat, warm-up call outside the timed region):

* ``fairsim uniform_phantom (numba)``: the PUBLIC function, validation included (fused into the
  numba kernel), ``backend="auto"``.
* ``numpy sort + closed form``: ``np.sort`` along rows then ``max(minimum(S, (n-k+1)/n))``
  (spec §10.1), no validation (favours the baseline).
* ``numpy partition``: ``np.partition`` of the reports concatenated with the n - 1 phantoms.
* ``fairsim uniform_phantom (backend="torch", CPU)``: public function, torch kernel.
* ``pure Python loop``: ``sorted`` + closed form per row, timed on a --python-rows subset and
  scaled linearly to the full batch (the table says so).
* ``x.sum()``: one read of the array (the memory-bandwidth floor).
* with ``--cuda``: the public function on a CUDA tensor (transfer excluded; synchronised).

Usage: ``python benchmarks/facility_kernels.py --batch 1000000 --n 15 --repeat 5 --markdown out.md``
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import numpy as np


def best_time(fn: Callable[[], object], repeat: int, sync: Callable[[], None] | None = None):
    """(best wall, median wall, best process CPU time) in seconds; warm-up call not timed.

    CPU time (all threads of the process) is reported because the machine may be shared: it is
    the work a call costs, whatever other processes do to the wall clock.
    """
    fn()  # warm-up (JIT load, thread pool start)
    if sync:
        sync()
    ts, cs = [], []
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    return min(ts), float(np.median(ts)), min(cs)


def python_loop(X: np.ndarray) -> list[float]:
    n = X.shape[1]
    out = []
    for row in X.tolist():
        s = sorted(row)
        out.append(max(min(s[k - 1], (n - k + 1) / n) for k in range(1, n + 1)))
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> list[tuple[str, float, float, float, str]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--batch", type=int, default=1_000_000)
    ap.add_argument("--n", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--python-rows", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-torch", action="store_true", help="skip the torch rows")
    ap.add_argument("--cuda", action="store_true", help="also time torch on a CUDA tensor")
    ap.add_argument("--markdown", help="write the table as markdown to this file")
    args = ap.parse_args(argv)

    import numba

    from fairsim.allocation._facility_numpy import phantom_median_numpy, uniform_phantom_numpy
    from fairsim.mechanisms.facility import uniform_phantom

    rng = np.random.default_rng(args.seed)
    X = rng.random((args.batch, args.n))
    P = np.arange(1, args.n) / args.n
    ref = uniform_phantom_numpy(X)
    assert np.array_equal(uniform_phantom(X), ref)
    assert np.array_equal(phantom_median_numpy(X, P), ref)

    rows: list[tuple[str, float, float, float, str]] = []
    t, m, cpu = best_time(lambda: uniform_phantom(X), args.repeat)
    rows.append(("fairsim uniform_phantom (numba, public, validated)", t, m, cpu, ""))
    t, m, cpu = best_time(lambda: uniform_phantom_numpy(X), args.repeat)
    rows.append(("numpy sort + closed form (baseline, no validation)", t, m, cpu, ""))
    t, m, cpu = best_time(lambda: phantom_median_numpy(X, P), args.repeat)
    rows.append(("numpy partition with phantoms (no validation)", t, m, cpu, ""))
    if not args.no_torch:
        t, m, cpu = best_time(lambda: uniform_phantom(X, backend="torch"), args.repeat)
        rows.append(('fairsim uniform_phantom (backend="torch", CPU)', t, m, cpu, ""))
    sub = X[: args.python_rows]
    assert np.array_equal(np.array(python_loop(sub[:100])), ref[:100])
    t0 = time.perf_counter()
    python_loop(sub)
    tp = (time.perf_counter() - t0) * args.batch / sub.shape[0]
    rows.append(("pure Python loop", tp, tp, tp, f"timed on {sub.shape[0]} rows, scaled"))
    if args.cuda:
        import torch

        T = torch.from_numpy(X).cuda()
        assert np.array_equal(uniform_phantom(T).cpu().numpy(), ref)
        t, m, cpu = best_time(lambda: uniform_phantom(T), args.repeat, torch.cuda.synchronize)
        rows.append(
            (f"fairsim uniform_phantom (torch CUDA, {torch.cuda.get_device_name()})", t, m, cpu, "")
        )
        t, m, cpu = best_time(lambda: T.sum(), args.repeat, torch.cuda.synchronize)
        rows.append(("torch CUDA x.sum()", t, m, cpu, ""))
    t, m, cpu = best_time(lambda: X.sum(), args.repeat)
    rows.append(("x.sum() (one read of the array)", t, m, cpu, ""))

    base = rows[0][1]
    base_cpu = rows[0][3]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    head = (
        f"Uniform Phantom on a ({args.batch}, {args.n}) float64 batch; best of {args.repeat}; "
        f"{cpu_model()}, {numba.config.NUMBA_NUM_THREADS} numba threads "
        f"(layer {numba.threading_layer()}); numpy {np.__version__}, numba {numba.__version__}; "
        f"1-min load average at the end {load:.2f}"
    )
    lines = [
        head,
        "",
        "| implementation | best wall (ms) | median wall (ms) | wall / fairsim | CPU (ms) "
        "| CPU / fairsim | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, t, m, cpu, note in rows:
        lines.append(
            f"| {name} | {t * 1e3:.1f} | {m * 1e3:.1f} | {t / base:.2f} | {cpu * 1e3:.1f} "
            f"| {cpu / base_cpu:.2f} | {note} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")
    return rows


if __name__ == "__main__":
    main()
