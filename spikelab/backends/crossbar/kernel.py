"""Numba driver of the crossbar backend: the per-step synaptic input read from crossbar
arrays, then the reference neuron step bodies of ``spikelab.backends.numba.kernels``.

Order within step t is docs/semantics.md's. Only stage 1/5 (how the ring of future inputs
is filled) differs from the numba backend: each layer (projection on differential pairs,
see mapping.py) is read array by array for the rows active at step t,

    I_col = Σ_rows V_r (G+ − G−) + read noise      (µA; V_r = V_read · value, in V; G in µS)
    ring[t + delay][target] += ADC(I_col) · scale / V_read      (weight units, mV)

With ``exact`` the ring is filled by the reference CSR routines instead (same arithmetic
as the numba backend, bit for bit); the array operations are still counted for energy.

One array read (noise, IR drop, ADC) is in arrays.py.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..numba import kernels as K
from .arrays import (
    G_ADC_K,
    G_ADC_STEP,
    G_DAC_K,
    G_DAC_STEP,
    G_VREAD,
    I_EXACT,
    I_TCOLS,
    I_TROWS,
    M_COLS,
    M_DELAY,
    M_GOFF,
    M_INPUT,
    M_ROWS,
    M_SOFF,
    M_SRC,
    M_TGT,
    adc_convert,
    read_tile,
)

# Per-sample operation counters (int64).
(
    C_TILE_READS,
    C_ROWS,
    C_CELLS,
    C_ADC,
    C_DAC,
    C_PSUM_ADDS,
    C_SCALE_MULTS,
    C_ADC_CLIPPED,
    C_NEURON_UPDATES,
    C_SYN_MULT,
) = range(10)
N_COUNTERS = 10
COUNTER_NAMES = (
    "array_reads",
    "row_activations",
    "cell_reads",
    "adc_conversions",
    "dac_conversions",
    "partial_sum_adds",
    "scale_mults",
    "adc_clipped",
    "neuron_updates",
    "synaptic_events_nonbinary",
)


class KernelOutput(NamedTuple):
    """What a crossbar kernel (this one or torch_kernel.py) returns for a batch of B samples.

    counts : int32 [B, bins, N]; raster : uint8 [B, T, N] (or [B, 1, 1] when not recorded);
    vrec : [B, T, k] voltages in mV; n_spk, n_syn : int64 [B] spikes and synaptic events;
    cnt : int64 [B, N_COUNTERS] operation counters; ecell : [B] Σ V²·(G+ + G−) in V²·µS.
    """

    counts: np.ndarray
    raster: np.ndarray
    vrec: np.ndarray
    n_spk: np.ndarray
    n_syn: np.ndarray
    cnt: np.ndarray
    ecell: np.ndarray


@njit(cache=True)
def _lower_bound(a, n, x):
    """First index k < n with a[k] >= x (a sorted ascending), else n."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _active_inputs(e0, e1, ev_ch, ev_val, in_indptr, dense, seen, idx, val, cnt):
    """Input channels with events in [e0, e1) as a sorted list (values summed per channel);
    counts synaptic events of non-binary inputs. Returns the list length."""
    n = 0
    for q in range(e0, e1):
        ch = ev_ch[q]
        x = ev_val[q]
        if x != 1.0:
            cnt[C_SYN_MULT] += in_indptr[ch + 1] - in_indptr[ch]
        if not seen[ch]:
            seen[ch] = True
            k = n  # insertion into the sorted list
            while k > 0 and idx[k - 1] > ch:
                idx[k] = idx[k - 1]
                k -= 1
            idx[k] = ch
            n += 1
        dense[ch] += x
    for k in range(n):
        val[k] = dense[idx[k]]
        dense[idx[k]] = 0.0
        seen[idx[k]] = False
    return n


@njit(cache=True)
def read_layer(
    l, act_idx, act_val, n_act, LM, LF, gp, gm, gsum, gf, gi, ring, t, key, ctr, cnt, ecell,
    scratch_r, scratch_v, acc, var, do_read,
):  # fmt: skip
    """Read layer ``l`` for the active sources (sorted ``act_idx``, values ``act_val``) of
    step t, add the converted partial sums to the ring and count the operations.
    Returns (noise counter, cell energy term Σ V²·(G+ + G−) in V²·µS)."""
    lo = LM[l, M_SRC]
    nrows = LM[l, M_ROWS]
    ncols = LM[l, M_COLS]
    tr = gi[I_TROWS]
    tc = gi[I_TCOLS]
    nct = (ncols + tc - 1) // tc
    a0 = _lower_bound(act_idx, n_act, lo)
    a1 = _lower_bound(act_idx, n_act, lo + nrows)
    if a1 <= a0:
        return ctr, ecell
    v_read = gf[G_VREAD]
    dac_step = gf[G_DAC_STEP]
    slot = (t + LM[l, M_DELAY]) % ring.shape[0]
    tgt = LM[l, M_TGT]
    to_weight = LF[l, 0] / v_read
    cnt[C_SCALE_MULTS] += ncols
    a = a0
    while a < a1:
        rt = (act_idx[a] - lo) // tr
        n = 0
        n_nonbin = 0
        while a < a1 and (act_idx[a] - lo) // tr == rt:
            x = act_val[a]
            if x != 1.0:
                n_nonbin += 1
            if dac_step > 0.0:
                x = min(max(np.rint(x / dac_step), 0.0), gf[G_DAC_K]) * dac_step
            scratch_r[n] = act_idx[a] - lo
            scratch_v[n] = v_read * x
            n += 1
            a += 1
        for ct in range(nct):
            c0 = ct * tc
            c1 = min(c0 + tc, ncols)
            cnt[C_TILE_READS] += 1
            cnt[C_ROWS] += n
            cnt[C_CELLS] += 2 * n * (c1 - c0)
            cnt[C_ADC] += c1 - c0
            cnt[C_PSUM_ADDS] += c1 - c0
            cnt[C_DAC] += n_nonbin
            for k in range(n):
                ecell += scratch_v[k] ** 2 * gsum[LM[l, M_SOFF] + scratch_r[k] * nct + ct]
            if do_read:
                ctr = read_tile(gp, gm, LM[l, M_GOFF], ncols, scratch_r, scratch_v, n, c0, c1,
                                rt * tr, gf, gi, key, ctr, acc, var)  # fmt: skip
                for j in range(c1 - c0):
                    i_q, clipped = adc_convert(acc[j], gf[G_ADC_STEP], gf[G_ADC_K])
                    if clipped:
                        cnt[C_ADC_CLIPPED] += 1
                    ring[slot, tgt + c0 + j] += i_q * to_weight
    return ctr, ecell


