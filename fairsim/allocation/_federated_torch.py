"""Federated-learning kernels in torch: data, partitions, batched local SGD, batched evaluation.

Spec ``federated.md`` §2 (FedAvg simulation model). Everything here trusts its inputs; the public
entry point is :func:`fairsim.sim.federated.simulate`, which validates once.

* Datasets [F]: ``gaussian_mixture`` (C class means ``mu_c ~ N(0, I_d)``, ``x = mu_y + N(0, I_d)``,
  balanced labels) and ``image_blobs`` (8x8 "digit-like" images: one smooth random template per
  class, shifted by a random offset in {-1, 0, 1}^2 with wrap-around, plus ``N(0, 1)`` pixel noise;
  64 features).
* Splits [F]: 10% server validation, 20% test, the rest partitioned over the clients; each client
  keeps ``floor(0.2 n_i)`` of its share as local validation.
* Partitions (spec §2.1): ``iid``, ``dirichlet`` (Hsu, Qi & Brown 2019, arXiv 1909.06335),
  ``quantity`` and ``shards`` (McMahan et al. 2017, arXiv 1602.05629), with the ``min_size`` rule.
* Local training (spec §2.2 step 3, §2.3): ``tau`` SGD steps of batch ``B`` from a per-client
  shuffled cyclic loader [F: the loader is an endless stream of fresh permutations of the client's
  training rows, a batch takes the next ``B`` entries and may straddle two permutations]; a client
  with ``n_i < B`` uses all of its rows every step (padded, masked). Index tensors are
  ``(k, tau, B)`` with a pad mask. ``train_vmap`` runs all clients at once with
  ``torch.func.vmap(functional_call)`` over a ``(k, P)`` stack of flattened parameters;
  ``train_loop`` is the sequential per-client reference with the same maths and the same batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from fairsim.errors import InputError

DATASETS = ("gaussian_mixture", "image_blobs")
PARTITIONS = ("iid", "dirichlet", "quantity", "shards")
MODELS = ("logreg", "mlp")
MIN_SIZE = 10
MAX_ATTEMPTS = 100
SERVER_VAL_FRAC = 0.1
TEST_FRAC = 0.2
LOCAL_VAL_FRAC = 0.2


# ---- data ---------------------------------------------------------------------------------------


def make_dataset(
    name: str, n_samples: int, n_features: int, n_classes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(X (m, d) float64, y (m,) int64)`` of a built-in dataset (module docstring)."""
    y = rng.permutation(np.arange(n_samples) % n_classes).astype(np.int64)
    if name == "gaussian_mixture":
        means = rng.standard_normal((n_classes, n_features))
        return means[y] + rng.standard_normal((n_samples, n_features)), y
    # image_blobs: smooth 8x8 templates (a 3x3 box blur of white noise, standardised).
    noise = rng.standard_normal((n_classes, 8, 8))
    t = np.zeros_like(noise)
    for a in (-1, 0, 1):
        for b in (-1, 0, 1):
            t += np.roll(noise, (a, b), axis=(1, 2))
    t = (t - t.mean(axis=(1, 2), keepdims=True)) / t.std(axis=(1, 2), keepdims=True)
    shifts = rng.integers(-1, 2, size=(n_samples, 2))
    rows = np.arange(8)
    r_idx = (rows[None, :] - shifts[:, :1]) % 8  # (m, 8)
    c_idx = (rows[None, :] - shifts[:, 1:]) % 8
    img = t[y[:, None, None], r_idx[:, :, None], c_idx[:, None, :]]
    X = img.reshape(n_samples, 64) + rng.standard_normal((n_samples, 64))
    return X, y


