"""The federated-learning simulator: a Mesa model whose agents are the clients (spec ``federated.md``).

One Mesa step is one communication round (spec §2.2): participation (``full`` / ``uniform`` /
``bernoulli``, then the mechanism's ``select`` override; removed clients never participate), one
batched local-training call for all participants (:mod:`fairsim.allocation._federated_torch`),
client behaviours applied per kind (:mod:`fairsim.agents.federated`), a :class:`RoundRecord` for
the mechanism (server-validation accuracy as ``utility``, local-validation accuracy as
``local_utility``, the participants' local models), aggregation, then evaluation on the test set.

Aggregation: a global mechanism sets ``theta^t = theta^{t-1} + sum_i w_i Delta_i`` with ``w`` from
the mechanism's ``StepResult.weights`` or FedAvg's claimed-size weights (McMahan et al. 2017,
arXiv 1602.05629); a personal mechanism (RFFL) sets each participant's model to the model it
trained from plus ``StepResult.downloads[i]``. Models the clients hold [F]: after round ``t`` a
participant of a global mechanism holds ``theta^t``, a non-participant keeps the model it held.

Seeds (spec §2.3): children of ``SeedSequence(seed)`` keyed by purpose: data (0), partition (1),
client (2: loaders, labels, uploads, initial model), selection (3), estimator (4), standalone
loaders (5), Mesa (6). The same seed gives identical results.

Standalone accuracy (spec §5): each client trains alone from the same initial model with the same
optimiser for ``T * tau`` steps, all clients in one batched call per ``tau`` steps.

Local accuracy [F]: after every round, the model each client holds (its own model under a
personal mechanism, else the last global model it received) is evaluated on the client's local
validation split (labels as the client holds them, e.g. noisy), giving ``history["local_accuracy"]``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np

from fairsim.agents import federated as AG
from fairsim.errors import InputError
from fairsim.sim.facility import child_seed

PARTICIPATION = ("full", "uniform", "bernoulli")
BACKENDS = ("vmap", "loop")
DTYPES = ("float32", "float64")
SEED_DATA, SEED_PARTITION, SEED_CLIENT, SEED_SELECTION = 0, 1, 2, 3
SEED_ESTIMATOR, SEED_STANDALONE, SEED_MESA = 4, 5, 6
BYTES = 4  # float32 on the wire (spec §5)


@dataclass(frozen=True)
class FederatedResult:
    """Everything one federated run produces (fedapi §C)."""

    accuracy: float
    fairness: float
    fairness_spearman: float
    removed: tuple[int, ...]
    client_types: tuple[str, ...]
    contributions: np.ndarray
    standalone: np.ndarray
    client_accuracy: np.ndarray
    history: dict[str, np.ndarray]
    detection_rate: float
    false_positive_rate: float
    mean_detection_round: float
    gap_final: float
    gap_auc: float
    comm_mb_total: float
    evaluations: int
    wall_time: float
    mechanism: str
    params: dict[str, Any] = field(default_factory=dict)
    #: (n,) final accuracy of the model each client holds on its own local validation split [F].
    local_accuracy: np.ndarray = field(default_factory=lambda: np.zeros(0))


# ---- validation --------------------------------------------------------------------------------


def _int(name: str, v: Any, lo: int, hi: float = math.inf) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
        rng = f">= {lo}" if hi == math.inf else f"in [{lo}, {int(hi)}]"
        raise InputError(f"{name} must be an int {rng}; got {v!r}")
    return int(v)


def _pos(name: str, v: Any, hi: float = math.inf) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not 0 < v <= hi:
        raise InputError(f"{name} must be a number in (0, {hi}]; got {v!r}")
    return float(v)


def _choice(name: str, v: Any, options: tuple[str, ...]) -> str:
    if v not in options:
        raise InputError(f"{name} must be one of {options}; got {v!r}")
    return str(v)


def _device(device: Any) -> Any:
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(
            f"device must be a torch device string like 'cpu'; got {device!r}"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device={device!r} needs CUDA, which is not available here")
    return dev


# ---- the model ---------------------------------------------------------------------------------


class FederatedModel(mesa.Model):
    """One federated run (module docstring); arguments as :func:`simulate` (validated there)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        import torch

        from fairsim.allocation import _federated_torch as FT
        from fairsim.mechanisms.federated import make

        seq = cfg["seed_seq"]
        super().__init__(rng=int(child_seed(seq, SEED_MESA).generate_state(1)[0]))
        self.cfg = cfg
        self.FT, self.torch = FT, torch
        K = self.K = cfg["n_clients"]
        dev, dt = cfg["device"], getattr(torch, cfg["dtype"])
        self.dev, self.dt = dev, dt
        # data, splits, partition
        rng_d = np.random.default_rng(child_seed(seq, SEED_DATA))
        nf = 64 if cfg["dataset"] == "image_blobs" else cfg["n_features"]
        X, y = FT.make_dataset(cfg["dataset"], cfg["n_samples"], nf, cfg["n_classes"], rng_d)
        sv, te, pool = FT.split_indices(X.shape[0], rng_d)
        rng_p = np.random.default_rng(child_seed(seq, SEED_PARTITION))
        parts = [pool[p] for p in FT.partition(y[pool], K, cfg["partition"], cfg["alpha"], rng_p)]
        train, val = FT.local_split(parts, rng_p)
        self.parts = parts
        # behaviours, labels, claimed sizes
        self.behaviours = [
            AG.make_behaviour(k, cfg["behaviour_params"].get(k)) for k in cfg["client_types"]
        ]
        kinds = self.kinds = np.array(cfg["client_types"])
        self.honest = np.array([b.honest for b in self.behaviours])
        self.free_rider = kinds == "free_rider"
        y_cl = y.copy()
        rng_lab = np.random.default_rng(child_seed(seq, SEED_CLIENT, 1))
        for i, b in enumerate(self.behaviours):
            rows = parts[i]
            y_cl[rows] = b.relabel(y[rows], rng_lab, cfg["n_classes"])
        self.true_sizes = np.array([t.size for t in train], dtype=np.int64)
        self.claimed = AG.claimed_sizes(self.true_sizes, self.behaviours)
        # device tensors
        self.Xtr, self.ytr, _ = FT.pad_stack(X, y_cl, train, dev, dt)
        self.Xlv, self.ylv, self.nlv = FT.pad_stack(X, y_cl, val, dev, dt)
        self.Xsv = torch.as_tensor(X[sv], dtype=dt, device=dev)
        self.ysv = torch.as_tensor(y[sv], device=dev)
        self.Xte = torch.as_tensor(X[te], dtype=dt, device=dev)
        self.yte = torch.as_tensor(y[te], device=dev)
        self.spec = FT.ModelSpec(cfg["model"], nf, cfg["n_classes"], cfg["hidden"])
        P = self.P = self.spec.n_params
        rng_init = np.random.default_rng(child_seed(seq, SEED_CLIENT, 3))
        self.theta0 = torch.as_tensor(self.spec.init(rng_init), dtype=dt, device=dev)
        self.loader = FT.Loader(
            self.true_sizes, np.random.default_rng(child_seed(seq, SEED_CLIENT, 0))
        )
        self.upload_rng = np.random.default_rng(child_seed(seq, SEED_CLIENT, 2))
        self.sel_rng = np.random.default_rng(child_seed(seq, SEED_SELECTION))
        self.train_fn = FT.train_vmap if cfg["backend"] == "vmap" else FT.train_loop
        # mechanism
        self.mech = make(
            cfg["mechanism"],
            K,
            self.claimed.copy(),
            cfg["rounds"],
            np.random.default_rng(child_seed(seq, SEED_ESTIMATOR)),
            **cfg["mechanism_params"],
        )
        self.personal = bool(getattr(self.mech, "personal", False))
        # agents
        cls = AG.client_agent_class()
        self.clients = [
            cls(self, i, self.behaviours[i], train[i], val[i], self.claimed[i]) for i in range(K)
        ]
        # state
        self.theta = self.theta0.clone()
        self.theta_before = self.theta0.clone()  # theta^{t-2} for stealth free riders
        self.client_models = self.theta0.expand(K, P).clone() if self.personal else None
        acc0 = float(self.utility_test(self.theta0[None])[0])
        self.acc_by_version = [acc0]
        self.held = np.zeros(K, dtype=np.int64)  # version of the global model each client holds
        self.held_models = None if self.personal else self.theta0.expand(K, P).clone()
        self.t = 0
        self.hist: dict[str, list[Any]] = {
            k: []
            for k in (
                "accuracy",
                "client_accuracy",
                "local_accuracy",
                "contributions",
                "participants",
                "flagged",
                "uplink_bytes",
                "downlink_bytes",
            )
        }
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "accuracy": lambda m: m.hist["accuracy"][-1],
                "participants": lambda m: int(m.hist["participants"][-1].sum()),
            }
        )

    # -- callbacks given to the mechanisms --

    def utility(self, thetas: Any) -> Any:
        """Server-validation accuracy of a stack of models (b, P) -> (b,)."""
        return self.FT.accuracy(self.spec, thetas, self.Xsv, self.ysv)

    def local_utility(self, thetas: Any, owners: np.ndarray) -> Any:
        """Accuracy of model j on client owners[j]'s local validation rows."""
        own = np.asarray(owners, dtype=np.int64)
        return self.FT.local_accuracy(self.spec, thetas, own, self.Xlv, self.ylv, self.nlv)

    def utility_test(self, thetas: Any) -> np.ndarray:
        """Test accuracy (float64 numpy) of a stack of models."""
        return self.FT.accuracy(self.spec, thetas, self.Xte, self.yte).cpu().numpy()

    # -- one round --

    def _available(self) -> np.ndarray:
        K, mode, r = self.K, self.cfg["participation"], self.cfg["participation_rate"]
        if mode == "full":
            return np.ones(K, dtype=bool)
        out = np.zeros(K, dtype=bool)
        if mode == "uniform":
            out[self.sel_rng.choice(K, size=min(K, math.ceil(r * K)), replace=False)] = True
            return out
        return self.sel_rng.random(K) < r

    def step(self) -> None:
        """One communication round (spec §2.2)."""
        torch, FT, K, P = self.torch, self.FT, self.K, self.P
        cfg, t = self.cfg, self.t
        removed = np.zeros(K, dtype=bool)
        removed[sorted(self.mech.removed)] = True
        sel = np.asarray(self.mech.select(t, self._available(), self.sel_rng), dtype=bool)
        idx = np.flatnonzero(sel & ~removed)
        k = idx.size
        up = down = 0.0
        theta_prev = self.theta
        if k:
            if self.personal:
                assert self.client_models is not None
                start = self.client_models[idx]
            else:
                start = theta_prev.expand(k, P)
            bi, bm = self.loader.next_round(idx, cfg["local_steps"], cfg["batch_size"])
            xb, yb, mb = FT.gather_batches(self.Xtr, self.ytr, idx, bi, bm)
            delta = self.train_fn(self.spec, start, xb, yb, mb, cfg["lr"]) - start
            delta = self._behave(idx, delta, t)
            from fairsim.mechanisms.federated import RoundRecord

            rec = RoundRecord(
                t=t,
                theta_prev=theta_prev,
                updates=delta,
                clients=idx.astype(np.int64),
                sizes=self.claimed[idx].astype(np.float64),
                layer_slices=list(self.spec.layer_slices),
                n_clients=K,
                utility=self.utility,
                local_utility=self.local_utility,
                local_models=start + delta,
            )
            res = self.mech.step(rec)
            if self.personal:
                assert self.client_models is not None
                dl = delta if res.downloads is None else res.downloads
                self.client_models[idx] = start + dl.to(dtype=self.dt, device=self.dev)
                new_theta = self.client_models.mean(dim=0)
            else:
                if res.weights is None:
                    w = torch.as_tensor(
                        self.claimed[idx] / self.claimed[idx].sum(), dtype=self.dt, device=self.dev
                    )
                else:
                    w = torch.as_tensor(res.weights, dtype=self.dt, device=self.dev)
                new_theta = theta_prev + w @ delta
            up = float(k * P * BYTES)
            down = float(k * P * BYTES) if res.download_bytes is None else float(res.download_bytes)
            if self.mech.name == "fedce":  # FedCE: K coefficients down, 1 float up (spec §5)
                up += k * BYTES
                down += k * K * BYTES
            self.theta_before, self.theta = theta_prev, new_theta
        # evaluation
        if self.personal:
            assert self.client_models is not None
            cacc = self.utility_test(self.client_models)
            acc = float(cacc[self.honest].mean()) if self.honest.any() else float(cacc.mean())
        else:
            if k:
                self.acc_by_version.append(float(self.utility_test(self.theta[None])[0]))
                self.held[idx] = len(self.acc_by_version) - 1
                assert self.held_models is not None
                self.held_models[idx] = self.theta
            acc = self.acc_by_version[-1]
            cacc = np.asarray(self.acc_by_version)[self.held]
        held = self.client_models if self.personal else self.held_models
        lacc = self.local_utility(held, np.arange(K)).cpu().numpy().astype(np.float64)
        contrib = np.asarray(self.mech.contributions, dtype=np.float64).copy()
        rem = np.zeros(K, dtype=bool)
        rem[sorted(self.mech.removed)] = True
        flagged = rem.copy()
        if not self.personal:
            from fairsim.axioms.federated import estimator_flags

            flagged |= estimator_flags(np.nan_to_num(contrib), K)
        part = np.zeros(K, dtype=bool)
        part[idx] = True
        for key, v in (
            ("accuracy", acc),
            ("client_accuracy", cacc),
            ("local_accuracy", lacc),
            ("contributions", contrib),
            ("participants", part),
            ("flagged", flagged),
            ("uplink_bytes", up),
            ("downlink_bytes", down),
        ):
            self.hist[key].append(v)
        self.datacollector.collect(self)
        self.t += 1

    def _behave(self, idx: np.ndarray, delta: Any, t: int) -> Any:
        """Replace the participants' true updates by what their behaviours upload (per kind)."""
        kinds = self.kinds[idx]
        step_norm = None
        if t >= 2:
            step_norm = float((self.theta - self.theta_before).norm())
        ctx = AG.UpdateContext(t, self.P, step_norm, self.upload_rng, delta)
        out = delta
        for kind in sorted(set(kinds.tolist())):
            pos = np.flatnonzero(kinds == kind)
            b = self.behaviours[int(idx[pos[0]])]
            if kind in ("honest", "noisy", "label_flip"):
                continue
            if out is delta:
                out = delta.clone()
            sel = self.torch.as_tensor(pos, device=delta.device)
            out[sel] = b.transform(delta[sel], ctx)
        return out

    # -- standalone and the result --

    def standalone_accuracy(self) -> np.ndarray:
        """Each client alone for ``T * tau`` steps from the initial model (spec §5)."""
        FT, cfg, K = self.FT, self.cfg, self.K
        loader = FT.Loader(
            self.true_sizes, np.random.default_rng(child_seed(cfg["seed_seq"], SEED_STANDALONE))
        )
        idx = np.arange(K)
        models = self.theta0.expand(K, self.P).clone()
        for _ in range(cfg["rounds"]):
            bi, bm = loader.next_round(idx, cfg["local_steps"], cfg["batch_size"])
            xb, yb, mb = FT.gather_batches(self.Xtr, self.ytr, idx, bi, bm)
            models = self.train_fn(self.spec, models, xb, yb, mb, cfg["lr"])
        return self.utility_test(models)

    def result(self, wall_time: float) -> FederatedResult:
        """The :class:`FederatedResult` of the rounds run so far."""
        from fairsim.axioms import federated as AF

        K, cfg = self.K, self.cfg
        hist = {
            "accuracy": np.asarray(self.hist["accuracy"], dtype=np.float64),
            "client_accuracy": np.asarray(self.hist["client_accuracy"], dtype=np.float64).reshape(
                -1, K
            ),
            "local_accuracy": np.asarray(self.hist["local_accuracy"], dtype=np.float64).reshape(
                -1, K
            ),
            "contributions": np.asarray(self.hist["contributions"], dtype=np.float64).reshape(
                -1, K
            ),
            "participants": np.asarray(self.hist["participants"], dtype=bool).reshape(-1, K),
            "flagged": np.asarray(self.hist["flagged"], dtype=bool).reshape(-1, K),
            "uplink_bytes": np.asarray(self.hist["uplink_bytes"], dtype=np.float64),
            "downlink_bytes": np.asarray(self.hist["downlink_bytes"], dtype=np.float64),
        }
        hist["gap"] = AF.gap_series(hist["client_accuracy"], self.honest)
        contrib = np.asarray(self.mech.contributions, dtype=np.float64).copy()
        cacc = hist["client_accuracy"][-1].copy()
        sa = self.standalone_accuracy() if cfg["standalone"] else np.full(K, np.nan)
        nan = float("nan")
        fair = {"pearson": nan, "spearman": nan}
        if cfg["standalone"]:
            outcome = cacc if self.personal else np.nan_to_num(contrib)
            fair = AF.collaborative_fairness(sa, outcome, self.honest)
        det = AF.detection_stats(hist["flagged"], self.free_rider, self.honest)
        gap = AF.equality_gap(hist["client_accuracy"], self.honest)
        comm = AF.communication_cost(hist["uplink_bytes"], hist["downlink_bytes"])
        params = {k: v for k, v in cfg.items() if k not in ("seed_seq", "device")}
        params["device"] = str(cfg["device"])
        return FederatedResult(
            accuracy=float(hist["accuracy"][-1]),
            fairness=float(fair["pearson"]),
            fairness_spearman=float(fair["spearman"]),
            removed=tuple(sorted(int(i) for i in self.mech.removed)),
            client_types=tuple(str(k) for k in self.kinds),
            contributions=contrib,
            standalone=np.asarray(sa, dtype=np.float64),
            client_accuracy=cacc,
            history=hist,
            detection_rate=float(det["detection_rate"]),
            false_positive_rate=float(det["false_positive_rate"]),
            mean_detection_round=float(det["mean_detection_round"]),
            gap_final=float(gap["gap_final"]),
            gap_auc=float(gap["gap_auc"]),
            comm_mb_total=float(comm["mb_total"]),
            evaluations=int(getattr(self.mech, "evaluations", 0)),
            wall_time=float(wall_time),
            mechanism=str(cfg["mechanism"]),
            params=params,
            local_accuracy=hist["local_accuracy"][-1].copy()
            if len(hist["local_accuracy"])
            else np.full(K, np.nan),
        )


