"""FEAST throughput on real N-MNIST recordings, one core (``spikelab bench --suite feast``).

``run_feast_bench(data_dir)`` returns bench records: FEAST inference (``transform``, one
call per sample, as a user calls it, and ``transform_many``, one kernel call for all
samples) and learning (``fit``), for R = 5 and 64 neurons by default, float64 and float32.
Run this module to print a table:

    python -m spikelab.bench.feast [DATA_DIR] [--samples N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def load_nmnist(data_dir: str | Path, n_samples: int) -> list[np.ndarray]:
    """``n_samples`` recordings spread evenly over the sorted ``*.bin`` files under data_dir."""
    import tonic

    files = sorted(Path(data_dir).rglob("*.bin"))
    if not files:
        raise FileNotFoundError(
            f"no N-MNIST .bin files under {data_dir}; pass the folder holding Train/<label>/"
        )
    step = max(1, len(files) // n_samples)
    chosen = files[::step][:n_samples]
    return [tonic.io.read_mnist_file(str(f), dtype=tonic.datasets.NMNIST.dtype) for f in chosen]


def _best_time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``repeats`` calls (CPU time of this
    process: on a shared machine it shows what one core delivers when it is ours)."""
    wall, cpu = np.inf, np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def _time_modes(model, streams: list, fit_streams: list, repeats: int) -> list[tuple]:
    """(mode, (wall s, cpu s), samples, input events, output events) for fit,
    transform and transform_many; ``model`` is fitted on ``fit_streams`` on the way."""
    model.fit(streams[:1])  # warm-up: compile the kernels
    fit_s = _best_time(lambda: model.fit(fit_streams), 1)
    model.transform(streams[0])
    one_s = _best_time(lambda: [model.transform(s) for s in streams], repeats)
    many_s = _best_time(lambda: model.transform_many(streams), repeats)
    n_out = int(sum(len(o) for o in model.transform_many(streams)))
    n_events = int(sum(len(s) for s in streams))
    n_fit_events = int(sum(len(s) for s in fit_streams))
    return [
        ("transform", one_s, len(streams), n_events, n_out),
        ("transform_many", many_s, len(streams), n_events, n_out),
        ("fit", fit_s, len(fit_streams), n_fit_events, int(model.win_counts_.sum())),
    ]


def _record(mode: str, times: tuple[float, float], n_smp: int, n_ev: int, out: int, workload: str):
    seconds, cpu = times
    return {
        "suite": "feast",
        "backend": "numba",
        "mode": mode,
        "workload": workload,
        "samples_per_s": n_smp / seconds,
        "events_per_s": n_ev / seconds,
        "events_per_cpu_s": n_ev / cpu,
        "synaptic_events_per_s": None,
        "spikes_total": out,
        "cores": 1,
        "ms_per_sample": 1e3 * seconds / n_smp,
        "events_per_sample": n_ev / n_smp,
    }


def run_feast_bench(
    data_dir: str | Path | None = None,
    n_samples: int = 200,
    *,
    n_neurons: int = 64,
    radius: int = 5,
    n_fit: int = 50,
    repeats: int = 3,
    dtypes: tuple[str, ...] = ("float64", "float32"),
    seed: int = 0,
) -> list[dict]:
    """Measure FEAST on one core; return one record per (dtype, mode).

    Learning runs over the first ``n_fit`` samples (one epoch); inference over all
    ``n_samples`` with the learned weights, best of ``repeats`` runs after a warm-up
    call (numba compiles on first use). ``events_per_s`` counts input events;
    ``spikes_total`` is the number of output (feature) events of one pass;
    ``events_per_cpu_s`` divides by the CPU time of this process instead of wall time.
    ``data_dir`` None: see :func:`spikelab.bench.find_data`.
    """
    import numba

    from ..features import FEAST
    from . import find_data

    streams = load_nmnist(find_data(data_dir), n_samples)
    records = []
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        for dtype in dtypes:
            model = FEAST(n_neurons=n_neurons, radius=radius, seed=seed, dtype=dtype)
            workload = f"nmnist-small R={radius} n_neurons={n_neurons} {dtype}"
            for mode, t, n_smp, n_ev, out in _time_modes(model, streams, streams[:n_fit], repeats):
                records.append(_record(mode, t, n_smp, n_ev, out, workload))
    finally:  # the suites after this one in the same process use every thread again
        numba.set_num_threads(threads)
    return records


def format_table(records: list[dict]) -> str:
    """Fixed-width table of the records."""
    head = (
        f"{'mode':<15} {'workload':<42} {'samples/s':>10} {'events/s':>12} "
        f"{'events/cpu-s':>12} {'ms/sample':>10}"
    )
    rows = [head, "-" * len(head)]
    for r in records:
        rows.append(
            f"{r['mode']:<15} {r['workload']:<42} {r['samples_per_s']:>10.0f} "
            f"{r['events_per_s']:>12.3e} {r['events_per_cpu_s']:>12.3e} {r['ms_per_sample']:>10.2f}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=None)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    print(format_table(run_feast_bench(args.data_dir, n_samples=args.samples)))


if __name__ == "__main__":
    main()
