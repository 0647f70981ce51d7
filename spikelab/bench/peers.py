"""Peer benchmark: the numba backend against Brian2 on the same N-MNIST LSM workload.

Workload ``lsm-nmnist-1000``: examples/nmnist_lsm.toml with 1,000 neurons (the configuration
of the numba suite), N-MNIST recordings from nmnist-small encoded by ``spikelab.encoding``
(1 ms steps, 300 ms, ON/OFF channels). Every engine runs the same network on the same samples:

* numba float64 and float32 (all cores, parallel over the batch; best of ``reps``; the ratio
  to Brian2 is float64's);
* Brian2 runtime, numpy target; Brian2 runtime, cython target (extensions cached after the
  first build); Brian2 cpp_standalone (one build for the whole batch, then the binary), with
  1 thread and, with ``omp_threads`` > 1, with OpenMP.

Brian2 gets the fastest honest set-up: all its samples in one Brian2 run (no per-sample
network construction), code generation and compilation reported separately as ``build_s``,
``samples_per_s`` from the simulation time alone. Brian2 runs a prefix of the samples
(``n_brian2``) because its numpy target needs seconds per sample; ``spikes_total`` of each
Brian2 record sits beside ``numba_spikes`` for the same samples, so a faster engine that
computes fewer spikes is caught. ``python -m spikelab.bench.peers [DATA_DIR [N_BRIAN2]]`` prints
the table and the ratio numba / best Brian2 mode.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numba

from ..backends.base import BackendUnavailable
from ..network import Network
from ..spikes import RecordSpec, SpikeBatch
from . import fmt
from .common import lsm_config, lsm_network, nmnist_batch

WORKLOAD = "lsm-nmnist-1000"
RECORD = RecordSpec(bin_steps=50)  # the features the experiment reads out
BRIAN2_MODES = (  # (mode label, backend options)
    ("runtime-numpy", {"mode": "runtime", "target": "numpy"}),
    ("runtime-cython", {"mode": "runtime", "target": "cython"}),
    ("cpp_standalone", {"mode": "cpp_standalone", "threads": 1}),
)


def workload(data_dir: str, n_samples: int) -> tuple[Network, SpikeBatch]:
    """The 1,000-neuron LSM of examples/nmnist_lsm.toml and ``n_samples`` encoded recordings."""
    cfg = lsm_config()
    batch, enc = nmnist_batch(data_dir, n_samples, cfg.encoding, cfg.dataset)
    return lsm_network(cfg, enc, 1000), batch


def _record(
    backend: str, mode: str, n: int, seconds: float, spikes: int, syn: int, cores: int, **extra: Any
) -> dict[str, Any]:
    return {
        "suite": "peers",
        "backend": backend,
        "mode": mode,
        "workload": WORKLOAD,
        "samples_per_s": n / seconds,
        "synaptic_events_per_s": syn / seconds,
        "spikes_total": int(spikes),
        "cores": cores,
        "n_samples": n,
        "sim_s": seconds,
        **extra,
    }


def bench_numba(
    net: Network, batch: SpikeBatch, reps: int = 2, dtype: str = "float64"
) -> tuple[dict, list[int]]:
    """numba throughput, and the spike count of each sample (for the Brian2 check)."""
    sim = net.compile("numba", dt=batch.dt, record=RECORD, dtype=dtype)
    sim.run(batch.subset(range(min(4, len(batch)))))  # JIT compile (cached after the first run)
    best, per_sample = float("inf"), []
    for _ in range(reps):
        t0 = time.perf_counter()
        spikes = syn = 0
        per_sample = []
        for chunk in batch.chunks(256):
            rec = sim.run(chunk)
            spikes += rec.n_spikes
            syn += rec.n_synaptic_events
            per_sample += rec.counts.sum(axis=(1, 2)).tolist()
        best = min(best, time.perf_counter() - t0)
    return _record(
        "numba", dtype, len(batch), best, spikes, syn, numba.get_num_threads(), build_s=0.0
    ), per_sample


def bench_brian2(
    net: Network, batch: SpikeBatch, label: str, options: dict[str, Any], numba_spikes: int
) -> dict[str, Any]:
    """One Brian2 mode: build once, run every sample of ``batch`` in one Brian2 run."""
    try:
        sim = net.compile("brian2", dt=batch.dt, record=RECORD, **options)
    except BackendUnavailable as exc:
        return {
            "suite": "peers",
            "backend": "brian2",
            "mode": label,
            "workload": WORKLOAD,
            "skipped": str(exc),
        }
    t0 = time.perf_counter()
    rec = sim.run(batch)
    wall = time.perf_counter() - t0
    loop = rec.extras["loop_s"]
    return _record(
        "brian2",
        label,
        len(batch),
        loop,
        rec.n_spikes,
        rec.n_synaptic_events,
        max(1, int(options.get("threads", 1))),
        build_s=wall - loop,
        wall_s=wall,
        numba_spikes=numba_spikes,
        spikes_rel_diff=abs(rec.n_spikes - numba_spikes) / max(numba_spikes, 1),
    )


def run_peers_bench(
    data_dir: str,
    n_samples: int = 500,
    n_brian2: int | None = None,
    modes: tuple[str, ...] | None = None,
    omp_threads: int = 0,
    reps: int = 2,
) -> list[dict[str, Any]]:
    """Records for numba and each Brian2 mode on the same workload.

    n_samples : samples numba runs (throughput over many samples).
    n_brian2 : samples every Brian2 mode runs (default min(n_samples, 40)); a prefix of the
        numba samples, so spike counts compare sample for sample.
    modes : Brian2 mode labels to run (default: all of ``BRIAN2_MODES``).
    omp_threads : also run cpp_standalone with this many OpenMP threads (0: no).
    """
    net, batch = workload(data_dir, n_samples)
    n_b2 = min(len(batch), n_brian2 or 40)
    numba_rec, per_sample = bench_numba(net, batch, reps)
    records = [numba_rec, bench_numba(net, batch, reps, "float32")[0]]
    b2_batch, b2_spikes = batch.subset(range(n_b2)), int(sum(per_sample[:n_b2]))
    todo = [(lbl, opt) for lbl, opt in BRIAN2_MODES if modes is None or lbl in modes]
    if omp_threads > 1:
        todo.append(
            (f"cpp_standalone-omp{omp_threads}", {"mode": "cpp_standalone", "threads": omp_threads})
        )
    for label, options in todo:
        records.append(bench_brian2(net, b2_batch, label, options, b2_spikes))
    timed = [r for r in records[2:] if "samples_per_s" in r]
    if timed:
        best = max(timed, key=lambda r: r["samples_per_s"])
        ratio = numba_rec["samples_per_s"] / best["samples_per_s"]
        for r in records:
            r["numba_over_best_brian2"] = ratio
            r["best_brian2_mode"] = best["mode"]
    return records


def print_peers(records: list[dict[str, Any]]) -> None:
    cols = (
        "backend",
        "mode",
        "n_samples",
        "samples_per_s",
        "synaptic_events_per_s",
        "spikes_total",
        "numba_spikes",
        "build_s",
        "cores",
    )
    rows = [[fmt(r.get(c)) for c in cols] for r in records]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row, r in zip(rows, records, strict=True):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)), r.get("skipped", ""))
    if records and "numba_over_best_brian2" in records[0]:
        r = records[0]
        print(
            f"\nnumba / best Brian2 ({r['best_brian2_mode']}): "
            f"{r['numba_over_best_brian2']:.1f}x samples/s (target >= 50x)"
        )


if __name__ == "__main__":
    from . import find_data

    data = str(find_data(sys.argv[1] if len(sys.argv) > 1 else None))
    n_b2 = int(sys.argv[2]) if len(sys.argv) > 2 else None
    print_peers(run_peers_bench(data, n_brian2=n_b2))
