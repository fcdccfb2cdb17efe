"""Exact Shapley and estimators: fairsim vs shapiq (and pyDVL) on the spec §7 voting game.

Run in a separate venv holding the peers (never fairsim's own):

    python3 -m venv /tmp/val-bench && /tmp/val-bench/bin/pip install shapiq pydvl
    /tmp/val-bench/bin/pip install -e /work/main --no-deps
    /tmp/val-bench/bin/python benchmarks/shapley_exact.py --exact 16 20 --pydvl 16 20 --estimators 16

On a GPU machine (no peers needed): ``python benchmarks/shapley_exact.py --exact --fairsim-only
16 20 24 --estimators --no-peers --device cuda`` times the torch GEMM path on CUDA.

Exact rows: fairsim numba (``shapley(game, backend="numba")``), fairsim torch (``shapley(game, backend="torch",
device=...)``, the batched GEMM of spec §4, one game) and fairsim torch batched
(``shapley_tables`` on ``--batch`` tables at once, time per game), then shapiq ``ExactComputer``
and pyDVL exact. pyDVL exact runs under ``MaxTime(--pydvl-cap)``; when the cap stops it, the row
reports the capped wall time, the fraction of the utility calls done and the time extrapolated
linearly to all ``n 2^n - n`` calls (the count measured for a complete run), labelled as such.

``--estimators`` also runs pyDVL's ``ShapleyValuation`` + ``PermutationSampler`` (against exact
Shapley) and ``MSRBanzhafValuation`` (against exact Banzhaf, next to fairsim's ``banzhaf(...,
method="msr")``) at the same budgets, unless ``--no-pydvl-estimators``. pyDVL's budget is counted
by wrapping the game's score: a permutation costs ``n`` calls (pyDVL's utility answers the empty
coalition without calling the game), an MSR sample one call; the stopping rule is ``MaxSamples``
set so that the counted calls do not exceed the budget (the table's last column reports them).

Game: weighted voting, weights ``default_rng(0).integers(1, 20, size=n)``, quota ``W // 2 + 1``
(spec §7). Every library gets the same vectorised value function ``bool (k, n) -> (k,)``; fairsim
additionally uses its numba table path. Times are wall seconds (``perf_counter``), median of
``--repeat`` for fairsim (after a JIT warm-up), one run for the peers.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fairsim.mechanisms.games import WeightedVotingGame
from fairsim.mechanisms.valuation import banzhaf, shapley, shapley_tables


def instance(n: int) -> WeightedVotingGame:
    w = np.random.default_rng(0).integers(1, 20, size=n)
    return WeightedVotingGame(w, int(w.sum()) // 2 + 1)


def value_fn(g: WeightedVotingGame):
    w, q = g.weights, g.quota

    def f(c: np.ndarray) -> np.ndarray:
        c = np.atleast_2d(np.asarray(c, dtype=bool))
        return (c @ w >= q).astype(float)

    return f


def shapiq_exact(g: WeightedVotingGame) -> tuple[np.ndarray, float]:
    from shapiq import ExactComputer

    t = time.perf_counter()
    iv = ExactComputer(value_fn(g), n_players=g.n_players)("SV", order=1)
    dt = time.perf_counter() - t
    return _iv_values(iv, g.n_players), dt


def _iv_values(iv, n: int) -> np.ndarray:
    out = np.zeros(n)
    for key, pos in iv.interaction_lookup.items():
        if len(key) == 1:
            out[key[0]] = iv.values[pos]
    return out


def pydvl_exact(g: WeightedVotingGame, cap: float) -> tuple[np.ndarray, float, int, bool]:
    """pyDVL exact Shapley, stopped by ``MaxTime(cap)``; returns values, wall s, calls, complete."""
    from pydvl.valuation.methods.shapley import ShapleyValuation
    from pydvl.valuation.samplers import DeterministicUniformSampler
    from pydvl.valuation.stopping import MaxTime, NoStopping

    calls = [0]
    game = _pydvl_game(g, calls)
    sampler = DeterministicUniformSampler()
    stop = NoStopping(sampler) | MaxTime(cap)
    val = ShapleyValuation(game.u, sampler=sampler, is_done=stop, progress=False)
    t = time.perf_counter()
    val.fit(game.data)
    dt = time.perf_counter() - t
    res = val.result
    out = np.zeros(g.n_players)
    out[np.asarray(res.indices, dtype=int)] = res.values
    n = g.n_players
    return out, dt, calls[0], calls[0] >= n * (1 << n) - n


def _pydvl_game(g: WeightedVotingGame, calls: list[int]):
    from numpy.typing import NDArray
    from pydvl.valuation.games import Game

    class Voting(Game):
        def __init__(self) -> None:
            super().__init__(g.n_players, score_range=(0, 1))

        def _score(self, X: NDArray) -> float:
            calls[0] += 1
            return float(g.weights[np.asarray(X, dtype=int).ravel()].sum() >= g.quota)

    return Voting()


def pydvl_estimate(
    g: WeightedVotingGame, kind: str, budget: int, seed: int
) -> tuple[np.ndarray, float, int]:
    """One pyDVL run: ``kind`` is ``"permutation"`` (Shapley) or ``"msr"`` (Banzhaf)."""
    from pydvl.valuation.methods.banzhaf import MSRBanzhafValuation
    from pydvl.valuation.methods.shapley import ShapleyValuation
    from pydvl.valuation.samplers import PermutationSampler
    from pydvl.valuation.stopping import MaxSamples

    n = g.n_players
    calls = [0]
    game = _pydvl_game(g, calls)
    if kind == "permutation":
        sampler = PermutationSampler(seed=seed)
        stop = MaxSamples(sampler, budget // n)
        val = ShapleyValuation(game.u, sampler=sampler, is_done=stop, progress=False)
    else:
        val = MSRBanzhafValuation(game.u, is_done=None, seed=seed, progress=False)  # type: ignore[arg-type]
        val.is_done = MaxSamples(val.sampler, budget)
    t = time.perf_counter()
    val.fit(game.data)
    dt = time.perf_counter() - t
    res = val.result
    out = np.zeros(n)
    out[np.asarray(res.indices, dtype=int)] = res.values
    return out, dt, calls[0]


def fairsim_exact(g: WeightedVotingGame, repeat: int) -> tuple[np.ndarray, float]:
    # backend="numba" explicitly: "auto" moves games with a torch_value to the GPU when one exists.
    shapley(instance(4), backend="numba")  # JIT warm-up (cached on disk after the first run)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = shapley(g, backend="numba")
        times.append(time.perf_counter() - t)
    return r.values, float(np.median(times))


def torch_exact(g: WeightedVotingGame, repeat: int, device: str) -> tuple[np.ndarray, float]:
    """``shapley(game, backend="torch")``: table on host, batched GEMM on ``device``."""
    shapley(instance(4), backend="torch", device=device)  # warm-up (CUDA context, kernels)
    shapley(g, backend="torch", device=device)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = shapley(g, backend="torch", device=device)
        times.append(time.perf_counter() - t)
    return r.values, float(np.median(times))


def torch_batched(
    g: WeightedVotingGame, batch: int, repeat: int, device: str
) -> tuple[np.ndarray, float]:
    """``shapley_tables`` on ``batch`` copies of the game's table: wall s per game (GEMM only)."""
    T = np.repeat(g.table()[None, :], batch, axis=0)
    shapley_tables(T[:1], backend="torch", device=device)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = shapley_tables(T, backend="torch", device=device)
        times.append(time.perf_counter() - t)
    return out[-1], float(np.median(times)) / batch


