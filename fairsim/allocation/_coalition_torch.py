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
Padding variant (``layout="pad"``, spec §9): the coalitions are sorted by row count before they
are cut into chunks, so a chunk's coalitions have similar sizes, and each coalition gets ``m_max``
row slots (the chunk's largest coalition; pads have weight 0) instead of all ``m`` pooled rows.
Gradient descent gathers the rows into ``(k, m_max, d)`` and uses batched matrix products. Newton
(:class:`_PadRows`) keeps its contractions dense over the pooled rows (small ``bmm`` products are
far slower than one large product on CPU) and gathers the logits to, and scatters the residuals
from, the ``(m_max, k)`` padded arrays on which all element-wise work runs. ``layout="auto"`` pads
a chunk when its largest coalition holds at most ``PAD_FRACTION`` (60%) of the pooled rows. The
layouts compute the same sums in a different order, so they agree to rounding.
Converged coalitions leave the active set, and the Armijo step halving is per coalition. The
Armijo rounding slack is ``50 eps |f|`` and the gradient tolerance at least ``100 eps`` of the
dtype, so float32 on CUDA stops at its own precision (``1.2e-5``) instead of running to the cap.

``torch`` is imported by this module; import it lazily (only when ``backend="torch"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

PAD_FRACTION = 0.6  # layout="auto" pads a chunk whose largest coalition has <= 60% of the rows


def _xw(x: Any, w: Any) -> Any:
    """``x @ w[c]`` for every coalition ``c``: ``x`` shared (m, d) or gathered (k, m_max, d)."""
    return torch.einsum("md,kdc->kmc", x, w) if x.ndim == 2 else torch.bmm(x, w)


def _xtg(x: Any, g: Any) -> Any:
    """``x^T @ g[c]`` for every coalition ``c`` (layouts as :func:`_xw`)."""
    return torch.einsum("md,kmc->kdc", x, g) if x.ndim == 2 else torch.bmm(x.transpose(1, 2), g)


def _forward(model: str, p: list[Any], x: Any) -> tuple[Any, Any, Any]:
    """``(logits (k, m, C), pre-activation, hidden)`` of the rows ``x`` (layouts as :func:`_xw`)."""
    if model == "logreg":
        return _xw(x, p[0]) + p[1][:, None, :], None, None
    z = _xw(x, p[0]) + p[1][:, None, :]
    h = torch.relu(z)
    return torch.bmm(h, p[2]) + p[3][:, None, :], z, h


class _MaskRows:
    """Masking layout: shared augmented rows ``xt`` (m, D), their pair products ``xx`` (m, T),
    row weights ``w`` (m, k) and labels ``y`` broadcastable to ``(m, k)`` (two classes: the
    class-1 indicator) or ``(m, k, C)`` (one-hot)."""

    def __init__(self, xt: Any, xx: Any, scatter: Any, w: Any, y: Any) -> None:
        self.xt, self.xx, self.scatter, self.w, self.y = xt, xx, scatter, w, y
        self.sgn = 1.0 - 2.0 * y if y.ndim == 2 else None

    def sub(self, idx: Any) -> _MaskRows:
        """The same rows for the coalitions ``idx`` of this chunk."""
        return _MaskRows(self.xt, self.xx, self.scatter, self.w[:, idx], self.y)

    def lin(self, th: Any) -> Any:
        """Logits: ``th`` (D, k) -> (m, k), or (k, D, C) -> (m, k, C)."""
        if th.ndim == 2:
            return self.xt @ th
        (m, D), (k, C) = self.xt.shape, (th.shape[0], th.shape[2])
        return (self.xt @ th.permute(1, 0, 2).reshape(D, k * C)).reshape(m, k, C)

    def tlin(self, r: Any) -> Any:
        """``X~^T r`` per coalition: (m, k) -> (D, k), or (m, k, C) -> (k, D, C)."""
        if r.ndim == 2:
            return self.xt.T @ r
        (m, D), (k, C) = self.xt.shape, (r.shape[1], r.shape[2])
        return (self.xt.T @ r.reshape(m, k * C)).reshape(D, k, C).permute(1, 0, 2)

    def hess(self, q: Any) -> Any:
        """``sum_j q_j x~_j x~_j^T``: ``q`` (m, k) -> (k, D, D); (m, k, P) class-pair weights ->
        the (k, DC, DC) Kronecker-structured Hessians."""
        k = q.shape[1]
        return (q.reshape(q.shape[0], -1).T @ self.xx).reshape(k, -1)[:, self.scatter]


class _PadRows(_MaskRows):
    """Padding layout: coalition ``c``'s rows are the pooled rows ``gi[:, c]`` (``gi`` (m_max, k),
    pads point at row ``m``, a zero row); ``w`` and ``y`` (as in :class:`_MaskRows`) are per
    coalition, ``(m_max, k[, C])``, with weight 0 on pads. The contractions with ``X~`` stay dense
    matrix products over the pooled rows (a gather after them, a scatter before), so only the
    element-wise work, which dominates, shrinks from ``m`` to ``m_max`` rows per coalition."""

    def __init__(self, xt: Any, xx: Any, scatter: Any, gi: Any, w: Any, y: Any) -> None:
        super().__init__(xt, xx, scatter, w, y)
        self.gi = gi

    def sub(self, idx: Any) -> _PadRows:
        """The rows of the coalitions ``idx`` of this chunk."""
        return _PadRows(
            self.xt, self.xx, self.scatter, self.gi[:, idx], self.w[:, idx], self.y[:, idx]
        )

    def _flat(self, a: Any, gi: Any) -> Any:
        """Flat positions of the padded entries of ``a`` at pooled rows ``gi`` of a pooled
        ``(rows, k[, C])`` array."""
        k = gi.shape[1]
        f = gi * k + torch.arange(k, device=gi.device)
        if a.ndim == 3:
            C = a.shape[2]
            f = (f * C)[:, :, None] + torch.arange(C, device=f.device)
        return f.reshape(-1)

    def lin(self, th: Any) -> Any:
        """Logits: ``th`` (D, k) -> (m_max, k), or (k, D, C) -> (m_max, k, C)."""
        z = super().lin(th)
        gi = self.gi.clamp(max=z.shape[0] - 1)  # pads read the last row (weight 0)
        return torch.take(z, self._flat(z, gi)).reshape(gi.shape[0], *z.shape[1:])

    def _full(self, a: Any) -> Any:
        """Padded ``a`` (m_max, k[, C]) placed on the pooled rows (m, k[, C]); rows outside the
        coalition are 0 (pads, all 0, land on the dropped row ``m``)."""
        m = self.xt.shape[0]
        out = torch.zeros((m + 1) * a[0].numel(), dtype=a.dtype, device=a.device)
        out.index_copy_(0, self._flat(a, self.gi), a.reshape(-1))
        return out.reshape(m + 1, *a.shape[1:])[:m]

    def tlin(self, r: Any) -> Any:
        """``X~^T r`` per coalition: (m_max, k) -> (D, k), or (m_max, k, C) -> (k, D, C)."""
        return super().tlin(self._full(r))

    def hess(self, q: Any) -> Any:
        """As :meth:`_MaskRows.hess`."""
        return super().hess(self._full(q))


def _newton_chunk(rows: Any, D: int, C: int, l2: float, tol: float, max_iter: int) -> Any:
    """Newton optimum ``theta`` (k, D, C) of the coalitions of ``rows`` (a :class:`_MaskRows` or
    :class:`_PadRows` with one-hot labels; each weight column sums to 1)."""
    k, dt, dev = rows.w.shape[1], rows.w.dtype, rows.w.device
    slack, tol = 50 * torch.finfo(dt).eps, max(tol, 100 * torch.finfo(dt).eps)
    pen = torch.ones(D, 1, dtype=dt, device=dev)
    pen[-1] = 0.0
    ridge = torch.kron(torch.diag(pen[:, 0]), l2 * torch.eye(C, dtype=dt, device=dev))
    ridge[(D - 1) * C :, (D - 1) * C :] += 1.0 / C
    iu = torch.triu_indices(C, C, device=dev)
    diag_pair = (iu[0] == iu[1]).to(dt)

    def objective(th: Any, ra: Any) -> tuple[Any, Any]:
        z = ra.lin(th)
        zmax, top = z.max(dim=-1, keepdim=True)
        e = torch.exp(z - zmax).scatter(-1, top, 0.0)
        # log-sum-exp as zmax + log1p(others), so that a confident row keeps its tiny loss
        logp = z - zmax - torch.log1p(e.sum(-1, keepdim=True))
        ce = -(ra.w * (logp * ra.y).sum(-1)).sum(0)
        return ce + 0.5 * l2 * (th[:, :-1] ** 2).sum((1, 2)), logp.exp()

    th = torch.zeros(k, D, C, dtype=dt, device=dev)
    act = torch.arange(k, device=dev)
    f, p = objective(th, rows)
    for _ in range(max_iter):
        tha = th[act]
        ka = act.numel()
        g = rows.tlin((p - rows.y) * rows.w[:, :, None]) + l2 * pen * tha
        live = g.abs().amax((1, 2)) > tol
        if not bool(live.any()):
            break
        if not bool(live.all()):
            act, tha, g, p, f, rows = (
                act[live],
                tha[live],
                g[live],
                p[:, live],
                f[live],
                rows.sub(live),
            )
            ka = act.numel()
        a = rows.w[:, :, None] * p[:, :, iu[0]] * (diag_pair - p[:, :, iu[1]])  # (m, ka, P)
        h = rows.hess(a) + ridge
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
                f_try, p_try = objective(tha + tt[:, None, None] * s, rows)
            else:
                f_try, p_try = objective(tha[todo] + tt[:, None, None] * s[todo], rows.sub(todo))
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
            act, f, p, rows = act[ok], f_new[ok], p_new[:, ok], rows.sub(ok)
        if act.numel() == 0:
            break
    return th


def _newton_binary(rows: Any, D: int, l2: float, tol: float, max_iter: int) -> Any:
    """Two classes: the same Newton iterates in the coordinates ``u = W[:, 1] - W[:, 0]``,
    ``beta = b_1 - b_0`` (sum-zero ``W = [-u/2, u/2]``), i.e. binary logistic regression with
    penalty ``(l2/4) ||u||^2``; returns ``(D, k)``. ``rows.y`` is the class-1 indicator."""
    k, dt, dev = rows.w.shape[1], rows.w.dtype, rows.w.device
    slack, tol = 50 * torch.finfo(dt).eps, max(tol, 100 * torch.finfo(dt).eps)
    pen = torch.ones(D, 1, dtype=dt, device=dev)
    pen[-1] = 0.0
    lam = 0.5 * l2
    v = rows.tlin(rows.w * rows.y)  # sum_j w_j y_j x~_j, the label part of the gradient

    def objective(th: Any, ra: Any) -> tuple[Any, Any]:
        # loss softplus(-z) for class 1, softplus(z) for class 0
        z = ra.lin(th)
        loss = (ra.w * torch.nn.functional.softplus(ra.sgn * z)).sum(0)
        return loss + 0.5 * lam * (th[:-1] ** 2).sum(0), torch.sigmoid(z)

    th = torch.zeros(D, k, dtype=dt, device=dev)
    act = torch.arange(k, device=dev)
    f, p = objective(th, rows)
    for _ in range(max_iter):
        tha = th[:, act]
        pw = p * rows.w
        g = rows.tlin(pw) - v + lam * pen * tha
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
            rows, v = rows.sub(live), v[:, live]
        ka = act.numel()
        h = rows.hess(pw - pw * p) + torch.diag(lam * pen[:, 0])
        chol, _ = torch.linalg.cholesky_ex(h)
        s = -torch.cholesky_solve(g.T[:, :, None], chol)[:, :, 0].T
        gs = (g * s).sum(0)
        t = torch.ones(ka, dtype=dt, device=dev)
        f_new, p_new = objective(tha + s, rows)
        ok = f_new <= f + 1e-4 * gs + slack * f.abs()
        for _ in range(40):  # halve the steps of the coalitions whose Armijo test failed
            if bool(ok.all()):
                break
            todo = torch.nonzero(~ok)[:, 0]
            t[todo] *= 0.5
            tt = t[todo]
            f_try, p_try = objective(tha[:, todo] + tt * s[:, todo], rows.sub(todo))
            good = f_try <= f[todo] + 1e-4 * tt * gs[todo] + slack * f[todo].abs()
            gi = todo[good]
            f_new[gi] = f_try[good]
            p_new[:, gi] = p_try[:, good]
            ok[gi] = True
        th[:, act[ok]] = tha[:, ok] + t[ok] * s[:, ok]
        if bool(ok.all()):
            f, p = f_new, p_new
        else:  # coalitions whose step halving failed stop here
            act, f, p, rows, v = act[ok], f_new[ok], p_new[:, ok], rows.sub(ok), v[:, ok]
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


def _chunks(
    sizes: np.ndarray, todo: np.ndarray, m: int, layout: str, batch_size: int
) -> list[tuple[np.ndarray, bool]]:
    """``(coalition indices, pad?)`` per chunk. Padding layouts sort the coalitions by row count
    first, so a chunk's coalitions have similar sizes and little padding."""
    if layout != "mask":
        todo = todo[np.argsort(sizes[todo], kind="stable")]
    out = []
    for s in range(0, todo.size, batch_size):
        idx = todo[s : s + batch_size]
        mm = int(sizes[idx].max())
        out.append((idx, layout == "pad" or (layout == "auto" and mm <= PAD_FRACTION * m)))
    return out


def _gather(rows: np.ndarray, sizes: np.ndarray, dev: Any) -> tuple[Any, Any]:
    """Row indices (k, m_max) of each coalition's rows in pooled order (pads point at row ``m``)
    and the matching weights (k, m_max): ``1/|S_c|`` on real rows, 0 on pads."""
    mm = int(sizes.max())
    order = np.argsort(~rows, axis=1, kind="stable")[:, :mm]
    real = np.arange(mm)[None, :] < sizes[:, None]
    idx = torch.as_tensor(np.where(real, order, rows.shape[1]), device=dev)
    return idx, real / sizes[:, None]


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
    layout: str,
) -> list[tuple[np.ndarray, Any]]:
    """``(coalition indices, validation logits)`` per chunk for the Newton solver."""
    m, d = x.shape
    C = y1h.shape[1]
    xt = torch.cat(
        [torch.as_tensor(x, dtype=dt, device=dev), torch.ones(m, 1, dtype=dt, device=dev)], 1
    )
    Y = torch.as_tensor(y1h[:, 1] if C == 2 else y1h, dtype=dt, device=dev)
    iu = torch.triu_indices(d + 1, d + 1, device=dev)
    xx = xt[:, iu[0]] * xt[:, iu[1]]
    scatter = _scatter_index(d + 1, 1 if C == 2 else C, dev)
    out = []
    for idx, pad in _chunks(sizes, todo, m, layout, batch_size):
        r: _MaskRows
        if pad:
            gi, wk = _gather(rows[idx], sizes[idx], dev)
            gi, wk = gi.T.contiguous(), torch.as_tensor(wk.T, dtype=dt, device=dev)
            r = _PadRows(xt, xx, scatter, gi, wk, torch.cat([Y, Y[:1]])[gi])
        else:
            w = torch.as_tensor((rows[idx] / sizes[idx, None]).T, dtype=dt, device=dev)
            r = _MaskRows(xt, xx, scatter, w, Y[:, None] if C == 2 else Y[:, None, :])
        if C == 2:
            u = _newton_binary(r, d + 1, l2, tol, max_iter)
            lv = 0.5 * (x_val @ u[:-1] + u[-1]).T
            out.append((idx, torch.stack([-lv, lv], dim=-1)))
        else:
            th = _newton_chunk(r, d + 1, C, l2, tol, max_iter)
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
    layout: str = "mask",
) -> np.ndarray:
    """Values of the rows of ``coalitions`` (k, n), trained ``batch_size`` coalitions at a time
    in the row ``layout`` ``"mask"``, ``"pad"`` or ``"auto"`` (module docstring)."""
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
            x, y1h, rows, sizes, todo, XV, l2, tol, steps, dt, dev, batch_size, layout
        ):
            out[idx] = _score(lv, YV, metric)
        return out
    for idx, pad in _chunks(sizes, todo, x.shape[0], layout, batch_size):
        k = idx.size
        if pad:
            gi, wk = _gather(rows[idx], sizes[idx], dev)
            gi = gi.clamp(max=x.shape[0] - 1)  # pads (weight 0) read the last row
            Xc, Yc, M = X[gi], Y[gi], torch.as_tensor(wk, dtype=dt, device=dev)
        else:
            Xc, Yc = X, Y[None]
            M = torch.as_tensor(rows[idx] / sizes[idx, None], dtype=dt, device=dev)
        p = [a.expand(k, *a.shape).clone() for a in P0]
        for _ in range(steps):
            logits, z, h = _forward(model, p, Xc)
            g = (torch.softmax(logits, dim=-1) - Yc) * M[:, :, None]
            if model == "logreg":
                p[0] -= lr * (_xtg(Xc, g) + l2 * p[0])
                p[1] -= lr * g.sum(dim=1)
            else:
                dh = torch.bmm(g, p[2].transpose(1, 2)) * (z > 0)
                dw2 = torch.bmm(h.transpose(1, 2), g) + l2 * p[2]
                db2 = g.sum(dim=1)
                dw1 = _xtg(Xc, dh) + l2 * p[0]
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
