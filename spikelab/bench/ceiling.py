"""This machine's limits for a reservoir workload, measured (``benchmarks/ceiling.py``).

Three micro-benchmarks on one thread, each the least work any simulator of the same
network and samples must do, at its fastest shape:

* ``update``: the float32 LIF update of every neuron for every step (synaptic decay plus
  input, membrane relaxation, threshold select and reset, one spike flag), vectorised, with
  scalar parameters, on the network's state size (``n_neurons`` x ``n_steps``); for a
  network of Izhikevich neurons only, the float32 Izhikevich update instead;
* ``scatter``: the workload's recorded synaptic events (every spike of a float64 run through
  its recurrent row, every input event through its input row) added into one L1-resident
  float32 array of ``n_neurons``: no delay ring, no counters, the same synapse table with
  the narrowest column indices (uint16 up to 65,536 neurons, as the kernel's offsets), a
  spike's weights added as they are and an input event's times its value;
* ``loop``: the per-step overhead of a time loop that looks up a delay-ring slot and tests a
  spike-flag word each step.

``ceiling_s`` (seconds per sample on one core) is their sum; a kernel's
``ceiling_fraction`` is ``ceiling_s`` over its own seconds per sample per core (1.0: at the
measured limit). Each figure is the minimum of ``reps`` timed calls of one sample's work
(short calls, so the minimum is robust to other load; on a loaded machine it is still an
upper bound of the idle figure).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import njit

from ..ir import KIND_IZH
from ..network import Network
from ..spikes import RecordSpec, SpikeBatch

__all__ = ["ceiling_at", "ceiling_fraction", "measure_ceiling", "recorded_rows"]


@njit(cache=True)
def lif_update_f32(n_steps, v, i_syn, I_in, refr, flags, params, n_ref):
    """The vectorised float32 LIF update of len(v) neurons for n_steps: the model of
    docs/semantics.md (refractoriness included, the input slot cleared) with scalar
    parameters ``params`` = (beta, alpha, v_rest, v_reset, v_th, bias_term)."""
    beta, alpha, v_rest, v_reset, v_th, b_term = params
    for _ in range(n_steps):
        for j in range(np.uint64(0), np.uint64(v.shape[0])):  # unsigned: vectorised
            ij = beta * i_syn[j] + I_in[j]
            i_syn[j] = ij
            I_in[j] = 0.0
            r = refr[j]
            vj = v_rest + alpha * (v[j] - v_rest) + b_term + ij
            quiet = r > 0
            fire = (vj > v_th) & ~quiet
            v[j] = v_reset if quiet | fire else vj
            refr[j] = n_ref if fire else (r - 1 if quiet else r)
            flags[j] = fire
    return flags[0]


@njit(cache=True)
def izh_update_f32(n_steps, v, u, i_syn, I_in, flags, params):
    """The vectorised float32 Izhikevich update (docs/semantics.md) of len(v) neurons for
    n_steps with scalar ``params`` = (beta, bias, a, b, c, d, v_peak, dt)."""
    beta, bias, a, b, c, d, v_peak, dt = params
    half, k2, k1, k0 = dt * np.float32(0.5), np.float32(0.04), np.float32(5), np.float32(140)
    for _ in range(n_steps):
        for j in range(np.uint64(0), np.uint64(v.shape[0])):  # unsigned: vectorised
            ij = beta * i_syn[j] + I_in[j]
            i_syn[j] = ij
            I_in[j] = 0.0
            cur = bias + ij
            vj, uj = v[j], u[j]
            vj = vj + half * (k2 * vj * vj + k1 * vj + k0 - uj + cur)
            vj = vj + half * (k2 * vj * vj + k1 * vj + k0 - uj + cur)
            uj = uj + dt * a * (b * vj - uj)
            fire = vj >= v_peak
            v[j] = c if fire else vj
            u[j] = uj + d if fire else uj
            flags[j] = fire
    return flags[0]


@njit(cache=True)
def scatter_rows(rows, vals, indptr, indices, w, acc):
    """Each row ``rows[q]`` of the CSR, times ``vals[q]``, added into ``acc``."""
    for q in range(rows.shape[0]):
        r = rows[q]
        x = vals[q]
        for k in range(np.uint64(indptr[r]), np.uint64(indptr[r + 1])):  # no index fix-up
            acc[indices[k]] += w[k] * x
    return acc[0]


@njit(cache=True)
def scatter_spikes(rows, indptr, indices, w, acc):
    """Each row ``rows[q]`` of the CSR added into ``acc``: a spike's synaptic events, with
    no value to multiply by (``scatter_rows`` for input events, which carry one)."""
    for q in range(rows.shape[0]):
        r = rows[q]
        for k in range(np.uint64(indptr[r]), np.uint64(indptr[r + 1])):  # no index fix-up
            acc[indices[k]] += w[k]
    return acc[0]


@njit(cache=True)
def step_loop(n_steps, ring, words):
    """A time loop's own cost: a ring slot and a flag word per step."""
    L = ring.shape[0]
    s = 0.0
    for t in range(n_steps):
        row = ring[t % L]
        if words[t % words.shape[0]] != 0:
            s += row[0]
    return s


