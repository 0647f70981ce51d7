"""Classify events with a results folder's reservoir and trained readout.

    spikelab predict RESULTS_DIR [EVENTS ...] [--backend NAME] [--json OUT]

A classify results folder holds everything a prediction needs: ``config.toml`` (the
encoding, the recording bins, the backend), ``network.h5`` (the reservoir), ``readout.h5``
(the trained readout, ``spikelab.readout.io``) and, in ``states.h5``, the fitted FEAST model
(when the run used one), the dataset's sensor size and the split (``split/test_ids``: the
test samples' files relative to ``dataset.root``). ``predict`` encodes the events with the
run's encoding, simulates them on the run's backend (or another) and applies the readout.
Without events it classifies the run's own test split, so its labels can be compared with
the run's ``test_predictions``: on the CPU backend they are identical.

EVENTS are N-MNIST ``.bin`` files or ``.npy`` files of one structured event array (fields
x, y, t, p), or, from Python, event arrays themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..config import BackendConfig, ClassifyConfig, load_config
from ..logs import Log
from ..network import Network
from ..readout.io import load_readout
from ..spikes import RecordSpec
from .stages import compile_simulation, load_split, run_chunked

__all__ = ["Prediction", "SavedRun", "open_results", "predict", "read_events", "run_settings"]

NMNIST_SENSOR = (34, 34, 2)


@dataclass(frozen=True)
class SavedRun:
    """What a classify results folder holds for prediction."""

    folder: Path
    cfg: ClassifyConfig
    net: Network
    readout: Any
    features: Any  # the fitted FEAST model, or None
    sensor_size: tuple[int, int, int] | None  # the dataset's (before FEAST)
    test_ids: tuple[str, ...]
    test_predictions: np.ndarray | None


@dataclass(frozen=True)
class Prediction:
    """Predicted labels of samples (file names, test ids, or ``array <i>``)."""

    samples: tuple[str, ...]
    labels: np.ndarray
    backend: str
    reference: np.ndarray | None = None  # the run's test predictions (its own test split)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "backend": self.backend,
            "predictions": [
                {"sample": s, "label": label.item() if hasattr(label, "item") else label}
                for s, label in zip(self.samples, self.labels, strict=True)
            ],
        }
        if self.reference is not None:
            out["identical_to_run"] = int(np.sum(self.labels == self.reference))
            out["n_samples"] = len(self.labels)
        return out


def open_results(folder: str | Path) -> SavedRun:
    """Read a classify results folder; errors name the missing file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"results folder {folder} does not exist")
    for name in ("config.toml", "network.h5", "readout.h5", "states.h5"):
        if not (folder / name).is_file():
            hint = (
                " (written by classify runs since spikelab saves the readout; run again)"
                if name == "readout.h5"
                else ""
            )
            raise FileNotFoundError(f"{folder} has no {name}: not a classify results folder{hint}")
    raw = load_config(folder / "config.toml")
    if raw.get("task", "classify") != "classify":
        raise ValueError(f"{folder} holds a {raw['task']!r} run; predict reads classify runs")
    cfg = ClassifyConfig.coerce(raw)
    with h5py.File(folder / "states.h5", "r") as f:
        features = None
        if "features" in f:
            from ..features import load_feast

            features = load_feast(f["features"])
        sensor = tuple(int(v) for v in f["split/sensor_size"][()]) if "split" in f else None
        ids = [i.decode("utf-8") for i in f["split/test_ids"][()]] if "split/test_ids" in f else []
        ref = f["test_predictions"][()] if "test_predictions" in f else None
    net = Network.load(folder / "network.h5")
    readout = load_readout(folder / "readout.h5")
    return SavedRun(folder, cfg, net, readout, features, sensor, tuple(ids), ref)  # type: ignore[arg-type]


def read_events(path: str | Path) -> np.ndarray:
    """One sample's events from an N-MNIST ``.bin`` file or a ``.npy`` structured array."""
    from ..datasets import EVENT_DTYPE, read_mnist_file

    path = Path(path)
    if path.suffix == ".bin":
        return read_mnist_file(path)
    if path.suffix != ".npy":
        raise ValueError(
            f"{path}: events must be an N-MNIST .bin file or a .npy structured array "
            "(fields x, y, t, p)"
        )
    a = np.load(path, allow_pickle=False)
    names = a.dtype.names or ()
    if a.ndim != 1 or not {"x", "y", "t", "p"} <= set(names):
        raise ValueError(
            f"{path}: expected a 1-D structured array with fields x, y, t, p, got dtype "
            f"{a.dtype} and shape {a.shape}"
        )
    out = np.zeros(len(a), EVENT_DTYPE)
    for key in "xytp":
        out[key] = a[key]
    return out


