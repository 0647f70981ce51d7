"""Pure numba kernels implementing docs/semantics.md (the reference CPU arithmetic).

Stages within one step t of one sample (see docs/semantics.md):

1. input delivery      : input events of step t are spread through the input CSR into the
                         row of step t + delay (delay >= 0) of the delay ring, or of the
                         sliding window in the batch kernel (``delivery.py``).
2. neuron update       : ``lif_step`` / ``izh_step`` read I_in = the row of step t (the per-step
                         synaptic input, one visible array, cleared as it is read),
                         integrate, test and reset, and write one spike flag per neuron.
3. spike collection    : ``collect_spikes`` turns the flags into the list of spiking
                         neurons (ascending) through a 64-bit mask per 64 neurons, and
                         counts them into the current bin (and the raster).
4. propagation         : spikes of step t are spread through the recurrent CSR into the
                         row of step t + delay (delay >= 1; ``delivery.py``).

The neuron update is branch-free (selects for refractoriness, spike and reset) over
contiguous per-neuron parameter rows with an unsigned loop index (a signed one makes numba
add a negative-index fix-up to every access, which stops LLVM's vectoriser), so LLVM
vectorises it; the same code runs in float64
(the reference: the same operations in the same order as the scalar form of
docs/semantics.md, so the results are bit for bit those of the other exact backends) and
in float32 (the fast path, twice the lanes). No fastmath: LLVM keeps the written order.

Parameters are packed per neuron in one float matrix ``P`` [N_PARAMS, N] whose rows are
named in ``spikelab.ir``; the two models use the rows differently. The Izhikevich constants
(dt/2, dt, 0.04, 5, 140) come in ``izk``, an array of the simulation's dtype, so a float32
run computes in float32 (numba would promote float literals to float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros

from ...ir import (  # the parameter-row layout (spikelab.ir owns it)
    ALPHA,
    BETA,
    BIAS,
    BIAS_TERM,
    KIND_LIF,
    V_INIT,
    V_PEAK,
    V_RESET,
    V_REST,
    V_TH,
    A,
    B,
    C,
    D,
)
from .delivery import (
    deliver_inputs,
    deliver_inputs_split,
    deliver_inputs_window,
    propagate,
    propagate_split,
    propagate_window,
    slide_window,
)

__all__ = [
    "collect_spikes",
    "deliver_inputs",
    "deliver_inputs_split",
    "init_state",
    "izh_constants",
    "izh_constants_like",
    "izh_step",
    "lif_step",
    "lif_step_uniform",
    "propagate",
    "propagate_split",
    "simulate_batch",
    "simulate_sample",
    "step_and_record",
    "uniform_populations",
    "update_neurons",
]


@njit(cache=True)
def lif_step(lo, hi, v, i_syn, refr, I_in, P, n_ref, flags):
    """One LIF step for neurons [lo, hi) on I_in (cleared); ``flags[j]`` = spiked."""
    beta, alpha, v_rest = P[BETA], P[ALPHA], P[V_REST]
    v_reset, v_th, bias_term = P[V_RESET], P[V_TH], P[BIAS_TERM]
    for j in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index fix-up
        ij = beta[j] * i_syn[j] + I_in[j]
        i_syn[j] = ij
        I_in[j] = 0.0
        r = refr[j]
        vr = v_rest[j]
        vj = vr + alpha[j] * (v[j] - vr) + bias_term[j] + ij
        quiet = r > 0  # refractory: clamp at v_reset, no spike
        fire = (vj > v_th[j]) & ~quiet
        v[j] = v_reset[j] if quiet | fire else vj
        refr[j] = n_ref[j] if fire else (r - 1 if quiet else r)
        flags[j] = fire


@njit(cache=True)
def izh_step(lo, hi, v, u, i_syn, I_in, P, izk, flags):
    """One Izhikevich (2003) step for neurons [lo, hi): two dt/2 half-steps of v, one of u,
    on I_in (cleared); ``flags[j]`` = spiked. ``izk`` = (dt/2, dt, 0.04, 5, 140)."""
    beta, bias, a, b = P[BETA], P[BIAS], P[A], P[B]
    c, d, v_peak = P[C], P[D], P[V_PEAK]
    half, dt, k2, k1, k0 = izk[0], izk[1], izk[2], izk[3], izk[4]
    for j in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index fix-up
        ij = beta[j] * i_syn[j] + I_in[j]
        i_syn[j] = ij
        I_in[j] = 0.0
        current = bias[j] + ij
        vj = v[j]
        uj = u[j]
        vj = vj + half * (k2 * vj * vj + k1 * vj + k0 - uj + current)
        vj = vj + half * (k2 * vj * vj + k1 * vj + k0 - uj + current)
        uj = uj + dt * a[j] * (b[j] * vj - uj)
        fire = vj >= v_peak[j]
        v[j] = c[j] if fire else vj
        u[j] = uj + d[j] if fire else uj
        flags[j] = fire


@njit(cache=True)
def lif_step_uniform(lo, hi, v, i_syn, refr, I_in, beta, alpha, v_rest, v_reset, v_th, b_term,
                     n_ref, flags):  # fmt: skip
    """``lif_step`` for a population whose parameters are one value each (scalars, the
    population's own values): the same operations in the same order, so the same bits, with
    six fewer loads per neuron (``uniform_populations`` decides where it applies)."""
    for j in range(np.uint64(lo), np.uint64(hi)):  # unsigned: no negative-index fix-up
        ij = beta * i_syn[j] + I_in[j]
        i_syn[j] = ij
        I_in[j] = 0.0
        r = refr[j]
        vj = v_rest + alpha * (v[j] - v_rest) + b_term + ij
        quiet = r > 0  # refractory: clamp at v_reset, no spike
        fire = (vj > v_th) & ~quiet
        v[j] = v_reset if quiet | fire else vj
        refr[j] = n_ref if fire else (r - 1 if quiet else r)
        flags[j] = fire


@njit(cache=True)
def uniform_populations(P, n_ref, pop_start, pop_stop, pop_kind):
    """Per population: True where it is LIF with every parameter row (and the refractory
    period) one value, so ``lif_step_uniform`` runs it (a NaN makes a row non-uniform)."""
    out = np.zeros(pop_start.shape[0], np.bool_)
    rows = np.array([BETA, ALPHA, V_REST, V_RESET, V_TH, BIAS_TERM])
    for p in range(pop_start.shape[0]):
        lo, hi = pop_start[p], pop_stop[p]
        ok = pop_kind[p] == KIND_LIF and hi > lo
        for j in range(lo, hi):
            if not ok:
                break
            ok = n_ref[j] == n_ref[lo]
            for r in rows:
                ok = ok and P[r, j] == P[r, lo]
        out[p] = ok
    return out


def izh_constants(dt: float, dtype: type) -> np.ndarray:
    """(dt/2, dt, 0.04, 5, 140) as an array of ``dtype``: the Izhikevich constants, so a
    float32 run computes in float32 (dt in ms)."""
    return np.array([0.5 * dt, dt, 0.04, 5.0, 140.0], dtype=dtype)


@njit(cache=True, inline="always")
def izh_constants_like(dt, P):
    """``izh_constants`` inside a kernel: the dtype of ``P``, dt/2 computed in dt's type."""
    izk = np.empty(5, P.dtype)
    izk[0] = 0.5 * dt
    izk[1] = dt
    izk[2] = 0.04
    izk[3] = 5.0
    izk[4] = 140.0
    return izk


@njit(cache=True, inline="always")
def update_neurons(
    I_in, pop_start, pop_stop, pop_kind, v, u, i_syn, refr, P, n_ref, izk, flags, uniform
):  # fmt: skip
    """Every population one step on ``I_in`` (cleared); one spike flag per neuron.
    ``uniform[p]``: population p runs ``lif_step_uniform`` (see ``uniform_populations``)."""
    for p in range(pop_start.shape[0]):
        lo = pop_start[p]
        if uniform[p]:
            lif_step_uniform(
                lo, pop_stop[p], v, i_syn, refr, I_in, P[BETA, lo], P[ALPHA, lo],
                P[V_REST, lo], P[V_RESET, lo], P[V_TH, lo], P[BIAS_TERM, lo], n_ref[lo], flags,
            )  # fmt: skip
        elif pop_kind[p] == KIND_LIF:
            lif_step(pop_start[p], pop_stop[p], v, i_syn, refr, I_in, P, n_ref, flags)
        else:
            izh_step(pop_start[p], pop_stop[p], v, u, i_syn, I_in, P, izk, flags)


#: multiplying a word of 8 flags (bytes of 0 or 1) by this and shifting right by 56 packs
#: the flags into one byte, flag k at bit k (the partial products never overlap: no carry)
PACK_FLAGS = np.uint64(0x0102040810204080)
_S56 = np.uint64(56)
_ONE = np.uint64(1)


@njit(cache=True, inline="always")
def _packed(words, w, k):
    """Word ``w``'s 8 flags as bits 8k .. 8k+7 of a 64-bit mask."""
    return ((words[w] * PACK_FLAGS) >> _S56) << np.uint64(8 * k)


@njit(cache=True, inline="always")
def collect_spikes(flags, words, spk, count_row, raster_row, record_raster):
    """The neurons whose flag is set into ``spk`` (ascending), counted into ``count_row``
    (and ``raster_row``); ``words`` is ``flags`` viewed as uint64. Returns the number of
    spikes.

    Counting (and the raster) is one vectorised pass over the flags. The list is built per
    64 neurons: their 8 words are packed into one 64-bit mask without a branch (a multiply
    and shifts per word, ``PACK_FLAGS``), then the set bits are taken lowest first (count
    trailing zeros, clear the lowest bit), so the loop runs once per spike and the only
    data-dependent branch is its exit, once per 64 neurons (GeNN records spikes as
    bitfields for the same reason)."""
    N = count_row.shape[0]
    if record_raster:
        for j in range(np.uint64(0), np.uint64(N)):
            raster_row[j] = flags[j]
    n = 0
    nw = words.shape[0]
    full = nw - nw % 8
    for g in range(0, nw, 8):
        m = np.uint64(0)
        if g < full:
            for k in range(8):
                m |= _packed(words, g + k, k)
        else:
            for k in range(nw - g):
                m |= _packed(words, g + k, k)
        while m != 0:
            j = 8 * g + np.int64(trailing_zeros(m))
            spk[n] = j
            count_row[j] += 1
            n += 1
            m &= m - _ONE
    return n


@njit(cache=True)
def init_state(P, pop_start, pop_stop, pop_kind, v, u):
    """Initial state: LIF v = v_rest; Izhikevich v = v_init, u = b * v_init."""
    for p in range(pop_start.shape[0]):
        for j in range(pop_start[p], pop_stop[p]):
            if pop_kind[p] == KIND_LIF:
                v[j] = P[V_REST, j]
                u[j] = 0.0
            else:
                v[j] = P[V_INIT, j]
                u[j] = P[B, j] * P[V_INIT, j]


@njit(cache=True, inline="always")
def record_voltages(t, v, vrec_idx, vrec):
    for q in range(vrec_idx.shape[0]):
        vrec[t, q] = v[vrec_idx[q]]


@njit(cache=True)
def step_and_record(
    t, ring, L, pop_start, pop_stop, pop_kind, v, u, i_syn, refr, P, n_ref, izk, flags,
    uniform, spk, bin_steps, counts, raster, record_raster, vrec_idx, vrec,
):  # fmt: skip
    """Every population one step on ``I_in = ring[t % L]`` (the per-step synaptic input of
    all projections, cleared afterwards); the spikes ``spk[:n]`` go into counts (and the
    raster), the recorded voltages into ``vrec[t]``. Returns n. The one-call form for other
    kernels (the crossbar's): the caller keeps, for the whole sample, ``izk``
    (``izh_constants_like``), ``flags`` (uint8, N rounded up to a multiple of 8, zero) and
    ``uniform`` (``uniform_populations``)."""
    I_in = ring[t % L]
    update_neurons(
        I_in, pop_start, pop_stop, pop_kind, v, u, i_syn, refr, P, n_ref, izk, flags, uniform
    )  # fmt: skip
    rrow = raster[t if record_raster else 0]
    n = collect_spikes(
        flags, flags.view(np.uint64), spk, counts[t // bin_steps], rrow, record_raster
    )
    record_voltages(t, v, vrec_idx, vrec)
    return n


@njit(cache=True)
def simulate_sample(
    ev_steps, ev_ch, ev_val, n_steps,
    in_indptr, in_off, in_w, rc_indptr, rc_off, rc_w,
    pop_start, pop_stop, pop_kind, P, n_ref, uniform, izk, L, W, bin_steps,
    counts, raster, record_raster, vrec_idx, vrec,
):  # fmt: skip
    """Run one sample; fills counts [bins, N], raster [T, N], vrec [T, k]. Returns counters.
    Synapses arrive in a sliding window of W step rows (``delivery.windowed_csr``)."""
    N = P.shape[1]
    dtype = P.dtype
    v = np.zeros(N, dtype)
    u = np.zeros(N, dtype)
    i_syn = np.zeros(N, dtype)
    refr = np.zeros(N, np.int32)
    flags = np.zeros(8 * ((N + 7) // 8), np.uint8)
    spk = np.zeros(flags.shape[0], np.int64)  # indices of the neurons that spiked this step
    words = flags.view(np.uint64)
    buf = np.zeros(W * N, dtype)  # step t is row r = t - t0
    init_state(P, pop_start, pop_stop, pop_kind, v, u)
    e, n_spk, n_syn, r = 0, 0, 0, 0
    for t in range(n_steps):
        if r + L > W:
            slide_window(buf, r, L - 1, N)
            r = 0
        base = np.uint64(r * N)
        e, s = deliver_inputs_window(
            e, ev_steps.shape[0], t, ev_steps, ev_ch, ev_val, in_indptr, in_off, in_w, buf, base
        )  # fmt: skip
        I_in = buf[r * N : (r + 1) * N]
        update_neurons(
            I_in, pop_start, pop_stop, pop_kind, v, u, i_syn, refr, P, n_ref, izk, flags, uniform
        )  # fmt: skip
        n = collect_spikes(
            flags, words, spk, counts[t // bin_steps], raster[t if record_raster else 0],
            record_raster,
        )  # fmt: skip
        record_voltages(t, v, vrec_idx, vrec)
        n_spk += n
        n_syn += s + propagate_window(spk, n, rc_indptr, rc_off, rc_w, buf, base)
        r += 1
    return n_spk, n_syn


@njit(cache=True, parallel=True)
def simulate_batch(
    offsets, ev_steps, ev_ch, ev_val, n_steps,
    in_indptr, in_off, in_w, rc_indptr, rc_off, rc_w,
    pop_start, pop_stop, pop_kind, P, n_ref, izk, L, W, bin_steps,
    counts, raster, record_raster, vrec_idx, vrec, n_spk, n_syn,
):  # fmt: skip
    """All samples, in parallel over the batch. Each sample writes only its own slices,
    so the result is bit-identical whatever the thread count."""
    uniform = uniform_populations(P, n_ref, pop_start, pop_stop, pop_kind)
    for b in prange(offsets.shape[0] - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        rb = raster[b] if record_raster else raster[0]
        s, y = simulate_sample(
            ev_steps[lo:hi], ev_ch[lo:hi], ev_val[lo:hi], n_steps,
            in_indptr, in_off, in_w, rc_indptr, rc_off, rc_w,
            pop_start, pop_stop, pop_kind, P, n_ref, uniform, izk, L, W, bin_steps,
            counts[b], rb, record_raster, vrec_idx, vrec[b],
        )  # fmt: skip
        n_spk[b] = s
        n_syn[b] = y
