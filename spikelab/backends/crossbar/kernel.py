"""Numba driver of the crossbar backend: the per-step synaptic input read from crossbar
arrays, then the reference neuron step bodies of ``spikelab.backends.numba.kernels``.

Order within step t is docs/semantics.md's. Only stage 1/5 (how the ring of future inputs
is filled) differs from the numba backend: each layer (projection on differential pairs,
see mapping.py) is read array by array for the rows active at step t,

    I_col = Σ_rows V_r (G+ − G−) + read noise      (µA; V_r = V_read · value, in V; G in µS)
    ring[t + delay][target] += ADC(I_col) · scale / V_read      (weight units, mV)

With ``exact`` the ring is filled by the reference CSR routines instead (same arithmetic
as the numba backend, bit for bit); the array operations are still counted for energy.

One array read (noise, IR drop, ADC) is in arrays.py. ``simulate_sample`` takes its inputs
grouped in tuples laid out as the NamedTuples below (``KernelNet`` of ``Arrays``,
``Synapses``, ``Neurons``; ``Outputs``), passed as plain tuples (``plain``) and unpacked
once per sample: numba types a NamedTuple argument in ~2 µs per call, and tuples handed to
per-step calls cost reference counting in every step (measured 5-10 % slower).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ...ir import FlatCSR, FlatNetwork
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


class Arrays(NamedTuple):
    """The programmed arrays as the kernel reads them (``backend.pack_arrays``).

    lm : int64 [layers, 8] layer metadata (``M_*`` columns of arrays.py); lf : float64
    [layers, 1] scale (mV per µS); gp, gm : conductances (µS), flat row-major per layer;
    gsum : Σ (G+ + G−) per (row, column tile); gf, gi : float and int settings (``G_*``, ``I_*``).
    """

    lm: np.ndarray
    lf: np.ndarray
    gp: np.ndarray
    gm: np.ndarray
    gsum: np.ndarray
    gf: np.ndarray
    gi: np.ndarray


class Synapses(NamedTuple):
    """A projection in CSR with per-synapse delays (steps): ``ir.FlatCSR``'s arrays."""

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    delays: np.ndarray

    @classmethod
    def of(cls, csr: FlatCSR) -> Synapses:
        return cls(csr.indptr, csr.indices, csr.weights, csr.delays)


class Neurons(NamedTuple):
    """The populations of a ``FlatNetwork`` for the numba step bodies."""

    pop_start: np.ndarray
    pop_stop: np.ndarray
    pop_kind: np.ndarray
    params: np.ndarray
    n_ref: np.ndarray
    dt: float
    ring_len: int

    @classmethod
    def of(cls, f: FlatNetwork) -> Neurons:
        return cls(f.pop_start, f.pop_stop, f.pop_kind, f.params, f.n_ref, f.dt, f.ring_len)


class Outputs(NamedTuple):
    """One sample's recording buffers: counts [bins, N] of ``bin_steps`` steps, raster
    [T, N] (written when ``record_raster``), voltages [T, k] of neurons ``vrec_idx``."""

    counts: np.ndarray
    raster: np.ndarray
    record_raster: bool
    vrec_idx: np.ndarray
    vrec: np.ndarray
    bin_steps: int


class KernelNet(NamedTuple):
    """What ``simulate_sample`` reads of a compiled network (the same for every sample)."""

    arrays: Arrays
    inputs: Synapses
    recurrent: Synapses
    neurons: Neurons

    @classmethod
    def of(cls, arrays: Arrays, f: FlatNetwork) -> KernelNet:
        return cls(arrays, Synapses.of(f.inputs), Synapses.of(f.recurrent), Neurons.of(f))


def plain(t: tuple) -> tuple:
    """``t`` with every NamedTuple in it made a plain tuple (same order). Numba types a plain
    tuple of arrays in its fast path; a NamedTuple argument costs ~2 µs per call."""
    return tuple(plain(x) if isinstance(x, tuple) else x for x in t)


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
def _active_inputs(e0, e1, ev_ch, ev_val, in_indptr, work, cnt):
    """Input channels with events in [e0, e1) as a sorted list in ``work`` = (idx, val, dense,
    seen) (values summed per channel); counts synaptic events of non-binary inputs. Returns
    the list length."""
    idx, val, dense, seen = work
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


