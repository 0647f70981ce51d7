"""Where the numba backend's time goes on the peer workload (issue #3's profile).

Runs lsm-nmnist-1000 (spikelab.bench.peers) on one numba thread, then the same network on
samples without input events, and splits the time per sample into the idle floor (the
neuron update, ring clearing and bin counting of 1,000 neurons x 300 steps) and the rest
(synaptic events and spike handling). Then it replays the run's recorded spikes and input
events through the kernel's own delivery functions alone, which splits the full time into
recurrent propagation, input delivery and the remainder (neuron updates and counting)::

    python benchmarks/profile_numba.py [--data DIR] [--samples N]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from numba import njit

from spikelab.backends.numba import kernels as K
from spikelab.bench import find_data
from spikelab.bench.peers import RECORD, workload
from spikelab.spikes import RecordSpec, SpikeBatch


@njit(cache=True)
def replay_recurrent(sp_ptr, sp_idx, n_steps, dvals, indptr2, indices, w, L, N):
    """The recorded spikes of every step through ``propagate_split`` (and the ring cleared
    as the kernel does); returns the synaptic events."""
    total = 0
    spk = np.zeros(N, np.int64)
    for b in range(sp_ptr.shape[0]):
        ring = np.zeros((L, N))
        for t in range(n_steps):
            lo, hi = sp_ptr[b, t], sp_ptr[b, t + 1]
            spk[: hi - lo] = sp_idx[lo:hi]
            total += K.propagate_split(t, spk, hi - lo, dvals, indptr2, indices, w, ring, L)
            ring[t % L][:] = 0.0
    return total


@njit(cache=True)
def replay_inputs(offsets, ev_steps, ev_ch, ev_val, n_steps, dvals, indptr2, indices, w, L, N):
    """Every sample's input events through ``deliver_inputs_split``; returns synaptic events."""
    total = 0
    for b in range(offsets.shape[0] - 1):
        ring = np.zeros((L, N))
        e, e1 = offsets[b], offsets[b + 1]
        for t in range(n_steps):
            e, s = K.deliver_inputs_split(
                e, e1, t, ev_steps, ev_ch, ev_val, dvals, indptr2, indices, w, ring, L
            )
            total += s
            ring[t % L][:] = 0.0
    return total


def spike_table(rec, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Recorded spikes as per-(sample, step) pointers into neuron indices in kernel order."""
    ptr = np.zeros((len(rec.counts), n_steps + 1), np.int64)
    idx, off = [], 0
    for b in range(len(rec.counts)):
        steps, neurons = rec.raster.sample(b)
        order = np.lexsort((neurons, steps))
        ptr[b, 0] = off
        ptr[b, 1:] = off + np.cumsum(np.bincount(steps[order], minlength=n_steps))
        off = ptr[b, -1]
        idx.append(neurons[order])
    return ptr, np.concatenate(idx).astype(np.int64)


def best_call(fn, *args, reps: int = 3) -> tuple[float, object]:
    fn(*args)
    best, out = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def best_of(sim, batch: SpikeBatch, reps: int = 3) -> tuple[float, object]:
    best, rec = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        rec = sim.run(batch)
        best = min(best, time.perf_counter() - t0)
    return best, rec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="N-MNIST folder (default: see spikelab bench)")
    p.add_argument("--samples", type=int, default=200)
    args = p.parse_args()
    numba.set_num_threads(1)
    net, batch = workload(str(find_data(args.data)), args.samples)
    sim = net.compile("numba", dt=batch.dt, record=RECORD)
    sim.run(batch.subset(range(min(4, len(batch)))))  # compile
    n, steps = len(batch), batch.n_steps
    full, rec = best_of(sim, batch)
    idle, _ = best_of(sim, SpikeBatch.empty(n, steps, n_channels=batch.n_channels, dt=batch.dt))
    syn = rec.n_synaptic_events / n
    print(f"{net.n_neurons} neurons, {steps} steps, {len(batch.steps) / n:.0f} input events/sample")
    print(f"full:  {1e3 * full / n:.3f} ms/sample ({n / full:.0f} samples/s on 1 thread)")
    print(
        f"idle:  {1e3 * idle / n:.3f} ms/sample = "
        f"{1e9 * idle / (n * steps * net.n_neurons):.2f} ns per neuron-step"
    )
    print(
        f"rest:  {1e3 * (full - idle) / n:.3f} ms/sample for {syn:.0f} synaptic events and "
        f"{rec.n_spikes / n:.0f} spikes = {1e9 * (full - idle) / (n * syn):.2f} ns per event"
    )
    replay(net, sim, batch, full)


def replay(net, sim, batch: SpikeBatch, full: float) -> None:
    """The run's synaptic work alone: recorded spikes and input events through the
    kernel's delivery functions, without the neuron updates."""
    n, steps = len(batch), batch.n_steps
    f = sim.flat
    raster = net.compile("numba", dt=batch.dt, record=RecordSpec(bin_steps=50, raster=True))
    ptr, idx = spike_table(raster.run(batch), steps)
    (in_d, in_ptr, in_idx, in_w), (rc_d, rc_ptr, rc_idx, rc_w) = sim.splits
    L, N = f.ring_len, f.n_neurons
    t_rc, n_rc = best_call(replay_recurrent, ptr, idx, steps, rc_d, rc_ptr, rc_idx, rc_w, L, N)
    vals = batch.values.astype(np.float64)
    t_in, n_in = best_call(
        replay_inputs, batch.offsets, batch.steps, batch.channels, vals, steps,
        in_d, in_ptr, in_idx, in_w, L, N,
    )  # fmt: skip
    print(
        f"replay: recurrent {1e3 * t_rc / n:.3f} ms/sample ({n_rc / n:.0f} events, "
        f"{1e9 * t_rc / n_rc:.2f} ns each); inputs {1e3 * t_in / n:.3f} ms/sample "
        f"({n_in / n:.0f} events, {1e9 * t_in / n_in:.2f} ns each); neuron updates and "
        f"counting {1e3 * (full - t_rc - t_in) / n:.3f} ms/sample"
    )


if __name__ == "__main__":
    main()
