"""Batched coalition training in torch (spec ``valuation.md`` §9, masking variant) [F].

All ``k`` coalition models of a chunk train at once: the pooled rows ``X`` (m, d) stay on the
device, a row-weight matrix ``M`` (k, m) with ``M[c, j] = 1/|S_c|`` when row ``j``'s owner is in
coalition ``c`` selects each coalition's data, and every parameter carries a leading ``k`` axis.
Gradients are the same closed forms as the numpy reference (:mod:`._coalition_numpy`), so with
float64 on CPU the two agree to rounding. Coalitions without rows are never trained (the caller
assigns them the empty value). Only the ``(k,)`` float64 scores return to the host.

``solver="newton"`` (logistic regression, :func:`_newton_chunk`) runs the damped Newton method of
:func:`fairsim.allocation._coalition_numpy.newton_one` for all coalitions of a chunk at once [F]:
masking variant, laid out so that every contraction is one dense matrix product: logits
``(m, k C) = X~ (m, D) @ theta (D, k C)``, gradients ``X~^T @ residuals``, and the Hessians from the
``C(C+1)/2`` class pairs and ``D(D+1)/2`` feature pairs of their symmetric blocks as
``(k C(C+1)/2, m) @ (m, D(D+1)/2)`` with the row products ``x~_a x~_b`` precomputed once, scattered
into ``(k, DC, DC)`` systems that a batched Cholesky factorisation solves. For two classes the
kernel works in the difference coordinates (binary logistic regression, ``(k, D, D)`` systems):
Newton's method is affine invariant, so the iterates are those of the C-column method restricted to
the sum-zero subspace, at about a third of the cost.
Converged coalitions leave the active set, and the Armijo step halving is per coalition. The
Armijo rounding slack is ``50 eps |f|`` and the gradient tolerance at least ``100 eps`` of the
dtype, so float32 on CUDA stops at its own precision (``1.2e-5``) instead of running to the cap.

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


def _newton_chunk(
    xt: Any, xx: Any, y: Any, w: Any, l2: float, tol: float, max_iter: int, scatter: Any
) -> Any:
    """Newton optimum ``theta`` (k, D, C) for row weights ``w`` (m, k), each column summing to 1,
    on the augmented rows ``xt`` (m, D), their pair products ``xx`` (m, T) and one-hot ``y``."""
    (m, D), C, k = xt.shape, y.shape[1], w.shape[1]
    dt, dev = xt.dtype, xt.device
    slack, tol = 50 * torch.finfo(dt).eps, max(tol, 100 * torch.finfo(dt).eps)
    pen = torch.ones(D, 1, dtype=dt, device=dev)
    pen[-1] = 0.0
    ridge = torch.kron(torch.diag(pen[:, 0]), l2 * torch.eye(C, dtype=dt, device=dev))
    ridge[(D - 1) * C :, (D - 1) * C :] += 1.0 / C
    iu = torch.triu_indices(C, C, device=dev)
    diag_pair = (iu[0] == iu[1]).to(dt)

    def objective(th: Any, wa: Any) -> tuple[Any, Any]:
        ka = th.shape[0]
        z = (xt @ th.permute(1, 0, 2).reshape(D, ka * C)).reshape(m, ka, C)
        zmax, top = z.max(dim=-1, keepdim=True)
        e = torch.exp(z - zmax).scatter(-1, top, 0.0)
        # log-sum-exp as zmax + log1p(others), so that a confident row keeps its tiny loss
        logp = z - zmax - torch.log1p(e.sum(-1, keepdim=True))
        ce = -(wa * (logp * y[:, None, :]).sum(-1)).sum(0)
        return ce + 0.5 * l2 * (th[:, :-1] ** 2).sum((1, 2)), logp.exp()

    th = torch.zeros(k, D, C, dtype=dt, device=dev)
    act = torch.arange(k, device=dev)
    f, p = objective(th, w)
    for _ in range(max_iter):
        tha = th[act]
        ka = act.numel()
        r = ((p - y[:, None, :]) * w[:, :, None]).reshape(m, ka * C)
        g = (xt.T @ r).reshape(D, ka, C).permute(1, 0, 2) + l2 * pen * tha
        live = g.abs().amax((1, 2)) > tol
        if not bool(live.any()):
            break
        if not bool(live.all()):
            act, tha, g, p, f, w = act[live], tha[live], g[live], p[:, live], f[live], w[:, live]
            ka = act.numel()
        a = w[:, :, None] * p[:, :, iu[0]] * (diag_pair - p[:, :, iu[1]])  # (m, ka, P)
        h = (a.reshape(m, -1).T @ xx).reshape(ka, -1)[:, scatter] + ridge
        chol, _ = torch.linalg.cholesky_ex(h)
        s = -torch.cholesky_solve(g.reshape(ka, D * C, 1), chol).reshape(ka, D, C)
        gs = (g * s).sum((1, 2))
        t = torch.ones(ka, dtype=dt, device=dev)
        ok = torch.zeros(ka, dtype=torch.bool, device=dev)
        f_new, p_new = f.clone(), p.clone()
        for _ in range(40):
            todo = torch.nonzero(~ok)[:, 0]
            tt = t[todo]
            if todo.numel() == ka:
                f_try, p_try = objective(tha + tt[:, None, None] * s, w)
            else:
                f_try, p_try = objective(tha[todo] + tt[:, None, None] * s[todo], w[:, todo])
            good = f_try <= f[todo] + 1e-4 * tt * gs[todo] + slack * f[todo].abs()
            gi = todo[good]
            f_new[gi] = f_try[good]
            p_new[:, gi] = p_try[:, good]
            ok[gi] = True
            t[todo[~good]] *= 0.5
            if bool(ok.all()):
                break
        th[act[ok]] = tha[ok] + t[ok, None, None] * s[ok]
        if bool(ok.all()):
            f, p = f_new, p_new
        else:  # coalitions whose step halving failed stop here
            act, f, p, w = act[ok], f_new[ok], p_new[:, ok], w[:, ok]
        if act.numel() == 0:
            break
    return th


def _newton_binary(
    xt: Any, xx: Any, y: Any, w: Any, l2: float, tol: float, max_iter: int, tri: Any
) -> Any:
    """Two classes: the same Newton iterates in the coordinates ``u = W[:, 1] - W[:, 0]``,
    ``beta = b_1 - b_0`` (sum-zero ``W = [-u/2, u/2]``), i.e. binary logistic regression with
    penalty ``(l2/4) ||u||^2``; returns ``(D, k)``. ``y`` (m,) is the class-1 indicator."""
    D, k = xt.shape[1], w.shape[1]
    dt, dev = xt.dtype, xt.device
    slack, tol = 50 * torch.finfo(dt).eps, max(tol, 100 * torch.finfo(dt).eps)
    pen = torch.ones(D, 1, dtype=dt, device=dev)
    pen[-1] = 0.0
    lam = 0.5 * l2
    v = xt.T @ (w * y[:, None])  # sum_j w_j y_j x~_j, the label part of the gradient
    sgn = (1.0 - 2.0 * y)[:, None]  # loss softplus(-z) for class 1, softplus(z) for class 0

    def objective(th: Any, wa: Any, va: Any) -> tuple[Any, Any, Any]:
        z = xt @ th
        loss = (wa * torch.nn.functional.softplus(sgn * z)).sum(0)
        return loss + 0.5 * lam * (th[:-1] ** 2).sum(0), torch.sigmoid(z), None

    th = torch.zeros(D, k, dtype=dt, device=dev)
    act = torch.arange(k, device=dev)
    f, p, _ = objective(th, w, v)
    for _ in range(max_iter):
        tha = th[:, act]
        pw = p * w
        g = xt.T @ pw - v + lam * pen * tha
        live = g.abs().amax(0) > tol
        if not bool(live.any()):
            break
        if not bool(live.all()):
            act, tha, g, pw, p, f = (
                act[live],
                tha[:, live],
                g[:, live],
                pw[:, live],
                p[:, live],
                f[live],
            )
            w, v = w[:, live], v[:, live]
        ka = act.numel()
        h = ((pw - pw * p).T @ xx)[:, tri] + torch.diag(lam * pen[:, 0])
        chol, _ = torch.linalg.cholesky_ex(h)
        s = -torch.cholesky_solve(g.T[:, :, None], chol)[:, :, 0].T
        gs = (g * s).sum(0)
        t = torch.ones(ka, dtype=dt, device=dev)
        f_new, p_new, _ = objective(tha + s, w, v)
        ok = f_new <= f + 1e-4 * gs + slack * f.abs()
        for _ in range(40):  # halve the steps of the coalitions whose Armijo test failed
            if bool(ok.all()):
                break
            todo = torch.nonzero(~ok)[:, 0]
            t[todo] *= 0.5
            tt = t[todo]
            f_try, p_try, _ = objective(tha[:, todo] + tt * s[:, todo], w[:, todo], v[:, todo])
            good = f_try <= f[todo] + 1e-4 * tt * gs[todo] + slack * f[todo].abs()
            gi = todo[good]
            f_new[gi] = f_try[good]
            p_new[:, gi] = p_try[:, good]
            ok[gi] = True
        th[:, act[ok]] = tha[:, ok] + t[ok] * s[:, ok]
        if bool(ok.all()):
            f, p = f_new, p_new
        else:  # coalitions whose step halving failed stop here
            act, f, p, w, v = act[ok], f_new[ok], p_new[:, ok], w[:, ok], v[:, ok]
        if act.numel() == 0:
            break
    return th


def _scatter_index(D: int, C: int, device: Any) -> Any:
    """Flat index into the (class pair, feature pair) products for every Hessian entry."""
    a = torch.arange(D, device=device)[:, None, None, None]
    c = torch.arange(C, device=device)[None, :, None, None]
    b = torch.arange(D, device=device)[None, None, :, None]
    e = torch.arange(C, device=device)[None, None, None, :]
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    tri = lo * D - lo * (lo - 1) // 2 + (hi - lo)
    clo, chi = torch.minimum(c, e), torch.maximum(c, e)
    pair = clo * C - clo * (clo - 1) // 2 + (chi - clo)
    return (pair * (D * (D + 1) // 2) + tri).reshape(D * C, D * C)


def _newton_values(
    x: np.ndarray,
    y1h: np.ndarray,
    rows: np.ndarray,
    sizes: np.ndarray,
    todo: np.ndarray,
    x_val: Any,
    l2: float,
    tol: float,
    max_iter: int,
    dt: Any,
    dev: Any,
    batch_size: int,
) -> list[tuple[np.ndarray, Any]]:
    """``(coalition indices, validation logits)`` per chunk for the Newton solver."""
    m, d = x.shape
    C = y1h.shape[1]
    xt = torch.cat(
        [torch.as_tensor(x, dtype=dt, device=dev), torch.ones(m, 1, dtype=dt, device=dev)], 1
    )
    iu = torch.triu_indices(d + 1, d + 1, device=dev)
    xx = xt[:, iu[0]] * xt[:, iu[1]]
    Y = torch.as_tensor(y1h, dtype=dt, device=dev)
    scatter = _scatter_index(d + 1, 1 if C == 2 else C, dev)
    out = []
    for s in range(0, todo.size, batch_size):
        idx = todo[s : s + batch_size]
        w = torch.as_tensor((rows[idx] / sizes[idx, None]).T, dtype=dt, device=dev)
        if C == 2:
            u = _newton_binary(xt, xx, Y[:, 1], w, l2, tol, max_iter, scatter)
            lv = 0.5 * (x_val @ u[:-1] + u[-1]).T
            out.append((idx, torch.stack([-lv, lv], dim=-1)))
        else:
            th = _newton_chunk(xt, xx, Y, w, l2, tol, max_iter, scatter)
            out.append((idx, torch.einsum("md,kdc->kmc", x_val, th[:, :-1]) + th[:, None, -1]))
    return out


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
    solver: str = "gd",
    tol: float = 1e-10,
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
    if solver == "newton":
        for idx, lv in _newton_values(
            x, y1h, rows, sizes, todo, XV, l2, tol, steps, dt, dev, batch_size
        ):
            out[idx] = _score(lv, YV, metric)
        return out
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
        out[idx] = _score(lv, YV, metric)
    return out


def _score(lv: Any, yv: Any, metric: str) -> np.ndarray:
    """Validation scores (k,) on the host from logits ``lv`` (k, m_val, C)."""
    if metric == "accuracy":
        sc = (lv.argmax(dim=-1) == yv[None]).to(torch.float64).mean(dim=1)
    else:
        logp = torch.log_softmax(lv.to(torch.float64), dim=-1)
        sc = logp.gather(2, yv[None, :, None].expand(lv.shape[0], -1, 1))[..., 0].mean(dim=1)
    return np.asarray(sc.cpu().numpy())
