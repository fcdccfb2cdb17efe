"""Per-coalition reference training kernels in numpy (spec ``valuation.md`` §9) [F].

Full-batch gradient descent on the softmax cross-entropy of one coalition's rows, with the same
initialisation, step count, learning rate and L2 penalty as the batched torch kernels of
:mod:`fairsim.allocation._coalition_torch`. Kernels trust their inputs (validated by
:class:`fairsim.mechanisms._games_model.ModelUtilityGame`).

Gradients (rows weighted by ``1/|S|``): ``G = (softmax(Z) - Y) / |S|``;
logistic regression ``dW = X^T G + l2 W``, ``db = sum G``; one-hidden-layer ReLU MLP by the
chain rule through ``H = relu(X W1 + b1)``. Biases are not penalised.

``solver="newton"`` (logistic regression only, :func:`newton_one`) minimises the same regularised
objective ``f(W, b) = mean CE + (l2/2) ||W||^2`` to its optimum by damped Newton steps [F]: the
parameters ``theta = [W; b]`` (d+1, C) are flattened row-major, the Hessian is
``sum_j kron(x~_j x~_j^T, diag(p_j) - p_j p_j^T) / |S| + l2 I`` on the ``W`` block (``x~ = [x, 1]``),
and ``1 1^T / C`` is added on the bias block. The softmax is invariant to adding a constant to every
bias, so that direction is the Hessian's only null direction; the gradient never has a component
along it and the Hessian maps it to zero, so adding its projector makes the system positive
definite without changing the Newton step in the sum-zero subspace where gradient descent from zero
also stays. Steps are halved until the Armijo condition holds (with a ``50 eps |f|`` rounding
slack); iteration stops when ``max |grad| <= tol``, after ``max_iter`` steps, or when 40 halvings
cannot decrease ``f``. A class absent from the coalition sends its bias towards ``-inf``; the
gradient stop then ends training at a finite, deterministic point.
"""

from __future__ import annotations

import numpy as np

_SLACK = 50 * float(np.finfo(np.float64).eps)  # Armijo rounding slack, relative to |f|


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def init_params(model: str, d: int, c: int, hidden: int, seed: int) -> list[np.ndarray]:
    """Initial parameters shared by every coalition: zeros (logreg) or ``N(0, 1/fan_in)`` (MLP)."""
    if model == "logreg":
        return [np.zeros((d, c)), np.zeros(c)]
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((d, hidden)) / np.sqrt(d)
    w2 = rng.standard_normal((hidden, c)) / np.sqrt(hidden)
    return [w1, np.zeros(hidden), w2, np.zeros(c)]


