"""``spikelab probe CONFIG``: a classify config's reservoir on a handful of its samples.

Loads only ``samples`` samples of the config's dataset (its training files, drawn by the
data seed), runs the features stage on them when the config has one, encodes them, builds
the reservoir and simulates it on the config's backend with a raster, then writes
``probe.txt``, ``probe.json`` and ``probe_raster.png`` (``spikelab.probe.ProbeReport``).
``reservoir_hints`` names the ``[reservoir]`` options a warning suggests, with their
values; every classify run uses it for its own activity check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ClassifyConfig, ConfigError, DatasetConfig, FeaturesConfig, ReservoirConfig
from ..logs import Log, forwarding
from ..probe import FixHints, ProbeReport, probe_network
from ..reservoirs.catalogue import builder_options
from .stages import Split, apply_features, build_reservoir, generate_dataset, open_dataset

DEFAULT_SAMPLES = 8

logger = logging.getLogger(__name__)


def default_output(cfg: ClassifyConfig) -> Path:
    """Where the probe of ``cfg`` goes by default: ``<output.dir>_probe``, beside the
    results folder (a run replaces its results folder, so never inside it)."""
    return Path(f"{cfg.output.dir.rstrip('/')}_probe")


def reservoir_hints(reservoir: ReservoirConfig) -> FixHints:
    """The builder's options as a warning names them (``reservoir.<key>``), with the values
    in force: the config's, else the builder's defaults."""
    valid = tuple(ReservoirConfig.options(reservoir.builder))  # raises for an unknown one
    values = {o.name: o.default for o in builder_options(reservoir.builder)}
    values.update(reservoir.params)
    return FixHints(options=values, valid=valid, prefix="reservoir.")


def probe_samples(
    dataset: DatasetConfig, n: int, seed: int
) -> tuple[list[np.ndarray], np.ndarray, tuple[int, int, int]]:
    """(events, labels, sensor size) of ``n`` training samples drawn by ``seed``; only
    those files are read."""
    root = Path(dataset.root)
    if not root.exists() and dataset.generate:
        generate_dataset(dataset, root, seed)
    ds = open_dataset(dataset, root, True)
    if not len(ds):
        raise ValueError(f"dataset.root {str(root)!r} holds no training samples to probe")
    idx = np.sort(np.random.default_rng(seed).permutation(len(ds))[:n])
    labels = np.asarray(ds.labels)[idx]
    return [ds[int(i)][0] for i in idx], labels, tuple(ds.sensor_size)


def probe_features(
    features: FeaturesConfig,
    events: Sequence[np.ndarray],
    labels: np.ndarray,
    sensor: tuple[int, int, int],
    seed: int,
) -> tuple[list[np.ndarray], tuple[int, int, int]]:
    """The features stage (FEAST) fitted on and applied to the probed samples."""
    split = Split(list(events), labels, list(events[:1]), labels[:1], sensor, "probe")
    out, sensor, _ = apply_features(features, split, seed, False)
    return list(out.train_events), sensor


def check_classify(cfg: ClassifyConfig | Mapping[str, Any]) -> ClassifyConfig:
    """The typed classify config; another task's config is an error naming it."""
    task = cfg.get("task", "classify") if isinstance(cfg, Mapping) else cfg.task
    if task != "classify":
        raise ConfigError(
            f"spikelab probe takes a classify config (one reservoir), got task = {task!r}; "
            "probe each reservoir with net.probe(batch) instead"
        )
    return ClassifyConfig.coerce(cfg)


def probe_config(
    cfg: ClassifyConfig | Mapping[str, Any],
    *,
    samples: int = DEFAULT_SAMPLES,
    output: str | Path | None = None,
    log: Log | None = None,
) -> ProbeReport:
    """Probe the reservoir of a classify config (typed, or its raw tables) on ``samples``
    of its samples; writes the report into ``output`` (default ``<output.dir>_probe``).
    The report's lines go to the ``spikelab`` logger (``log``, the older API, receives them
    too)."""
    with forwarding(log):
        return probe(cfg, samples, output)


def probe(
    cfg: ClassifyConfig | Mapping[str, Any], samples: int, output: str | Path | None
) -> ProbeReport:
    """:func:`probe_config` without ``log``."""
    t0 = time.perf_counter()
    cfg = check_classify(cfg)
    if isinstance(samples, bool) or int(samples) < 1:
        raise ValueError(f"--samples must be a whole number >= 1, got {samples!r}")
    seed = int(cfg.seed)
    data_seed = getattr(cfg.dataset, "seed", None)
    data_seed = seed if data_seed is None else int(data_seed)
    events, labels, sensor = probe_samples(cfg.dataset, int(samples), data_seed)
    if cfg.features.kind not in ("none", ""):
        events, sensor = probe_features(cfg.features, events, labels, sensor, seed)
    enc = cfg.encoding.make(sensor)
    net = build_reservoir(cfg.reservoir, enc, seed)
    batch = enc.encode(events, labels=labels)
    hints = reservoir_hints(cfg.reservoir)
    backend = cfg.backend
    report = probe_network(net, batch, backend.name, samples=None, hints=hints, **backend.params)
    folder = report.save(default_output(cfg) if output is None else output)
    logger.info("reservoir: %r", net)
    logger.info("%s", report.to_text().rstrip("\n"))
    logger.info("probe: wrote %s in %.1f s", folder, time.perf_counter() - t0)
    return report