def estimators(n: int, budgets: list[int], seeds: int, with_pydvl: bool = True) -> None:
    import shapiq

    g = instance(n)
    exact = shapley(g).values
    exact_bz = banzhaf(g).values
    f = value_fn(g)
    print(f"\n## estimators, n={n}, MAE over {seeds} seeds (wall s per run)")
    print("| method | budget | MAE | mean wall s | evaluations used |")
    print("|---|---:|---:|---:|---:|")
    for budget in budgets:
        for m in ("permutation", "antithetic", "stratified", "owen", "kernel", "svarm", "tmc"):
            errs, ts, evs = [], [], []
            for s in range(seeds):
                t = time.perf_counter()
                r = shapley(g, method=m, budget=budget, rng=s)
                ts.append(time.perf_counter() - t)
                errs.append(np.abs(r.values - exact).mean())
                evs.append(r.evaluations)
            print(
                f"| fairsim {m} | {budget} | {np.mean(errs):.4f} | {np.mean(ts):.4f} | {np.mean(evs):.0f} |"
            )
        for name in ("PermutationSamplingSV", "KernelSHAP", "SVARM"):
            errs, ts = [], []
            for s in range(seeds):
                approx = getattr(shapiq, name)(n=n, random_state=s)
                t = time.perf_counter()
                iv = approx.approximate(budget, f)
                ts.append(time.perf_counter() - t)
                errs.append(np.abs(_iv_values(iv, n) - exact).mean())
            print(
                f"| shapiq {name} | {budget} | {np.mean(errs):.4f} | {np.mean(ts):.4f} | <= {budget} |",
                flush=True,
            )
        errs, ts, evs = [], [], []
        for s in range(seeds):
            t = time.perf_counter()
            r = banzhaf(g, method="msr", budget=budget, rng=s)
            ts.append(time.perf_counter() - t)
            errs.append(np.abs(r.values - exact_bz).mean())
            evs.append(r.evaluations)
        print(
            f"| fairsim banzhaf msr (vs exact Banzhaf) | {budget} | {np.mean(errs):.4f} "
            f"| {np.mean(ts):.4f} | {np.mean(evs):.0f} |",
            flush=True,
        )
        if not with_pydvl:
            continue
        for kind, ref, label in (
            ("permutation", exact, "pyDVL ShapleyValuation + PermutationSampler"),
            ("msr", exact_bz, "pyDVL MSRBanzhafValuation (vs exact Banzhaf)"),
        ):
            errs, ts, evs = [], [], []
            for s in range(seeds):
                v, t, c = pydvl_estimate(g, kind, budget, s)
                ts.append(t)
                errs.append(np.abs(v - ref).mean())
                evs.append(c)
            print(
                f"| {label} | {budget} | {np.mean(errs):.4f} | {np.mean(ts):.4f} | {np.mean(evs):.0f} |",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exact", type=int, nargs="*", default=[16, 20])
    ap.add_argument("--fairsim-only", type=int, nargs="*", default=[24])
    ap.add_argument("--pydvl", type=int, nargs="*", default=[])
    ap.add_argument("--pydvl-cap", type=float, default=300.0, help="MaxTime for pyDVL exact (s)")
    ap.add_argument("--estimators", type=int, nargs="*", default=[16])
    ap.add_argument("--budgets", type=int, nargs="*", default=[2000, 10000])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="cpu", help="device of the torch rows: cpu or cuda")
    ap.add_argument("--batch", type=int, default=8, help="tables per shapley_tables call")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--torch-threads", type=int, default=0, help="torch.set_num_threads (0: keep)")
    ap.add_argument("--no-peers", action="store_true", help="skip shapiq and pyDVL exact")
    ap.add_argument("--no-pydvl-estimators", action="store_true")
    a = ap.parse_args()
    if a.torch_threads > 0 and not a.no_torch:
        import torch

        torch.set_num_threads(a.torch_threads)
    print("| n | library | wall s | ratio to fairsim numba | max abs diff to fairsim numba |")
    print("|---:|---|---:|---:|---:|")
    for n in sorted(set(a.exact) | set(a.pydvl) | set(a.fairsim_only)):
        g = instance(n)
        ref, tf = fairsim_exact(g, a.repeat)
        print(f"| {n} | fairsim exact (numba) | {tf:.3f} | 1.0 | 0 |", flush=True)
        if not a.no_torch:
            thr = f", {a.torch_threads} thread(s)" if a.torch_threads > 0 else ""
            v, t = torch_exact(g, a.repeat, a.device)
            print(
                f"| {n} | fairsim exact (torch GEMM, {a.device}{thr}) | {t:.3f} | {t / tf:.1f} "
                f"| {np.abs(v - ref).max():.1e} |",
                flush=True,
            )
            v, t = torch_batched(g, a.batch, a.repeat, a.device)
            print(
                f"| {n} | fairsim shapley_tables (torch, {a.device}{thr}, G={a.batch}), per game "
                f"| {t:.4f} | {t / tf:.2f} | {np.abs(v - ref).max():.1e} |",
                flush=True,
            )
        if a.no_peers:
            continue
        if n in a.exact:
            v, t = shapiq_exact(g)
            print(
                f"| {n} | shapiq ExactComputer | {t:.2f} | {t / tf:.0f} | {np.abs(v - ref).max():.1e} |",
                flush=True,
            )
        if n in a.pydvl:
            v, t, calls, done = pydvl_exact(g, a.pydvl_cap)
            if done:
                print(
                    f"| {n} | pyDVL exact (DeterministicUniformSampler) | {t:.2f} | {t / tf:.0f} "
                    f"| {np.abs(v - ref).max():.1e} |",
                    flush=True,
                )
            else:
                full = n * (1 << n) - n
                est = t * full / max(calls, 1)
                print(
                    f"| {n} | pyDVL exact, stopped by MaxTime({a.pydvl_cap:g}) after {t:.1f} s "
                    f"at {calls}/{full} utility calls ({100 * calls / full:.1f} %); "
                    f"EXTRAPOLATED full run | ~{est:.0f} | ~{est / tf:.0f} | n/a (incomplete) |",
                    flush=True,
                )
    for n in a.estimators:
        estimators(n, a.budgets, a.seeds, not a.no_pydvl_estimators)


if __name__ == "__main__":
    main()
