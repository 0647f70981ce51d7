"""The stages every task shares: load a split, build a reservoir, extract features, run a
simulation chunk by chunk, and summarise its spikes and backend extras.

Each stage takes a typed config section (``spikelab.config``; its plain table works too)
and plain values, and returns a plain value; none reaches back upstream.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .. import reservoirs
from ..backends.base import Simulation
from ..config import BackendConfig, DatasetConfig, FeaturesConfig, ReservoirConfig
from ..encoding import EventEncoding
from ..logs import Log, forwarding
from ..network import Network
from ..progress import bar, progress_bars, show_bars
from ..spikes import Recording, RecordSpec, SpikeBatch

logger = logging.getLogger(__name__)


@dataclass
class Stopwatch:
    """Wall time of named stages: ``with clock("load_s"): ...``; ``total()`` since creation."""

    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def __call__(self, key: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.timings[key] = time.perf_counter() - t0

    def total(self) -> float:
        self.timings["total_s"] = time.perf_counter() - self.started
        return self.timings["total_s"]


# ---- load a split ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Split:
    train_events: Sequence[np.ndarray]
    y_train: np.ndarray
    test_events: Sequence[np.ndarray]
    y_test: np.ndarray
    sensor_size: tuple[int, int, int]
    description: str
    train_ids: tuple[str, ...] = ()  # sample files relative to the dataset root, if any
    test_ids: tuple[str, ...] = ()


def sample_ids(ds: Any, root: Path) -> tuple[str, ...]:
    """The files of a dataset's samples relative to ``root`` (POSIX); () if not files."""
    paths = getattr(ds, "paths", None)
    if not paths:
        return ()
    base = root.expanduser().resolve()
    return tuple(Path(os.path.relpath(Path(p).resolve(), base)).as_posix() for p in paths)


def limit_per_class(ds: Any, max_per_class: int, seed: int) -> Any:
    """At most ``max_per_class`` samples of each class, drawn by ``seed`` (0: all)."""
    if not max_per_class:
        return ds
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [
            np.sort(rng.permutation(np.flatnonzero(ds.labels == c))[:max_per_class])
            for c in np.unique(ds.labels)
        ]
    )
    return ds.subset(np.sort(keep))


def generate_dataset(dataset: DatasetConfig, root: Path, seed: int, log: Log | None = None) -> None:
    """Write the generated dataset ``dataset.generate`` into ``root`` (a progress bar as
    ``spikelab.progress`` decides; ``log``, the older API, also receives the line)."""
    from ..datasets import generate_nmnist_like, generate_ntidigits_like

    generators = {"nmnist-like": generate_nmnist_like, "ntidigits-like": generate_ntidigits_like}
    kind = dataset.generate
    with forwarding(log):
        logger.info(
            "generating the %s dataset into %s (once; see docs/datasets.md, docs/audio.md)",
            kind, root,
        )  # fmt: skip
    root.parent.mkdir(parents=True, exist_ok=True)
    generators[kind](root, per_class=int(dataset.per_class), seed=seed, progress=show_bars())


def open_dataset(
    dataset: DatasetConfig, root: Path, train: bool, transform: Any = None, seed: int = 0
) -> Any:
    """One split of the ``[dataset]`` section, ``transform`` applied per sample; through
    the one-file disk cache when ``disk_cache`` is set or ``download = true``. ``seed``:
    FSDD's stratified split (the other datasets split in :func:`read_split`)."""
    from ..datasets import nmnist, ntidigits

    if dataset.name == "nmnist":
        ds = nmnist(root, train=train, on_error=dataset.on_error, transform=transform)
    elif dataset.name == "fsdd":
        ds = open_fsdd(dataset, root, train, transform, seed)
    else:
        ds = ntidigits(root, train=train, label_map=dataset.label_map, transform=transform)
    cache = dataset.disk_cache or (str(root / "spikelab-cache") if dataset.download else "")
    if not cache:
        return ds
    from ..datasets.download import disk_cached

    split = "train" if train else "test"
    return disk_cached(ds, Path(cache) / f"{dataset.name}-{split}.h5")


