"""Peer benchmark (``spikelab bench --suite peers``): every engine on the same N-MNIST LSM
workload, in one run, with a table of ratios at the end.

Workload ``lsm-nmnist-1000``: examples/nmnist_lsm.toml with 1,000 neurons (the configuration
of the numba suite), N-MNIST recordings from nmnist-small encoded by ``spikelab.encoding``
(1 ms steps, 300 ms, ON/OFF channels). The engines, each on a prefix of the same samples
(``PREFIX``: the slow ones on fewer):

* numba float64 and float32 (all cores, parallel over the batch; best of ``reps``), with
  ``ceiling_fraction`` as in the numba suite (:mod:`spikelab.bench.ceiling`);
* spikelab's torch backend, ``net.compile("torch", device="cpu", dtype="float32")``, on
  every core (its worker threads);
* norse as a norse user writes it (:mod:`spikelab.bench.norse_peer`): LIFRefracRecurrent,
  dense weights, batch 128, torch on every core; what its model computes differently is in
  the record's ``differences``;
* Brian2 cpp_standalone with 1 thread and with OpenMP on every core (one build for the
  batch, then the binary), runtime cython (extensions cached after the first build) and
  runtime numpy (a few samples: it needs seconds each).

Brian2 gets the fastest honest set-up: all its samples in one Brian2 run, code generation
and compilation reported separately as ``build_s``, ``samples_per_s`` from the simulation
time alone. Every record keeps ``spikes_total`` beside ``numba_spikes`` (numba float64 on the
same samples), so a faster engine that computes fewer spikes is caught. ``python -m
spikelab.bench.peers [DATA_DIR [N_SAMPLES]]`` prints the records and the ratio table.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numba

from ..backends.base import BackendUnavailable
from ..backends.common import prepare
from ..network import Network
from ..spikes import RecordSpec, SpikeBatch
from .ceiling import ceiling_at, ceiling_fraction, measure_ceiling
from .common import all_cores, best_pass, lsm_config, lsm_network, nmnist_batch
from .peer_table import add_ratios, format_ratio_table

WORKLOAD = "lsm-nmnist-1000"
RECORD = RecordSpec(bin_steps=50)  # the features the experiment reads out
#: samples each engine runs (at most ``n_samples``): a prefix of numba's samples
PREFIX = {
    "torch": 256,
    "norse": 128,
    "cpp_standalone": 200,
    "runtime-cython": 40,
    "runtime-numpy": 8,
}


def brian2_modes(cores: int) -> list[tuple[str, dict[str, Any]]]:
    """(mode label, backend options) of every Brian2 mode, fastest first; OpenMP on
    ``cores`` threads (when more than one)."""
    modes = [("cpp_standalone", {"mode": "cpp_standalone", "threads": 1})]
    if cores > 1:
        omp = {"mode": "cpp_standalone", "threads": cores}
        modes.append((f"cpp_standalone-omp{cores}", omp))
    modes.append(("runtime-cython", {"mode": "runtime", "target": "cython"}))
    modes.append(("runtime-numpy", {"mode": "runtime", "target": "numpy"}))
    return modes


def workload(data_dir: str, n_samples: int) -> tuple[Network, SpikeBatch]:
    """The 1,000-neuron LSM of examples/nmnist_lsm.toml and ``n_samples`` encoded recordings."""
    cfg = lsm_config()
    batch, enc = nmnist_batch(data_dir, n_samples, cfg.encoding, cfg.dataset)
    return lsm_network(cfg, enc, 1000), batch


def peer_record(
    backend: str,
    mode: str,
    n: int,
    seconds: float,
    spikes: int,
    syn: int | None,
    cores: int,
    **extra: Any,
) -> dict[str, Any]:
    """A record of the peers suite: ``n`` samples simulated in ``seconds`` (s)."""
    return {
        "suite": "peers",
        "backend": backend,
        "mode": mode,
        "workload": WORKLOAD,
        "samples_per_s": n / seconds,
        "synaptic_events_per_s": None if syn is None else syn / seconds,
        "spikes_total": int(spikes),
        "cores": cores,
        "n_samples": n,
        "sim_s": seconds,
        "load_avg_1min": os.getloadavg()[0],
        **extra,
    }


def skipped(backend: str, mode: str, reason: str) -> dict[str, Any]:
    """The record of an engine that cannot run here."""
    return {"suite": "peers", "backend": backend, "mode": mode, "workload": WORKLOAD} | {
        "skipped": reason
    }


def _check(spikes: int, numba_spikes: int) -> dict[str, Any]:
    return {
        "numba_spikes": int(numba_spikes),
        "spikes_rel_diff": abs(spikes - numba_spikes) / max(numba_spikes, 1),
    }


def bench_numba(
    net: Network,
    batch: SpikeBatch,
    reps: int = 2,
    dtype: str = "float64",
    prefixes: tuple[int, ...] = (),
) -> tuple[dict, list[int]]:
    """numba throughput, and the spike count of each sample (for the peers' check).
    ``prefixes``: numbers of first samples also timed alone (best of ``reps`` + 1), into
    ``samples_per_s_by_prefix``, so that an engine run on fewer samples is compared with
    numba on the same ones (the first N-MNIST samples are busier than the average)."""
    sim = net.compile("numba", dt=batch.dt, record=RECORD, dtype=dtype)
    sim.run(batch.subset(range(min(4, len(batch)))))  # JIT compile (cached after the first run)
    passes = best_pass(sim, batch, reps, per_sample=True)
    by_prefix = {
        str(k): k / best_pass(sim, batch.subset(range(k)), reps + 1).wall_s
        for k in sorted({k for k in prefixes if 0 < k < len(batch)})
    }
    cores = numba.get_num_threads()
    record = peer_record(
        "numba", dtype, len(batch), passes.wall_s, passes.spikes, passes.synaptic_events, cores
    )
    return record | {"samples_per_s_by_prefix": by_prefix}, passes.per_sample


def bench_torch(net: Network, batch: SpikeBatch, numba_spikes: int) -> dict[str, Any]:
    """spikelab's torch backend, CPU float32, on every core (best of two runs)."""
    try:
        sim = net.compile(
            "torch", dt=batch.dt, record=RECORD, device="cpu", dtype="float32", threads=all_cores()
        )
    except BackendUnavailable as exc:
        return skipped("torch", "cpu-float32", str(exc))
    sim.run(batch.subset(range(min(4, len(batch)))))  # warm-up
    best, rec = float("inf"), None
    for _ in range(2):
        t0 = time.perf_counter()
        rec = sim.run(batch)
        best = min(best, time.perf_counter() - t0)
    assert rec is not None
    return peer_record(
        "torch",
        "cpu-float32",
        len(batch),
        best,
        rec.n_spikes,
        rec.n_synaptic_events,
        int(sim.threads),
        batch_size=sim.batch_size,
        **_check(rec.n_spikes, numba_spikes),
    )


def bench_norse(net: Network, batch: SpikeBatch, numba_spikes: int) -> dict[str, Any]:
    """norse's LIFRefracRecurrent on the batch (see :mod:`spikelab.bench.norse_peer`)."""
    try:  # torch and norse: only where installed (the suite runs without them)
        import norse

        from .norse_peer import BATCH_SIZE, differences, run_norse
    except ImportError as exc:
        return skipped("norse", "LIFRefracRecurrent", f"norse not installed: {exc}")
    flat = prepare(net, batch.dt)
    out = run_norse(flat, batch, threads=all_cores())
    spikes = sum(out["per_sample"])
    return peer_record(
        "norse",
        f"LIFRefracRecurrent-float32-b{BATCH_SIZE}",
        len(batch),
        out["sim_s"],
        spikes,
        None,  # dense products: no synaptic events to count
        out["threads"],
        input_s=out["input_s"],
        norse=norse.__version__,
        differences=differences(flat),
        **_check(spikes, numba_spikes),
    )


def bench_brian2(
    net: Network, batch: SpikeBatch, label: str, options: dict[str, Any], numba_spikes: int
) -> dict[str, Any]:
    """One Brian2 mode: build once, run every sample of ``batch`` in one Brian2 run."""
    try:
        sim = net.compile("brian2", dt=batch.dt, record=RECORD, **options)
    except BackendUnavailable as exc:
        return skipped("brian2", label, str(exc))
    t0 = time.perf_counter()
    rec = sim.run(batch)
    wall = time.perf_counter() - t0
    loop = rec.extras["loop_s"]
    return peer_record(
        "brian2",
        label,
        len(batch),
        loop,
        rec.n_spikes,
        rec.n_synaptic_events,
        max(1, int(options.get("threads", 1))),
        build_s=wall - loop,
        wall_s=wall,
        **_check(rec.n_spikes, numba_spikes),
    )


def _numba_records(
    net: Network, batch: SpikeBatch, reps: int, ceiling_samples: int, prefixes: tuple[int, ...]
) -> tuple[list[dict[str, Any]], list[int]]:
    """numba float64 and float32, each with ``ceiling_fraction`` and its rate on the other
    engines' ``prefixes``; float64's spikes per sample."""
    ceiling = measure_ceiling(net, batch.subset(range(min(ceiling_samples, len(batch)))))
    f64, per_sample = bench_numba(net, batch, reps, prefixes=prefixes)
    records = [f64, bench_numba(net, batch, reps, "float32", prefixes)[0]]
    for r in records:
        syn = r["synaptic_events_per_s"] / r["samples_per_s"]
        r["ceiling_s_per_sample"] = ceiling_at(ceiling, syn)
        r["ceiling"] = ceiling
        r["ceiling_fraction"] = ceiling_fraction(
            r["ceiling_s_per_sample"], r["samples_per_s"], r["cores"]
        )
        r |= _check(r["spikes_total"], sum(per_sample))
    return records, per_sample


def run_peers_bench(
    data_dir: str,
    n_samples: int = 500,
    n_brian2: int | None = None,
    modes: tuple[str, ...] | None = None,
    reps: int = 2,
    ceiling_samples: int = 20,
    prefix: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Records for every engine of the module docstring on the same workload, with the
    ratios of :mod:`spikelab.bench.peer_table`.

    n_samples : samples numba runs; every other engine runs a prefix of them (``PREFIX``,
        overridden by ``prefix``), so spike counts compare sample for sample.
    n_brian2 : samples every Brian2 mode runs (default: ``PREFIX``).
    modes : engines to run besides numba: "torch", "norse" and Brian2 mode labels
        (default: all).
    """
    net, batch = workload(data_dir, n_samples)
    sizes = PREFIX | (prefix or {})
    wanted = (lambda m: True) if modes is None else (lambda m: m in modes)

    def size(key: str, n: int | None = None) -> int:
        return min(len(batch), n or sizes.get(key.split("-omp")[0], len(batch)))

    labels = ["torch", "norse"] + [label for label, _ in brian2_modes(all_cores())]
    prefixes = tuple(
        size(k, n_brian2 if k not in ("torch", "norse") else None) for k in labels if wanted(k)
    )
    records, per_sample = _numba_records(net, batch, reps, ceiling_samples, prefixes)

    def head(key: str, n: int | None = None) -> tuple[SpikeBatch, int]:
        k = size(key, n)
        return batch.subset(range(k)), int(sum(per_sample[:k]))

    if wanted("torch"):
        records.append(bench_torch(net, *head("torch")))
    if wanted("norse"):
        records.append(bench_norse(net, *head("norse")))
    for label, options in brian2_modes(all_cores()):
        if wanted(label):
            b2_batch, b2_spikes = head(label, n_brian2)
            records.append(bench_brian2(net, b2_batch, label, options, b2_spikes))
    return add_ratios(records)


def print_summary(records: list[dict[str, Any]]) -> None:
    """The ratio table of ``records`` (printed by ``spikelab bench`` after the records)."""
    print("ratios (f32/this, f64/this: numba float32's, float64's samples/s over the engine's)")
    print(format_ratio_table(records))
    for r in records:
        for line in r.get("differences", ()):
            print(f"  {r['backend']} differs: {line}")


if __name__ == "__main__":
    from . import find_data, print_table

    data = str(find_data(sys.argv[1] if len(sys.argv) > 1 else None))
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    recs = run_peers_bench(data, n_samples=n)
    print_table(recs)
    print_summary(recs)
