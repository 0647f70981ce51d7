"""Where the numba backend's time goes on the peer workload (issue #3's profile).

Runs lsm-nmnist-1000 (benchmarks/peers.py) on one numba thread, then the same network on
samples without input events, and splits the time per sample into the idle floor (the
neuron update, ring clearing and bin counting of 1,000 neurons x 300 steps) and the rest
(synaptic events and spike handling)::

    python benchmarks/profile_numba.py [--data DIR] [--samples N]
"""

from __future__ import annotations

import argparse
import time

import numba
from peers import RECORD, workload

from spikelab.spikes import SpikeBatch


def best_of(sim, batch: SpikeBatch, reps: int = 3) -> tuple[float, object]:
    best, rec = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        rec = sim.run(batch)
        best = min(best, time.perf_counter() - t0)
    return best, rec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="../shared/data/nmnist-small")
    p.add_argument("--samples", type=int, default=200)
    args = p.parse_args()
    numba.set_num_threads(1)
    net, batch = workload(args.data, args.samples)
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


if __name__ == "__main__":
    main()