# ---- public entry point ------------------------------------------------------------------------


def make_config(
    n_clients: int = 10,
    free_riders: int = 0,
    mechanism: str = "fedavg",
    rounds: int = 50,
    seed: int | np.random.SeedSequence = 0,
    *,
    client_types: Sequence[str] | None = None,
    dataset: str = "gaussian_mixture",
    n_samples: int = 6000,
    n_features: int = 20,
    n_classes: int = 10,
    partition: str = "iid",
    alpha: float = 0.5,
    model: str = "logreg",
    hidden: int = 64,
    local_steps: int = 10,
    batch_size: int = 32,
    lr: float = 0.05,
    participation: str = "full",
    participation_rate: float = 1.0,
    behaviour_params: Mapping[str, Mapping[str, Any]] | None = None,
    mechanism_params: Mapping[str, Any] | None = None,
    standalone: bool = True,
    device: str = "cpu",
    dtype: str = "float32",
    backend: str = "vmap",
    num_threads: int | None = 1,
) -> dict[str, Any]:
    """The validated run configuration of :func:`simulate` (same arguments) for :class:`FederatedModel`."""
    K = _int("n_clients", n_clients, 1)
    f = _int("free_riders", free_riders, 0, K)
    if client_types is None:
        types = ["honest"] * (K - f) + ["free_rider"] * f
    else:
        types = list(client_types)
        if len(types) != K:
            raise InputError(f"client_types must name {K} kinds (one per client); got {len(types)}")
        for k in types:
            _choice("client_types entry", k, AG.KINDS)
    if isinstance(seed, np.random.SeedSequence):
        seq = seed
    else:
        seq = np.random.SeedSequence(_int("seed", seed, 0))
    if not isinstance(mechanism, str):
        raise InputError(f"mechanism must be a name (str); got {mechanism!r}")
    bp = dict(behaviour_params or {})
    for k, v in bp.items():
        _choice("behaviour_params key", k, AG.KINDS)
        if not isinstance(v, Mapping):
            raise InputError(f"behaviour_params[{k!r}] must be a mapping; got {v!r}")
        AG.make_behaviour(k, dict(v))  # validates the parameters
    from fairsim.allocation import _federated_torch as FT

    cfg: dict[str, Any] = {
        "n_clients": K,
        "free_riders": f,
        "mechanism": mechanism,
        "rounds": _int("rounds", rounds, 1),
        "seed": seed if isinstance(seed, int) else str(seq),
        "seed_seq": seq,
        "client_types": types,
        "dataset": _choice("dataset", dataset, FT.DATASETS),
        "n_samples": _int("n_samples", n_samples, 1),
        "n_features": _int("n_features", n_features, 1),
        "n_classes": _int("n_classes", n_classes, 2),
        "partition": _choice("partition", partition, FT.PARTITIONS),
        "alpha": _pos("alpha", alpha),
        "model": _choice("model", model, FT.MODELS),
        "hidden": _int("hidden", hidden, 1),
        "local_steps": _int("local_steps", local_steps, 1),
        "batch_size": _int("batch_size", batch_size, 1),
        "lr": _pos("lr", lr),
        "participation": _choice("participation", participation, PARTICIPATION),
        "participation_rate": _pos("participation_rate", participation_rate, 1.0),
        "behaviour_params": {k: dict(v) for k, v in bp.items()},
        "mechanism_params": dict(mechanism_params or {}),
        "standalone": bool(standalone),
        "device": _device(device),
        "dtype": _choice("dtype", dtype, DTYPES),
        "backend": _choice("backend", backend, BACKENDS),
        "num_threads": None if num_threads is None else _int("num_threads", num_threads, 1),
    }
    if cfg["n_samples"] < 10 * K * 2:
        raise InputError(
            f"n_samples must be >= {20 * K} for {K} clients (70% of the rows are split over the "
            f"clients, each needs >= 10); got {n_samples}"
        )
    return cfg