def split_indices(m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(server_val, test, pool)`` index arrays: 10% / 20% / the rest of a random permutation."""
    perm = rng.permutation(m)
    nv, nt = int(SERVER_VAL_FRAC * m), int(TEST_FRAC * m)
    return perm[:nv], perm[nv : nv + nt], perm[nv + nt :]


def _cuts(shares: np.ndarray, n: int) -> np.ndarray:
    """Cut points ``floor(cumsum(shares) * n)`` (the last forced to ``n``)."""
    c = np.floor(np.cumsum(shares) * n).astype(np.int64)
    c[-1] = n
    return c[:-1]


def partition(
    y: np.ndarray,
    n_clients: int,
    method: str,
    alpha: float,
    rng: np.random.Generator,
    min_size: int = MIN_SIZE,
) -> list[np.ndarray]:
    """Client shares (positions into ``y``) of ``method`` (spec §2.1); every position exactly once.

    ``dirichlet`` and ``quantity`` resample the whole partition until every client holds at least
    ``min_size`` rows (``InputError`` after 100 attempts); ``iid`` and ``shards`` raise at once if a
    client would hold fewer.
    """
    m, K = y.shape[0], n_clients
    if method == "iid":
        parts = np.array_split(rng.permutation(m), K)
    elif method == "shards":
        order = rng.permutation(m)
        order = order[np.argsort(y[order], kind="stable")]
        shards = np.array_split(order, 2 * K)
        sp = rng.permutation(2 * K)
        parts = [np.concatenate([shards[sp[2 * k]], shards[sp[2 * k + 1]]]) for k in range(K)]
    else:
        for _ in range(MAX_ATTEMPTS):
            if method == "dirichlet":
                pieces: list[list[np.ndarray]] = [[] for _ in range(K)]
                for c in range(int(y.max()) + 1):
                    p = rng.dirichlet(np.full(K, alpha))
                    idx = rng.permutation(np.flatnonzero(y == c))
                    for k, piece in enumerate(np.split(idx, _cuts(p, idx.size))):
                        pieces[k].append(piece)
                parts = [np.concatenate(pc) for pc in pieces]
            else:
                q = rng.dirichlet(np.full(K, alpha))
                parts = np.split(rng.permutation(m), _cuts(q, m))
            if min(p.size for p in parts) >= min_size:
                break
        else:
            raise InputError(
                f"partition={method!r} with alpha={alpha} gave a client fewer than {min_size} "
                f"samples in {MAX_ATTEMPTS} attempts; raise n_samples or alpha, or lower n_clients"
            )
    sizes = [p.size for p in parts]
    if min(sizes) < min_size:
        raise InputError(
            f"partition={method!r} gives a client {min(sizes)} < min_size={min_size} samples; "
            f"raise n_samples or lower n_clients={K}"
        )
    return [np.sort(p).astype(np.int64) for p in parts]


def local_split(
    parts: Sequence[np.ndarray], rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each share split into (training, local validation = ``floor(0.2 n_i)`` random rows)."""
    train, val = [], []
    for p in parts:
        perm = rng.permutation(p)
        nv = int(LOCAL_VAL_FRAC * p.size)
        val.append(np.sort(perm[:nv]))
        train.append(np.sort(perm[nv:]))
    return train, val


def pad_stack(
    X: np.ndarray, y: np.ndarray, parts: Sequence[np.ndarray], device: Any, dtype: Any
) -> tuple[Any, Any, np.ndarray]:
    """One padded device tensor ``(K, N_max, d)`` of client rows, labels ``(K, N_max)``, sizes."""
    K, d = len(parts), X.shape[1]
    n = np.array([p.size for p in parts], dtype=np.int64)
    N = max(int(n.max()), 1)
    Xp = np.zeros((K, N, d))
    yp = np.zeros((K, N), dtype=np.int64)
    for k, p in enumerate(parts):
        Xp[k, : p.size], yp[k, : p.size] = X[p], y[p]
    return (
        torch.as_tensor(Xp, dtype=dtype, device=device),
        torch.as_tensor(yp, device=device),
        n,
    )


# ---- models ------------------------------------------------------------------------------------


@dataclass
class ModelSpec:
    """A softmax classifier (``logreg`` or a one-hidden-layer ReLU ``mlp``) over flat parameters."""

    model: str
    n_features: int
    n_classes: int
    hidden: int = 64
    module: Any = field(init=False, repr=False)
    names: list[str] = field(init=False)
    shapes: list[tuple[int, ...]] = field(init=False)
    layer_slices: list[tuple[int, int]] = field(init=False)
    n_params: int = field(init=False)

    def __post_init__(self) -> None:
        d, C, h = self.n_features, self.n_classes, self.hidden
        if self.model == "logreg":
            self.module = nn.Linear(d, C)
        else:
            self.module = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, C))
        self.module.requires_grad_(False)
        self.names = [k for k, _ in self.module.named_parameters()]
        self.shapes = [tuple(v.shape) for _, v in self.module.named_parameters()]
        self.layer_slices = []
        s = 0
        for shp in self.shapes:
            e = s + int(np.prod(shp))
            self.layer_slices.append((s, e))
            s = e
        self.n_params = s

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """Flat initial parameters (P,) [F]: weights ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, biases 0."""
        out = np.zeros(self.n_params)
        for (s, e), shp in zip(self.layer_slices, self.shapes, strict=True):
            if len(shp) == 2:
                b = 1.0 / np.sqrt(shp[1])
                out[s:e] = rng.uniform(-b, b, size=e - s)
        return out

    def params(self, theta: Any) -> dict[str, Any]:
        """Views of a flat parameter vector (P,) as the module's named tensors."""
        return {
            n: theta[s:e].view(shp)
            for n, (s, e), shp in zip(self.names, self.layer_slices, self.shapes, strict=True)
        }

    def forward(self, theta: Any, x: Any) -> Any:
        """Logits ``(..., C)`` of rows ``x`` (..., d) under flat parameters ``theta`` (P,)."""
        return functional_call(self.module, self.params(theta), (x,))

    def loss(self, theta: Any, xb: Any, yb: Any, mb: Any) -> Any:
        """Masked mean cross-entropy of one minibatch ``xb`` (B, d), ``yb`` (B,), mask ``mb`` (B,)."""
        ce = torch.nn.functional.cross_entropy(self.forward(theta, xb), yb, reduction="none")
        return (ce * mb).sum() / mb.sum()


