"""config -> run -> results folder.

    spikelab run examples/nmnist_lsm.toml --backend numba --set reservoir.n_neurons=2000

Stages: load the dataset (train/test folders, or a stratified split by the seed), encode the
events (optionally after FEAST), build the reservoir, simulate train and test in chunks on
the chosen backend, fit the readout, fit the histogram baseline on the same split, write
the results folder atomically.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import reservoirs
from .config import resolve
from .encoding import EventEncoding, count_histogram
from .network import Network
from .readout import OnlineReadout, make_readout
from .spikes import RecordSpec
from .transformer import run_chunked

Log = Callable[[str], None]


class EventsView(Sequence):
    """The event arrays of a dataset, read lazily (``ds[i][0]``) so memory stays bounded."""

    def __init__(self, ds: Any) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: Any) -> np.ndarray:
        if isinstance(i, slice):
            return [self.ds[j][0] for j in range(*i.indices(len(self)))]
        return self.ds[i][0]

    def __add__(self, other: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Concatenation reads both (for small selections such as benchmarks)."""
        return list(self) + list(other)


@dataclass(frozen=True)
class Split:
    train_events: Sequence[np.ndarray]
    y_train: np.ndarray
    test_events: Sequence[np.ndarray]
    y_test: np.ndarray
    sensor_size: tuple[int, int, int]
    description: str


def _limit(ds: Any, max_per_class: int, seed: int) -> Any:
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


def _generate(dcfg: dict[str, Any], root: Path, seed: int, log: Log) -> None:
    from .datasets import generate_nmnist_like, generate_ntidigits_like

    generators = {"nmnist-like": generate_nmnist_like, "ntidigits-like": generate_ntidigits_like}
    kind = dcfg["generate"]
    if kind not in generators:
        raise ValueError(f"dataset.generate must be one of {sorted(generators)}, got {kind!r}")
    log(f"generating the {kind} dataset into {root} (once; see docs/datasets.md, docs/audio.md)")
    root.parent.mkdir(parents=True, exist_ok=True)
    generators[kind](root, per_class=int(dcfg["per_class"]), seed=seed, progress=True)


def _open_dataset(dcfg: dict[str, Any], root: Path, train: bool) -> Any:
    from .datasets import nmnist, ntidigits

    if dcfg["name"] == "nmnist":
        return nmnist(root, train=train, on_error=dcfg["on_error"])
    if dcfg["name"] == "ntidigits":
        return ntidigits(root, train=train, label_map=dcfg.get("label_map", "tonic"))
    raise ValueError(f"dataset.name {dcfg['name']!r} is not supported; use 'nmnist' or 'ntidigits'")


def _has_test_split(dcfg: dict[str, Any], root: Path) -> bool:
    return dcfg["name"] == "ntidigits" or (root / "Test").is_dir()


def load_split(dcfg: dict[str, Any], seed: int, log: Log) -> Split:
    """Train/test events and labels from the dataset section."""
    from .datasets import stratified_split

    root = Path(dcfg["root"])
    if not root.exists() and dcfg.get("generate"):
        _generate(dcfg, root, seed, log)
    train = _limit(_open_dataset(dcfg, root, True), dcfg["max_per_class"], seed)
    if _has_test_split(dcfg, root):
        test = _limit(_open_dataset(dcfg, root, False), dcfg["max_per_class"], seed)
        desc = f"{root}: train ({len(train)}) / test ({len(test)})"
    else:
        tr, te = stratified_split(train.labels, float(dcfg["test_fraction"]), seed)
        train, test = train.subset(tr), train.subset(te)
        desc = f"{root}: stratified split of Train by seed {seed}: {len(train)} / {len(test)}"
    events = [train[i][0] for i in range(len(train))]
    tevents = [test[i][0] for i in range(len(test))]
    return Split(
        events,
        np.asarray(train.labels),
        tevents,
        np.asarray(test.labels),
        tuple(train.sensor_size),
        desc,
    )


def _cube_shape(n: int) -> tuple[int, int, int]:
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


