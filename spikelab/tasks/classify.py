"""The classify task: config -> run -> results folder.

    spikelab run examples/nmnist_lsm.toml --backend numba --set reservoir.n_neurons=2000

Stages, one function each: build the readout (bad options fail before any work), load the
dataset (train/test folders, or a stratified split by the seed), extract features
(optional FEAST) and choose the encoding, build and compile the reservoir, simulate train
and test in chunks on the chosen backend, fit the readout, fit the histogram baselines on
the same split, summarise, write the results folder atomically (``spikelab.results``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import BaselineConfig, ClassifyConfig, ReadoutConfig
from ..encoding import EventEncoding, count_histogram
from ..logs import Log, forwarding
from ..network import Network
from ..neurobench import neurobench_metrics
from ..probe import measure_activity
from ..progress import progress_bars, show_bars
from ..readout import OnlineReadout
from ..results import ResultsWriter, check_output, results_folder
from ..spikes import Recording, RecordSpec
from .probe import reservoir_hints
from .stages import (
    ChunkedRun,
    Split,
    Stopwatch,
    apply_features,
    backend_extras,
    backend_options,
    build_reservoir,
    chunk_items,
    compile_simulation,
    data_seed,
    load_split,
    reservoir_seed,
    run_chunked,
    sample_totals,
    spike_stats,
)


@dataclass(frozen=True)
class Prepared:
    """The data of a run after the features stage."""

    raw: Split  # the dataset's own events: the baseline always sees these
    split: Split  # after the features stage
    encoding: EventEncoding
    features: Any  # the fitted feature extractor (FEAST), or None
    events: dict[str, int] = field(default_factory=dict)  # EventEncoding.check_events counts


@dataclass(frozen=True)
class Totals:
    """Spikes per sample and neuron ``[samples, 1, neurons]`` of both splits (the activity
    check and the spike statistics; read from states.h5 chunk by chunk)."""

    train: np.ndarray
    test: np.ndarray

    def both(self) -> np.ndarray:
        return np.concatenate([self.train, self.test])


@dataclass(frozen=True)
class Simulated:
    """The reservoir, how it was compiled and its counts on both splits."""

    net: Network
    sim: Any  # Simulation
    record: RecordSpec
    train: ChunkedRun
    test: ChunkedRun


logger = logging.getLogger(__name__)


def run_classify(
    cfg: ClassifyConfig | dict[str, Any],
    *,
    progress: bool | None = True,
    log: Log | None = None,
) -> Path:
    """Run a classify config (typed, or its raw tables); returns the results folder.

    Lines go to the ``spikelab`` logger (``log``, the older API, receives them too);
    ``progress``: bars on every loop (None: ``spikelab.progress`` decides)."""
    progress = show_bars(progress)
    with forwarding(log), progress_bars(progress):
        return classify(cfg, progress)


def classify(cfg: ClassifyConfig | dict[str, Any], progress: bool) -> Path:
    """:func:`run_classify` without ``log``."""
    cfg = ClassifyConfig.coerce(cfg)
    check_classify_output(cfg)  # before any data is loaded: never replace what is not ours
    given = cfg.to_dict()  # the config hash is of the config as given (docs/sweeps.md)
    clock = Stopwatch()
    cfg, readout = prepare_readout(cfg, progress)  # may fill in the readout's seed
    data = prepare_data(cfg, clock, progress)
    with results_folder(cfg, given) as folder:  # states.h5's counts streamed in as simulated
        run = simulate(cfg, data, readout, clock, progress, folder)
        metrics, pred = evaluate(cfg, data, run, readout, clock)
        folder.write(
            metrics,
            arrays={
                "y_train": data.split.y_train,
                "y_test": data.split.y_test,
                "test_predictions": pred,
                **split_ids(data.raw),
            },
            net=run.net,
            raster=first_raster(cfg, data, run),
            y_test=data.split.y_test,
            pred=pred,
            features=data.features,
            readout=readout,
        )
    report(cfg, metrics, folder.out)
    return folder.out


def evaluate(
    cfg: ClassifyConfig, data: Prepared, run: Simulated, readout: Any, clock: Stopwatch
) -> tuple[dict[str, Any], np.ndarray]:
    """The metrics of a simulated run (activity, readout, baselines, summary, NeuroBench)
    and the test predictions."""
    totals = Totals(sample_totals(run.train.counts), sample_totals(run.test.counts))
    warning = activity_check(cfg, data, run, totals)
    metrics, pred = fit_readout(readout, run, data.split, clock)
    metrics["activity_warning"] = warning
    metrics.update(baselines(cfg, data, clock))
    metrics.update(summary(cfg, data, run, clock, totals))
    with clock("neurobench_s"):  # the test inputs encoded again for their operations
        metrics["neurobench"] = neurobench_block(cfg, data, run, pred, metrics)
    clock.total()
    metrics["timings"] = clock.timings
    return metrics, pred


def split_ids(split: Split) -> dict[str, np.ndarray]:
    """For ``states.h5``: the dataset's sensor size (``split/sensor_size``) and the split as
    the sample files relative to the dataset root (UTF-8 bytes: ``split/train_ids``,
    ``split/test_ids``, when samples are files); ``spikelab predict`` reads them."""
    out = {"split/sensor_size": np.asarray(split.sensor_size, np.int64)}
    for name, ids in (("train_ids", split.train_ids), ("test_ids", split.test_ids)):
        if ids:
            out[f"split/{name}"] = np.array([i.encode("utf-8") for i in ids], dtype=bytes)
    return out


def check_classify_output(cfg: ClassifyConfig) -> Path:
    """``spikelab.results.check_output`` for this run: its output folder, its data folder."""
    inputs = {"dataset.root": cfg.dataset.root}
    return check_output(cfg.output.dir, inputs=inputs, overwrite=cfg.output.overwrite)


def seeds_used(cfg: ClassifyConfig) -> dict[str, int]:
    """The seeds in force: data (split, limits, generation), reservoir, FEAST."""
    out = {
        "seed": int(cfg.seed),
        "dataset": data_seed(cfg.dataset, int(cfg.seed)),
        "reservoir": reservoir_seed(cfg.reservoir, int(cfg.seed)),
    }
    if cfg.features.kind == "feast":
        out["features"] = int(cfg.features.params.get("seed", cfg.seed))
    if "seed" in cfg.readout.params:  # an online readout's presentation order
        out["readout"] = int(cfg.readout.params["seed"])
    return out


def prepare_readout(cfg: ClassifyConfig, progress: bool) -> tuple[ClassifyConfig, Any]:
    """The readout, built first so that bad options fail before any work. An online
    readout's presentation order follows the run's seed (kept in the resolved config)."""
    readout = cfg.readout.make()
    if isinstance(readout, OnlineReadout):
        if "seed" not in cfg.readout.params:
            params = {**cfg.readout.params, "seed": int(cfg.seed)}
            cfg = replace(cfg, readout=replace(cfg.readout, params=params))
        readout.set_params(seed=cfg.readout.params["seed"], progress=progress)
        readout.check_params()
    return cfg, readout


def prepare_data(cfg: ClassifyConfig, clock: Stopwatch, progress: bool) -> Prepared:
    """Load the split, run the features stage, choose the encoding."""
    seed = int(cfg.seed)
    with clock("load_s"):
        raw = load_split(cfg.dataset, seed, None, cfg.event_transform(), lazy=True)
        logger.info("data: %s", raw.description)
    with clock("features_s"):
        split, sensor, features = apply_features(cfg.features, raw, seed, progress)
        enc = cfg.encoding.make(sensor)
    if enc.duration is None and enc.n_steps is None:
        raise ValueError(
            "set encoding.duration (ms) or encoding.n_steps: every sample of a run "
            "needs the same number of steps"
        )
    # out-of-range events raise here, before simulating; a chunk of samples read at a time
    events = encoding_events(enc, split, int(cfg.output.chunk_size))
    return Prepared(raw, split, enc, features, events)


def encoding_events(enc: EventEncoding, split: Split, chunk_size: int = 256) -> dict[str, int]:
    """The counts of ``EventEncoding.check_events`` over both splits (metrics.json
    ``encoding_events``: out of range, dropped with ``on_out_of_range = "drop"``, cropped
    past the duration), ``chunk_size`` samples read at a time (the events of a split may be
    lazy: ``spikelab.datasets.lazy``). With ``on_out_of_range = "raise"``, a split holding
    such events raises ``check_events``' error, from the whole split as before."""
    counting = replace(enc, on_out_of_range="drop")  # the same counts, never raises
    total: dict[str, int] = {}
    for events in (split.train_events, split.test_events):
        report: dict[str, int] = {}
        for part in chunk_items(events, chunk_size):
            for key, count in counting.check_events(part)[1].items():
                report[key] = report.get(key, 0) + count
        if report.get("dropped") and enc.on_out_of_range == "raise":
            enc.check_events(events)  # raises, naming the first sample and the counts
        for key, count in report.items():
            total[key] = total.get(key, 0) + count
    return total


