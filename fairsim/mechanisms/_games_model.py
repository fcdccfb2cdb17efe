"""Model-training utility game over data owners (spec ``valuation.md`` §9).

``v(S)`` is the validation score (accuracy, or negative mean log loss) of a softmax classifier
(multinomial logistic regression, or a one-hidden-layer ReLU MLP) trained by full-batch gradient
descent on the union of the coalition's rows. Choices that are fairsim's own [F]:

* features are standardised once with the pooled training mean and standard deviation;
* logistic regression starts at zero; the MLP starts from one initialisation drawn from ``seed``
  and shared by every coalition, so the game is pure (the same coalition always gets the same
  value);
* ``v(empty)`` defaults to the score of the constant predictor of the pooled training majority
  class (ties: the smallest label) for accuracy, and to ``-log C`` (the uniform predictor) for
  ``metric="neg_log_loss"``; a coalition whose owners hold no rows gets ``v(empty)`` too.

Backends: ``"numpy"`` trains one coalition at a time (the reference);
``"torch"`` trains up to ``batch_size`` coalitions at once as batched matmuls
(:mod:`fairsim.allocation._coalition_torch`), on CPU (float64) or CUDA (float32), in one of the two
row layouts of spec §9: ``layout="mask"`` (every coalition weights all pooled rows),
``"pad"`` (each coalition's rows gathered and padded to the chunk's largest coalition, chunks
formed after sorting by row count), or ``"auto"`` (the default: pad a chunk when its largest
coalition holds at most 60% of the pooled rows) [F]. The layouts agree to rounding; ``layout``
does not affect ``backend="numpy"``.
Values are cached by coalition mask (``cache=True`` by default, spec §2).

``solver="newton"`` (``model="logreg"``, ``l2 > 0``) replaces the fixed gradient-descent schedule by
the exact regularised optimum of the same objective, ``mean CE + (l2/2) ||W||^2`` with the bias
unpenalised, reached by batched damped Newton steps (at most ``epochs`` iterations, stopping when
the largest gradient entry is ``<= tol``) [F]. This is the estimator that scikit-learn's
``LogisticRegression`` computes (for two classes with ``C = 2 / (l2 |S|)``), at a fraction of the
cost of ``epochs`` gradient steps; ``lr`` is unused. The default stays ``solver="gd"``
(spec §9 defines the game by gradient descent).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms.games import BaseGame

MODELS = ("logreg", "mlp")
BACKENDS = ("numpy", "torch")
METRICS = ("accuracy", "neg_log_loss")
SOLVERS = ("gd", "newton")
LAYOUTS = ("auto", "mask", "pad")


def _matrix(a: Any, name: str) -> np.ndarray:
    try:
        x = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a 2-D numeric array; got {type(a).__name__}") from None
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise InputError(f"{name} must be a non-empty 2-D array; got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name} must be finite")
    return x


def _labels(a: Any, name: str, m: int) -> np.ndarray:
    y = np.asarray(a)
    if y.shape != (m,) or not np.issubdtype(y.dtype, np.integer) or (m and y.min() < 0):
        raise InputError(f"{name} must be {m} integer labels >= 0; got shape {y.shape}, {y.dtype}")
    return y.astype(np.int64)


def _positive(v: Any, name: str, integer: bool = False) -> Any:
    ok = isinstance(v, (int, np.integer)) if integer else isinstance(v, (int, float, np.number))
    if isinstance(v, bool) or not ok or not np.isfinite(v) or v <= 0:
        kind = "an int" if integer else "a finite number"
        raise InputError(f"{name} must be {kind} > 0; got {v!r}")
    return int(v) if integer else float(v)


def require_torch() -> Any:
    """Import torch, or raise :class:`InputError` naming the optional extra."""
    try:
        import torch
    except ImportError:
        raise InputError(
            "backend='torch' needs PyTorch: pip install 'fairsim[torch]' (or use backend='numpy')"
        ) from None
    return torch


class ModelUtilityGame(BaseGame):
    """``v(S)`` = validation score of a model trained on ``union_{i in S} (X_i, y_i)`` (spec §9).

    ``X`` (m, d), ``y`` (m,) integer labels ``0..C-1`` and ``owners`` (m,) party indices
    ``0..n-1`` (``n_players`` = ``max(owners) + 1`` unless given; a party may own no rows).
    ``epochs`` full-batch gradient steps with learning rate ``lr`` and L2 penalty ``l2``
    (defaults 200, 0.5, 1e-3). ``hidden`` is the MLP width (32). ``solver="newton"`` trains
    logistic regression to its regularised optimum instead (module docstring), with at most
    ``epochs`` Newton iterations and gradient tolerance ``tol`` (max-abs, default 1e-10).
    ``layout`` (``"auto"``, ``"mask"``, ``"pad"``) picks the torch backend's row layout.
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        owners: Any,
        X_val: Any,
        y_val: Any,
        *,
        model: str = "logreg",
        backend: str = "numpy",
        device: str | None = None,
        epochs: int = 200,
        lr: float = 0.5,
        l2: float = 1e-3,
        hidden: int = 32,
        metric: str = "accuracy",
        empty_value: float | None = None,
        n_players: int | None = None,
        n_classes: int | None = None,
        seed: int = 0,
        batch_size: int = 256,
        cache: bool = True,
        solver: str = "gd",
        tol: float = 1e-10,
        layout: str = "auto",
    ):
        x = _matrix(X, "X")
        m, d = x.shape
        yy = _labels(y, "y", m)
        own = _labels(owners, "owners", m)
        xv = _matrix(X_val, "X_val")
        if xv.shape[1] != d:
            raise InputError(f"X_val must have {d} columns like X; got {xv.shape[1]}")
        yv = _labels(y_val, "y_val", xv.shape[0])
        if model not in MODELS:
            raise InputError(f"model must be one of {MODELS}; got {model!r}")
        if backend not in BACKENDS:
            raise InputError(f"backend must be one of {BACKENDS}; got {backend!r}")
        if metric not in METRICS:
            raise InputError(f"metric must be one of {METRICS}; got {metric!r}")
        if solver not in SOLVERS:
            raise InputError(f"solver must be one of {SOLVERS}; got {solver!r}")
        if solver == "newton" and model != "logreg":
            raise InputError(f"solver='newton' needs model='logreg'; got model={model!r}")
        if solver == "newton" and not (isinstance(l2, (int, float)) and l2 > 0):
            raise InputError(f"solver='newton' needs l2 > 0 (a unique optimum); got l2={l2!r}")
        if layout not in LAYOUTS:
            raise InputError(f"layout must be one of {LAYOUTS}; got {layout!r}")
        self.solver, self.tol, self.layout = solver, _positive(tol, "tol"), layout
        if backend == "torch":
            require_torch()
        elif device is not None:
            raise InputError(f"device applies to backend='torch' only; got device={device!r}")
        n = int(own.max()) + 1 if n_players is None else _positive(n_players, "n_players", True)
        if own.max() >= n:
            raise InputError(f"owners must be < n_players={n}; got max {own.max()}")
        C = int(max(yy.max(), yv.max())) + 1 if n_classes is None else n_classes
        C = _positive(C, "n_classes", True)
        if max(yy.max(), yv.max()) >= C:
            raise InputError(f"labels must be < n_classes={C}")
        self.epochs = _positive(epochs, "epochs", True)
        self.lr = _positive(lr, "lr")
        if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not 0 <= l2 < np.inf:
            raise InputError(f"l2 must be a finite number >= 0; got {l2!r}")
        self.l2 = float(l2)
        self.hidden = _positive(hidden, "hidden", True)
        self.batch_size = _positive(batch_size, "batch_size", True)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"seed must be an int >= 0; got {seed!r}")
        super().__init__(n, cache=cache)
        mu, sd = x.mean(axis=0), x.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        self._x, self._xv = (x - mu) / sd, (xv - mu) / sd
        self._y1h = np.eye(C)[yy]
        self._y, self._yv, self._owner = yy, yv, own
        self.model, self.backend, self.metric, self.n_classes = model, backend, metric, C
        self.device = device or "cpu"
        from fairsim.allocation._coalition_numpy import init_params

        self._init = init_params(model, d, C, self.hidden, int(seed))
        if empty_value is None:
            if metric == "accuracy":
                empty_value = float(np.mean(yv == np.argmax(np.bincount(yy, minlength=C))))
            else:
                empty_value = -float(np.log(C))
        self.empty_value = float(empty_value)

    def _value(self, c: np.ndarray) -> np.ndarray:
        args = (
            self.model,
            self._x,
            self._y1h,
            self._owner,
            c,
            self._xv,
            self._yv,
            self._init,
            self.epochs,
            self.lr,
            self.l2,
            self.metric,
            self.empty_value,
        )
        kw = {"solver": self.solver, "tol": self.tol}
        if self.backend == "numpy":
            from fairsim.allocation import _coalition_numpy as K

            return K.coalition_values(*args, **kw)
        from fairsim.allocation import _coalition_torch as T

        return T.coalition_values(
            *args, device=self.device, batch_size=self.batch_size, layout=self.layout, **kw
        )

    def party_sizes(self) -> np.ndarray:
        """Number of training rows each party owns."""
        return np.bincount(self._owner, minlength=self.n_players)


__all__ = ["ModelUtilityGame", "require_torch"]