def _best(fn: Callable[..., Any], *args: Any, reps: int) -> float:
    fn(*args)  # compile / warm
    best = float("inf")
    for _ in range(reps):
        t0 = time.thread_time()
        fn(*args)
        best = min(best, time.thread_time() - t0)
    return best


def recorded_rows(net: Network, batch: SpikeBatch) -> list[np.ndarray]:
    """The spiking neurons of a float64 run of ``batch``, per sample (every spike is one
    recurrent row of synaptic events)."""
    sim = net.compile("numba", dt=batch.dt, record=RecordSpec(raster=True))
    rec = sim.run(batch)
    return [rec.raster.sample(b)[1].astype(np.int64) for b in range(len(batch))]


def _update_time(flat: Any, T: int, reps: int) -> float:
    """The update micro-benchmark for ``flat``'s state size (Izhikevich if it has only
    Izhikevich neurons)."""
    N, f32 = flat.n_neurons, np.float32
    state = [np.zeros(N, f32) for _ in range(4)]
    flags = np.zeros(N, np.uint8)
    if (flat.pop_kind == KIND_IZH).all():
        state[0][:] = -65.0
        params = tuple(f32(x) for x in (0.0, 0.0, 0.02, 0.2, -65.0, 8.0, 30.0, flat.dt))
        return _best(izh_update_f32, T, *state, flags, params, reps=reps)
    params = tuple(f32(x) for x in (0.9, 0.95, 0.0, 0.0, 1.0, 0.01))
    refr = np.zeros(N, np.int32)
    return _best(lif_update_f32, T, *state[:3], refr, flags, params, np.int32(2), reps=reps)


def _scatter_time(flat: Any, batch: SpikeBatch, spikes: list[np.ndarray], reps: int) -> float:
    """The scatter micro-benchmark summed over the samples (each timed on its own)."""
    acc = np.zeros(flat.n_neurons, np.float32)
    rc, inp = flat.recurrent, flat.inputs
    rc_w, in_w = rc.weights.astype(np.float32), inp.weights.astype(np.float32)
    index = np.uint16 if flat.n_neurons <= 2**16 else np.uint32  # the narrowest that fits
    rc_i, in_i = rc.indices.astype(index), inp.indices.astype(index)
    total = 0.0
    for b, rows in enumerate(spikes):
        lo, hi = batch.offsets[b], batch.offsets[b + 1]
        ch, vals = batch.channels[lo:hi].astype(np.int64), batch.values[lo:hi]
        total += _best(scatter_spikes, rows, rc.indptr, rc_i, rc_w, acc, reps=reps)
        total += _best(scatter_rows, ch, vals, inp.indptr, in_i, in_w, acc, reps=reps)
    return total


def measure_ceiling(net: Network, batch: SpikeBatch, reps: int = 20) -> dict[str, Any]:
    """The three limits of the module docstring for ``net`` on ``batch``, in seconds per
    sample on one thread, and their sum ``ceiling_s``."""
    flat = net.compile("numba", dt=batch.dt, record=RecordSpec()).flat
    n, T = len(batch), batch.n_steps
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        spikes = recorded_rows(net, batch)
        t_update = _update_time(flat, T, reps)
        t_scatter = _scatter_time(flat, batch, spikes, reps) / n
        ring = np.zeros((flat.ring_len, flat.n_neurons), np.float32)
        words = np.zeros((flat.n_neurons + 7) // 8, np.uint64)
        t_loop = _best(step_loop, T, ring, words, reps=reps)
    finally:
        numba.set_num_threads(old)
    rc, inp = flat.recurrent, flat.inputs
    rows = np.concatenate(spikes)
    events = np.diff(rc.indptr)[rows].sum() + np.diff(inp.indptr)[batch.channels].sum()
    return {
        "update_s": t_update,
        "scatter_s": t_scatter,
        "loop_s": t_loop,
        "ceiling_s": t_update + t_scatter + t_loop,
        "synaptic_events_per_sample": float(events / n),
        "n_neurons": flat.n_neurons,
        "n_steps": T,
        "n_samples": n,
    }


def ceiling_at(ceiling: dict[str, Any], synaptic_events_per_sample: float) -> float:
    """The ceiling (seconds per sample, one core) of samples with this many synaptic events
    each on average: the update and loop parts as measured (the same for every sample) and
    the scatter part at its measured cost per event. A suite measures its ceiling on the
    first samples and the kernel on all of them; without this the fraction compares unlike
    work (the first 20 N-MNIST samples carry 1.4 to 1.6 times the average events)."""
    per_event = ceiling["scatter_s"] / max(ceiling["synaptic_events_per_sample"], 1.0)
    return ceiling["update_s"] + ceiling["loop_s"] + per_event * synaptic_events_per_sample


def ceiling_fraction(ceiling_s: float, samples_per_s: float, cores: int) -> float:
    """The measured ceiling over a kernel's seconds per sample per core."""
    return ceiling_s * samples_per_s / max(cores, 1)