def simulate(
    cfg: ClassifyConfig,
    data: Prepared,
    readout: Any,
    clock: Stopwatch,
    progress: bool,
    folder: ResultsWriter | None = None,
) -> Simulated:
    """Build the reservoir, compile it on the backend, run train and test in chunks: their
    counts streamed into ``folder``'s states.h5 as they arrive (else gathered in memory)."""
    enc = data.encoding
    net = build_reservoir(cfg.reservoir, enc, int(cfg.seed))
    logger.info(
        "reservoir: %s with %d neurons, %d synapses; backend %r %s",
        net.metadata.get("builder"), net.n_neurons, net.n_synapses, cfg.backend.name,
        cfg.backend.params or "",
    )  # fmt: skip
    with clock("compile_s"):
        record = RecordSpec(bin_steps=cfg.record.bin_steps or None)
        if isinstance(readout, OnlineReadout):  # FORCE's size, before simulating
            readout.check_params(record.n_bins(enc.steps_for(0.0)) * net.n_neurons)
        sim = compile_simulation(net, cfg.backend, enc.dt, record)
    kw = dict(encoding=enc, chunk_size=int(cfg.output.chunk_size), progress=progress)
    with clock("encode_and_simulate_s"):
        runs = []
        for name, events in (("train", data.split.train_events), ("test", data.split.test_events)):
            sink = folder.counts_sink(f"{name}_counts", len(events)) if folder else None
            runs.append(run_chunked(sim, events, desc=name, sink=sink, **kw))
        train, test = runs
    clock.timings["simulate_s"] = train.wall_time_s + test.wall_time_s
    return Simulated(net, sim, record, train, test)