def build_reservoir(rcfg: dict[str, Any], enc: EventEncoding, seed: int) -> Network:
    """The reservoir named by ``reservoir.builder`` with its keyword arguments."""
    kw = {k: v for k, v in rcfg.items() if k != "builder"}
    kw.setdefault("seed", seed)
    builder = rcfg["builder"]
    n = kw.pop("n_neurons", None)
    if builder == "lsm_column":
        if n is not None:
            kw["shape"] = _cube_shape(int(n))
        kw["shape"] = tuple(kw.get("shape", (10, 10, 10)))
        kw.setdefault("input_shape", enc.input_shape)
        for key in ("bias_range", "t_ref", "tau_syn", "input_shape"):
            if key in kw:
                kw[key] = tuple(kw[key])
        return reservoirs.lsm_column(n_inputs=enc.n_channels, dt=enc.dt, **kw)
    if builder == "izhikevich_network":
        if n is not None:
            kw["n_exc"], kw["n_inh"] = int(round(0.8 * int(n))), int(n) - int(round(0.8 * int(n)))
        return reservoirs.izhikevich_network(n_inputs=enc.n_channels, **kw)
    if builder == "lin2025_lsm":
        if n is not None:
            kw["n_neurons"] = int(n)
        return reservoirs.lin2025_lsm(n_inputs=enc.n_channels, dt=enc.dt, **kw)
    raise ValueError(
        f"reservoir.builder {builder!r} is unknown; use lsm_column, izhikevich_network or "
        "lin2025_lsm"
    )


def _baseline(split: Split, bcfg: dict[str, Any], rcfg: dict[str, Any]) -> dict[str, Any]:
    """Linear readouts on event-count histograms (time bins x polarity x pixels): logistic
    regression (``baseline_test_accuracy``) and the experiment's own readout
    (``baseline_same_readout_test_accuracy``), so the reservoir is compared fairly. A
    readout that cannot take that many features (FORCE) gets None and a note instead."""
    from sklearn.linear_model import LogisticRegression

    kw = dict(sensor_size=split.sensor_size, n_time_bins=int(bcfg["n_time_bins"]))
    h_tr = count_histogram(split.train_events, **kw)
    h_te = count_histogram(split.test_events, **kw)
    clf = LogisticRegression(C=float(bcfg["C"]), max_iter=3000).fit(h_tr, split.y_train)
    out: dict[str, Any] = {
        "baseline_train_accuracy": float(clf.score(h_tr, split.y_train)),
        "baseline_test_accuracy": float(clf.score(h_te, split.y_test)),
    }
    same = make_readout(rcfg)
    try:
        if isinstance(same, OnlineReadout):
            same.check_params(h_tr.shape[1])
    except ValueError as e:
        out["baseline_same_readout_test_accuracy"] = None
        out["baseline_same_readout_note"] = f"not computed: {e}"
        return out
    same.fit(h_tr, split.y_train)
    out["baseline_same_readout_test_accuracy"] = float(same.score(h_te, split.y_test))
    return out


def _spike_stats(net: Network, counts: np.ndarray, seconds: float) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for name, sl in net.population_slices().items():
        c = counts[:, :, sl].sum(axis=1)
        stats[f"rate_hz_{name}"] = float(c.mean() / seconds)
        stats[f"silent_fraction_{name}"] = float(np.mean(c.sum(axis=0) == 0))
    stats["spikes_per_sample"] = float(counts.sum() / len(counts))
    return stats