@njit(cache=True)
def _fanout(idx, n, indptr):
    s = 0
    for k in range(n):
        s += indptr[idx[k] + 1] - indptr[idx[k]]
    return s


@njit(cache=True, nogil=True)
def simulate_sample(
    ev_steps, ev_ch, ev_val, n_steps, LM, LF, gp, gm, gsum, gf, gi,
    in_indptr, in_indices, in_w, in_d, rc_indptr, rc_indices, rc_w, rc_d,
    pop_start, pop_stop, pop_kind, P, n_ref, dt, L, bin_steps,
    counts, raster, record_raster, vrec_idx, vrec, key, cnt,
):  # fmt: skip
    """One sample (docs/semantics.md order); returns (spikes, synaptic events, Σ V²G)."""
    N = P.shape[1]  # noqa: N806
    v = np.zeros(N)
    u = np.zeros(N)
    i_syn = np.zeros(N)
    refr = np.zeros(N, np.int32)
    ring = np.zeros((L, N))
    K.init_state(P, pop_start, pop_stop, pop_kind, v, u)
    n_in = in_indptr.shape[0] - 1
    in_idx = np.zeros(max(n_in, 1), np.int64)
    in_val = np.zeros(max(n_in, 1))
    in_dense = np.zeros(max(n_in, 1))
    in_seen = np.zeros(max(n_in, 1), np.bool_)
    spk_idx = np.zeros(N, np.int64)
    spk_val = np.ones(N)
    scratch_r = np.zeros(gi[I_TROWS], np.int64)
    scratch_v = np.zeros(gi[I_TROWS])
    acc = np.zeros(gi[I_TCOLS])
    var = np.zeros(gi[I_TCOLS])
    exact = gi[I_EXACT] != 0
    n_layers = LM.shape[0]
    n_events = ev_steps.shape[0]
    e = 0
    ctr = np.uint64(0)
    ecell = 0.0
    n_spk = 0
    n_syn = 0
    for t in range(n_steps):
        e1 = e
        while e1 < n_events and ev_steps[e1] == t:
            e1 += 1
        n_act = _active_inputs(
            e, e1, ev_ch, ev_val, in_indptr, in_dense, in_seen, in_idx, in_val, cnt
        )
        if exact:
            e, s = K.deliver_inputs(
                e, n_events, t, ev_steps, ev_ch, ev_val, in_indptr, in_indices, in_w, in_d, ring, L
            )
            n_syn += s
        else:
            for q in range(e, e1):
                n_syn += in_indptr[ev_ch[q] + 1] - in_indptr[ev_ch[q]]
            e = e1
        for l in range(n_layers):
            if LM[l, M_INPUT]:
                ctr, ecell = read_layer(
                    l, in_idx, in_val, n_act, LM, LF, gp, gm, gsum, gf, gi, ring, t, key, ctr,
                    cnt, ecell, scratch_r, scratch_v, acc, var, not exact,
                )  # fmt: skip
        # spk_idx[:n_sp]: neurons that spiked this step, ascending
        n_sp = K.step_and_record(
            t, ring, L, pop_start, pop_stop, pop_kind, v, u, i_syn, refr, P, n_ref, dt, spk_idx,
            bin_steps, counts, raster, record_raster, vrec_idx, vrec,
        )  # fmt: skip
        cnt[C_NEURON_UPDATES] += N
        n_spk += n_sp
        if exact:
            n_syn += K.propagate(t, spk_idx, n_sp, rc_indptr, rc_indices, rc_w, rc_d, ring, L)
        else:
            n_syn += _fanout(spk_idx, n_sp, rc_indptr)
        for l in range(n_layers):
            if not LM[l, M_INPUT]:
                ctr, ecell = read_layer(
                    l, spk_idx, spk_val, n_sp, LM, LF, gp, gm, gsum, gf, gi, ring, t, key, ctr,
                    cnt, ecell, scratch_r, scratch_v, acc, var, not exact,
                )  # fmt: skip
    return n_spk, n_syn, ecell