def open_fsdd(dataset: DatasetConfig, root: Path, train: bool, transform: Any, seed: int) -> Any:
    """FSDD's recordings as cochlea events (``spikelab.datasets.fsdd_events``), split by
    ``dataset.split`` (FSDD's own, stratified by ``seed``, or leave-speakers-out)."""
    from ..datasets import fsdd_events

    return fsdd_events(
        root,
        train,
        cochlea=dataset.cochlea_config(),
        cache_dir=dataset.cochlea_cache or None,
        progress=show_bars(),
        split=dataset.split,
        test_fraction=float(dataset.test_fraction),
        seed=seed,
        test_speakers=dataset.test_speakers,
        on_error=dataset.on_error,
        transform=transform,
    )


def has_test_split(dataset: DatasetConfig, root: Path) -> bool:
    test_dirs = (root / "Test", root / "NMNIST" / "Test")  # a folder, or tonic's download
    return dataset.name in ("ntidigits", "fsdd") or any(d.is_dir() for d in test_dirs)


def data_seed(dataset: DatasetConfig, seed: int) -> int:
    """The seed of the data (split, sample limits, generation): ``dataset.seed``, else the
    run's seed."""
    return int(seed) if dataset.seed is None else int(dataset.seed)


def reservoir_seed(reservoir: ReservoirConfig, seed: int) -> int:
    """The seed the reservoir is built with: ``reservoir.seed``, else the run's seed."""
    return int(reservoir.params.get("seed", seed))


def read_samples(ds: Any, desc: str, lazy: bool = False) -> Sequence[np.ndarray]:
    """Every sample's events: read now, in order (a progress bar: ``spikelab.progress``),
    or with ``lazy`` and a file-backed ``ds``, a ``LazyEvents`` reading each when asked."""
    if lazy:
        from ..datasets.lazy import lazy_events

        events = lazy_events(ds)
        if events is not None:
            return events
        logger.debug("%s: the samples are read now (not from files: %r)", desc, ds)
    return [ds[i][0] for i in bar(range(len(ds)), desc=desc, unit="sample", leave=False)]


def load_split(
    dataset: DatasetConfig | Mapping[str, Any],
    seed: int,
    log: Log | None = None,
    transform: Any = None,
    *,
    lazy: bool = False,
) -> Split:
    """Train/test events and labels of the ``[dataset]`` section: the folder's own split, or
    a stratified split by ``dataset.seed`` (default ``seed``) when it has no ``Test/``.
    ``transform`` (e.g. ``ClassifyConfig.event_transform()``) is applied to every sample;
    ``download = true`` first lets tonic fetch the set into ``root``. ``lazy``: the events
    of a file-backed dataset as ``spikelab.datasets.lazy.LazyEvents`` (each sample read
    from its file when used, the same events; the root made absolute so that a worker in
    another folder finds the files), else lists read now. Lines go to the ``spikelab`` logger;
    ``log`` (the older API) receives them too (``spikelab.logs``)."""
    with forwarding(log):
        return read_split(dataset, seed, transform, lazy=lazy)


def read_split(
    dataset: DatasetConfig | Mapping[str, Any],
    seed: int,
    transform: Any = None,
    *,
    lazy: bool = False,
) -> Split:
    """:func:`load_split` without ``log``."""
    from ..datasets import stratified_split

    dataset = DatasetConfig.coerce(dataset)
    seed = data_seed(dataset, seed)
    root = Path(dataset.root).expanduser().absolute()  # the same files from any folder
    if not root.exists() and dataset.generate:
        generate_dataset(dataset, root, seed)
    if dataset.download:
        from ..datasets.download import download

        logger.info("dataset.download: tonic fetches %s into %s if absent", dataset.name, root)
        for train_part in (True, False):
            download(dataset.name, root, train_part)
    train_ds = open_dataset(dataset, root, True, transform, seed)
    train = limit_per_class(train_ds, dataset.max_per_class, seed)
    if has_test_split(dataset, root):
        test_ds = open_dataset(dataset, root, False, transform, seed)
        test = limit_per_class(test_ds, dataset.max_per_class, seed)
        desc = f"{dataset.root}: train ({len(train)}) / test ({len(test)})"
    else:
        tr, te = stratified_split(train.labels, float(dataset.test_fraction), seed)
        train, test = train.subset(tr), train.subset(te)
        desc = f"{dataset.root}: stratified split of Train by seed {seed}: "
        desc += f"{len(train)} / {len(test)}"
    return Split(
        read_samples(train, "read train", lazy),
        np.asarray(train.labels),
        read_samples(test, "read test", lazy),
        np.asarray(test.labels),
        tuple(train.sensor_size),
        desc,
        sample_ids(train, root),
        sample_ids(test, root),
    )