# ---- loader ------------------------------------------------------------------------------------


class Loader:
    """Per-client shuffled cyclic minibatch loader (module docstring), vectorised over clients.

    State per client: the current permutation ``perm`` of its ``n_i`` training rows (padded to
    ``N_max``) and the position ``pos`` in it. Only the clients asked for advance.
    """

    def __init__(self, sizes: np.ndarray, rng: np.random.Generator) -> None:
        self.n = np.asarray(sizes, dtype=np.int64)
        self.N = int(self.n.max())
        self.rng = rng
        self.perm = self._perms(np.arange(self.n.size), 1)[:, 0]
        self.pos = np.zeros(self.n.size, dtype=np.int64)

    def _perms(self, clients: np.ndarray, e: int) -> np.ndarray:
        """``(k, e, N)`` fresh permutations: valid rows first in random order, then the pads."""
        keys = self.rng.random((clients.size, e, self.N))
        pad = np.arange(self.N)[None, None, :] >= self.n[clients, None, None]
        keys[np.broadcast_to(pad, keys.shape)] = 2.0
        return np.argsort(keys, axis=2, kind="stable")

    def next_round(self, clients: np.ndarray, tau: int, B: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices ``(k, tau, B)`` int64 and pad mask ``(k, tau, B)`` bool for ``clients``."""
        k = clients.size
        n = self.n[clients]
        idx = np.zeros((k, tau, B), dtype=np.int64)
        mask = np.zeros((k, tau, B), dtype=bool)
        small = n < B
        if small.any():  # all rows every step, padded
            cols = np.arange(B)
            idx[small] = np.minimum(cols, np.maximum(n[small, None] - 1, 0))[:, None, :]
            mask[small] = (cols[None, :] < n[small, None])[:, None, :]
        big = np.flatnonzero(~small)
        if big.size:
            c = clients[big]
            nb, pos = n[big], self.pos[c]
            q = pos[:, None] + np.arange(tau * B)[None, :]  # stream positions
            ep = q // nb[:, None]
            E = int(ep.max()) + 1
            perms = np.empty((big.size, E, self.N), dtype=np.int64)
            perms[:, 0] = self.perm[c]
            if E > 1:
                perms[:, 1:] = self._perms(c, E - 1)
            off = q % nb[:, None]
            rows = perms[np.arange(big.size)[:, None], ep, off]
            idx[big] = rows.reshape(big.size, tau, B)
            mask[big] = True
            end = pos + tau * B
            last = end // nb
            self.perm[c] = perms[np.arange(big.size), np.minimum(last, E - 1)]
            fresh = last >= E  # the next permutation was not drawn yet
            if fresh.any():
                self.perm[c[fresh]] = self._perms(c[fresh], 1)[:, 0]
            self.pos[c] = end % nb
        return idx, mask


# ---- training ----------------------------------------------------------------------------------


def gather_batches(
    Xp: Any, yp: Any, rows: Any, idx: np.ndarray, mask: np.ndarray
) -> tuple[Any, Any, Any]:
    """Minibatch tensors ``x (k, tau, B, d)``, ``y (k, tau, B)``, ``m (k, tau, B)`` of clients ``rows``."""
    dev = Xp.device
    r = torch.as_tensor(rows, device=dev)[:, None, None]
    ii = torch.as_tensor(idx, device=dev)
    return Xp[r, ii], yp[r, ii], torch.as_tensor(mask, dtype=Xp.dtype, device=dev)


def _batch_loss(spec: ModelSpec, theta: Any, xb: Any, yb: Any, mb: Any) -> Any:
    """Sum over clients of each client's masked mean cross-entropy (vmapped forward)."""
    logits = vmap(spec.forward)(theta, xb)  # (k, B, C)
    ce = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction="none"
    ).view(mb.shape)
    return ((ce * mb).sum(dim=1) / mb.sum(dim=1)).sum()