def simulate(
    n_clients: int = 10,
    free_riders: int = 0,
    mechanism: str = "fedavg",
    rounds: int = 50,
    seed: int | np.random.SeedSequence = 0,
    *,
    client_types: Sequence[str] | None = None,
    dataset: str = "gaussian_mixture",
    n_samples: int = 6000,
    n_features: int = 20,
    n_classes: int = 10,
    partition: str = "iid",
    alpha: float = 0.5,
    model: str = "logreg",
    hidden: int = 64,
    local_steps: int = 10,
    batch_size: int = 32,
    lr: float = 0.05,
    participation: str = "full",
    participation_rate: float = 1.0,
    behaviour_params: Mapping[str, Mapping[str, Any]] | None = None,
    mechanism_params: Mapping[str, Any] | None = None,
    standalone: bool = True,
    device: str = "cpu",
    dtype: str = "float32",
    backend: str = "vmap",
    num_threads: int | None = 1,
) -> FederatedResult:
    """Run one federated-learning simulation (spec ``federated.md`` §2, §3, §5; fedapi §C).

    ``n_clients`` clients, the last ``free_riders`` of them free riders (others honest) unless
    ``client_types`` names one kind per client (:data:`fairsim.agents.federated.KINDS`);
    ``mechanism`` is a name of :func:`fairsim.mechanisms.federated.make` (``fedavg``, ``rffl``,
    ``gtg_shapley``, ``fedce``, ``fae``, ``size_share``, ``mr_exact``, ``or_exact``, ``loo``) with
    ``mechanism_params``; ``behaviour_params`` maps a client kind to its parameters (e.g.
    ``{"free_rider": {"mode": "zero"}}``). ``dataset="image_blobs"`` has 64 features
    (``n_features`` is ignored) [F]. ``backend="vmap"`` trains all participants in one batched call;
    ``"loop"`` is the sequential per-client reference (same maths, same batches). ``seed`` may be a
    ``numpy.random.SeedSequence`` (a runner's replication child). ``num_threads`` is torch's CPU
    intra-op thread count during the run (None: leave it). Returns a
    :class:`FederatedResult`; its ``local_accuracy`` (n,) and ``history["local_accuracy"]``
    (T, n) are the accuracy of the model each client holds on its own local validation split
    (performance fairness, FedCE's target; Jiang et al., CVPR 2023) [F].
    """
    t0 = time.perf_counter()
    cfg = make_config(
        n_clients, free_riders, mechanism, rounds, seed, client_types=client_types,
        dataset=dataset, n_samples=n_samples, n_features=n_features, n_classes=n_classes,
        partition=partition, alpha=alpha, model=model, hidden=hidden, local_steps=local_steps,
        batch_size=batch_size, lr=lr, participation=participation,
        participation_rate=participation_rate, behaviour_params=behaviour_params,
        mechanism_params=mechanism_params, standalone=standalone, device=device, dtype=dtype,
        backend=backend, num_threads=num_threads,
    )  # fmt: skip
    with _torch_settings(cfg["device"], cfg["num_threads"]):
        fm = FederatedModel(cfg)
        for _ in range(cfg["rounds"]):
            fm.step()
        return fm.result(time.perf_counter() - t0)


class _torch_settings:
    """For the duration of a run: TF32 off on CUDA (spec §2.3) and, on CPU, ``num_threads``
    intra-op threads (default 1 [F]: the per-round tensors are small, extra threads mostly spin,
    and runs are parallelised across processes by the executor); the old settings come back after.
    """

    def __init__(self, device: Any, num_threads: int | None) -> None:
        self.cuda = getattr(device, "type", "cpu") == "cuda"
        self.threads = None if self.cuda else num_threads

    def __enter__(self) -> None:
        import torch

        if self.cuda:
            self.old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        self.old_threads = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)

    def __exit__(self, *exc: Any) -> None:
        import torch

        if self.cuda:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.old
        if self.threads is not None:
            torch.set_num_threads(self.old_threads)


__all__ = ["FederatedModel", "FederatedResult", "make_config", "simulate"]
