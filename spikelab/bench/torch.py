"""Torch / norse backend throughput on N-MNIST (``spikelab bench --suite torch``).

Workload ``lsm-nmnist-1000``: examples/nmnist_lsm.toml with 1,000 neurons over nmnist-small
(the same reservoir, encoding and samples as the numba suite's line of that name), in three
modes: ``cpu-float32``, ``cpu-float64`` and ``cuda-float32``; the CUDA line carries a
``skipped`` reason where no GPU is visible. ``cores`` is the number of CPU worker threads
(each runs whole chunks of the batch with one torch thread; see spikelab/backends/torch/).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ..network import Network
from ..spikes import RecordSpec, SpikeBatch
from .common import lsm_config, lsm_network, nmnist_batch

MODES = (("cpu", "float32"), ("cpu", "float64"), ("cuda", "float32"))


def _skip_reason(device: str) -> str | None:
    if device == "cuda" and not torch.cuda.is_available():
        built = "built without CUDA" if torch.version.cuda is None else "no GPU visible"
        return f"no CUDA GPU here (torch {torch.__version__}, {built})"
    return None


def _measure(
    net: Network,
    batch: SpikeBatch,
    dt: float,
    device: str,
    dtype: str,
    threads: int | None,
    batch_size: int | None,
    reps: int,
) -> dict[str, Any]:
    """Best wall time of ``reps`` runs over the whole batch (after a warm-up run)."""
    sim = net.compile(
        "torch",
        dt=dt,
        record=RecordSpec(bin_steps=50),
        device=device,
        dtype=dtype,
        threads=threads,
        batch_size=batch_size,
    )
    sim.run(batch.subset(range(min(4, len(batch)))))  # warm-up: tensors built, MKL loaded
    best, rec = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        rec = sim.run(batch)
        best = min(best, time.perf_counter() - t0)
    assert rec is not None
    workers = int(sim.threads) if sim.threads is not None else torch.get_num_threads()
    return {
        "samples_per_s": len(batch) / best,
        "synaptic_events_per_s": rec.n_synaptic_events / best,
        "spikes_total": int(rec.n_spikes),
        "cores": workers if device == "cpu" else 1,
        "spikes_per_neuron_per_sample": rec.n_spikes / len(batch) / net.n_neurons,
        "wall_s": best,
        "sparse": rec.extras["sparse"],
        "batch_size": sim.batch_size,
    }


def run_torch_bench(
    data_dir: str,
    n_samples: int = 1000,
    *,
    threads: int | None = None,
    batch_size: int | None = None,
    reps: int = 2,
    modes: tuple[tuple[str, str], ...] = MODES,
) -> list[dict[str, Any]]:
    """One record per mode on the 1,000-neuron N-MNIST LSM (see the module docstring)."""
    cfg = lsm_config()
    batch, enc = nmnist_batch(data_dir, n_samples, cfg.encoding, cfg.dataset)
    net = lsm_network(cfg, enc, 1000)
    out = []
    for device, dtype in modes:
        rec: dict[str, Any] = {
            "suite": "torch",
            "backend": "torch",
            "mode": f"{device}-{dtype}",
            "workload": "lsm-nmnist-1000",
            "samples_per_s": None,
            "synaptic_events_per_s": None,
            "spikes_total": None,
            "cores": None,
            "n_neurons": net.n_neurons,
            "n_samples": len(batch),
            "torch": torch.__version__,
        }
        reason = _skip_reason(device)
        if reason:
            rec["skipped"] = reason
        else:
            rec.update(_measure(net, batch, enc.dt, device, dtype, threads, batch_size, reps))
        out.append(rec)
    return out


if __name__ == "__main__":
    from . import find_data, print_table

    print_table(run_torch_bench(str(find_data())))
