"""Batched torch coalition training vs the sequential per-coalition numpy reference.

Both train the same logistic regression (full-batch gradient descent, identical init, schedule
and L2) for ``--coalitions`` random coalitions of ``--parties`` data owners
(:class:`fairsim.mechanisms._games_model.ModelUtilityGame`, spec ``valuation.md`` §9). The
sequential baseline is fairsim's numpy reference, not scikit-learn (scikit-learn is not a
dependency). Values must agree (max |diff| is printed).

    python benchmarks/coalition_training.py --coalitions 1024 [--device cuda]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coalitions", type=int, default=1024)
    ap.add_argument("--parties", type=int, default=16)
    ap.add_argument("--rows", type=int, default=50, help="rows per party")
    ap.add_argument("--features", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--reference", type=int, default=128, help="coalitions timed for numpy")
    a = ap.parse_args()
    import torch

    from fairsim.mechanisms._games_model import ModelUtilityGame

    rng = np.random.default_rng(0)
    m = a.parties * a.rows
    w = rng.standard_normal(a.features)
    X = rng.standard_normal((m, a.features))
    y = (X @ w + 0.5 * rng.standard_normal(m) > 0).astype(np.int64)
    Xv = rng.standard_normal((500, a.features))
    yv = (Xv @ w > 0).astype(np.int64)
    own = np.repeat(np.arange(a.parties), a.rows)
    C = rng.random((a.coalitions, a.parties)) < 0.5
    kw = dict(epochs=a.epochs, metric="neg_log_loss", cache=False)
    g_t = ModelUtilityGame(
        X, y, own, Xv, yv, backend="torch", device=a.device, batch_size=a.batch_size, **kw
    )
    g_n = ModelUtilityGame(X, y, own, Xv, yv, backend="numpy", **kw)
    g_t.value(C[: min(8, a.coalitions)])  # warm-up
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    vt = g_t.value(C)
    t_torch = time.perf_counter() - t0
    k = min(a.reference, a.coalitions)
    t0 = time.perf_counter()
    vn = g_n.value(C[:k])
    t_ref = (time.perf_counter() - t0) * a.coalitions / k
    print(
        f"coalitions={a.coalitions} parties={a.parties} rows={m} d={a.features} "
        f"epochs={a.epochs} device={a.device} torch_threads={torch.get_num_threads()}"
    )
    print(f"numpy sequential (extrapolated from {k}): {t_ref:.3f} s")
    print(f"torch batched: {t_torch:.3f} s  speedup {t_ref / t_torch:.1f}x")
    print(f"max |torch - numpy| on {k} coalitions: {np.max(np.abs(vt[:k] - vn)):.2e}")


if __name__ == "__main__":
    main()
