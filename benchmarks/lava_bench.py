"""Lava backend cost per sample, floating_pt vs fixed_pt (``suite="lava"`` records).

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
from pathlib import Path
from typing import Any

import numpy as np

from spikelab.config import load_config, resolve
from spikelab.encoding import EventEncoding
from spikelab.experiment import build_reservoir, load_split
from spikelab.spikes import RecordSpec

ROOT = Path(__file__).resolve().parents[1]


def _workload(config: str | Path, data_dir: str | None, n_samples: int,
              n_neurons: int | None) -> tuple[Any, Any, EventEncoding, dict[str, Any]]:  # fmt: skip
    cfg = resolve(load_config(config))
    if data_dir is not None:
        cfg["dataset"]["root"] = str(data_dir)
    if n_neurons is not None:
        cfg["reservoir"]["n_neurons"] = int(n_neurons)
    split = load_split(cfg["dataset"], int(cfg["seed"]), lambda s: None)
    enc = EventEncoding(sensor_size=split.sensor_size, **cfg["encoding"])
    batch = enc.encode(split.train_events[:n_samples])
    net = build_reservoir(cfg["reservoir"], enc, int(cfg["seed"]))
    return net, batch, enc, cfg


def run_lava_bench(
    data_dir: str | None = None,
    n_samples: int = 4,
    *,
    config: str | Path = ROOT / "examples" / "nmnist_lsm.toml",
    precisions: tuple[str, ...] = ("floating_pt", "fixed_pt"),
    n_neurons: int | None = None,
) -> list[dict[str, Any]]:
    """One record per precision: seconds per sample (after Lava's compile and start-up, which
    ``setup_s`` reports), throughput, and agreement with numba on the same samples."""
    net, batch, enc, cfg = _workload(config, data_dir, n_samples, n_neurons)
    record = RecordSpec(bin_steps=cfg["record"].get("bin_steps") or None)
    ref_sim = net.compile("numba", dt=enc.dt, record=record)
    ref_sim.run(batch.subset([0]))  # numba JIT compile
    t0 = time.perf_counter()
    ref = ref_sim.run(batch)
    numba_s = (time.perf_counter() - t0) / len(batch)
    workload = f"{Path(config).stem}-{net.n_neurons}n-{batch.n_steps}steps"
    out = []
    for precision in precisions:
        with net.compile("lava", dt=enc.dt, record=record, precision=precision) as sim:
            rec = sim.run(batch)
        per = float(rec.extras["seconds_per_sample"])
        row: dict[str, Any] = {
            "suite": "lava",
            "backend": "lava",
            "mode": precision,
            "workload": workload,
            "samples_per_s": 1.0 / per,
            "seconds_per_sample": per,
            "setup_s": rec.extras["setup_s"],
            "synaptic_events_per_s": rec.n_synaptic_events / len(batch) / per,
            "spikes_total": rec.n_spikes,
            "cores": os.cpu_count(),
            "n_lava_processes": rec.extras["n_lava_processes"],
            "lava_steps_per_sample": rec.extras["lava_steps_per_sample"],
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

    from spikelab.bench import print_table

    records = run_lava_bench(
        sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "data" / "nmnist-small"),
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
