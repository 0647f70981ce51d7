"""Lava backend cost per sample, floating_pt vs fixed_pt (``spikelab bench --suite lava``,
run with .venv-lava).

Workload: the reservoir of ``examples/nmnist_lsm.toml`` (or another experiment config) on
the first ``n_samples`` samples of nmnist-small, encoded as the experiment does. Lava has no
batch dimension and runs every Lava process as an OS process exchanging messages each step,
so the cost is per sample and dominated by Lava's runtime, not by arithmetic; the numba
backend on the same samples is measured alongside. Each record also says how close the
Lava run is to numba (spike totals; for floating_pt the fraction of identical count bins)
and, for fixed_pt, the quantisation summary.

The accuracy comparison fixed_pt vs numba is the experiment runner's job:
``spikelab run examples/nmnist_lsm.toml --backend lava --set backend.precision=fixed_pt``.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ClassifyConfig
from ..encoding import EventEncoding
from ..network import Network
from ..spikes import Recording, RecordSpec, SpikeBatch
from .common import LSM_CONFIG, build_reservoir, load_split, lsm_config, quiet


def _workload(
    config: str | Path, data_dir: str | None, n_samples: int, n_neurons: int | None
) -> tuple[Network, SpikeBatch, EventEncoding, ClassifyConfig]:
    """The config's reservoir and its first ``n_samples`` training samples, encoded."""
    cfg = lsm_config(config)
    if data_dir is not None:
        cfg = replace(cfg, dataset=replace(cfg.dataset, root=str(data_dir)))
    if n_neurons is not None:
        cfg = replace(cfg, reservoir=replace(cfg.reservoir, n_neurons=int(n_neurons)))
    split = load_split(cfg.dataset, cfg.seed, quiet)
    enc = cfg.encoding.make(split.sensor_size)
    batch = enc.encode(split.train_events[:n_samples])
    net = build_reservoir(cfg.reservoir, enc, cfg.seed)
    return net, batch, enc, cfg


def _numba_reference(
    net: Network, batch: SpikeBatch, dt: float, record: RecordSpec
) -> tuple[Recording, float]:
    """numba's recording of the batch and its seconds per sample (after the JIT compile)."""
    sim = net.compile("numba", dt=dt, record=record)
    sim.run(batch.subset([0]))  # numba JIT compile
    t0 = time.perf_counter()
    ref = sim.run(batch)
    return ref, (time.perf_counter() - t0) / len(batch)


def _lava_record(rec: Recording, n_samples: int) -> dict[str, Any]:
    """Cost per sample of one Lava run of ``n_samples`` samples."""
    per = float(rec.extras["seconds_per_sample"])
    return {
        "samples_per_s": 1.0 / per,
        "seconds_per_sample": per,
        "setup_s": rec.extras["setup_s"],
        "synaptic_events_per_s": rec.n_synaptic_events / n_samples / per,
        "spikes_total": rec.n_spikes,
        "cores": os.cpu_count(),
        "n_lava_processes": rec.extras["n_lava_processes"],
        "lava_steps_per_sample": rec.extras["lava_steps_per_sample"],
    }


def run_lava_bench(
    data_dir: str | None = None,
    n_samples: int = 4,
    *,
    config: str | Path = LSM_CONFIG,
    precisions: tuple[str, ...] = ("floating_pt", "fixed_pt"),
    n_neurons: int | None = None,
) -> list[dict[str, Any]]:
    """One record per precision: seconds per sample (after Lava's compile and start-up, which
    ``setup_s`` reports), throughput, and agreement with numba on the same samples."""
    net, batch, enc, cfg = _workload(config, data_dir, n_samples, n_neurons)
    record = RecordSpec(bin_steps=cfg.record.bin_steps or None)
    ref, numba_s = _numba_reference(net, batch, enc.dt, record)
    workload = f"{Path(config).stem}-{net.n_neurons}n-{batch.n_steps}steps"
    out = []
    for precision in precisions:
        with net.compile("lava", dt=enc.dt, record=record, precision=precision) as sim:
            rec = sim.run(batch)
        row: dict[str, Any] = {
            "suite": "lava",
            "backend": "lava",
            "mode": precision,
            "workload": workload,
            **_lava_record(rec, len(batch)),
            "n_neurons": net.n_neurons,
            "n_samples": len(batch),
            "numba_seconds_per_sample": numba_s,
            "numba_spikes_total": ref.n_spikes,
            "spikes_rel_diff_vs_numba": (rec.n_spikes - ref.n_spikes) / max(ref.n_spikes, 1),
            "identical_count_bins": float(np.mean(rec.counts == ref.counts)),
        }
        if precision == "fixed_pt":
            row["quantization"] = rec.extras["quantization"]["summary"]
        out.append(row)
    return out


if __name__ == "__main__":
    import sys

    from . import find_data, print_table

    records = run_lava_bench(
        str(find_data(sys.argv[1] if len(sys.argv) > 1 else None)),
        int(sys.argv[2]) if len(sys.argv) > 2 else 4,
    )
    print_table(records)
    for r in records:
        print(
            f"{r['mode']:12s} {r['seconds_per_sample']:.2f} s/sample (numba "
            f"{r['numba_seconds_per_sample'] * 1e3:.1f} ms), setup {r['setup_s']:.1f} s, "
            f"spikes {r['spikes_total']} vs numba {r['numba_spikes_total']}, identical count "
            f"bins {r['identical_count_bins']:.3f}"
        )
