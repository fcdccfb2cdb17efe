"""Online allocation with known totals (Zhou, Bai, Wu ICML 2023, arXiv 2304.13405; spec §6).

Items arrive one at a time (columns in index order) and are assigned irrevocably on arrival;
each agent's total value for all items is known in advance. The rules here are fairsim's own
([F], spec §6.1-6.2): the paper's algorithms were not available.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fairsim.errors import InputError
from fairsim.mechanisms._division_common import AlgorithmInvariantError, Allocation, as_valuations


class OnlineGoodsTwoAgents:
    """Rule H for two agents and goods (spec §6.1 [F/D]); ``receive(column) -> agent``.

    Agent j accepts the other agent's bundle S when 4 v_j(S) + min(T_j, 2T_j - 2y) <= 4 T_j,
    y = max_{g in S} v_j(g). Each item goes to an agent whose receiving it keeps the other agent
    accepting; unsatisfied agents (4 v_i(X_i) < T_i) first; then the larger v_i(e)/T_i (ties 0).
    """

    def __init__(self, totals: Any):
        t = np.asarray(totals, dtype=np.float64)
        if t.shape != (2,) or not np.all(np.isfinite(t)) or np.any(t < 0):
            raise InputError(f"totals must be two finite numbers >= 0; got {totals!r}")
        self.totals = t
        self.val = np.zeros((2, 2))  # val[j, i] = v_j(X_i)
        self.ymax = np.zeros((2, 2))  # ymax[j, i] = max_{g in X_i} v_j(g)
        self.seen = np.zeros(2)

    def _accepts(self, j: int, vS: float, y: float) -> bool:
        T = self.totals[j]
        return T == 0 or 4 * vS + min(T, 2 * T - 2 * y) <= 4 * T

    def receive(self, column: Any) -> int:
        """Assign the arriving item with values ``column = (v_0(e), v_1(e))``; returns the agent."""
        e = np.asarray(column, dtype=np.float64)
        if e.shape != (2,) or not np.all(np.isfinite(e)) or np.any(e < 0):
            raise InputError(f"column must be two finite values >= 0; got {column!r}")
        opts = [
            i
            for i in (0, 1)
            if self._accepts(
                1 - i, self.val[1 - i, i] + e[1 - i], max(self.ymax[1 - i, i], e[1 - i])
            )
        ]
        if not opts:
            raise AlgorithmInvariantError("rule H found no safe agent")
        unsat = [i for i in opts if 4 * self.val[i, i] < self.totals[i]]
        if unsat:
            opts = unsat
        if len(opts) == 1:
            i = opts[0]
        else:
            i = 0 if e[0] * self.totals[1] >= e[1] * self.totals[0] else 1
        for j in (0, 1):
            self.val[j, i] += e[j]
            self.ymax[j, i] = max(self.ymax[j, i], e[j])
        self.seen += e
        return i


def online_goods_two_agents(V_stream: Any, *, totals: Any = None) -> Allocation:
    """Run :class:`OnlineGoodsTwoAgents` on the columns of ``V_stream`` (2 x m), in order.

    Guarantee (spec §6.1, [F/D]): u_i(A_i) >= MMS_i / 2 (0.5-competitive, optimal for n = 2).
    ``totals`` defaults to the row sums; realised totals differing from them raise InputError.
    """
    A = as_valuations(V_stream, "V_stream", sign="goods")
    if A.shape[0] != 2:
        raise InputError(f"V_stream must have 2 rows (agents); got shape {A.shape}")
    tot = A.sum(axis=1) if totals is None else np.asarray(totals, dtype=np.float64)
    rule = OnlineGoodsTwoAgents(tot)
    out = np.array([rule.receive(A[:, g]) for g in range(A.shape[1])], dtype=np.int64)
    if not np.allclose(rule.seen, rule.totals, rtol=1e-9, atol=1e-12):
        raise InputError(f"realised totals {rule.seen.tolist()} differ from totals {tot.tolist()}")
    meta = {"algorithm": "online_goods_two_agents", "totals": tot, "guarantee": 0.5}
    return Allocation(out, 2, meta)


class OnlineChores:
    """Online chores with known totals (spec §6.2 [F]); ``receive(column) -> agent``.

    Costs are normalised to ĉ_i = c_i n / T_i; LB_i = max(1, largest ĉ_i seen, sum of the n-th
    and (n+1)-th largest ĉ_i seen) bounds MMS^c_i from below. Rule ``"threshold"``: among agents
    with L_i + ĉ_i(e) <= alpha LB_i take the smallest ĉ_i(e)/LB_i, else the smallest
    (L_i + ĉ_i(e))/LB_i; rule ``"ratio"``: always the latter. Ties: lowest index.
    """

    def __init__(self, totals: Any, *, rule: str = "threshold", alpha: float | None = None):
        t = np.asarray(totals, dtype=np.float64)
        if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)) or np.any(t < 0):
            raise InputError(f"totals must be a 1-D array of finite numbers >= 0; got {totals!r}")
        if rule not in ("threshold", "ratio"):
            raise InputError(f"rule must be 'threshold' or 'ratio'; got {rule!r}")
        n = t.size
        if alpha is None:
            alpha = math.sqrt(2.0) if n == 2 else 2.0 - 1.0 / n
        if not math.isfinite(alpha) or alpha < 1:
            raise InputError(f"alpha must be a finite number >= 1; got {alpha!r}")
        self.n, self.totals, self.rule, self.alpha = n, t, rule, float(alpha)
        self.load = np.zeros(n)
        self.top = [[0.0] * (n + 1) for _ in range(n)]  # n+1 largest normalised costs, desc
        self.seen = np.zeros(n)

    def receive(self, column: Any) -> int:
        """Assign the arriving chore with costs ``column`` (length n); returns the agent."""
        c = np.asarray(column, dtype=np.float64)
        if c.shape != (self.n,) or not np.all(np.isfinite(c)) or np.any(c < 0):
            raise InputError(f"column must hold {self.n} finite costs >= 0; got {column!r}")
        n = self.n
        ch = np.where(self.totals > 0, c * n / np.where(self.totals > 0, self.totals, 1.0), 0.0)
        lb = np.empty(n)
        for i in range(n):
            tp = self.top[i]
            tp.append(float(ch[i]))
            tp.sort(reverse=True)
            del tp[n + 1 :]
            lb[i] = max(1.0, tp[0], tp[n - 1] + tp[n])
        new = self.load + ch
        k = -1
        if self.rule == "threshold":
            ok = np.flatnonzero(new <= self.alpha * lb * (1 + 1e-12))
            if ok.size:
                k = int(ok[np.argmin(ch[ok] / lb[ok])])
        if k < 0:
            k = int(np.argmin(new / lb))
        self.load[k] += ch[k]
        self.seen += c
        return k


def online_chores(
    C_stream: Any, *, totals: Any = None, rule: str = "threshold", alpha: float | None = None
) -> Allocation:
    """Run :class:`OnlineChores` on the columns of ``C_stream`` (n x m; costs >= 0 or utilities
    <= 0). Proven [D]: (2 - 1/n)-competitive on identical costs with the default alpha; only the
    trivial bound n for heterogeneous costs (spec §6.2)."""
    A = as_valuations(C_stream, "C_stream", sign="pure")
    C = -A if np.any(A < 0) else A
    tot = C.sum(axis=1) if totals is None else np.abs(np.asarray(totals, dtype=np.float64))
    r = OnlineChores(tot, rule=rule, alpha=alpha)
    out = np.array([r.receive(C[:, g]) for g in range(C.shape[1])], dtype=np.int64)
    if not np.allclose(r.seen, r.totals, rtol=1e-9, atol=1e-12):
        raise InputError(f"realised totals {r.seen.tolist()} differ from totals {tot.tolist()}")
    meta = {"algorithm": "online_chores", "rule": rule, "alpha": r.alpha, "totals": tot}
    return Allocation(out, C.shape[0], meta)
