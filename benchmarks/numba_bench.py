"""Numba backend throughput on N-MNIST (run by `spikelab bench --suite numba`).

Workloads:
* ``lsm-nmnist-1000``: examples/nmnist_lsm.toml with 1,000 neurons (the preset that meets
  the accuracy bar), over nmnist-small; samples/s is the figure of merit.
* ``lsm-nmnist-2000``: the same config as shipped (2,000 neurons).
* ``active-1000``: the Maass-2002 column with its original neuron parameters (background
  bias near threshold) and a wider connectivity (lambda = 4: ~66 synapses per neuron) at
  30 % of Maass's weights, on the same input: ~70 spikes per neuron per sample, so the
  time goes into synaptic propagation; synaptic events/s is the figure of merit (capacity).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numba

from spikelab.config import apply_overrides, load_config, resolve
from spikelab.encoding import EventEncoding
from spikelab.experiment import build_reservoir, load_split
from spikelab.spikes import RecordSpec, SpikeBatch

CONFIG = Path(__file__).resolve().parents[1] / "examples" / "nmnist_lsm.toml"


def _batch(data_dir: str, n_samples: int, cfg: dict[str, Any]) -> tuple[SpikeBatch, Any]:
    split = load_split(dict(cfg["dataset"], root=data_dir, test_fraction=0.5), 0, lambda s: None)
    events = (split.train_events + split.test_events)[:n_samples]
    enc = EventEncoding(sensor_size=split.sensor_size, **cfg["encoding"])
    return enc.encode(events), enc


def _measure(net: Any, batch: SpikeBatch, dt: float, workload: str, reps: int = 2) -> dict:
    sim = net.compile("numba", dt=dt, record=RecordSpec(bin_steps=50))
    sim.run(batch.subset(range(min(4, len(batch)))))  # compile (cached after the first run)
    best = cpu = None
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        spikes = syn = 0
        for chunk in batch.chunks(256):
            rec = sim.run(chunk)
            spikes += rec.n_spikes
            syn += rec.n_synaptic_events
        wall, used = time.perf_counter() - t0, time.process_time() - c0
        best = wall if best is None else min(best, wall)
        cpu = used if cpu is None else min(cpu, used)
    assert best is not None and cpu is not None
    return {
        "suite": "numba",
        "backend": "numba",
        "mode": "float64",
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


def run_numba_bench(data_dir: str, n_samples: int = 1000) -> list[dict[str, Any]]:
    cfg = resolve(load_config(CONFIG))
    batch, enc = _batch(data_dir, n_samples, cfg)
    out = []
    for n in (1000, 2000):
        net = build_reservoir(
            apply_overrides(cfg, [f"reservoir.n_neurons={n}"])["reservoir"], enc, 0
        )
        out.append(_measure(net, batch, enc.dt, f"lsm-nmnist-{n}"))
    active = {
        "builder": "lsm_column",
        "n_neurons": 1000,
        "input_fraction": 1.0,
        "input_receptive_field": 2.0,
        "input_fan_in": 24,
        "lam": 4.0,
        "weight_scale": 0.3,
    }
    out.append(_measure(build_reservoir(active, enc, 0), batch, enc.dt, "active-1000"))
    return out


if __name__ == "__main__":
    from spikelab.bench import print_table

    print_table(run_numba_bench("../shared/data/nmnist-small"))