def train_vmap(spec: ModelSpec, theta0: Any, xb: Any, yb: Any, mb: Any, lr: float) -> Any:
    """All clients' ``tau`` local SGD steps at once; returns the trained stack ``(k, P)``.

    The forward pass is ``vmap(functional_call)`` over the ``(k, P)`` stack; the clients' losses
    are separable, so the gradient of their sum with respect to row ``i`` is client ``i``'s own
    gradient (one backward pass for all clients).
    """
    theta = theta0.detach().clone()
    with torch.enable_grad():
        for s in range(xb.shape[1]):
            th = theta.requires_grad_(True)
            (g,) = torch.autograd.grad(_batch_loss(spec, th, xb[:, s], yb[:, s], mb[:, s]), th)
            theta = (th - lr * g).detach()
    return theta


def train_loop(spec: ModelSpec, theta0: Any, xb: Any, yb: Any, mb: Any, lr: float) -> Any:
    """The sequential per-client reference of :func:`train_vmap` (same maths, same batches)."""
    out = theta0.detach().clone()
    with torch.enable_grad():
        for i in range(theta0.shape[0]):
            th = theta0[i].detach().clone()
            for s in range(xb.shape[1]):
                th.requires_grad_(True)
                (g,) = torch.autograd.grad(spec.loss(th, xb[i, s], yb[i, s], mb[i, s]), th)
                th = (th - lr * g).detach()
            out[i] = th
    return out


# ---- evaluation --------------------------------------------------------------------------------


def accuracy(spec: ModelSpec, thetas: Any, X: Any, y: Any, chunk: int = 64) -> Any:
    """Accuracy ``(b,)`` (float64) of every model of the stack ``thetas`` (b, P) on ``(X, y)``."""
    f = vmap(spec.forward, in_dims=(0, None))
    out = []
    with torch.no_grad():
        for s in range(0, thetas.shape[0], chunk):
            pred = f(thetas[s : s + chunk], X).argmax(dim=-1)
            out.append((pred == y[None]).to(torch.float64).mean(dim=1))
    if not out:
        return torch.zeros(0, dtype=torch.float64, device=X.device)
    return torch.cat(out)


def local_accuracy(
    spec: ModelSpec,
    thetas: Any,
    owners: np.ndarray,
    Xv: Any,
    yv: Any,
    nv: np.ndarray,
    chunk: int = 64,
) -> Any:
    """Accuracy ``(b,)`` of model ``j`` on client ``owners[j]``'s local validation rows (padded).

    A client without local validation rows scores 0 [F].
    """
    f = vmap(spec.forward)
    dev = Xv.device
    n = torch.as_tensor(nv, dtype=torch.float64, device=dev)
    valid = torch.arange(Xv.shape[1], device=dev)[None, :] < n[:, None]
    out = []
    with torch.no_grad():
        for s in range(0, thetas.shape[0], chunk):
            o = torch.as_tensor(owners[s : s + chunk], device=dev)
            pred = f(thetas[s : s + chunk], Xv[o]).argmax(dim=-1)
            hit = ((pred == yv[o]) & valid[o]).to(torch.float64).sum(dim=1)
            out.append(hit / n[o].clamp(min=1.0))
    if not out:
        return torch.zeros(0, dtype=torch.float64, device=dev)
    return torch.cat(out)


__all__ = [
    "DATASETS",
    "MODELS",
    "PARTITIONS",
    "Loader",
    "ModelSpec",
    "accuracy",
    "gather_batches",
    "local_accuracy",
    "local_split",
    "make_dataset",
    "pad_stack",
    "partition",
    "split_indices",
    "train_loop",
    "train_vmap",
]
