"""The :class:`Election` container of participatory budgeting (spec ``budgeting.md`` §1, §2).

An election is m projects with costs, a budget and one ballot row per voter class. Ballots are a
boolean CSR matrix (rows = ballots, columns = projects); ``multiplicities`` weights the rows, so a
compressed election (identical rows merged) is the same election for every rule and axiom.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from fairsim.errors import InputError

VOTE_TYPES = ("approval", "ordinal", "cumulative", "scoring", "choose-1")


def _as_csr(mat: Any, shape: tuple[int, int], name: str, dtype: Any) -> sparse.csr_matrix:
    if not sparse.issparse(mat):
        raise InputError(f"{name} must be a scipy.sparse matrix; got {type(mat).__name__}")
    out = sparse.csr_matrix(mat, dtype=dtype)
    if out.shape != shape:
        raise InputError(f"{name} must have shape {shape}; got {out.shape}")
    out.sum_duplicates()
    out.sort_indices()
    return out


@dataclass
class Election:
    """A participatory-budgeting election (spec ``budgeting.md`` §1 ``Election``, §2 model).

    Fields: ``project_ids`` (str), ``costs`` (float64, ``(m,)``, >= 0), ``budget`` (> 0),
    ``approvals`` (bool CSR ``(rows, m)``, alias :attr:`ballots`), optional ``scores`` (CSR of
    points) and ``ranks`` (CSR, 1 = top), ``multiplicities`` (int64 >= 1 per row), ``voter_ids``,
    ``vote_type``, ``meta`` (raw META ``dict[str, str]`` in file order), ``project_meta`` (column ->
    raw strings per project, file column order, ``project_id`` excluded) and ``voter_meta``
    (column -> raw strings per row, ``voter_id``/``vote``/``points`` excluded). ``voter_columns``
    keeps the VOTES header order for a lossless :func:`fairsim.io.pabulib.write` [F].
    """

    project_ids: list[str]
    costs: np.ndarray
    budget: float
    approvals: sparse.csr_matrix
    scores: sparse.csr_matrix | None = None
    ranks: sparse.csr_matrix | None = None
    multiplicities: np.ndarray | None = None
    voter_ids: list[str] | None = None
    vote_type: str = "approval"
    meta: dict[str, str] = field(default_factory=dict)
    project_meta: dict[str, list[str | None]] = field(default_factory=dict)
    voter_meta: dict[str, list[str | None]] = field(default_factory=dict)
    voter_columns: list[str] | None = None

    def __post_init__(self) -> None:
        self.project_ids = [str(p) for p in self.project_ids]
        m = len(self.project_ids)
        if len(set(self.project_ids)) != m:
            raise InputError("project_ids must be distinct")
        costs = np.asarray(self.costs, dtype=np.float64)
        if costs.shape != (m,):
            raise InputError(f"costs must have shape ({m},) like project_ids; got {costs.shape}")
        if not np.all(np.isfinite(costs)) or np.any(costs < 0):
            raise InputError(f"costs must be finite and >= 0; got min {costs.min(initial=0.0)}")
        self.costs = costs
        budget = float(self.budget)
        if not np.isfinite(budget) or budget <= 0:
            raise InputError(f"budget must be finite and > 0; got {self.budget!r}")
        self.budget = budget
        n_rows = self.approvals.shape[0] if sparse.issparse(self.approvals) else -1
        self.approvals = _as_csr(self.approvals, (max(n_rows, 0), m), "approvals", np.bool_)
        self.approvals.eliminate_zeros()
        shape = self.approvals.shape
        if self.scores is not None:
            self.scores = _as_csr(self.scores, shape, "scores", np.float64)
        if self.ranks is not None:
            self.ranks = _as_csr(self.ranks, shape, "ranks", np.int64)
        if self.multiplicities is None:
            mult = np.ones(shape[0], dtype=np.int64)
        else:
            mult = np.asarray(self.multiplicities, dtype=np.int64)
            if mult.shape != (shape[0],) or np.any(mult < 1):
                raise InputError(
                    f"multiplicities must be {shape[0]} integers >= 1; got shape {mult.shape}"
                )
        self.multiplicities = mult
        if self.voter_ids is None:
            self.voter_ids = [str(i) for i in range(shape[0])]
        elif len(self.voter_ids) != shape[0]:
            raise InputError(
                f"voter_ids must have one id per ballot row ({shape[0]}); got {len(self.voter_ids)}"
            )
        if self.vote_type not in VOTE_TYPES:
            raise InputError(f"vote_type must be one of {VOTE_TYPES}; got {self.vote_type!r}")
        for name, cols, size in (
            ("project_meta", self.project_meta, m),
            ("voter_meta", self.voter_meta, shape[0]),
        ):
            for key, vals in cols.items():
                if len(vals) != size:
                    raise InputError(f"{name}[{key!r}] must have {size} entries; got {len(vals)}")

    # ------------------------------------------------------------------ views
    @property
    def ballots(self) -> sparse.csr_matrix:
        """Alias of :attr:`approvals`."""
        return self.approvals

    @property
    def m(self) -> int:
        """Number of projects."""
        return len(self.project_ids)

    @property
    def n_voters(self) -> int:
        """n = total weight = ``multiplicities.sum()``."""
        assert self.multiplicities is not None
        return int(self.multiplicities.sum())

    @property
    def approval_sets(self) -> list[frozenset[str]]:
        """Approval set A_i of each ballot row, as project ids (convenience; not for hot paths)."""
        ip, ix = self.approvals.indptr, self.approvals.indices
        ids = self.project_ids
        return [frozenset(ids[j] for j in ix[ip[r] : ip[r + 1]]) for r in range(len(ip) - 1)]

    def index(self, project_id: str) -> int:
        """Column index of ``project_id``."""
        try:
            return self.project_ids.index(str(project_id))
        except ValueError:
            raise InputError(f"unknown project_id {project_id!r}") from None

    def support(self) -> np.ndarray:
        """s_c = weighted number of approvers of each project (int64, ``(m,)``)."""
        assert self.multiplicities is not None
        csc = self.approvals.tocsc()
        w = self.multiplicities
        out = np.zeros(self.m, dtype=np.int64)
        for j in range(self.m):
            out[j] = w[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]].sum()
        return out

    # ------------------------------------------------------------ compress
    def approval_classes(self) -> tuple[np.ndarray, np.ndarray]:
        """Group ballot rows with identical approval sets (what rules and axioms read).

        Returns ``(cls, first)``: ``cls[r]`` is the class of row r (classes numbered by first
        occurrence) and ``first[k]`` the first row of class k.
        """
        a = self.approvals
        ip, ix = a.indptr, a.indices
        seen: dict[bytes, int] = {}
        cls = np.empty(a.shape[0], dtype=np.int64)
        for r in range(a.shape[0]):
            cls[r] = seen.setdefault(ix[ip[r] : ip[r + 1]].tobytes(), len(seen))
        _, first = np.unique(cls, return_index=True)
        return cls, first.astype(np.int64)

    def compress(self) -> Election:
        """Merge identical ballot rows (approvals, scores and ranks equal) into one weighted row.

        Rows keep the order of first occurrence; a merged row keeps the first row's ``voter_id``
        and ``voter_meta`` and the multiplicities add up [F]. Every rule and axiom gives the same
        result on the compressed election (spec §1).
        """
        a = self.approvals
        ip, ix = a.indptr, a.indices
        sc = self.scores
        rk = self.ranks
        assert self.multiplicities is not None
        first: dict[bytes, int] = {}
        target = np.empty(a.shape[0], dtype=np.int64)
        for r in range(a.shape[0]):
            key = ix[ip[r] : ip[r + 1]].tobytes()
            if sc is not None:
                s0, s1 = sc.indptr[r], sc.indptr[r + 1]
                key += b"|s" + sc.indices[s0:s1].tobytes() + sc.data[s0:s1].tobytes()
            if rk is not None:
                k0, k1 = rk.indptr[r], rk.indptr[r + 1]
                key += b"|r" + rk.indices[k0:k1].tobytes() + rk.data[k0:k1].tobytes()
            target[r] = first.setdefault(key, len(first))
        # classes are numbered by first occurrence, so unique's first indices are in that order
        _, rows = np.unique(target, return_index=True)
        mult = np.bincount(target, weights=self.multiplicities, minlength=len(first))
        assert self.voter_ids is not None
        return Election(
            project_ids=list(self.project_ids),
            costs=self.costs.copy(),
            budget=self.budget,
            approvals=a[rows],
            scores=None if sc is None else sc[rows],
            ranks=None if rk is None else rk[rows],
            multiplicities=mult.astype(np.int64),
            voter_ids=[self.voter_ids[r] for r in rows],
            vote_type=self.vote_type,
            meta=dict(self.meta),
            project_meta={k: list(v) for k, v in self.project_meta.items()},
            voter_meta={k: [v[r] for r in rows] for k, v in self.voter_meta.items()},
            voter_columns=None if self.voter_columns is None else list(self.voter_columns),
        )

    # ----------------------------------------------------------- builders
    @classmethod
    def from_sets(
        cls,
        sets: Iterable[Iterable[Any]],
        costs: Sequence[float] | Mapping[str, float] | np.ndarray,
        budget: float,
        project_ids: Sequence[str] | None = None,
        multiplicities: Sequence[int] | np.ndarray | None = None,
    ) -> Election:
        """Build an approval election from approval sets (spec §1 ``Election.from_sets``).

        ``costs`` is a sequence aligned with ``project_ids`` or a mapping ``id -> cost`` (its keys
        are then the ids). Without ids the projects are named ``"0"``, ``"1"``, ... [F]. Set
        elements are project ids (str) or column indices (int).
        """
        if isinstance(costs, Mapping):
            if project_ids is None:
                project_ids = [str(k) for k in costs]
            cmap = {str(k): v for k, v in costs.items()}
            try:
                cost_arr = np.array([float(cmap[str(p)]) for p in project_ids], dtype=np.float64)
            except KeyError as exc:
                raise InputError(f"costs has no entry for project {exc.args[0]!r}") from None
        else:
            cost_arr = np.asarray(costs, dtype=np.float64).ravel()
            if project_ids is None:
                project_ids = [str(j) for j in range(cost_arr.size)]
        ids = [str(p) for p in project_ids]
        if len(ids) != cost_arr.size:
            raise InputError(f"costs has {cost_arr.size} entries but there are {len(ids)} projects")
        pos = {p: j for j, p in enumerate(ids)}
        indptr = [0]
        indices: list[int] = []
        for s in sets:
            cols = set()
            for x in s:
                if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
                    if not 0 <= int(x) < len(ids):
                        raise InputError(f"project index {x} out of range [0, {len(ids) - 1}]")
                    cols.add(int(x))
                else:
                    if str(x) not in pos:
                        raise InputError(f"unknown project {x!r} in an approval set")
                    cols.add(pos[str(x)])
            indices.extend(sorted(cols))
            indptr.append(len(indices))
        n_rows = len(indptr) - 1
        mat = sparse.csr_matrix(
            (np.ones(len(indices), dtype=np.bool_), np.array(indices, dtype=np.int64), indptr),
            shape=(n_rows, len(ids)),
        )
        mult = None if multiplicities is None else np.asarray(multiplicities, dtype=np.int64)
        meta = {"budget": repr(float(budget)), "vote_type": "approval"}
        return cls(ids, cost_arr, budget, mat, multiplicities=mult, meta=meta)


__all__ = ["VOTE_TYPES", "Election"]
