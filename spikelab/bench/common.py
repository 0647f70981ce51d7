"""What the suites share: the N-MNIST LSM workload (spikelab/config/packaged/bench_lsm.toml, the
reservoir of examples/nmnist_lsm.toml), the encoded samples they all measure on, and the
timed passes of a simulation over them. The one module of spikelab.bench that reads configs
and calls the task stages."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import ClassifyConfig, DatasetConfig, EncodingConfig, load_config
from ..encoding import EventEncoding
from ..network import Network
from ..spikes import SpikeBatch
from ..tasks.stages import build_reservoir, load_split

__all__ = [
    "LSM_CONFIG",
    "Passes",
    "all_cores",
    "best_pass",
    "build_reservoir",
    "load_split",
    "lsm_config",
    "lsm_network",
    "nmnist_batch",
    "quiet",
]

#: The experiment config whose reservoir and encoding the numba, torch, peers and lava
#: suites measure (they set n_neurons themselves); package data, found from any folder.
LSM_CONFIG = Path(__file__).resolve().parents[1] / "config" / "packaged" / "bench_lsm.toml"


def all_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0))


def quiet(message: str) -> None:
    """A ``log`` for the task stages that prints nothing."""


def lsm_config(path: str | Path = LSM_CONFIG) -> ClassifyConfig:
    """The experiment config at ``path`` (default: the packaged bench workload)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no bench workload config at {path}")
    return ClassifyConfig.from_dict(load_config(path))


def nmnist_batch(
    data_dir: str | Path,
    n_samples: int,
    encoding: EncodingConfig,
    dataset: DatasetConfig | None = None,
) -> tuple[SpikeBatch, EventEncoding]:
    """The first ``n_samples`` recordings of ``data_dir`` (train, then test, of the
    experiment's split with ``test_fraction`` 0.5 and seed 0), encoded by ``encoding``.
    ``dataset``: the rest of the ``[dataset]`` section (default: N-MNIST's defaults)."""
    dataset = replace(dataset or DatasetConfig(), root=str(data_dir), test_fraction=0.5)
    split = load_split(dataset, 0, quiet)
    events = (split.train_events + split.test_events)[:n_samples]
    enc = encoding.make(split.sensor_size)
    return enc.encode(events), enc


def lsm_network(cfg: ClassifyConfig, enc: EventEncoding, n_neurons: int) -> Network:
    """The config's reservoir with ``n_neurons`` neurons, seed 0."""
    return build_reservoir(replace(cfg.reservoir, n_neurons=n_neurons), enc, 0)


@dataclass
class Passes:
    """The fastest of several passes over a batch: wall and CPU seconds (CPU summed over
    threads), and the spikes and synaptic events of a pass (per sample with ``per_sample``)."""

    wall_s: float = float("inf")
    cpu_s: float = float("inf")
    spikes: int = 0
    synaptic_events: int = 0
    per_sample: list[int] = field(default_factory=list)


def best_pass(sim: Any, batch: SpikeBatch, reps: int, per_sample: bool = False) -> Passes:
    """``reps`` passes of ``sim.run`` over ``batch`` in chunks of 256 samples, the best
    kept; ``per_sample``: also each sample's spike count (summed inside the timed pass)."""
    out = Passes()
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        out.spikes = out.synaptic_events = 0
        out.per_sample = []
        for chunk in batch.chunks(256):
            rec = sim.run(chunk)
            out.spikes += rec.n_spikes
            out.synaptic_events += rec.n_synaptic_events
            if per_sample:
                out.per_sample += rec.counts.sum(axis=(1, 2)).tolist()
        out.wall_s = min(out.wall_s, time.perf_counter() - t0)
        out.cpu_s = min(out.cpu_s, time.process_time() - c0)
    return out
