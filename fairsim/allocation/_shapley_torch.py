"""Torch kernels for exact semivalues by batched GEMM (spec ``valuation.md`` §4, "Batched GEMM").

Coefficient form: ``phi_i = sum_T v(T) c_i(T)`` with ``c_i(T) = p_{|T|-1}`` if ``i in T`` and
``-p_{|T|}`` otherwise. Writing ``a(T) = p_{|T|-1} + p_{|T|}`` (missing terms are 0), this is
``phi_i = sum_{T ni i} v(T) a(T) - sum_T v(T) p_{|T|}``: one GEMM of the weighted values against
the chunk's bit matrix, plus a row sum.

Masks are processed in aligned chunks of ``2^k`` rows. Inside a chunk the low ``k`` bits run over
all ``2^k`` patterns (one fixed ``(2^k, k)`` bit matrix, built once on the device) and the high bits
are constant, so the GEMM only has ``k + 2`` columns; the high players receive the chunk's
weighted sum. ``G`` games and the chunks of a slab with the same high popcount share each GEMM.
Values may arrive in float32 (a user game's CUDA ``torch_value``; fairsim's closed-form games
return float64 on every device); weights, products and sums are float64. Kernels trust their inputs; torch is imported by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

CPU_CHUNK_BITS = 16
CUDA_CHUNK_BITS = 18


def chunk_bits(n: int, device: Any) -> int:
    """``k`` with chunks of ``2^k`` masks: at most 2^16 rows on CPU, 2^18 on CUDA (spec §4)."""
    cap = CUDA_CHUNK_BITS if getattr(device, "type", str(device)) == "cuda" else CPU_CHUNK_BITS
    return min(n, cap)


MAX_GEMM_ELEMENTS = 1 << 24  # value entries per GEMM (128 MiB in float64)


class _Plan:
    """Per-(n, k, device) constants: the low bit matrix and one weight matrix per high popcount.

    For chunks whose high bits have popcount ``h``, ``M_h = [a(T) B | a(T) | p_|T|]`` is a
    ``(2^k, k + 2)`` matrix with ``|T| = popcount(low) + h``; one product ``values @ M_h`` gives
    the low players' sums, the chunk's weighted sum (added to every high player present) and the
    row sum that every player loses.
    """

    def __init__(self, torch: Any, n: int, k: int, p: np.ndarray, device: Any):
        self.torch, self.n, self.k, self.device = torch, n, k, device
        low = torch.arange(1 << k, device=device, dtype=torch.int64)
        shifts = torch.arange(k, device=device, dtype=torch.int64)
        self.bits = ((low[:, None] >> shifts[None, :]) & 1).to(torch.float64)  # (2^k, k)
        self.low_pop = self.bits.sum(dim=1).to(torch.int64)
        p_out = np.zeros(n + 1)
        p_out[:n] = p
        p_in = np.zeros(n + 1)
        p_in[1:] = p
        self.p_out = torch.as_tensor(p_out, device=device)
        self.p_both = torch.as_tensor(p_in + p_out, device=device)
        H = 1 << (n - k)
        his = np.arange(H, dtype=np.int64)
        self.high_bits = ((his[:, None] >> np.arange(n - k)[None, :]) & 1).astype(np.float64)
        pops = self.high_bits.sum(axis=1).astype(np.int64)
        self.groups = [np.flatnonzero(pops == h) for h in range(n - k + 1)]  # streamed order

    def weights(self, h: int) -> Any:
        torch = self.torch
        size = self.low_pop + h
        a = self.p_both[size]
        return torch.cat([a[:, None] * self.bits, a[:, None], self.p_out[size][:, None]], dim=1)

    def rows(self, hi: int) -> Any:
        """Boolean ``(2^k, n)`` coalition rows of the chunk whose high bits are ``hi``."""
        torch = self.torch
        hb = torch.as_tensor(self.high_bits[hi] > 0, device=self.device)
        hb = hb[None, :].expand(self.bits.shape[0], self.n - self.k)
        return torch.cat([self.bits.to(torch.bool), hb], dim=1)

    def accumulate(self, r: Any, his: np.ndarray, phi: Any) -> None:
        """``phi (G, n) +=`` the products ``r (G, m, k + 2)`` of the chunks ``his`` (length m)."""
        torch = self.torch
        k = self.k
        phi[:, :k] += r[:, :, :k].sum(dim=1)
        if k < self.n:
            hb = torch.as_tensor(self.high_bits[his], device=self.device)  # (m, n - k)
            phi[:, k:] += r[:, :, k] @ hb
        phi -= r[:, :, k + 1].sum(dim=1, keepdim=True)


def semivalue_tables(torch: Any, tables: Any, n: int, p: np.ndarray, device: Any) -> np.ndarray:
    """Semivalues of ``G`` games given as tables ``(G, 2^n)`` (numpy or tensor); ``(G, n)`` out.

    The table moves to the device in contiguous slabs of chunks (at most ``MAX_GEMM_ELEMENTS``
    values); inside a slab the chunks with the same high popcount share one weight matrix and run
    as one batched GEMM.
    """
    k = chunk_bits(n, device)
    plan = _Plan(torch, n, k, p, device)
    V = torch.as_tensor(tables)
    G = V.shape[0]
    H = 1 << (n - k)
    V3 = V.reshape(G, H, 1 << k)
    phi = torch.zeros((G, n), dtype=torch.float64, device=device)
    per = max(1, MAX_GEMM_ELEMENTS // (G << k))
    pops = plan.high_bits.sum(axis=1).astype(np.int64)
    Ms: dict[int, Any] = {}
    for lo in range(0, H, per):
        slab = V3[:, lo : lo + per].to(device=device, dtype=torch.float64)
        his = np.arange(lo, min(H, lo + per))
        for h in np.unique(pops[his]):
            sel = his[pops[his] == h]
            if int(h) not in Ms:
                Ms[int(h)] = plan.weights(int(h))
            if sel.size == his.size:
                chunk = slab
            else:
                chunk = slab.index_select(1, torch.as_tensor(sel - lo, device=slab.device))
            plan.accumulate(chunk @ Ms[int(h)], sel, phi)
    return phi.cpu().numpy()


def semivalue_streamed(
    torch: Any,
    n: int,
    p: np.ndarray,
    device: Any,
    torch_value: Callable[[Any], Any] | None,
    host_value: Callable[[np.ndarray], np.ndarray] | None,
) -> np.ndarray:
    """Semivalue of one game evaluated chunk by chunk: on device with ``torch_value(BoolTensor)``,
    else with ``host_value(bool ndarray)`` on host and the chunk's values moved to the device."""
    k = chunk_bits(n, device)
    plan = _Plan(torch, n, k, p, device)
    phi = torch.zeros((1, n), dtype=torch.float64, device=device)
    for h, group in enumerate(plan.groups):
        M = plan.weights(h)
        for hi in group:
            rows = plan.rows(int(hi))
            if torch_value is not None:
                vals = torch_value(rows)
            else:
                assert host_value is not None
                vals = np.asarray(host_value(rows.cpu().numpy()), dtype=np.float64)
            v = torch.as_tensor(vals).to(device=device, dtype=torch.float64).reshape(1, 1, -1)
            plan.accumulate(v @ M, np.array([hi]), phi)
    return phi[0].cpu().numpy()