@njit(cache=True, inline="always")
def _drive_rows(a, a1, rt, lo, tr, act_idx, act_val, gf, rows, volts):
    """The active sources ``act_idx[a:a1]`` in row tile ``rt`` (from position a on):
    layer-local rows and their voltages (V, after the DAC) into ``rows``/``volts``.
    Returns (next position, rows driven, rows whose value is not 1)."""
    v_read = gf[G_VREAD]
    dac_step = gf[G_DAC_STEP]
    n = 0
    n_nonbin = 0
    while a < a1 and (act_idx[a] - lo) // tr == rt:
        x = act_val[a]
        if x != 1.0:
            n_nonbin += 1
        if dac_step > 0.0:
            x = min(max(np.rint(x / dac_step), 0.0), gf[G_DAC_K]) * dac_step
        rows[n] = act_idx[a] - lo
        volts[n] = v_read * x
        n += 1
        a += 1
    return a, n, n_nonbin


@njit(cache=True, inline="always")
def _count_tile(cnt, n, n_nonbin, nc):
    """Operations of one array read: n driven rows, nc logical columns."""
    cnt[C_TILE_READS] += 1
    cnt[C_ROWS] += n
    cnt[C_CELLS] += 2 * n * nc
    cnt[C_ADC] += nc
    cnt[C_PSUM_ADDS] += nc
    cnt[C_DAC] += n_nonbin


@njit(cache=True, inline="always")
def _convert(acc, nc, gf, to_weight, ring, slot, col0, cnt):
    """ADC of the nc column currents ``acc`` (µA); adds them in weight units to
    ``ring[slot, col0:col0 + nc]`` and counts clipped conversions."""
    for j in range(nc):
        i_q, clipped = adc_convert(acc[j], gf[G_ADC_STEP], gf[G_ADC_K])
        if clipped:
            cnt[C_ADC_CLIPPED] += 1
        ring[slot, col0 + j] += i_q * to_weight


@njit(cache=True)
def read_layer(
    l, act_idx, act_val, n_act, lm, lf, gp, gm, gsum, gf, gi, ring, t, key, ctr, cnt, ecell,
    rows, volts, acc, var, do_read,
):  # fmt: skip
    """Read layer ``l`` for the active sources (sorted ``act_idx``, values ``act_val``,
    ``n_act`` of them) of step t, add the converted partial sums to the ring and count the
    operations. lm ... gi are the ``Arrays`` fields, one by one (see the module
    docstring); rows, volts, acc, var are scratch.
    Returns (noise counter, cell energy term Σ V²·(G+ + G−) in V²·µS)."""
    lo = lm[l, M_SRC]
    a0 = _lower_bound(act_idx, n_act, lo)
    a1 = _lower_bound(act_idx, n_act, lo + lm[l, M_ROWS])
    if a1 <= a0:
        return ctr, ecell
    ncols, tr, tc = lm[l, M_COLS], gi[I_TROWS], gi[I_TCOLS]
    nct = (ncols + tc - 1) // tc
    slot = (t + lm[l, M_DELAY]) % ring.shape[0]
    to_weight = lf[l, 0] / gf[G_VREAD]
    cnt[C_SCALE_MULTS] += ncols
    a = a0
    while a < a1:
        rt = (act_idx[a] - lo) // tr
        a, n, n_nonbin = _drive_rows(a, a1, rt, lo, tr, act_idx, act_val, gf, rows, volts)
        for ct in range(nct):
            c0 = ct * tc
            c1 = min(c0 + tc, ncols)
            _count_tile(cnt, n, n_nonbin, c1 - c0)
            for k in range(n):
                ecell += volts[k] ** 2 * gsum[lm[l, M_SOFF] + rows[k] * nct + ct]
            if do_read:
                ctr = read_tile(gp, gm, lm[l, M_GOFF], ncols, rows, volts, n, c0, c1, rt * tr, gf,
                                gi, key, ctr, acc, var)  # fmt: skip
                _convert(acc, c1 - c0, gf, to_weight, ring, slot, lm[l, M_TGT] + c0, cnt)
    return ctr, ecell


@njit(cache=True)
def _fanout(idx, k0, k1, indptr):
    """Synapses of the sources ``idx[k0:k1]`` (CSR rows): the synaptic events they cause."""
    s = 0
    for k in range(k0, k1):
        s += indptr[idx[k] + 1] - indptr[idx[k]]
    return s


@njit(cache=True, inline="always")
def _events_until(ev_steps, e, t):
    """End of the events of step t that start at position e."""
    e1 = e
    while e1 < ev_steps.shape[0] and ev_steps[e1] == t:
        e1 += 1
    return e1


@njit(cache=True, inline="always")
def _workspaces(n_in, n_neurons, gi):
    """Scratch of one sample: the active-input list (idx, val, dense, seen), the spike list
    (indices, values 1.0) and one array read (rows, volts, acc, var)."""
    m = max(n_in, 1)
    work = (np.zeros(m, np.int64), np.zeros(m), np.zeros(m), np.zeros(m, np.bool_))
    spikes = (np.zeros(n_neurons, np.int64), np.ones(n_neurons))
    tile = (np.zeros(gi[I_TROWS], np.int64), np.zeros(gi[I_TROWS]), np.zeros(gi[I_TCOLS]),
            np.zeros(gi[I_TCOLS]))  # fmt: skip
    return work, spikes, tile


