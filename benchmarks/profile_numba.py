"""Where the numba backend's time goes on the peer workload (issue #3's profile, #14's stages).

Runs lsm-nmnist-1000 (spikelab.bench.peers) on one thread in float64 and float32, then the
same network on samples without input events, and splits the time per sample into the idle
floor (the neuron update, spike-flag scan and bin counting of 1,000 neurons x 300 steps) and
the rest (synaptic events and spike handling). Then it replays the run's recorded spikes and
input events through the kernel's own delivery functions alone, which splits the full time
into recurrent propagation, input delivery and the remainder (neuron updates and counting).
Every figure is the sum over the samples of the minimum of ``--reps`` timed runs of that one
sample (``kernels.simulate_sample`` called directly): short calls, so the minimum is robust
to other load. With ``--ceiling`` it also measures the machine's ceiling
(spikelab.bench.ceiling) and prints each stage's time against its ceiling::

    python benchmarks/profile_numba.py [--data DIR] [--samples N] [--reps R] [--ceiling]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from numba import njit

from spikelab.backends.numba import kernels as K
from spikelab.backends.numba.delivery import slide_window, window_rows
from spikelab.bench import find_data
from spikelab.bench.ceiling import measure_ceiling
from spikelab.bench.peers import RECORD, workload
from spikelab.spikes import RecordSpec, SpikeBatch

DTYPES = {"float64": np.float64, "float32": np.float32}


@njit(cache=True)
def replay_recurrent(sp_ptr, sp_idx, n_steps, indptr, off, w, buf, L, N):
    """One sample's recorded spikes of every step through ``propagate_window`` (the window
    slid and each step's row cleared as the kernel does); returns the synaptic events."""
    total, r = 0, 0
    W = buf.shape[0] // N
    spk = np.zeros(N, np.int64)
    for t in range(n_steps):
        if r + L > W:
            slide_window(buf, r, L - 1, N)
            r = 0
        lo, hi = sp_ptr[t], sp_ptr[t + 1]
        spk[: hi - lo] = sp_idx[lo:hi]
        total += K.propagate_window(spk, hi - lo, indptr, off, w, buf, np.uint64(r * N))
        buf[r * N : (r + 1) * N] = 0.0
        r += 1
    return total


@njit(cache=True)
def replay_inputs(ev_steps, ev_ch, ev_val, n_steps, indptr, off, w, buf, L, N):
    """One sample's input events through ``deliver_inputs_window``; returns synaptic events."""
    total, r = 0, 0
    W = buf.shape[0] // N
    e, e1 = 0, ev_steps.shape[0]
    for t in range(n_steps):
        if r + L > W:
            slide_window(buf, r, L - 1, N)
            r = 0
        e, s = K.deliver_inputs_window(
            e, e1, t, ev_steps, ev_ch, ev_val, indptr, off, w, buf, np.uint64(r * N)
        )
        total += s
        buf[r * N : (r + 1) * N] = 0.0
        r += 1
    return total


