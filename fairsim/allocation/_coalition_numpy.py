"""Per-coalition reference training kernels in numpy (spec ``valuation.md`` §9) [F].

Full-batch gradient descent on the softmax cross-entropy of one coalition's rows, with the same
initialisation, step count, learning rate and L2 penalty as the batched torch kernels of
:mod:`fairsim.allocation._coalition_torch`. Kernels trust their inputs (validated by
:class:`fairsim.mechanisms._games_model.ModelUtilityGame`).

Gradients (rows weighted by ``1/|S|``): ``G = (softmax(Z) - Y) / |S|``;
logistic regression ``dW = X^T G + l2 W``, ``db = sum G``; one-hidden-layer ReLU MLP by the
chain rule through ``H = relu(X W1 + b1)``. Biases are not penalised.
"""

from __future__ import annotations

import numpy as np


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
) -> np.ndarray:
    """Value of each row of ``coalitions`` (k, n), one coalition at a time."""
    out = np.empty(coalitions.shape[0])
    for c, row in enumerate(coalitions):
        rows = row[owner]
        if not rows.any():
            out[c] = empty_value
            continue
        p = train_one(model, x[rows], y1h[rows], init, steps, lr, l2)
        out[c] = score(forward(model, p, x_val), y_val, metric)
    return out
