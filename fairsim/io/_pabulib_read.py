"""Pabulib ``.pb`` reader (spec ``budgeting.md`` §3) [V-code: pabutools parser, pabulib-checker]."""

from __future__ import annotations

import csv
import math
import os
import warnings
from typing import Any

import numpy as np
from scipy import sparse

from fairsim.errors import FormatError, InputError
from fairsim.io._pabulib_election import VOTE_TYPES, Election

SECTIONS = ("meta", "projects", "votes")
#: META keys holding money, where one decimal comma is accepted (spec §3 "Decimal comma").
COST_KEYS = (
    "budget",
    "min_sum_cost",
    "max_sum_cost",
    "min_project_cost",
    "max_project_cost",
)


class PabulibWarning(UserWarning):
    """A ``.pb`` file is readable but inconsistent (an error under ``strict=True``)."""


def _missing(s: str | None) -> bool:
    return s is None or s.strip() == "" or s.strip().lower() == "none"


def parse_number(s: str, *, path: str, line: int | None, what: str, comma: bool = False) -> float:
    """Parse a non-negative finite number; with ``comma`` one ``,`` is a decimal separator."""
    t = s.strip()
    if comma and t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")
    try:
        x = float(t)
    except ValueError:
        raise FormatError(f"{what}: cannot parse number {s!r}", path, line) from None
    if not math.isfinite(x) or x < 0:
        raise FormatError(f"{what}: expected a finite number >= 0; got {s!r}", path, line)
    return x


