"""Sweeps on Dask (``spikelab bench --suite sweep``).

One 8-point sweep (reservoir.weight_scale x reservoir.input_weight, 2 x 2, seeds 0-1) of
the bench workload (spikelab/config/packaged/bench_lsm.toml at 300 neurons, readout ridge)
over ``n_samples`` recordings of the data (default 100: 80 train, 20 test per point), run
three ways into fresh folders:

* ``in-process``: the points one after another in this process (``--no-dask``);
* ``dask-1``: an embedded LocalCluster of 1 single-threaded worker process;
* ``dask-2``: the same with 2 workers.

Cluster start-up and a first point in this process and on every worker (imports, numba's
kernel cache, the data's first read) are excluded (done before the clock starts); everything
else a sweep does (sending configs, running, returning and writing the folders, the tables
and plots) is timed. Records: wall time, points/s, ``speedup_2_vs_1`` (dask-1 wall / dask-2
wall) and ``overhead_per_point_s`` ((dask-1 wall - in-process wall) / points: what Dask adds
per point on one worker).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .common import lsm_config

GRID = ("reservoir.weight_scale=0.05,0.1", "reservoir.input_weight=30.0,40.0")
SEEDS = "0-1"
N_NEURONS = 300


def _config(data_dir: str, n_samples: int) -> dict[str, Any]:
    cfg = lsm_config()
    cfg = replace(cfg, reservoir=replace(cfg.reservoir, n_neurons=N_NEURONS))
    raw = cfg.to_dict()
    raw["dataset"].update(root=str(data_dir), max_per_class=max(1, int(n_samples) // 10))
    raw["baseline"] = {**raw.get("baseline", {}), "n_time_bins": 0}
    raw["output"] = {**raw.get("output", {}), "plots": False}
    raw["readout"] = {"kind": "ridge"}
    return raw


def _warm(raw: dict[str, Any]) -> str:
    """One point run here (imports, the kernels' cache, the data's first read): outside
    the clock, in this process and on every worker."""
    from ..sweeps import make_points, parse_grid
    from ..sweeps.point import run_point

    with tempfile.TemporaryDirectory(prefix="spikelab-bench-warm-") as tmp:
        point = make_points(raw, parse_grid([GRID[0].split(",")[0]]), [0], Path(tmp))[0]
        return str(run_point(point.config)["status"])


def _timed(raw: dict[str, Any], client: Any = None) -> tuple[float, Any]:
    from ..sweeps import sweep

    with tempfile.TemporaryDirectory(prefix="spikelab-bench-sweep-") as tmp:
        t0 = time.perf_counter()
        result = sweep(
            raw, list(GRID), SEEDS, out=Path(tmp) / "sweep", client=client,
            dask=client is not None, progress=False,
        )  # fmt: skip
        return time.perf_counter() - t0, result


def _record(mode: str, wall: float, result: Any, n_samples: int) -> dict[str, Any]:
    n = len(result.rows)
    return {
        "suite": "sweep",
        "backend": "numba",
        "mode": mode,
        "workload": f"sweep-8pt-lsm{N_NEURONS}-{n_samples}samples",
        "samples_per_s": n * n_samples / wall,
        "synaptic_events_per_s": None,
        "spikes_total": None,
        "cores": os.cpu_count(),
        "wall_s": wall,
        "points": n,
        "points_per_s": n / wall,
        "failed": result.failed,
    }


def run_sweep_bench(data_dir: str, n_samples: int = 100) -> list[dict[str, Any]]:
    """The three timings and the derived figures (see the module's docstring)."""
    try:
        from ..sweeps.cluster import local_cluster
    except ImportError as e:  # pragma: no cover - dask missing
        return [{"suite": "sweep", "skipped": f"dask not installed: {e}"}]
    raw = _config(data_dir, n_samples)
    _warm(raw)
    wall, result = _timed(raw)
    records = [_record("in-process", wall, result, n_samples)]
    for workers in (1, 2):
        with local_cluster(workers) as client:
            client.wait_for_workers(workers, timeout=300)
            # a task on each worker (client.run would block the worker's event loop: no
            # heartbeats for as long as the point runs)
            names = list(client.scheduler_info()["workers"])
            client.gather([client.submit(_warm, raw, workers=[w], pure=False) for w in names])
            wall, result = _timed(raw, client)
        records.append(_record(f"dask-{workers}", wall, result, n_samples))
    inproc, one, two = (r["wall_s"] for r in records)
    for r in records:
        r["speedup_2_vs_1"] = one / two
        r["overhead_per_point_s"] = (one - inproc) / records[0]["points"]
    return records


if __name__ == "__main__":
    from . import find_data, print_table

    print_table(run_sweep_bench(str(find_data())))
