"""Batched torch coalition training vs the sequential per-coalition numpy reference.

Both train the same logistic regression (``--solver gd``: full-batch gradient descent, identical
init, schedule and L2; ``--solver newton``: the regularised optimum by batched damped Newton, at
most ``--epochs`` iterations) for ``--coalitions`` random coalitions of ``--parties`` data owners
(:class:`fairsim.mechanisms._games_model.ModelUtilityGame`, spec ``valuation.md`` §9). The
sequential baseline is fairsim's numpy reference, not scikit-learn (scikit-learn is not a
dependency). Values must agree (max |diff| is printed).

``--sklearn`` adds a sequential scikit-learn loop (run it from a separate venv holding
scikit-learn, never fairsim's own): one ``LogisticRegression(solver="lbfgs")`` per coalition on
the same standardised rows (pooled mean and standard deviation, as the game does). fairsim
minimises ``mean CE + (l2/2) ||W||^2`` over a C-column softmax (bias unpenalised); for two classes
that optimum is the binary logistic one with penalty ``(l2/4) ||w||^2``, i.e. scikit-learn's
``C = 2 / (l2 * m_S)`` for a coalition of ``m_S`` rows (``C = 1 / (l2 * m_S)`` for more classes).
The sklearn loop is timed on all coalitions; the mean validation accuracy and log loss of both
are printed so that ``--sklearn-max-iter`` can be matched to the GD's quality. With
``--solver newton`` both solve the same problem to optimality, so the largest per-coalition
difference in validation log loss and the number of differing accuracies are printed too.

    python benchmarks/coalition_training.py --coalitions 1024 [--device cuda]
    /tmp/sk-bench/bin/python benchmarks/coalition_training.py --coalitions 1024 --sklearn \
        --solver newton [--layout auto|mask|pad] [--p 0.5]

``--layout`` is the torch row layout (spec §9; ``auto`` by default) and ``--p`` the probability
that a party is in a random coalition (0.5: mean coalition half the pool).
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
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--sklearn", action="store_true", help="also time a scikit-learn loop")
    ap.add_argument("--sklearn-max-iter", type=int, default=100)
    ap.add_argument("--sklearn-tol", type=float, default=1e-4, help="lbfgs tol (its default)")
    ap.add_argument("--solver", choices=("gd", "newton"), default="gd")
    ap.add_argument("--torch-threads", type=int, default=0, help="0: torch's default")
    ap.add_argument("--layout", choices=("auto", "mask", "pad"), default="auto")
    ap.add_argument("--p", type=float, default=0.5, help="P(party in a random coalition)")
    a = ap.parse_args()
    import torch

    if a.torch_threads > 0:
        torch.set_num_threads(a.torch_threads)

    from fairsim.mechanisms._games_model import ModelUtilityGame

    rng = np.random.default_rng(0)
    m = a.parties * a.rows
    w = rng.standard_normal(a.features)
    X = rng.standard_normal((m, a.features))
    y = (X @ w + 0.5 * rng.standard_normal(m) > 0).astype(np.int64)
    Xv = rng.standard_normal((500, a.features))
    yv = (Xv @ w > 0).astype(np.int64)
    own = np.repeat(np.arange(a.parties), a.rows)
    C = rng.random((a.coalitions, a.parties)) < a.p
    kw = dict(epochs=a.epochs, l2=a.l2, metric="neg_log_loss", cache=False, solver=a.solver)
    g_t = ModelUtilityGame(
        X,
        y,
        own,
        Xv,
        yv,
        backend="torch",
        device=a.device,
        batch_size=a.batch_size,
        layout=a.layout,
        **kw,
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
        f"epochs={a.epochs} solver={a.solver} layout={a.layout} p={a.p} device={a.device} "
        f"torch_threads={torch.get_num_threads()}"
    )
    print(f"numpy sequential (extrapolated from {k}): {t_ref:.3f} s")
    print(f"torch batched: {t_torch:.3f} s  speedup {t_ref / t_torch:.1f}x")
    print(f"max |torch - numpy| on {k} coalitions: {np.max(np.abs(vt[:k] - vn)):.2e}")
    if a.sklearn:
        acc = ModelUtilityGame(
            X,
            y,
            own,
            Xv,
            yv,
            backend="torch",
            device=a.device,
            batch_size=a.batch_size,
            layout=a.layout,
            **{**kw, "metric": "accuracy"},
        ).value(C)
        t_sk, sk_ll, sk_acc, iters = sklearn_loop(
            X, y, own, Xv, yv, C, a.l2, a.sklearn_max_iter, a.sklearn_tol
        )
        print(
            f"sklearn LogisticRegression(lbfgs, max_iter={a.sklearn_max_iter}, "
            f"tol={a.sklearn_tol:g}) sequential: "
            f"{t_sk:.3f} s on {a.coalitions} coalitions (mean lbfgs iterations {iters:.1f})"
        )
        print(f"torch batched vs sklearn sequential: {t_sk / t_torch:.2f}x")
        fit = ~np.isnan(sk_acc)
        print(
            f"fairsim {a.solver}: mean val log loss {-np.mean(vt):.6f}, "
            f"mean val accuracy {np.mean(acc[fit]):.6f}"
        )
        print(
            f"sklearn:    mean val log loss {np.mean(sk_ll):.6f}, "
            f"mean val accuracy {np.mean(sk_acc[fit]):.6f}"
        )
        print(
            f"per coalition: max |log loss diff| {np.max(np.abs(-vt - sk_ll)):.2e}, "
            f"accuracies differing {int(np.sum(acc[fit] != sk_acc[fit]))} of {int(fit.sum())}"
        )


def sklearn_loop(X, y, own, Xv, yv, C, l2, max_iter, tol=1e-4):
    """Sequential scikit-learn fits, one per coalition; returns (seconds, log losses, accs, iters).

    Coalitions without rows or with one class get log loss ``log C`` and accuracy NaN."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    xs, xvs = (X - mu) / sd, (Xv - mu) / sd
    n_cls = int(max(y.max(), yv.max())) + 1
    scale = 2.0 if n_cls == 2 else 1.0
    lls, accs, its = [], [], []
    warnings.simplefilter("ignore", ConvergenceWarning)
    t0 = time.perf_counter()
    for c in C:
        rows = c[own]
        m_s = int(rows.sum())
        if m_s == 0 or np.unique(y[rows]).size < 2:
            lls.append(np.log(n_cls))
            accs.append(np.nan)
            continue
        clf = LogisticRegression(C=scale / (l2 * m_s), solver="lbfgs", max_iter=max_iter, tol=tol)
        clf.fit(xs[rows], y[rows])
        p = clf.predict_proba(xvs)
        lls.append(log_loss(yv, p, labels=clf.classes_))
        accs.append(np.mean(clf.classes_[p.argmax(axis=1)] == yv))
        its.append(int(np.max(clf.n_iter_)))
    dt = time.perf_counter() - t0
    return dt, np.array(lls), np.array(accs), float(np.mean(its))


if __name__ == "__main__":
    main()
