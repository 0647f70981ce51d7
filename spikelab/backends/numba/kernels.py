"""Pure numba kernels implementing docs/semantics.md (the reference CPU arithmetic).

Stages within one step t of one sample (see docs/semantics.md):

1. ``deliver_inputs``  : input events of step t are spread through the input CSR into the
                         ring buffer slot of step t + delay (delay >= 0).
2. neuron update       : ``lif_step`` / ``izh_step`` read I_in = ring[t % L] (the per-step
                         synaptic input, one visible array), integrate, test and reset.
3. ``propagate``       : spikes of step t are spread through the recurrent CSR into slot
                         t + delay (delay >= 1).

Parameters are packed per neuron in one float matrix ``P`` [N_PARAMS, N] whose rows are
named below; the two models use the rows differently.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

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


@njit(cache=True, inline="always")
def lif_step(lo, hi, v, i_syn, refr, I_in, P, n_ref, spk, n):
    """One LIF step for neurons [lo, hi); appends each spiking neuron's index to ``spk``
    after the first ``n`` entries and returns the new count."""
    for j in range(lo, hi):
        i_syn[j] = P[BETA, j] * i_syn[j] + I_in[j]
        if refr[j] > 0:
            refr[j] -= 1
            v[j] = P[V_RESET, j]
            continue
        vr = P[V_REST, j]
        vj = vr + P[ALPHA, j] * (v[j] - vr) + P[BIAS_TERM, j] + i_syn[j]
        if vj > P[V_TH, j]:
            spk[n] = j
            n += 1
            vj = P[V_RESET, j]
            refr[j] = n_ref[j]
        v[j] = vj
    return n


@njit(cache=True, inline="always")
def izh_step(lo, hi, v, u, i_syn, I_in, P, dt, spk, n):
    """One Izhikevich (2003) step for neurons [lo, hi): two dt/2 half-steps of v, one of u.
    Appends spiking neurons to ``spk`` after the first ``n``; returns the new count."""
    half = 0.5 * dt
    for j in range(lo, hi):
        i_syn[j] = P[BETA, j] * i_syn[j] + I_in[j]
        current = P[BIAS, j] + i_syn[j]
        vj = v[j]
        uj = u[j]
        vj = vj + half * (0.04 * vj * vj + 5.0 * vj + 140.0 - uj + current)
        vj = vj + half * (0.04 * vj * vj + 5.0 * vj + 140.0 - uj + current)
        uj = uj + dt * P[A, j] * (P[B, j] * vj - uj)
        if vj >= P[V_PEAK, j]:
            spk[n] = j
            n += 1
            vj = P[C, j]
            uj = uj + P[D, j]
        v[j] = vj
        u[j] = uj
    return n


@njit(cache=True, inline="always")
def deliver_inputs(e0, e1, t, ev_steps, ev_ch, ev_val, indptr, indices, w, dly, ring, L):
    """Spread input events [e0, ...) of step t into the ring; returns (next event, syn events)."""
    n_syn = 0
    e = e0
    while e < e1 and ev_steps[e] == t:
        ch = ev_ch[e]
        val = ev_val[e]
        cur = -1
        row = ring[0]
        for k in range(indptr[ch], indptr[ch + 1]):
            if dly[k] != cur:  # synapses of a row are sorted by delay: one lookup per group
                cur = dly[k]
                row = ring[(t + cur) % L]
            row[indices[k]] += w[k] * val
        n_syn += indptr[ch + 1] - indptr[ch]
        e += 1
    return e, n_syn


@njit(cache=True, inline="always")
def propagate(t, spk, n, indptr, indices, w, dly, ring, L):
    """Spread the ``n`` spikes ``spk[:n]`` of step t through the recurrent CSR; returns the
    number of synaptic events."""
    n_syn = 0
    for q in range(n):
        j = spk[q]
        cur = -1
        row = ring[0]
        for k in range(indptr[j], indptr[j + 1]):
            if dly[k] != cur:  # synapses of a row are sorted by delay
                cur = dly[k]
                row = ring[(t + cur) % L]
            row[indices[k]] += w[k]
        n_syn += indptr[j + 1] - indptr[j]
    return n_syn


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
def step_and_record(
    t, ring, L, pop_start, pop_stop, pop_kind, v, u, i_syn, refr, P, n_ref, dt, spk,
    bin_steps, counts, raster, record_raster, vrec_idx, vrec,
):  # fmt: skip
    """Every population one step on ``I_in = ring[t % L]`` (the per-step synaptic input of
    all projections, cleared afterwards); the spikes ``spk[:n]`` go into counts (and the
    raster), the recorded voltages into ``vrec[t]``. Returns n."""
    I_in = ring[t % L]
    n = 0
    for p in range(pop_start.shape[0]):
        if pop_kind[p] == KIND_LIF:
            n = lif_step(pop_start[p], pop_stop[p], v, i_syn, refr, I_in, P, n_ref, spk, n)
        else:
            n = izh_step(pop_start[p], pop_stop[p], v, u, i_syn, I_in, P, dt, spk, n)
    I_in[:] = 0.0
    b = t // bin_steps
    for q in range(n):
        counts[b, spk[q]] += 1
        if record_raster:
            raster[t, spk[q]] = 1
    for q in range(vrec_idx.shape[0]):
        vrec[t, q] = v[vrec_idx[q]]
    return n


@njit(cache=True)
def simulate_sample(
    ev_steps, ev_ch, ev_val, n_steps,
    in_dvals, in_indptr, in_indices, in_w,
    rc_dvals, rc_indptr, rc_indices, rc_w,
    pop_start, pop_stop, pop_kind, P, n_ref, dt, L, bin_steps,
    counts, raster, record_raster, vrec_idx, vrec,
):  # fmt: skip
    """Run one sample; fills counts [bins, N], raster [T, N], vrec [T, k]. Returns counters."""
    N = P.shape[1]
    dtype = P.dtype
    v = np.zeros(N, dtype)
    u = np.zeros(N, dtype)
    i_syn = np.zeros(N, dtype)
    refr = np.zeros(N, np.int32)
    spk = np.zeros(N, np.int64)  # indices of the neurons that spiked this step
    ring = np.zeros((L, N), dtype)
    init_state(P, pop_start, pop_stop, pop_kind, v, u)
    n_events = ev_steps.shape[0]
    e = 0
    n_spk = 0
    n_syn = 0
    for t in range(n_steps):
        e, s = deliver_inputs_split(
            e, n_events, t, ev_steps, ev_ch, ev_val, in_dvals, in_indptr, in_indices, in_w, ring, L
        )
        n_syn += s
        n = step_and_record(
            t, ring, L, pop_start, pop_stop, pop_kind, v, u, i_syn, refr, P, n_ref, dt, spk,
            bin_steps, counts, raster, record_raster, vrec_idx, vrec,
        )  # fmt: skip
        n_spk += n
        n_syn += propagate_split(t, spk, n, rc_dvals, rc_indptr, rc_indices, rc_w, ring, L)
    return n_spk, n_syn


@njit(cache=True, parallel=True)
def simulate_batch(
    offsets, ev_steps, ev_ch, ev_val, n_steps,
    in_dvals, in_indptr, in_indices, in_w,
    rc_dvals, rc_indptr, rc_indices, rc_w,
    pop_start, pop_stop, pop_kind, P, n_ref, dt, L, bin_steps,
    counts, raster, record_raster, vrec_idx, vrec, n_spk, n_syn,
):  # fmt: skip
    """All samples, in parallel over the batch. Each sample writes only its own slices,
    so the result is bit-identical whatever the thread count."""
    for b in prange(offsets.shape[0] - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        rb = raster[b] if record_raster else raster[0]
        s, y = simulate_sample(
            ev_steps[lo:hi], ev_ch[lo:hi], ev_val[lo:hi], n_steps,
            in_dvals, in_indptr, in_indices, in_w,
            rc_dvals, rc_indptr, rc_indices, rc_w,
            pop_start, pop_stop, pop_kind, P, n_ref, dt, L, bin_steps,
            counts[b], rb, record_raster, vrec_idx, vrec[b],
        )  # fmt: skip
        n_spk[b] = s
        n_syn[b] = y


# ---- delay-split CSR: one sub-CSR per distinct delay (no per-synapse delay test) ----------
# indptr2[g] is the row pointer of the synapses with delay dvals[g]; within a group the
# synapses keep the (row, column) order of the flat CSR, so every ring slot receives its
# additions in exactly the same order as with deliver_inputs / propagate.


@njit(cache=True, inline="always")
def deliver_inputs_split(e0, e1, t, ev_steps, ev_ch, ev_val, dvals, indptr2, indices, w, ring, L):
    """Input events of step t starting at e0 into the ring; returns (next event, syn events)."""
    e_end = e0
    while e_end < e1 and ev_steps[e_end] == t:
        e_end += 1
    n_syn = 0
    for g in range(dvals.shape[0]):
        row = ring[(t + dvals[g]) % L]
        ip = indptr2[g]
        for e in range(e0, e_end):
            ch = ev_ch[e]
            val = ev_val[e]
            for k in range(ip[ch], ip[ch + 1]):
                row[indices[k]] += w[k] * val
            n_syn += ip[ch + 1] - ip[ch]
    return e_end, n_syn


@njit(cache=True, inline="always")
def propagate_split(t, spk, n, dvals, indptr2, indices, w, ring, L):
    """The ``n`` spikes ``spk[:n]`` of step t into the ring; returns synaptic events."""
    n_syn = 0
    for g in range(dvals.shape[0]):
        row = ring[(t + dvals[g]) % L]
        ip = indptr2[g]
        for q in range(n):
            j = spk[q]
            for k in range(ip[j], ip[j + 1]):
                row[indices[k]] += w[k]
            n_syn += ip[j + 1] - ip[j]
    return n_syn
