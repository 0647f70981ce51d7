"""Synaptic delivery into the delay ring (pure njit bodies, inlined into the step loop).

The ring ``ring[L, N]`` holds the per-step synaptic input of the next ``L`` steps; slot
``(t + d) % L`` receives what arrives at step ``t + d``. Two layouts of the same CSR:

* flat CSR with a delay per synapse (``deliver_inputs`` / ``propagate``): synapses of a row
  are sorted by delay, so the ring slot is looked up once per delay group;
* delay-split CSR (``deliver_inputs_split`` / ``propagate_split``, used by the stepper and
  the crossbar): one sub-CSR per distinct delay (``FlatCSR.split_by_delay``), no
  per-synapse delay test. Within a group the synapses keep the flat CSR's (row, column)
  order, so every ring slot receives its additions in exactly the same order as with the
  flat layout.

The batch kernel's fast path (``deliver_inputs_window`` / ``propagate_window``) replaces
the ring by a sliding window: a flat buffer of ``W`` step rows of ``N`` (``window_rows``)
where step t is row ``t - t0``, and every synapse stores one offset ``delay * N + column``
(``windowed_csr``), so a spike walks its whole row once (all delays together) and adds at
``base + offset`` with no slot lookup; ``slide_window`` moves the ``L - 1`` live rows back
to the front when the window is full (every ``W - L + 1`` steps; no overlap as ``W >= 2L``).
A row's synapses are ordered by delay, then as in the flat CSR, so every step row receives
its additions in the same order as with the other layouts: the same bits.

Column indices are int32 (validated at load: ``Projection`` refuses out-of-range indices;
the split layout stores them as uint32 and walks synapses with an unsigned index, so numba
adds no negative-index fix-up to the hot loop), weights are of the simulation's dtype;
numba compiles without bounds checks.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
            for k in range(np.uint64(ip[ch]), np.uint64(ip[ch + 1])):
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
            for k in range(np.uint64(ip[j]), np.uint64(ip[j + 1])):
                row[indices[k]] += w[k]
            n_syn += ip[j + 1] - ip[j]
    return n_syn


def windowed_csr(csr, n_neurons: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr int64, offsets, weights) of ``csr`` for the sliding window: a row's
    synapses by delay, then in the CSR's order; ``offsets = delay * n_neurons + column``
    in the narrowest of uint16, uint32 and uint64 that holds them (a smaller synapse table
    stays in cache: 1-2 % of a 1,000-neuron LSM's time)."""
    rows = csr.rows()
    order = np.lexsort((np.arange(csr.nnz), csr.delays, rows))  # stable: row, delay
    off = csr.delays[order].astype(np.uint64) * np.uint64(n_neurons) + csr.indices[order]
    if off.size == 0 or off.max() < 2**16:
        off = off.astype(np.uint16)
    elif off.max() < 2**32:
        off = off.astype(np.uint32)
    return csr.indptr.astype(np.int64), off, csr.weights[order]


def window_rows(L: int) -> int:
    """Rows of the sliding window for a ring of ``L`` steps (max delay + 1): >= 2L, so a
    slide never overlaps, and 8 more so it happens at most every 8 steps."""
    return 2 * L + 8


@njit(cache=True, inline="always")
def slide_window(buf, r, live, N):
    """Rows r .. r+live-1 of ``buf`` (flat, rows of N) moved to rows 0 .. live-1 and
    cleared (r >= live: no overlap). Called before step t's row r when r + L > W: the rows
    written so far are those of steps t .. t+L-2 (``live = L - 1``)."""
    for i in range(np.uint64(0), np.uint64(live * N)):
        buf[i] = buf[np.uint64(r * N) + i]
        buf[np.uint64(r * N) + i] = 0.0


@njit(cache=True, inline="always")
def deliver_inputs_window(e0, e1, t, ev_steps, ev_ch, ev_val, indptr, off, w, buf, base):
    """Input events of step t from e0 into the window at ``base`` (uint64: row of step t
    times N); returns (next event, synaptic events)."""
    n_syn = 0
    e_end = e0
    while e_end < e1 and ev_steps[e_end] == t:
        e_end += 1
    for e in range(e0, e_end):
        ch = ev_ch[e]
        val = ev_val[e]
        lo, hi = indptr[ch], indptr[ch + 1]
        for k in range(np.uint64(lo), np.uint64(hi)):
            buf[base + off[k]] += w[k] * val
        n_syn += hi - lo
    return e_end, n_syn


@njit(cache=True, inline="always")
def propagate_window(spk, n, indptr, off, w, buf, base):
    """The ``n`` spikes ``spk[:n]`` of the step at ``base`` into the window; returns
    synaptic events."""
    n_syn = 0
    for q in range(n):
        j = spk[q]
        for k in range(np.uint64(indptr[j]), np.uint64(indptr[j + 1])):
            buf[base + off[k]] += w[k]
        n_syn += indptr[j + 1] - indptr[j]
    return n_syn