def run_test_split(
    run: SavedRun, log: Log | None = None
) -> tuple[tuple[str, ...], list[np.ndarray], Any]:
    """The run's own test samples: the saved files (N-MNIST), else the split again by the
    config's seed (checked against the saved ids when there are any)."""
    cfg = run.cfg
    if cfg.dataset.name == "nmnist" and run.test_ids:
        root = Path(cfg.dataset.root).expanduser()
        missing = [i for i in run.test_ids if not (root / i).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} test sample(s) of the run are not under dataset.root {root} "
                f"(first: {missing[0]}); run predict from the folder the run started in, or "
                "pass the event files"
            )
        transform = cfg.event_transform()  # the run's [[transforms]], as in training
        events = [transform(read_events(root / i)) for i in run.test_ids]
        return run.test_ids, events, run.sensor_size
    split = load_split(cfg.dataset, int(cfg.seed), log, cfg.event_transform())
    if run.test_ids and tuple(split.test_ids) != run.test_ids:
        raise ValueError(
            f"the test split of dataset.root {cfg.dataset.root} is not the run's (its files "
            "changed); pass the event files instead"
        )
    ids = split.test_ids or tuple(f"test {i}" for i in range(len(split.test_events)))
    return ids, list(split.test_events), split.sensor_size


def given_events(
    run: SavedRun, events: Sequence[str | Path | np.ndarray]
) -> tuple[tuple[str, ...], list[np.ndarray], Any]:
    """Samples from files or arrays, with the run's sensor size."""
    names, arrays = [], []
    for i, e in enumerate(events):
        if isinstance(e, np.ndarray):
            names.append(f"array {i}")
            arrays.append(e)
        else:
            names.append(str(e))
            arrays.append(read_events(e))
    sensor = run.sensor_size
    if sensor is None and run.cfg.dataset.name == "nmnist":
        sensor = NMNIST_SENSOR
    if sensor is None:
        raise ValueError(
            f"{run.folder}/states.h5 does not record the sensor size (an older results "
            "folder); run the experiment again to classify files with it"
        )
    return tuple(names), arrays, sensor


def predict(
    folder: str | Path,
    events: Sequence[str | Path | np.ndarray] | None = None,
    *,
    backend: str | None = None,
    progress: bool | None = False,
    log: Log | None = None,
) -> Prediction:
    """Labels of ``events`` (files or event arrays; None: the run's own test split) by the
    results folder's encoding, reservoir, backend (or ``backend``) and readout. Lines go to
    the ``spikelab`` logger (``log``, the older API, receives them too)."""
    run = open_results(folder)
    if events is None:
        ids, samples, sensor = run_test_split(run, log)
        reference = run.test_predictions
    else:
        ids, samples, sensor = given_events(run, events)
        transform = run.cfg.event_transform()  # the run's [[transforms]], as in training
        samples = [transform(s) for s in samples]
        reference = None
    if not samples:
        raise ValueError("no events to classify: pass at least one event file")
    if run.features is not None:  # the run's FEAST features, as in classify
        samples = run.features.transform_many(samples, sensor_size=sensor)
        sensor = (sensor[0], sensor[1], int(run.features.n_neurons))
    enc = run.cfg.encoding.make(sensor)
    bcfg = (
        run.cfg.backend
        if backend in (None, run.cfg.backend.name)
        else BackendConfig.coerce({"name": backend})
    )
    record = RecordSpec(bin_steps=run.cfg.record.bin_steps or None)
    sim = compile_simulation(run.net, bcfg, enc.dt, record)
    counts = run_chunked(
        sim, samples, encoding=enc, chunk_size=int(run.cfg.output.chunk_size), progress=progress,
        desc="predict",
    ).counts  # fmt: skip
    labels = run.readout.predict(counts)
    return Prediction(ids, labels, bcfg.name, reference if len(ids) == len(labels) else None)


def run_settings(folder: str | Path) -> dict[str, Any]:
    """What a Lava artifact of a classify results folder needs from its config and
    states.h5: the steps of a sample (``n_steps``), the readout's bins (``bin_steps``,
    None: one bin), the run's ``encoding`` and why the artifact cannot encode raw events
    itself (``raw_events_blocked_by``, None: it can)."""
    folder = Path(folder)
    cfg = ClassifyConfig.coerce(load_config(folder / "config.toml"))
    sensor, used_feast = NMNIST_SENSOR, False
    if (folder / "states.h5").is_file():
        with h5py.File(folder / "states.h5", "r") as f:
            if "split/sensor_size" in f:
                sensor = tuple(int(v) for v in f["split/sensor_size"][()])
            used_feast = "features" in f
    encoding = cfg.encoding.make(sensor)
    n_steps = encoding.steps_for(0.0)
    if cfg.encoding.n_steps is None and cfg.encoding.duration is None:
        raise ValueError(f"{folder}/config.toml sets neither encoding.duration nor n_steps")
    return {
        "n_steps": int(n_steps),
        "bin_steps": int(cfg.record.bin_steps) or None,
        "source": f"{folder / 'config.toml'}: encoding ({n_steps} steps)",
        "encoding": encoding,
        "raw_events_blocked_by": _raw_event_blockers(cfg, used_feast),
    }


def _raw_event_blockers(cfg: ClassifyConfig, used_feast: bool) -> str | None:
    """Why an artifact of this run cannot encode raw events itself (None: it can): the
    run's FEAST features or tonic ``[[transforms]]`` need spikelab and tonic."""
    if used_feast:
        return "the run used FEAST features (they need spikelab to compute)"
    if cfg.transforms:
        return "the run applied [[transforms]] (they need tonic)"
    return None
