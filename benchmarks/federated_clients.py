"""Federated rounds: all clients in one vmapped call vs the sequential per-client loop.

Runs :class:`fairsim.sim.federated.FederatedModel` (spec ``federated.md`` §2.2: FedAvg, full
participation, ``--clients`` clients, logistic regression on the built-in Gaussian mixture with
``d = 20``, ``C = 10``, ``tau = 10``, ``B = 32``) with ``backend="vmap"`` and ``backend="loop"``
(the reference: the same batches and maths, a Python loop over clients). One warm-up round per
backend is excluded; the remaining rounds are timed end to end (participation, loader, training,
uploads, aggregation, test evaluation). The local-training kernel alone is timed too, on the same
batches, and the two backends' models are compared (max |diff|).

    python benchmarks/federated_clients.py [--clients 100] [--device cuda] [--model mlp]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=30, help="timed rounds, vmap backend")
    ap.add_argument("--loop-rounds", type=int, default=3, help="timed rounds, loop backend")
    ap.add_argument("--model", choices=("logreg", "mlp"), default="logreg")
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU intra-op threads")
    a = ap.parse_args()
    import torch

    from fairsim.allocation import _federated_torch as FT
    from fairsim.sim.federated import FederatedModel, _torch_settings, make_config

    def cfg(backend: str) -> dict:
        return make_config(
            a.clients, 0, "fedavg", a.rounds + 1, 0, n_samples=a.samples, model=a.model,
            standalone=False, device=a.device, dtype=a.dtype, backend=backend,
            num_threads=a.threads,
        )  # fmt: skip

    def sync() -> None:
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    print(
        f"clients={a.clients} model={a.model} device={a.device} dtype={a.dtype} "
        f"threads={a.threads} torch={torch.__version__} cpu={platform.processor() or '?'}"
    )
    rates = {}
    with _torch_settings(torch.device(a.device), a.threads):
        for backend, rounds in (("vmap", a.rounds), ("loop", a.loop_rounds)):
            fm = FederatedModel(cfg(backend))
            fm.step()  # warm-up, excluded
            sync()
            t0 = time.perf_counter()
            for _ in range(rounds):
                fm.step()
            sync()
            dt = time.perf_counter() - t0
            rates[backend] = rounds / dt
            print(
                f"  full round  {backend:5s}: {rounds} rounds in {dt:.3f} s = "
                f"{rates[backend]:.2f} rounds/s, final acc {fm.hist['accuracy'][-1]:.3f}"
            )
        print(f"  full-round speed-up vmap/loop: {rates['vmap'] / rates['loop']:.1f}x")
        # kernel only: the same batches for both backends
        idx = np.arange(a.clients)
        bi, bm = fm.loader.next_round(idx, 10, 32)
        xb, yb, mb = FT.gather_batches(fm.Xtr, fm.ytr, idx, bi, bm)
        th = fm.theta.expand(a.clients, fm.P).clone()
        out, ktime = {}, {}
        for name, fn, reps in (("vmap", FT.train_vmap, 20), ("loop", FT.train_loop, 2)):
            out[name] = fn(fm.spec, th, xb, yb, mb, 0.05)  # warm-up
            sync()
            t0 = time.perf_counter()
            for _ in range(reps):
                out[name] = fn(fm.spec, th, xb, yb, mb, 0.05)
            sync()
            ktime[name] = (time.perf_counter() - t0) / reps
            print(f"  training kernel {name:5s}: {1e3 * ktime[name]:.2f} ms per round")
        diff = float((out["vmap"] - out["loop"]).abs().max())
        print(f"  kernel speed-up: {ktime['loop'] / ktime['vmap']:.1f}x, max |diff| {diff:.2e}")


if __name__ == "__main__":
    main()