def run_experiment(cfg: dict[str, Any], *, progress: bool = True, log: Log = print) -> Path:
    """Run a (raw or resolved) config; returns the results folder."""
    from .features_stage import apply_features
    from .results import write_results

    if cfg.get("task", "classify") == "zero_shot":
        from .zero_shot import run_zero_shot

        return run_zero_shot(cfg, progress=progress, log=log)
    cfg = resolve(cfg)
    if cfg["task"] != "classify":
        raise ValueError(f"task must be 'classify' or 'zero_shot', got {cfg['task']!r}")
    seed = int(cfg["seed"])
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    readout = make_readout(cfg["readout"])  # bad readout options fail before any work
    if isinstance(readout, OnlineReadout):
        cfg["readout"].setdefault("seed", seed)  # presentation order follows the run's seed
        readout.set_params(seed=cfg["readout"]["seed"], progress=progress)
        readout.check_params()

    t0 = time.perf_counter()
    split = load_split(cfg["dataset"], seed, log)
    log(f"data: {split.description}")
    timings["load_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    raw = split  # the baseline always sees the raw events
    split, sensor, features = apply_features(cfg["features"], split, seed, log, progress)
    enc_kw = dict(cfg["encoding"])
    for key in ("crop",):
        if key in enc_kw:
            enc_kw[key] = tuple(enc_kw[key])
    enc = EventEncoding(sensor_size=sensor, **enc_kw)
    timings["features_s"] = time.perf_counter() - t0
    if enc.duration is None and enc.n_steps is None:
        raise ValueError(
            "set encoding.duration (ms) or encoding.n_steps: every sample of a run "
            "needs the same number of steps"
        )

    net = build_reservoir(cfg["reservoir"], enc, seed)
    bcfg = dict(cfg["backend"])
    backend = bcfg.pop("name")
    log(
        f"reservoir: {net.metadata.get('builder')} with {net.n_neurons} neurons, "
        f"{net.n_synapses} synapses; backend {backend!r} {bcfg or ''}"
    )
    t0 = time.perf_counter()
    bin_steps = cfg["record"].get("bin_steps") or None
    if isinstance(readout, OnlineReadout):  # FORCE's size, before simulating
        n_bins = RecordSpec(bin_steps=bin_steps).n_bins(enc.steps_for(0.0))
        readout.check_params(n_bins * net.n_neurons)
    sim = net.compile(backend, dt=enc.dt, record=RecordSpec(bin_steps=bin_steps), **bcfg)
    timings["compile_s"] = time.perf_counter() - t0
    chunk = int(cfg["output"]["chunk_size"])
    t0 = time.perf_counter()
    run_tr = run_chunked(
        sim, split.train_events, encoding=enc, chunk_size=chunk, progress=progress, desc="train"
    )
    run_te = run_chunked(
        sim, split.test_events, encoding=enc, chunk_size=chunk, progress=progress, desc="test"
    )
    timings["encode_and_simulate_s"] = time.perf_counter() - t0
    timings["simulate_s"] = run_tr.wall_time_s + run_te.wall_time_s

    t0 = time.perf_counter()
    readout.fit(run_tr.counts, split.y_train)
    pred = readout.predict(run_te.counts)
    metrics: dict[str, Any] = {
        "test_accuracy": float(np.mean(pred == split.y_test)),
        "train_accuracy": float(readout.score(run_tr.counts, split.y_train)),
    }
    if isinstance(readout, OnlineReadout):  # learned online: its learning curve
        metrics["readout_history"] = readout.history_
    else:
        metrics["readout_alpha"] = readout.alpha_
    timings["readout_s"] = time.perf_counter() - t0
    if cfg["baseline"].get("n_time_bins"):
        t0 = time.perf_counter()
        metrics.update(_baseline(raw, cfg["baseline"], cfg["readout"]))
        if features is not None:
            feat = _baseline(split, cfg["baseline"], cfg["readout"])
            metrics["feature_histogram_test_accuracy"] = feat["baseline_test_accuracy"]
        timings["baseline_s"] = time.perf_counter() - t0
    n_train, n_test = len(split.y_train), len(split.y_test)
    n_total = n_train + n_test
    seconds = enc.steps_for(0.0) * enc.dt / 1000.0
    metrics.update(
        n_train=n_train,
        n_test=n_test,
        n_neurons=net.n_neurons,
        n_synapses=net.n_synapses,
        backend=backend,
        backend_options=bcfg,
        samples_per_s=n_total / max(timings["simulate_s"], 1e-12),
        synaptic_events_per_s=(run_tr.n_synaptic_events + run_te.n_synaptic_events)
        / max(timings["simulate_s"], 1e-12),
        synaptic_events_per_sample=(run_tr.n_synaptic_events + run_te.n_synaptic_events) / n_total,
        spikes=_spike_stats(net, np.concatenate([run_tr.counts, run_te.counts]), seconds),
        data=split.description,
    )
    metrics.update(_extras(run_tr, run_te))
    quantization = getattr(sim, "quantization_report", None)  # e.g. Lava fixed_pt
    if quantization:
        metrics["quantization"] = quantization.get("summary", quantization)
    if cfg["reference"]:
        metrics["reference"] = dict(cfg["reference"])
    timings["total_s"] = time.perf_counter() - t_all
    metrics["timings"] = timings
    raster = None
    if cfg["output"].get("plots", True):
        rsim = net.compile(
            backend, dt=enc.dt, record=RecordSpec(bin_steps=bin_steps, raster=True), **bcfg
        )
        raster = rsim.run(enc.encode([split.test_events[0]]))
    arrays = {
        "train_counts": run_tr.counts,
        "test_counts": run_te.counts,
        "y_train": split.y_train,
        "y_test": split.y_test,
        "test_predictions": pred,
    }
    out = write_results(
        cfg,
        metrics,
        arrays=arrays,
        net=net,
        raster=raster,
        y_test=split.y_test,
        pred=pred,
        features=features,
    )
    log(
        f"test accuracy {metrics['test_accuracy']:.4f} (train {metrics['train_accuracy']:.4f}); "
        f"histogram baseline {metrics.get('baseline_test_accuracy', float('nan')):.4f}; "
        f"{metrics['samples_per_s']:.3g} samples/s"
    )
    for key, value in cfg["reference"].items():
        log(f"reference {key}: {value}")
    log(f"results: {out}")
    return out


def _extras(*runs: Any) -> dict[str, float]:
    """Per-sample scalar extras reported by a backend (e.g. energy), averaged over samples."""
    sums: dict[str, float] = {}
    n = 0
    for run in runs:
        for key, value, size in run.extras:
            sums[key] = sums.get(key, 0.0) + float(value) * size
        n += len(run.counts)
    return {k: v / n for k, v in sums.items()}