@njit(cache=True, nogil=True)
def simulate_sample(ev, n_steps, net, out, key, cnt):
    """One sample (docs/semantics.md order): events ``ev`` = (steps, channels, values) over
    ``n_steps`` steps through the network ``net`` (laid out as ``KernelNet``); ``out`` this
    sample's buffers (laid out as ``Outputs``), ``key`` its read-noise stream, ``cnt`` its
    counters. Tuples are read by position: pass them through ``plain``.
    Returns (spikes, synaptic events, Σ V²G)."""
    xb, syn_in, _, neu = net
    pop_start, pop_stop, pop_kind, P, _, _, L = neu
    N = P.shape[1]
    v, u = np.zeros(N), np.zeros(N)
    state = (v, u, np.zeros(N), np.zeros(N, np.int32), np.zeros((L, N)))
    K.init_state(P, pop_start, pop_stop, pop_kind, v, u)
    n_in = syn_in[0].shape[0] - 1  # rows of the input CSR (indptr)
    work, spikes, tile = _workspaces(n_in, N, xb[6])  # xb[6]: gi
    return _run_steps(ev, n_steps, net, out, state, work, spikes, tile, key, cnt)


@njit(cache=True, inline="always")
def _run_steps(ev, n_steps, net, out, state, work, spikes, tile, key, cnt):
    """The time loop of ``simulate_sample``; ``state`` = (v, u, i_syn, refr, ring). Every
    array is unpacked once, here (see the module docstring)."""
    xb, syn_in, syn_rc, neu = net
    ev_steps, ev_ch, ev_val = ev
    in_indptr, in_indices, in_w, in_d = syn_in
    rc_indptr, rc_indices, rc_w, rc_d = syn_rc
    pop_start, pop_stop, pop_kind, P, n_ref, dt, L = neu
    counts, raster, record_raster, vrec_idx, vrec, bin_steps = out
    v, u, i_syn, refr, ring = state
    spk_idx, spk_val = spikes
    lm, lf, gp, gm, gsum, gf, gi = xb
    rows, volts, acc, var = tile
    exact = gi[I_EXACT] != 0
    izk = K.izh_constants_like(dt, P)
    flags = np.zeros(8 * ((P.shape[1] + 7) // 8), np.uint8)
    uniform = K.uniform_populations(P, n_ref, pop_start, pop_stop, pop_kind)
    e, ctr, ecell, n_spk, n_syn = 0, np.uint64(0), 0.0, 0, 0
    for t in range(n_steps):
        e1 = _events_until(ev_steps, e, t)
        n_act = _active_inputs(e, e1, ev_ch, ev_val, in_indptr, work, cnt)
        if exact:
            e, s = K.deliver_inputs(e, ev_steps.shape[0], t, ev_steps, ev_ch, ev_val, in_indptr,
                                    in_indices, in_w, in_d, ring, L)  # fmt: skip
        else:
            e, s = e1, _fanout(ev_ch, e, e1, in_indptr)
        n_syn += s
        for l in range(lm.shape[0]):
            if lm[l, M_INPUT]:
                ctr, ecell = read_layer(l, work[0], work[1], n_act, lm, lf, gp, gm, gsum, gf, gi,
                                        ring, t, key, ctr, cnt, ecell, rows, volts, acc, var,
                                        not exact)  # fmt: skip
        # spk_idx[:n_sp]: neurons that spiked this step, ascending
        n_sp = K.step_and_record(t, ring, L, pop_start, pop_stop, pop_kind, v, u, i_syn, refr, P,
                                 n_ref, izk, flags, uniform, spk_idx, bin_steps, counts, raster,
                                 record_raster, vrec_idx, vrec)  # fmt: skip
        cnt[C_NEURON_UPDATES] += P.shape[1]
        n_spk += n_sp
        if exact:
            n_syn += K.propagate(t, spk_idx, n_sp, rc_indptr, rc_indices, rc_w, rc_d, ring, L)
        else:
            n_syn += _fanout(spk_idx, 0, n_sp, rc_indptr)
        for l in range(lm.shape[0]):
            if not lm[l, M_INPUT]:
                ctr, ecell = read_layer(l, spk_idx, spk_val, n_sp, lm, lf, gp, gm, gsum, gf, gi,
                                        ring, t, key, ctr, cnt, ecell, rows, volts, acc, var,
                                        not exact)  # fmt: skip
    return n_spk, n_syn, ecell