def fit_readout(
    readout: Any, run: Simulated, split: Split, clock: Stopwatch
) -> tuple[dict[str, Any], np.ndarray]:
    """Fit the readout on the training counts; the metrics and the test predictions. The
    readouts take the whole feature matrix: the counts of one split are read (from
    states.h5 when streamed there) while it is used."""
    with clock("readout_s"):
        train = np.asarray(run.train.counts[()])
        readout.fit(train, split.y_train)
        train_accuracy = float(readout.score(train, split.y_train))
        del train
        pred = readout.predict(np.asarray(run.test.counts[()]))
        metrics: dict[str, Any] = {
            "test_accuracy": float(np.mean(pred == split.y_test)),
            "train_accuracy": train_accuracy,
        }
        if isinstance(readout, OnlineReadout):  # learned online: its learning curve
            metrics["readout_history"] = readout.history_
        else:
            metrics["readout_alpha"] = readout.alpha_
    return metrics, pred


def histogram_baseline(
    split: Split, baseline: BaselineConfig, readout: ReadoutConfig
) -> dict[str, Any]:
    """Linear readouts on event-count histograms (time bins x polarity x pixels): logistic
    regression (``baseline_test_accuracy``) and the experiment's own readout
    (``baseline_same_readout_test_accuracy``), so the reservoir is compared fairly. A
    readout that cannot take that many features (FORCE) gets None and a note instead."""
    from sklearn.linear_model import LogisticRegression

    kw = dict(sensor_size=split.sensor_size, n_time_bins=int(baseline.n_time_bins))
    h_tr = count_histogram(split.train_events, **kw)
    h_te = count_histogram(split.test_events, **kw)
    clf = LogisticRegression(C=float(baseline.C), max_iter=3000).fit(h_tr, split.y_train)
    out: dict[str, Any] = {
        "baseline_train_accuracy": float(clf.score(h_tr, split.y_train)),
        "baseline_test_accuracy": float(clf.score(h_te, split.y_test)),
    }
    same = readout.make()
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


def baselines(cfg: ClassifyConfig, data: Prepared, clock: Stopwatch) -> dict[str, Any]:
    """The histogram baselines on the raw events (and on the features, when used)."""
    if not cfg.baseline.n_time_bins:
        return {}
    with clock("baseline_s"):
        out = histogram_baseline(data.raw, cfg.baseline, cfg.readout)
        if data.features is not None:
            feat = histogram_baseline(data.split, cfg.baseline, cfg.readout)
            out["feature_histogram_test_accuracy"] = feat["baseline_test_accuracy"]
        if cfg.dataset.name == "fsdd":  # real speech: log band energies, event histograms
            from .baselines_audio import audio_baselines

            n_bins = int(cfg.baseline.n_time_bins)
            out.update(audio_baselines(cfg.dataset.root, data.raw, n_bins, seed=int(cfg.seed)))
    return out


