"""Numba backend throughput on N-MNIST (``spikelab bench --suite numba``).

Workloads:
* ``lsm-nmnist-1000``: examples/nmnist_lsm.toml with 1,000 neurons (the preset that meets
  the accuracy bar), over nmnist-small; samples/s is the figure of merit.
* ``lsm-nmnist-2000``: the same config as shipped (2,000 neurons).
* ``active-1000``: the Maass-2002 column with its original neuron parameters (background
  bias near threshold) and a wider connectivity (lambda = 4: ~66 synapses per neuron) at
  30 % of Maass's weights, on the same input: ~70 spikes per neuron per sample, so the
  time goes into synaptic propagation; synaptic events/s is the figure of merit (capacity).
* ``izh-1000``: the ``izhikevich_network`` preset (Izhikevich 2003: 800 excitatory, 200
  inhibitory, all-to-all) with 1,000 neurons and the LSM's input side, on the same samples.

Each workload runs in float64 (the reference) and float32 (the fast path), timed best of two
passes over ``n_samples`` samples, after a compile run on 4. Every record carries
``ceiling_fraction``: the workload's measured ceiling (:mod:`spikelab.bench.ceiling`, on the
first ``ceiling_samples`` samples, one thread), scaled to the record's synaptic events per
sample (``ceiling_at``), over the record's seconds per sample per core.
"""

from __future__ import annotations

import os
from typing import Any

import numba

from ..network import Network
from ..spikes import RecordSpec, SpikeBatch
from .ceiling import ceiling_at, ceiling_fraction, measure_ceiling
from .common import best_pass, build_reservoir, lsm_config, lsm_network, nmnist_batch

ACTIVE_1000: dict[str, Any] = {
    "builder": "lsm_column",
    "n_neurons": 1000,
    "input_fraction": 1.0,
    "input_receptive_field": 2.0,
    "input_fan_in": 24,
    "lam": 4.0,
    "weight_scale": 0.3,
}
IZH_1000: dict[str, Any] = {
    "builder": "izhikevich_network",
    "n_neurons": 1000,
    "input_receptive_field": 2.0,
    "input_fan_in": 24,
}
DTYPES = ("float64", "float32")


def _measure(
    net: Network, batch: SpikeBatch, dt: float, workload: str, dtype: str, reps: int = 2
) -> dict:
    sim = net.compile("numba", dt=dt, record=RecordSpec(bin_steps=50), dtype=dtype)
    sim.run(batch.subset(range(min(4, len(batch)))))  # compile (cached after the first run)
    passes = best_pass(sim, batch, reps)
    best, cpu = passes.wall_s, passes.cpu_s
    spikes, syn = passes.spikes, passes.synaptic_events
    return {
        "suite": "numba",
        "backend": "numba",
        "mode": dtype,
        "workload": workload,
        "samples_per_s": len(batch) / best,
        "synaptic_events_per_s": syn / best,
        "spikes_total": int(spikes),
        "cores": numba.get_num_threads(),
        "spikes_per_neuron_per_sample": spikes / len(batch) / net.n_neurons,
        "n_neurons": net.n_neurons,
        "n_samples": len(batch),
        "wall_s": best,
        # CPU time summed over threads: robust to other load on a shared machine
        "cpu_s": cpu,
        "samples_per_cpu_s": len(batch) / cpu,
        "synaptic_events_per_cpu_s": syn / cpu,
        "load_avg_1min": os.getloadavg()[0],
    }


def run_numba_bench(
    data_dir: str, n_samples: int = 1000, ceiling_samples: int = 20
) -> list[dict[str, Any]]:
    """One record per workload and dtype of the module docstring."""
    cfg = lsm_config()
    batch, enc = nmnist_batch(data_dir, n_samples, cfg.encoding, cfg.dataset)
    nets = {f"lsm-nmnist-{n}": lsm_network(cfg, enc, n) for n in (1000, 2000)}
    nets["active-1000"] = build_reservoir(dict(ACTIVE_1000), enc, 0)
    nets["izh-1000"] = build_reservoir(dict(IZH_1000), enc, 0)
    head = batch.subset(range(min(ceiling_samples, len(batch))))
    out = []
    for name, net in nets.items():
        ceiling = measure_ceiling(net, head)
        for dtype in DTYPES:
            rec = _measure(net, batch, enc.dt, name, dtype)
            syn = rec["synaptic_events_per_s"] / rec["samples_per_s"]
            rec["ceiling_s_per_sample"] = ceiling_at(ceiling, syn)
            rec["ceiling"] = ceiling
            rec["ceiling_fraction"] = ceiling_fraction(
                rec["ceiling_s_per_sample"], rec["samples_per_s"], rec["cores"]
            )
            out.append(rec)
    return out


if __name__ == "__main__":
    from . import find_data, print_table

    print_table(run_numba_bench(str(find_data())))
