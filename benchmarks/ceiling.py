"""This machine's ceiling for the bench workloads, and the numba kernel against it.

For each workload of the numba suite (lsm-nmnist-1000, active-1000, izh-1000) it measures
the three limits of :mod:`spikelab.bench.ceiling` (vectorised float32 neuron update, scatter
of the workload's recorded synaptic events into an L1-resident array, per-step loop
overhead) on one thread, then the numba kernel in float64 and float32 on one thread (per
sample, the best of ``--reps`` runs, CPU time of the thread), and prints the kernel's time
as a fraction of the ceiling::

    python benchmarks/ceiling.py [--data DIR] [--samples N] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numba

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_numba import run_samples  # noqa: E402  (the script beside this one)

from spikelab.bench import find_data  # noqa: E402
from spikelab.bench.ceiling import measure_ceiling  # noqa: E402
from spikelab.bench.common import build_reservoir, lsm_config, lsm_network, nmnist_batch  # noqa: E402
from spikelab.bench.numba import ACTIVE_1000, IZH_1000  # noqa: E402
from spikelab.fileio import write_json_atomic  # noqa: E402
from spikelab.spikes import RecordSpec  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="N-MNIST folder (default: see spikelab bench)")
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--json", default=None, help="write the records here")
    args = p.parse_args()
    numba.set_num_threads(1)
    cfg = lsm_config()
    batch, enc = nmnist_batch(str(find_data(args.data)), args.samples, cfg.encoding, cfg.dataset)
    nets = {
        "lsm-nmnist-1000": lsm_network(cfg, enc, 1000),
        "active-1000": build_reservoir(dict(ACTIVE_1000), enc, 0),
        "izh-1000": build_reservoir(dict(IZH_1000), enc, 0),
    }
    records = []
    for name, net in nets.items():
        c = measure_ceiling(net, batch)
        rec = {"workload": name, **c, "load_avg_1min": os.getloadavg()[0]}
        for dtype in ("float64", "float32"):
            sim = net.compile("numba", dt=batch.dt, record=RecordSpec(bin_steps=50), dtype=dtype)
            s = run_samples(sim, batch, args.reps) / len(batch)
            rec[f"{dtype}_s"], rec[f"{dtype}_ceiling_fraction"] = s, c["ceiling_s"] / s
        records.append(rec)
        print(
            f"{name}: ceiling {1e3 * c['ceiling_s']:.3f} ms/sample (update "
            f"{1e3 * c['update_s']:.3f}, scatter {1e3 * c['scatter_s']:.3f} for "
            f"{c['synaptic_events_per_sample']:.0f} events, loop {1e3 * c['loop_s']:.3f}); "
            f"float64 {1e3 * rec['float64_s']:.3f} ms ({rec['float64_ceiling_fraction']:.0%}), "
            f"float32 {1e3 * rec['float32_s']:.3f} ms ({rec['float32_ceiling_fraction']:.0%})"
        )
    if args.json:
        print(f"wrote {write_json_atomic(args.json, records)}")


if __name__ == "__main__":
    main()
