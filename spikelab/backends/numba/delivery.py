"""Synaptic delivery into the delay ring (pure njit bodies, inlined into the step loop).

The ring ``ring[L, N]`` holds the per-step synaptic input of the next ``L`` steps; slot
``(t + d) % L`` receives what arrives at step ``t + d``. Two layouts of the same CSR:

* flat CSR with a delay per synapse (``deliver_inputs`` / ``propagate``): synapses of a row
  are sorted by delay, so the ring slot is looked up once per delay group;
* delay-split CSR (``deliver_inputs_split`` / ``propagate_split``, the fast path): one
  sub-CSR per distinct delay (``FlatCSR.split_by_delay``), no per-synapse delay test.
  Within a group the synapses keep the flat CSR's (row, column) order, so every ring slot
  receives its additions in exactly the same order as with the flat layout.

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