def forward(model: str, params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Logits of ``x`` (m, d) under one parameter set."""
    if model == "logreg":
        return x @ params[0] + params[1]
    h = np.maximum(x @ params[0] + params[1], 0.0)
    return h @ params[2] + params[3]


def train_one(
    model: str,
    x: np.ndarray,
    y1h: np.ndarray,
    init: list[np.ndarray],
    steps: int,
    lr: float,
    l2: float,
) -> list[np.ndarray]:
    """Train on the rows ``x`` (m, d) with one-hot labels ``y1h`` (m, C); ``m >= 1``."""
    p = [a.copy() for a in init]
    m = x.shape[0]
    for _ in range(steps):
        if model == "logreg":
            g = (_softmax(x @ p[0] + p[1]) - y1h) / m
            p[0] -= lr * (x.T @ g + l2 * p[0])
            p[1] -= lr * g.sum(axis=0)
        else:
            z = x @ p[0] + p[1]
            h = np.maximum(z, 0.0)
            g = (_softmax(h @ p[2] + p[3]) - y1h) / m
            dh = (g @ p[2].T) * (z > 0)
            dw2 = h.T @ g + l2 * p[2]
            db2 = g.sum(axis=0)
            dw1 = x.T @ dh + l2 * p[0]
            db1 = dh.sum(axis=0)
            p[0] -= lr * dw1
            p[1] -= lr * db1
            p[2] -= lr * dw2
            p[3] -= lr * db2
    return p


def _objective(
    xt: np.ndarray, y1h: np.ndarray, th: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    """``(f, softmax probabilities)`` at ``th`` (D, C) on augmented rows ``xt`` (m, D)."""
    z = xt @ th
    top = np.argmax(z, axis=1)
    z = z - z[np.arange(z.shape[0]), top][:, None]
    e = np.exp(z)
    e[np.arange(z.shape[0]), top] = 0.0
    # log(1 + sum of the others) with log1p: a confident row keeps its tiny loss (not 0)
    lse = np.log1p(e.sum(axis=1, keepdims=True))
    ce = -float(np.mean(np.sum((z - lse) * y1h, axis=1)))
    return ce + 0.5 * l2 * float(np.sum(th[:-1] ** 2)), np.exp(z - lse)


def newton_one(
    x: np.ndarray, y1h: np.ndarray, l2: float, tol: float, max_iter: int
) -> list[np.ndarray]:
    """Regularised logistic-regression optimum on rows ``x`` (m, d) by damped Newton; ``l2 > 0``."""
    m, d = x.shape
    c = y1h.shape[1]
    tol = max(tol, 100 * float(np.finfo(np.float64).eps))  # as the torch kernel
    xt = np.hstack([x, np.ones((m, 1))])
    th = np.zeros((d + 1, c))
    pen = np.ones((d + 1, 1))
    pen[-1] = 0.0
    ridge = np.kron(np.diag(pen[:, 0]), l2 * np.eye(c))
    ridge[d * c :, d * c :] += 1.0 / c
    f, p = _objective(xt, y1h, th, l2)
    for _ in range(max_iter):
        g = xt.T @ (p - y1h) / m + l2 * pen * th
        if np.max(np.abs(g)) <= tol:
            break
        h = np.empty((d + 1, c, d + 1, c))
        for ci in range(c):  # block (ci, e): sum_j x~_j x~_j^T p_jci (delta - p_je) / m
            for e in range(ci, c):
                wt = p[:, ci] * ((ci == e) - p[:, e]) / m
                h[:, ci, :, e] = h[:, e, :, ci] = (xt * wt[:, None]).T @ xt
        h = h.reshape((d + 1) * c, (d + 1) * c)
        s = -np.linalg.solve(h + ridge, g.ravel()).reshape(d + 1, c)
        gs = float(np.sum(g * s))
        t = 1.0
        for _ in range(40):
            f_new, p_new = _objective(xt, y1h, th + t * s, l2)
            if f_new <= f + 1e-4 * t * gs + _SLACK * abs(f):
                break
            t *= 0.5
        else:
            break
        th, f, p = th + t * s, f_new, p_new
    return [th[:-1].copy(), th[-1].copy()]


def score(logits: np.ndarray, y_val: np.ndarray, metric: str) -> float:
    """Validation accuracy or negative mean log loss of ``logits`` (m_val, C)."""
    if metric == "accuracy":
        return float(np.mean(np.argmax(logits, axis=1) == y_val))
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(np.mean(logp[np.arange(y_val.size), y_val]))


def coalition_values(
    model: str,
    x: np.ndarray,
    y1h: np.ndarray,
    owner: np.ndarray,
    coalitions: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    init: list[np.ndarray],
    steps: int,
    lr: float,
    l2: float,
    metric: str,
    empty_value: float,
    solver: str = "gd",
    tol: float = 1e-10,
) -> np.ndarray:
    """Value of each row of ``coalitions`` (k, n), one coalition at a time.

    ``solver="gd"``: ``steps`` gradient steps of size ``lr``; ``"newton"`` (logreg): the optimum by
    :func:`newton_one`, at most ``steps`` Newton iterations.
    """
    out = np.empty(coalitions.shape[0])
    for c, row in enumerate(coalitions):
        rows = row[owner]
        if not rows.any():
            out[c] = empty_value
            continue
        if solver == "newton":
            p = newton_one(x[rows], y1h[rows], l2, tol, steps)
        else:
            p = train_one(model, x[rows], y1h[rows], init, steps, lr, l2)
        out[c] = score(forward(model, p, x_val), y_val, metric)
    return out