class _Reader:
    def __init__(self, path: str, approval: str, strict: bool) -> None:
        self.path = path
        self.approval = approval
        self.strict = strict
        self.meta_lines: dict[str, int] = {}

    def warn(self, msg: str, line: int | None) -> None:
        if self.strict:
            raise FormatError(msg, self.path, line)
        where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        warnings.warn(where + msg, PabulibWarning, stacklevel=4)

    def fail(self, msg: str, line: int | None) -> FormatError:
        return FormatError(msg, self.path, line)

    def run(self) -> Election:  # noqa: C901 - one pass over the file, section by section
        path = self.path
        meta: dict[str, str] = {}
        pcols: list[str] = []
        prows: list[tuple[int, list[str]]] = []
        vcols: list[str] = []
        vrows: list[tuple[int, list[str]]] = []
        section = -1
        header: list[str] | None = None
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rd = csv.reader(fh, delimiter=";", quotechar='"')
            for row in rd:
                line = rd.line_num
                if not row or all(c.strip() == "" for c in row):
                    continue
                if len(row) == 1 and row[0].strip().lower() in SECTIONS:
                    k = SECTIONS.index(row[0].strip().lower())
                    if k != section + 1:
                        raise self.fail(
                            f"section {row[0].strip()!r} out of order (expected "
                            f"{SECTIONS[section + 1].upper() if section < 2 else 'end of file'})",
                            line,
                        )
                    section, header = k, None
                    continue
                if section < 0:
                    raise self.fail("expected the META section first", line)
                if header is None:
                    header = [c.strip() for c in row]
                    if section == 0 and [h.lower() for h in header[:2]] != ["key", "value"]:
                        raise self.fail("META header must be 'key;value'", line)
                    if section == 1:
                        pcols = header
                        if header[0] != "project_id" or "cost" not in header:
                            raise self.fail(
                                "PROJECTS header needs project_id (first) and cost", line
                            )
                    if section == 2:
                        vcols = header
                        if header[0] != "voter_id" or "vote" not in header:
                            raise self.fail("VOTES header needs voter_id (first) and vote", line)
                    continue
                if len(row) > len(header):
                    raise self.fail(
                        f"row has {len(row)} fields but the header has {len(header)}", line
                    )
                if section == 0:
                    key = row[0].strip()
                    meta[key] = row[1] if len(row) > 1 else ""
                    self.meta_lines[key] = line
                elif section == 1:
                    prows.append((line, row))
                else:
                    vrows.append((line, row))
        if section < 2 or not vcols:
            missing = [s.upper() for s in SECTIONS[section + 1 :]] or ["VOTES header"]
            raise self.fail(f"missing section {missing[0]}", None)
        return self.build(meta, pcols, prows, vcols, vrows)

    def build(
        self,
        meta: dict[str, str],
        pcols: list[str],
        prows: list[tuple[int, list[str]]],
        vcols: list[str],
        vrows: list[tuple[int, list[str]]],
    ) -> Election:
        path = self.path
        for key in ("budget", "vote_type"):
            if key not in meta or _missing(meta[key]):
                raise self.fail(f"META lacks {key!r}", None)
        budget = parse_number(
            meta["budget"], path=path, line=self.meta_lines["budget"], what="budget", comma=True
        )
        vote_type = meta["vote_type"].strip().lower()
        if vote_type not in VOTE_TYPES:
            raise self.fail(
                f"unknown vote_type {meta['vote_type']!r}; allowed {VOTE_TYPES}",
                self.meta_lines["vote_type"],
            )
        # projects
        ci = pcols.index("cost")
        ids: list[str] = []
        pos: dict[str, int] = {}
        costs = np.empty(len(prows), dtype=np.float64)
        pmeta: dict[str, list[str | None]] = {c: [] for c in pcols[1:]}
        for j, (line, row) in enumerate(prows):
            pid = row[0].strip()
            if _missing(pid):
                raise self.fail("missing project_id", line)
            if pid in pos:
                raise self.fail(f"duplicate project_id {pid!r}", line)
            if ci >= len(row) or _missing(row[ci]):
                raise self.fail(f"project {pid!r} has no cost", line)
            costs[j] = parse_number(row[ci], path=path, line=line, what="cost", comma=True)
            pos[pid] = j
            ids.append(pid)
            for k, c in enumerate(pcols[1:], start=1):
                pmeta[c].append(row[k] if k < len(row) else None)
        m = len(ids)
        # votes
        vi = vcols.index("vote")
        pi = vcols.index("points") if "points" in vcols else -1
        has_points = pi >= 0
        if vote_type in ("cumulative", "scoring") and not has_points:
            raise self.fail(f"vote_type {vote_type} needs a points column", None)
        keep_ranks = vote_type == "ordinal"
        extra = [(k, c) for k, c in enumerate(vcols) if k not in (0, vi, pi)]
        vmeta: dict[str, list[str | None]] = {c: [] for _, c in extra}
        voter_ids: list[str] = []
        lines = np.empty(len(vrows), dtype=np.int64)
        a_ptr = [0]
        a_idx: list[int] = []
        s_ptr = [0]
        s_idx: list[int] = []
        s_val: list[float] = []
        r_val: list[int] = []
        positive = self.approval == "positive"
        for r, (line, row) in enumerate(vrows):
            lines[r] = line
            vid = row[0].strip()
            if _missing(vid):
                raise self.fail("missing voter_id", line)
            voter_ids.append(vid)
            cell = row[vi] if vi < len(row) else ""
            listed = [] if _missing(cell) else [t.strip() for t in cell.split(",")]
            cols: list[int] = []
            for t in listed:
                jj = pos.get(t)
                if jj is None:
                    raise self.fail(f"vote lists unknown project {t!r}", line)
                cols.append(jj)
            dup = len(set(cols)) != len(cols)
            if dup:
                self.warn("vote lists a project twice (later copies ignored)", line)
            if has_points:
                pcell = row[pi] if pi < len(row) else ""
                pts = [] if _missing(pcell) else pcell.split(",")
                if len(pts) != len(cols):
                    raise self.fail(f"points has {len(pts)} entries but vote has {len(cols)}", line)
                vals = [parse_number(p, path=path, line=line, what="points") for p in pts]
                if dup:
                    cols, vals = _first_copies(cols, vals)
                s_idx.extend(cols)
                s_val.extend(vals)
                s_ptr.append(len(s_idx))
                if positive:
                    cols_a = [j for j, v in zip(cols, vals, strict=True) if v > 0]
                else:
                    cols_a = cols
            else:
                if dup:
                    cols = _first_copies(cols, cols)[0]
                cols_a = cols
            if keep_ranks:
                r_val.extend(range(1, len(cols) + 1))
            a_idx.extend(cols_a)
            a_ptr.append(len(a_idx))
            for k, c in extra:
                vmeta[c].append(row[k] if k < len(row) else None)
        n_rows = len(vrows)
        approvals = _csr(a_ptr, a_idx, np.ones(len(a_idx), np.bool_), (n_rows, m))
        scores = ranks = None
        if has_points:
            scores = _csr(s_ptr, s_idx, np.array(s_val, np.float64), (n_rows, m))
        if keep_ranks:
            l_ptr, l_idx = (s_ptr, s_idx) if has_points else (a_ptr, a_idx)
            ranks = _csr(l_ptr, l_idx, np.array(r_val, np.int64), (n_rows, m))
        e = Election(
            project_ids=ids,
            costs=costs,
            budget=budget,
            approvals=approvals,
            scores=scores,
            ranks=ranks,
            voter_ids=voter_ids,
            vote_type=vote_type,
            meta=meta,
            project_meta=pmeta,
            voter_meta=vmeta,
            voter_columns=list(vcols),
        )
        self.checks(e, lines, n_rows)
        return e

    def checks(self, e: Election, lines: np.ndarray, n_rows: int) -> None:
        meta = e.meta
        for key, actual in (("num_projects", e.m), ("num_votes", n_rows)):
            if key in meta and not _missing(meta[key]):
                try:
                    stated = int(float(meta[key].strip()))
                except ValueError:
                    raise self.fail(f"{key}: cannot parse {meta[key]!r}", None) from None
                if stated != actual:
                    self.warn(f"META {key}={stated} but the file has {actual}", None)
        assert e.voter_ids is not None
        if len(set(e.voter_ids)) != len(e.voter_ids):
            seen: set[str] = set()
            for r, v in enumerate(e.voter_ids):
                if v in seen:
                    self.warn(f"duplicate voter_id {v!r}", int(lines[r]))
                    break
                seen.add(v)
        lists = e.ranks if e.ranks is not None else (e.scores if e.scores is not None else None)
        listed = e.approvals if lists is None else lists
        length = np.diff(listed.indptr)
        sum_cost = np.asarray(
            sparse.csr_matrix((np.ones(listed.nnz), listed.indices, listed.indptr), listed.shape)
            @ e.costs
        ).ravel()
        checks: list[tuple[str, np.ndarray, bool]] = [
            ("min_length", length, True),
            ("max_length", length, False),
            ("min_sum_cost", sum_cost, True),
            ("max_sum_cost", sum_cost, False),
        ]
        if e.scores is not None:
            sc = e.scores
            checks.append(("min_sum_points", np.asarray(sc.sum(axis=1)).ravel(), True))
            checks.append(("max_sum_points", np.asarray(sc.sum(axis=1)).ravel(), False))
        for key, vals, is_min in checks:
            if key not in meta or _missing(meta[key]):
                continue
            try:
                lim = parse_number(
                    meta[key], path=self.path, line=self.meta_lines.get(key), what=key, comma=True
                )
            except FormatError:
                self.warn(f"META {key} is not a number: {meta[key]!r}", None)
                continue
            tol = 1e-9 * max(1.0, lim)
            bad = np.flatnonzero(vals < lim - tol) if is_min else np.flatnonzero(vals > lim + tol)
            if bad.size:
                r = int(bad[0])
                self.warn(
                    f"{bad.size} ballots violate META {key}={meta[key]} (first: {vals[r]})",
                    int(lines[r]),
                )