def summary(
    cfg: ClassifyConfig, data: Prepared, run: Simulated, clock: Stopwatch, totals: Totals
) -> dict[str, Any]:
    """Sizes, throughput, spike statistics, backend extras and the reference figures."""
    n_train, n_test = len(data.split.y_train), len(data.split.y_test)
    n_total = n_train + n_test
    simulate_s = max(clock.timings["simulate_s"], 1e-12)
    n_syn = run.train.n_synaptic_events + run.test.n_synaptic_events
    seconds = data.encoding.steps_for(0.0) * data.encoding.dt / 1000.0
    out: dict[str, Any] = dict(
        n_train=n_train,
        n_test=n_test,
        n_neurons=run.net.n_neurons,
        n_synapses=run.net.n_synapses,
        backend=cfg.backend.name,
        backend_options=backend_options(run.sim, cfg.backend),
        seeds=seeds_used(cfg),
        samples_per_s=n_total / simulate_s,
        synaptic_events_per_s=n_syn / simulate_s,
        synaptic_events_per_sample=n_syn / n_total,
        spikes=spike_stats(run.net, totals.both(), seconds),
        data=data.split.description,
        encoding_events=data.events,
    )
    out.update(backend_extras(run.train, run.test))
    quantization = getattr(run.sim, "quantization_report", None)  # e.g. Lava fixed_pt
    if quantization:
        out["quantization"] = quantization.get("summary", quantization)
    if cfg.reference:
        out["reference"] = dict(cfg.reference)
    return out


def neurobench_block(
    cfg: ClassifyConfig, data: Prepared, run: Simulated, pred: np.ndarray, metrics: dict
) -> dict[str, Any]:
    """The NeuroBench metrics (``spikelab.neurobench``, docs/neurobench.md) of the test
    split, as NeuroBench evaluates: its counts, its inputs (encoded again, chunk by chunk),
    its accuracy, and the backend's energy figures (crossbar) beside them."""
    enc, test = data.encoding, data.split.test_events
    size = int(cfg.output.chunk_size)
    inputs = (
        enc.encode([test[i] for i in range(start, min(start + size, len(test)))])
        for start in range(0, len(test), size)
    )
    return neurobench_metrics(
        run.net, run.test.counts[()], n_steps=enc.steps_for(0.0), dt=enc.dt, inputs=inputs,
        y_true=data.split.y_test, y_pred=pred, extras=metrics,
    )  # fmt: skip


def activity_check(
    cfg: ClassifyConfig, data: Prepared, run: Simulated, totals: Totals
) -> str | None:
    """The reservoir's activity on every sample (``spikelab.probe``): a warning, logged,
    when it is nearly silent or saturated, naming the ``[reservoir]`` options that usually
    fix it; None when it looks sane."""
    enc = data.encoding
    pops, total = measure_activity(run.net, totals.both(), enc.steps_for(0.0), enc.dt)
    warning = reservoir_hints(cfg.reservoir).warning(pops, total)
    if warning:
        logger.warning("%s", warning)
    return warning


def first_raster(cfg: ClassifyConfig, data: Prepared, run: Simulated) -> Recording | None:
    """The spike raster of the first test sample (for raster.png), when plots are on."""
    if not cfg.output.plots:
        return None
    record = replace(run.record, raster=True)
    rsim = compile_simulation(run.net, cfg.backend, data.encoding.dt, record)
    return rsim.run(data.encoding.encode([data.split.test_events[0]]))


def report(cfg: ClassifyConfig, metrics: dict[str, Any], out: Path) -> None:
    logger.info(
        f"test accuracy {metrics['test_accuracy']:.4f} (train {metrics['train_accuracy']:.4f}); "
        f"histogram baseline {metrics.get('baseline_test_accuracy', float('nan')):.4f}; "
        f"{metrics['samples_per_s']:.3g} samples/s"
    )
    if "baseline_log_band_test_accuracy" in metrics:  # FSDD (spikelab.tasks.baselines_audio)
        logger.info(
            "audio baselines: log band energies %.4f, cochlea event histograms %.4f",
            metrics["baseline_log_band_test_accuracy"],
            metrics["baseline_event_hist_test_accuracy"],
        )
    for key, value in cfg.reference.items():
        logger.info("reference %s: %s", key, value)
    logger.info("results: %s", out)
