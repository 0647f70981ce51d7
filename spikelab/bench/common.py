"""What the suites share: the N-MNIST LSM workload (spikelab/config/packaged/bench_lsm.toml, the
reservoir of examples/nmnist_lsm.toml) and the encoded samples they all measure on. The
one module of spikelab.bench that reads configs and calls the task stages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..config import ClassifyConfig, DatasetConfig, EncodingConfig, load_config
from ..encoding import EventEncoding
from ..network import Network
from ..spikes import SpikeBatch
from ..tasks.stages import build_reservoir, load_split

__all__ = [
    "LSM_CONFIG",
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