# ---- build a reservoir ----------------------------------------------------------------------
def cube_shape(n: int) -> tuple[int, int, int]:
    """The most cube-like (a, b, c), a <= b <= c, with a * b * c == n."""
    best = (1, 1, n)
    for a in range(1, int(round(n ** (1 / 3))) + 2):
        if n % a:
            continue
        for b in range(a, int(math.isqrt(n // a)) + 1):
            if (n // a) % b == 0:
                c = n // a // b
                if c / a < best[2] / best[0]:
                    best = (a, b, c)
    return best


def _lsm_column_kwargs(kw: dict[str, Any], n: int | None, enc: EventEncoding) -> dict[str, Any]:
    if n is not None:
        kw["shape"] = cube_shape(int(n))
    kw["shape"] = tuple(kw.get("shape", (10, 10, 10)))
    kw.setdefault("input_shape", enc.input_shape)
    for key in ("bias_range", "t_ref", "tau_syn", "input_shape"):
        if key in kw:
            kw[key] = tuple(kw[key])
    return kw


def build_reservoir(
    reservoir: ReservoirConfig | Mapping[str, Any], enc: EventEncoding, seed: int
) -> Network:
    """The reservoir of the ``[reservoir]`` section for inputs of encoding ``enc``:
    ``n_neurons`` becomes the builder's size (a cube-like grid for ``lsm_column``, 80 %
    excitatory for ``izhikevich_network``); the other keys are its keyword arguments."""
    reservoir = ReservoirConfig.coerce(reservoir)
    kw = dict(reservoir.params)
    kw.setdefault("seed", seed)
    n = reservoir.n_neurons
    if reservoir.builder == "lsm_column":
        kw = _lsm_column_kwargs(kw, n, enc)
        return reservoirs.lsm_column(n_inputs=enc.n_channels, dt=enc.dt, **kw)
    if reservoir.builder == "izhikevich_network":
        if n is not None:
            kw["n_exc"], kw["n_inh"] = int(round(0.8 * int(n))), int(n) - int(round(0.8 * int(n)))
        if kw.get("input_receptive_field") is not None:  # patches on the encoding's sensor
            kw["input_shape"] = tuple(kw.get("input_shape", enc.input_shape))
        return reservoirs.izhikevich_network(n_inputs=enc.n_channels, **kw)
    if n is not None:
        kw["n_neurons"] = int(n)
    return reservoirs.lin2025_lsm(n_inputs=enc.n_channels, dt=enc.dt, **kw)


def compile_simulation(
    net: Network, backend: BackendConfig, dt: float, record: RecordSpec
) -> Simulation:
    """``net`` compiled on the ``[backend]`` section's backend with its options."""
    logger.debug("compiling on %r with %s, dt %s ms, %s", backend.name, backend.params, dt, record)
    return net.compile(backend.name, dt=dt, record=record, **backend.params)


# ---- features -------------------------------------------------------------------------------
def apply_features(
    features: FeaturesConfig | Mapping[str, Any], split: Split, seed: int, progress: bool
) -> tuple[Split, tuple[int, int, int], Any]:
    """The ``[features]`` stage: (split with transformed events, new sensor size, fitted
    model or None).

    ``kind = "feast"``: FEAST (Afshar et al. 2020) learns its features online on the
    training events (``fit_samples`` of them, 0 = all), then both splits are transformed
    into events whose polarity is the feature index, so the sensor becomes
    (W, H, n_neurons) and the encoding, the reservoir's input port and the histogram
    baseline take them unchanged. The other keys are FEAST's hyperparameters.
    """
    features = FeaturesConfig.coerce(features)
    if features.kind in ("none", ""):
        return split, split.sensor_size, None
    from ..features import FEAST

    params = {k: v for k, v in features.params.items() if k != "fit_samples"}
    params.setdefault("seed", seed)
    model = FEAST(**params)
    n_fit = int(features.params.get("fit_samples", 0)) or len(split.train_events)
    rng = np.random.default_rng(seed)
    fit_idx = np.sort(rng.permutation(len(split.train_events))[:n_fit])
    logger.info("FEAST: learning %d features on %d training samples", model.n_neurons, len(fit_idx))
    with progress_bars(progress):  # FEAST's own bars (fit, transform) follow the run's choice
        model.fit([split.train_events[i] for i in fit_idx], sensor_size=split.sensor_size)
        train = model.transform_many(split.train_events, sensor_size=split.sensor_size)
        test = model.transform_many(split.test_events, sensor_size=split.sensor_size)
    miss = model.n_misses_ / max(model.n_events_seen_, 1)
    logger.info("FEAST: %d events seen, miss rate %.3f", model.n_events_seen_, miss)
    w, h, _ = split.sensor_size
    out = replace(
        split,
        train_events=train,
        test_events=test,
        sensor_size=(w, h, int(model.n_neurons)),
        description=split.description + f"; FEAST {model.n_neurons} features",
    )
    return out, out.sensor_size, model


# ---- run chunk by chunk ---------------------------------------------------------------------
class CountsSink(Protocol):
    """Where :func:`run_chunked` puts each chunk's counts as it arrives, so that the run holds
    a few chunks, not the whole count matrix: :class:`InMemory`, or an HDF5 dataset written
    chunk by chunk (``spikelab.results.H5Counts``, the run's ``states.h5``)."""

    def write(self, start: int, counts: np.ndarray) -> None:
        """Store ``counts`` ``[chunk, bins, neurons]`` of samples ``start, start + 1, ...``."""

    def result(self) -> Any:
        """The counts ``[samples, bins, neurons]`` written: an array, or an h5py.Dataset."""


class InMemory:
    """The counts gathered into one array (``run_chunked``'s default sink)."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def write(self, start: int, counts: np.ndarray) -> None:
        self.parts.append(counts)

    def result(self) -> np.ndarray:
        return np.concatenate(self.parts)


@dataclass(frozen=True)
class ChunkedRun:
    """Counts of a whole batch run chunk by chunk, with totals for statistics."""

    counts: Any  # [samples, bins, neurons]: an array, or the sink's (an h5py.Dataset)
    n_spikes: int
    n_synaptic_events: int
    wall_time_s: float
    populations: tuple[tuple[str, int, int], ...]
    first: Recording  # the first chunk's recording (raster, voltages when recorded)
    extras: tuple[tuple[str, float, int], ...] = ()  # (key, per-sample value, chunk size)


def _chunks(
    data: SpikeBatch | Sequence[np.ndarray], encoding: EventEncoding | None, size: int
) -> Iterator[SpikeBatch]:
    if isinstance(data, SpikeBatch):
        yield from data.chunks(size)
        return
    if encoding is None:
        raise ValueError("event arrays need an encoding=EventEncoding(...) to become spikes")
    if encoding.n_steps is None and encoding.duration is None:
        raise ValueError(
            "encoding in chunks needs a fixed length: set encoding.duration (ms) or n_steps"
        )
    for start in range(0, len(data), size):
        yield encoding.encode([data[i] for i in range(start, min(start + size, len(data)))])


def _recordings(
    sim: Simulation, data: SpikeBatch | Sequence[np.ndarray], encoding: Any, size: int
) -> Iterator[Recording]:
    """The recordings of the chunks in order: in-process, or, inside
    ``spikelab.sweeps.cluster.use_client(client)`` (``spikelab run --scheduler``), encoded and
    simulated on the cluster's workers, a few chunks in flight (the same chunks, so the
    same counts bit for bit)."""
    from ..sweeps.cluster import current_client, encode_and_run, ordered_map

    client = current_client()
    if client is None:
        return (sim.run(chunk) for chunk in _chunks(data, encoding, size))
    if isinstance(data, SpikeBatch):
        return ordered_map(client, encode_and_run, data.chunks(size), shared=(sim, None))
    next(_chunks([], encoding, size), None)  # the encoding checks, before anything is sent
    return ordered_map(client, encode_and_run, chunk_items(data, size), shared=(sim, encoding))


def chunk_items(data: Sequence[np.ndarray], size: int) -> Iterator[Sequence[np.ndarray]]:
    """The chunks of ``data`` as they travel to a worker: a lazy view of ``LazyEvents``
    (file references, read by the worker), else the chunk's event arrays."""
    from ..datasets.lazy import LazyEvents

    n, lazy = len(data), isinstance(data, LazyEvents)
    for s in range(0, n, size):
        yield data[s : min(s + size, n)] if lazy else [data[i] for i in range(s, min(s + size, n))]


def _per_sample_extras(rec: Recording, size: int) -> list[tuple[str, float, int]]:
    return [
        (k, float(v), size)
        for k, v in rec.extras.items()
        if "per_sample" in k and isinstance(v, int | float | np.number)
    ]


def run_chunked(
    sim: Simulation,
    data: SpikeBatch | Sequence[np.ndarray],
    *,
    encoding: EventEncoding | None = None,
    chunk_size: int = 128,
    progress: bool = False,
    desc: str = "simulate",
    sink: CountsSink | None = None,
) -> ChunkedRun:
    """Run a batch, or a (lazy) sequence of event arrays encoded chunk by chunk, in chunks
    of ``chunk_size`` samples, keeping only the bin counts, each chunk's handed to ``sink``
    as it arrives (default :class:`InMemory`: one array; an HDF5 sink keeps the memory of
    the run bounded by a few chunks). ``ChunkedRun.counts`` is ``sink.result()``.

    Scalar ``Recording.extras`` whose key contains "per_sample" (e.g. a backend's
    ``energy_per_sample_j``) are kept per chunk so callers can average them.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    sink = InMemory() if sink is None else sink
    n_done, n_spk, n_syn, wall, first, extras = 0, 0, 0, 0.0, None, []
    with bar(total=len(data), desc=desc, unit="sample", progress=progress) as shown:
        for k, rec in enumerate(_recordings(sim, data, encoding, chunk_size), 1):
            first = first or rec
            sink.write(n_done, rec.counts)
            n_done += len(rec.counts)
            n_spk += rec.n_spikes
            n_syn += rec.n_synaptic_events
            wall += rec.wall_time_s
            extras += _per_sample_extras(rec, len(rec.counts))
            shown.update(len(rec.counts))
            logger.debug(
                "%s: chunk %d, %d of %d samples, %d spikes, %.3f s simulated wall time",
                desc, k, n_done, len(data), rec.n_spikes, rec.wall_time_s,
            )  # fmt: skip
    if first is None:
        raise ValueError("run_chunked got no samples")
    return ChunkedRun(sink.result(), n_spk, n_syn, wall, first.populations, first, tuple(extras))


def sample_totals(counts: Any, chunk_size: int = 128) -> np.ndarray:
    """Spikes per sample and neuron, ``[samples, 1, neurons]``, of counts ``[samples, bins,
    neurons]`` (an array or an h5py.Dataset, read ``chunk_size`` samples at a time)."""
    n = len(counts)
    parts = [
        np.asarray(counts[s : min(s + chunk_size, n)]).sum(axis=1, keepdims=True)
        for s in range(0, n, max(int(chunk_size), 1))
    ]
    return np.concatenate(parts) if parts else np.zeros((0, 1, counts.shape[2]), np.int64)


# ---- statistics -----------------------------------------------------------------------------
def spike_stats(net: Network, counts: np.ndarray, seconds: float) -> dict[str, Any]:
    """Rate (Hz) and silent fraction per population, spikes per sample."""
    stats: dict[str, Any] = {}
    for name, sl in net.population_slices().items():
        c = counts[:, :, sl].sum(axis=1)
        stats[f"rate_hz_{name}"] = float(c.mean() / seconds)
        stats[f"silent_fraction_{name}"] = float(np.mean(c.sum(axis=0) == 0))
    stats["spikes_per_sample"] = float(counts.sum() / len(counts))
    return stats


def backend_options(sim: Simulation, backend: BackendConfig) -> dict[str, Any]:
    """The backend options in force: what the compiled simulation reports
    (``effective_options()``, e.g. the crossbar's device preset and every device parameter),
    else the ``[backend]`` section's own options."""
    report = getattr(sim, "effective_options", None)
    if callable(report):
        return dict(report())
    return {**constructor_defaults(backend.name), **backend.params}


def constructor_defaults(name: str) -> dict[str, Any]:
    """The defaults of backend ``name``'s constructor options (plain values only): what is
    in force for an option the config leaves out ({} when the class cannot be read)."""
    import inspect

    from ..backends.base import BackendUnavailable, backend_class

    try:
        params = inspect.signature(backend_class(name)).parameters.values()
    except (BackendUnavailable, ValueError, TypeError):
        return {}
    plain = (str, int, float, bool, type(None))
    return {
        p.name: p.default
        for p in params
        if p.default is not inspect.Parameter.empty and isinstance(p.default, plain)
    }


def backend_extras(*runs: ChunkedRun) -> dict[str, float]:
    """Per-sample scalar extras reported by a backend (e.g. energy), averaged over samples."""
    sums: dict[str, float] = {}
    n = 0
    for run in runs:
        for key, value, size in run.extras:
            sums[key] = sums.get(key, 0.0) + float(value) * size
        n += len(run.counts)
    return {k: v / n for k, v in sums.items()}