def spike_table(rec, b: int, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample b's recorded spikes as per-step pointers into neuron indices in kernel order."""
    steps, neurons = rec.raster.sample(b)
    order = np.lexsort((neurons, steps))
    ptr = np.concatenate([[0], np.cumsum(np.bincount(steps[order], minlength=n_steps))])
    return ptr.astype(np.int64), neurons[order].astype(np.int64)


def best(fn, *args, reps: int) -> tuple[float, object]:
    out = fn(*args)
    t = float("inf")
    for _ in range(reps):
        t0 = time.thread_time()
        out = fn(*args)
        t = min(t, time.thread_time() - t0)
    return t, out


def run_samples(sim, batch: SpikeBatch, reps: int) -> float:
    """Seconds for the batch on one thread: per sample, the best of ``reps`` runs."""
    f, ft = sim.flat, DTYPES[sim.dtype]
    T, N = batch.n_steps, f.n_neurons
    (in_p, in_o, in_w), (rc_p, rc_o, rc_w) = sim.windows
    net_args = (
        in_p, in_o, in_w.astype(ft), rc_p, rc_o, rc_w.astype(ft),
        f.pop_start, f.pop_stop, f.pop_kind, f.params.astype(ft), f.n_ref,
        K.uniform_populations(f.params, f.n_ref, f.pop_start, f.pop_stop, f.pop_kind),
        K.izh_constants(f.dt, ft), f.ring_len, window_rows(f.ring_len), RECORD.bin_width(T),
    )  # fmt: skip
    counts = np.zeros((RECORD.n_bins(T), N), np.int32)
    rec_args = (np.zeros((1, 1), np.uint8), False, np.zeros(0, np.int64), np.zeros((0, 0), ft))
    total = 0.0
    for b in range(len(batch)):
        lo, hi = batch.offsets[b], batch.offsets[b + 1]
        ev = (batch.steps[lo:hi], batch.channels[lo:hi], batch.values[lo:hi].astype(ft), T)
        total += best(K.simulate_sample, *ev, *net_args, counts, *rec_args, reps=reps)[0]
    return total


def replay(sim, batch: SpikeBatch, rec, reps: int) -> tuple[float, float, int, int]:
    """The run's synaptic work alone, per sample best of ``reps``: (recurrent s, input s,
    recurrent events, input events) over the batch."""
    f, ft = sim.flat, DTYPES[sim.dtype]
    (in_p, in_o, in_w), (rc_p, rc_o, rc_w) = sim.windows
    in_w, rc_w = in_w.astype(ft), rc_w.astype(ft)
    L, N = f.ring_len, f.n_neurons
    buf = np.zeros(window_rows(L) * N, ft)
    t_rc = t_in = 0.0
    n_rc = n_in = 0
    for b in range(len(batch)):
        ptr, idx = spike_table(rec, b, batch.n_steps)
        t, n = best(replay_recurrent, ptr, idx, batch.n_steps, rc_p, rc_o, rc_w, buf, L, N,
                    reps=reps)  # fmt: skip
        t_rc, n_rc = t_rc + t, n_rc + n
        lo, hi = batch.offsets[b], batch.offsets[b + 1]
        ev = (batch.steps[lo:hi], batch.channels[lo:hi], batch.values[lo:hi].astype(ft))
        t, n = best(replay_inputs, *ev, batch.n_steps, in_p, in_o, in_w, buf, L, N, reps=reps)
        t_in, n_in = t_in + t, n_in + n
    return t_rc, t_in, n_rc, n_in


def profile(net, batch: SpikeBatch, dtype: str, reps: int, ceiling: dict | None) -> None:
    n, steps = len(batch), batch.n_steps
    sim = net.compile("numba", dt=batch.dt, record=RECORD, dtype=dtype)
    full = run_samples(sim, batch, reps)
    empty = SpikeBatch.empty(n, steps, n_channels=batch.n_channels, dt=batch.dt)
    idle = run_samples(sim, empty, reps)
    rec = net.compile("numba", dt=batch.dt, record=RecordSpec(bin_steps=50, raster=True),
                      dtype=dtype).run(batch)  # fmt: skip
    t_rc, t_in, n_rc, n_in = replay(sim, batch, rec, reps)
    rest = full - t_rc - t_in
    print(f"[{dtype}] full {1e3 * full / n:.3f} ms/sample ({n / full:.0f} samples/s, 1 thread); "
          f"idle {1e3 * idle / n:.3f} ms = {1e9 * idle / (n * steps * net.n_neurons):.2f} ns "
          f"per neuron-step; {rec.n_spikes / n:.0f} spikes/sample")  # fmt: skip
    print(f"[{dtype}] recurrent {1e3 * t_rc / n:.3f} ms ({n_rc / n:.0f} events, "
          f"{1e9 * t_rc / max(n_rc, 1):.2f} ns each); inputs {1e3 * t_in / n:.3f} ms "
          f"({n_in / n:.0f} events, {1e9 * t_in / max(n_in, 1):.2f} ns each); neuron updates "
          f"and counting {1e3 * rest / n:.3f} ms")  # fmt: skip
    if ceiling:
        c = ceiling
        print(f"[{dtype}] ceiling fraction {c['ceiling_s'] * n / full:.1%}: update "
              f"{c['update_s'] * n / max(rest, 1e-12):.0%} of its ceiling, synaptic "
              f"{c['scatter_s'] * n / (t_rc + t_in):.0%}")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="N-MNIST folder (default: see spikelab bench)")
    p.add_argument("--samples", type=int, default=50)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--dtype", choices=[*DTYPES, "both"], default="both")
    p.add_argument("--ceiling", action="store_true", help="also measure the machine's ceiling")
    args = p.parse_args()
    numba.set_num_threads(1)
    net, batch = workload(str(find_data(args.data)), args.samples)
    print(f"{net.n_neurons} neurons, {batch.n_steps} steps, "
          f"{len(batch.steps) / len(batch):.0f} input events/sample")  # fmt: skip
    ceiling = measure_ceiling(net, batch) if args.ceiling else None
    if ceiling:
        keys = ("update_s", "scatter_s", "loop_s", "ceiling_s")
        parts = [f"{k[:-2]} {1e3 * ceiling[k]:.3f}" for k in keys]
        print("ceiling (ms/sample): " + ", ".join(parts))
    for dtype in DTYPES if args.dtype == "both" else [args.dtype]:
        profile(net, batch, dtype, args.reps, ceiling)


if __name__ == "__main__":
    main()
