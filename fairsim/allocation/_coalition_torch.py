"""Batched coalition training in torch (spec ``valuation.md`` §9, masking variant) [F].

All ``k`` coalition models of a chunk train at once: the pooled rows ``X`` (m, d) stay on the
device, a row-weight matrix ``M`` (k, m) with ``M[c, j] = 1/|S_c|`` when row ``j``'s owner is in
coalition ``c`` selects each coalition's data, and every parameter carries a leading ``k`` axis.
Gradients are the same closed forms as the numpy reference (:mod:`._coalition_numpy`), so with
float64 on CPU the two agree to rounding. Coalitions without rows are never trained (the caller
assigns them the empty value). Only the ``(k,)`` float64 scores return to the host.

``torch`` is imported by this module; import it lazily (only when ``backend="torch"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def _forward(model: str, p: list[Any], x: Any) -> tuple[Any, Any, Any]:
    """``(logits (k, m, C), pre-activation, hidden)`` of the shared rows ``x`` (m, d)."""
    if model == "logreg":
        return torch.einsum("md,kdc->kmc", x, p[0]) + p[1][:, None, :], None, None
    z = torch.einsum("md,kdh->kmh", x, p[0]) + p[1][:, None, :]
    h = torch.relu(z)
    return torch.bmm(h, p[2]) + p[3][:, None, :], z, h


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
    device: str = "cpu",
    batch_size: int = 256,
) -> np.ndarray:
    """Values of the rows of ``coalitions`` (k, n), trained ``batch_size`` coalitions at a time."""
    dev = torch.device(device)
    dt = torch.float64 if dev.type == "cpu" else torch.float32
    X = torch.as_tensor(x, dtype=dt, device=dev)
    Y = torch.as_tensor(y1h, dtype=dt, device=dev)
    XV = torch.as_tensor(x_val, dtype=dt, device=dev)
    YV = torch.as_tensor(y_val, dtype=torch.int64, device=dev)
    P0 = [torch.as_tensor(a, dtype=dt, device=dev) for a in init]
    rows = coalitions[:, owner]
    sizes = rows.sum(axis=1)
    out = np.full(coalitions.shape[0], float(empty_value))
    todo = np.flatnonzero(sizes > 0)
    for s in range(0, todo.size, batch_size):
        idx = todo[s : s + batch_size]
        k = idx.size
        M = torch.as_tensor(rows[idx] / sizes[idx, None], dtype=dt, device=dev)
        p = [a.expand(k, *a.shape).clone() for a in P0]
        for _ in range(steps):
            logits, z, h = _forward(model, p, X)
            g = (torch.softmax(logits, dim=-1) - Y[None]) * M[:, :, None]
            if model == "logreg":
                p[0] -= lr * (torch.einsum("md,kmc->kdc", X, g) + l2 * p[0])
                p[1] -= lr * g.sum(dim=1)
            else:
                dh = torch.bmm(g, p[2].transpose(1, 2)) * (z > 0)
                dw2 = torch.bmm(h.transpose(1, 2), g) + l2 * p[2]
                db2 = g.sum(dim=1)
                dw1 = torch.einsum("md,kmh->kdh", X, dh) + l2 * p[0]
                db1 = dh.sum(dim=1)
                p[0] -= lr * dw1
                p[1] -= lr * db1
                p[2] -= lr * dw2
                p[3] -= lr * db2
        lv, _, _ = _forward(model, p, XV)
        if metric == "accuracy":
            sc = (lv.argmax(dim=-1) == YV[None]).to(torch.float64).mean(dim=1)
        else:
            logp = torch.log_softmax(lv.to(torch.float64), dim=-1)
            sc = logp.gather(2, YV[None, :, None].expand(k, -1, 1))[..., 0].mean(dim=1)
        out[idx] = sc.cpu().numpy()
    return out