def _first_copies(cols: list[int], vals: list[Any]) -> tuple[list[int], list[Any]]:
    seen: set[int] = set()
    out_c: list[int] = []
    out_v: list[Any] = []
    for c, v in zip(cols, vals, strict=True):
        if c not in seen:
            seen.add(c)
            out_c.append(c)
            out_v.append(v)
    return out_c, out_v


def _csr(ptr: Any, idx: Any, data: np.ndarray, shape: tuple[int, int]) -> sparse.csr_matrix:
    return sparse.csr_matrix(
        (data, np.asarray(idx, dtype=np.int64), np.asarray(ptr, dtype=np.int64)), shape=shape
    )


def read(
    path: str | os.PathLike[str], *, approval: str = "listed", strict: bool = False
) -> Election:
    """Read a Pabulib ``.pb`` file (spec ``budgeting.md`` §3; Stolicki et al., arXiv 2012.06539).

    Approval sets (§3): approval and choose-1 -> listed projects; ordinal -> all listed (order in
    ``ranks``, 1 = best); cumulative and scoring -> listed projects with their ``points`` in
    ``scores``. ``approval="positive"`` [F] keeps only listed projects with points > 0. For
    scoring, unlisted projects score META ``default_score``; ``scores`` stores the listed ones [F].
    One decimal comma is accepted in ``budget``, ``cost`` and META cost keys.

    Malformed input raises :class:`~fairsim.errors.FormatError` with the 1-based ``.line``;
    inconsistencies (``num_projects``/``num_votes`` mismatch, duplicate ``voter_id``, violated
    ballot limits) emit :class:`PabulibWarning`, or raise under ``strict=True``.
    """
    if approval not in ("listed", "positive"):
        raise InputError(f"approval must be 'listed' or 'positive'; got {approval!r}")
    return _Reader(os.fspath(path), approval, bool(strict)).run()


__all__ = ["COST_KEYS", "PabulibWarning", "parse_number", "read"]
