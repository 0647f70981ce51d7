"""The results folder of an experiment, written atomically.

    <output.dir>/config.toml    the resolved configuration
                metrics.json   accuracies, baseline, timings, spike statistics
                states.h5      reservoir states (bin counts) and labels, train and test;
                               the fitted FEAST model under features/ when used; the
                               first test sample's spikes under raster/ (with plots)
                network.h5     the reservoir (Network.load reads it)
                readout.h5     the trained readout (spikelab.readout.load_readout)
                confusion.png  test confusion matrix
                raster.png     spike raster of the first test sample
                readout_curve.png  learning curve of a readout learned online (kind online)

                .spikelab-results.json  the marker: format, version, time, the run's name

Everything is written into a temporary sibling folder that is renamed into place at the
end, so an interrupted run never leaves a half-written results folder; the count matrices
of states.h5 are streamed into it chunk by chunk as they are simulated
(``results_folder``, ``H5Counts``), so a run never holds the whole matrix while simulating.

What is never overwritten (``check_output``, called before any data is loaded and again
before writing): a regular file, a non-empty folder without the marker (a user's folder),
the run's input data folders (and any folder inside or around them); an earlier results
folder is replaced only with ``output.overwrite`` (``--overwrite``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from .config import to_toml
from .fileio import atomic_folder, json_safe

if TYPE_CHECKING:
    from .config import ClassifyConfig

FORMAT_VERSION = 1
MARKER = ".spikelab-results.json"  # in every results folder: what makes it ours
MARKER_FORMAT = "spikelab.results-folder"
#: what results folders written before the marker existed held (recognised as ours)
LEGACY_NAMES = frozenset(
    {"config.toml", "metrics.json", "states.h5", "network.h5", "confusion.png", "raster.png"}
    | {"readout_curve.png", "retrieval.png", "epoch_trace.png", "features.h5", "networks"}
)


class OutputError(ValueError):
    """An output path spikelab refuses to write: it would replace something not its own."""


def write_marker(folder: Path, *, name: str, task: str) -> Path:
    """The marker file of a results folder (written first into the temporary folder)."""
    from . import __version__

    marker = {
        "format": MARKER_FORMAT,
        "format_version": FORMAT_VERSION,
        "spikelab_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "name": name,
        "task": task,
    }
    path = folder / MARKER
    path.write_text(json.dumps(marker, indent=2) + "\n")
    return path


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of a results folder, or None when ``folder`` has no valid one."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(marker, dict) and marker.get("format") == MARKER_FORMAT
    return marker if ok else None


def is_results_folder(folder: Path) -> bool:
    """A folder spikelab wrote: it has the marker, or (written before the marker existed)
    holds config.toml and metrics.json and nothing but the files of a results folder."""
    if not folder.is_dir() or folder.is_symlink():
        return False
    if read_marker(folder) is not None:
        return True
    names = {p.name for p in folder.iterdir()}
    return {"config.toml", "metrics.json"} <= names <= LEGACY_NAMES


def _overlap(out: Path, root: Path) -> str | None:
    if out == root:
        return "is"
    if root in out.parents:
        return "is inside"
    if out in root.parents:
        return "contains"
    return None


def check_inputs(out: Path, inputs: Mapping[str, str | os.PathLike[str]]) -> None:
    """Refuse an output folder equal to, inside or containing an input data folder."""
    for key, root in inputs.items():
        how = _overlap(out, Path(root).resolve())
        if how:
            raise OutputError(
                f"output.dir {str(out)!r} {how} the input data folder {str(root)!r} ({key}); "
                "the results would replace or mix with the data: choose an output folder "
                "outside it (e.g. --output results/NAME)"
            )


def check_existing(out: Path, overwrite: bool) -> None:
    """Refuse a file, a user's folder, and an earlier results folder without overwrite."""
    if out.is_symlink():
        raise OutputError(
            f"output.dir {str(out)!r} is a symbolic link; spikelab does not replace links: "
            "choose a real folder"
        )
    if out.exists() and not out.is_dir():
        raise OutputError(
            f"output.dir {str(out)!r} is an existing file, not a results folder; spikelab never "
            "replaces it: choose a new folder (e.g. --output results/NAME)"
        )
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not is_results_folder(out):
        raise OutputError(
            f"output.dir {str(out)!r} is a non-empty folder that spikelab did not write (no "
            f"{MARKER}); spikelab never replaces it: choose a new or empty folder"
        )
    if not overwrite:
        when = (read_marker(out) or {}).get("created", "earlier")
        raise OutputError(
            f"output.dir {str(out)!r} holds the results of an earlier run ({when}); pass "
            "--overwrite (output.overwrite = true) to replace them, or choose another folder"
        )


def check_output(
    out: str | os.PathLike[str],
    *,
    inputs: Mapping[str, str | os.PathLike[str]] | Iterable[Any] = (),
    overwrite: bool = False,
) -> Path:
    """The absolute output folder of a run, once it is safe to write: not an input data
    folder (``inputs``: config key -> folder), not a file, not a user's folder, an earlier
    results folder only with ``overwrite``. Stale temporaries of ours are cleaned first.
    Raises ``OutputError`` naming the path, what it is and what to do."""
    from .fileio import clean_stale

    if not isinstance(inputs, Mapping):
        inputs = {f"input {i}": root for i, root in enumerate(inputs)}
    path = Path(os.path.abspath(os.fspath(out)))
    check_inputs(path.resolve(), inputs)
    if path.parent.is_dir():
        clean_stale(path)
    check_existing(path, bool(overwrite))
    return path


def write_config_and_metrics(
    folder: Path,
    cfg: Mapping[str, Any],
    metrics: dict[str, Any],
    *,
    hashed: Mapping[str, Any] | None = None,
) -> None:
    """``config.toml`` (the resolved config, plain values; without ``output.overwrite``,
    a choice of that invocation, not of the experiment) and ``metrics.json`` of a folder,
    with its ``provenance`` block (``spikelab.provenance``: versions, machine, config hash;
    started = now minus the run's ``timings.total_s``, ended = now). ``hashed``: the config
    the hash is of, when not ``cfg`` (the config as given, before the run filled values in
    at run time, e.g. an online readout's seed: what a sweep hashes its points by)."""
    from .provenance import provenance

    cfg = dict(cfg)
    if "provenance" not in metrics:
        ended = time.time()
        total = (metrics.get("timings") or {}).get("total_s") or 0.0
        block = provenance(cfg if hashed is None else hashed, started=ended - total, ended=ended)
        metrics = {**metrics, "provenance": block}
    if isinstance(cfg.get("output"), Mapping):
        cfg["output"] = {k: v for k, v in cfg["output"].items() if k != "overwrite"}
    (folder / "config.toml").write_text(to_toml(cfg))
    (folder / "metrics.json").write_text(json.dumps(json_safe(metrics), indent=2) + "\n")


def mark_format(f: h5py.File, kind: str) -> None:
    """The format name and version attributes of an HDF5 file of a results folder."""
    f.attrs["format"] = kind
    f.attrs["format_version"] = FORMAT_VERSION


class H5Counts:
    """A count matrix ``[samples, bins, neurons]`` written chunk by chunk into dataset
    ``key`` of an open HDF5 file (a ``spikelab.tasks.stages.CountsSink``): created with the
    first chunk (its dtype, bins and neurons; gzip level 1 as every array of states.h5, or
    uncompressed with ``compress=False``), each chunk written at its samples and dropped."""

    def __init__(self, f: h5py.Group, key: str, n_samples: int, *, compress: bool = True) -> None:
        self.f, self.key, self.n_samples, self.compress = f, key, int(n_samples), compress
        self.dataset: h5py.Dataset | None = None

    def write(self, start: int, counts: np.ndarray) -> None:
        if self.dataset is None:
            shape = (self.n_samples, *counts.shape[1:])
            gzip = {"compression": "gzip", "compression_opts": 1} if self.compress else {}
            self.dataset = self.f.create_dataset(self.key, shape=shape, dtype=counts.dtype, **gzip)
        if counts.shape[1:] != self.dataset.shape[1:] or start + len(counts) > self.n_samples:
            raise ValueError(
                f"{self.key}: a chunk of counts {counts.shape} at sample {start} does not fit "
                f"the dataset {self.dataset.shape}"
            )
        self.dataset[start : start + len(counts)] = counts

    def result(self) -> h5py.Dataset:
        if self.dataset is None:
            raise ValueError(f"{self.key}: no counts were written")
        return self.dataset


SCRATCH = ".counts-scratch.h5"  # output.save_states = false: the counts until the end


class ResultsWriter:
    """The results folder of a run being written: ``tmp`` (the temporary folder renamed
    into place at the end), ``states`` (its states.h5, open), count matrices streamed in
    as they are simulated (:meth:`counts_sink`), then the rest (:meth:`write`)."""

    def __init__(
        self, cfg: ClassifyConfig, out: Path, tmp: Path, hashed: Mapping[str, Any] | None = None
    ) -> None:
        self.cfg, self.out, self.tmp, self.hashed = cfg, out, tmp, hashed
        self.states = h5py.File(tmp / "states.h5", "w")
        mark_format(self.states, "spikelab.results")
        self.scratch: h5py.File | None = None

    def counts_sink(self, key: str, n_samples: int) -> H5Counts:
        """Where the counts ``key`` (``train_counts``, ``test_counts``) go: states.h5, or,
        with ``output.save_states = false``, a scratch file removed before the rename."""
        if self.cfg.output.save_states:
            return H5Counts(self.states, key, n_samples)
        if self.scratch is None:
            self.scratch = h5py.File(self.tmp / SCRATCH, "w")
        return H5Counts(self.scratch, key, n_samples, compress=False)

    def write(
        self,
        metrics: dict[str, Any],
        *,
        arrays: dict[str, np.ndarray],
        net: Any,
        raster: Any,
        y_test: np.ndarray,
        pred: np.ndarray,
        features: Any = None,
        readout: Any = None,
    ) -> None:
        """Everything but the streamed counts (``arrays`` ending in ``_counts`` only with
        ``output.save_states``)."""
        cfg, tmp, f = self.cfg, self.tmp, self.states
        write_marker(tmp, name=cfg.name, task=cfg.task)
        write_config_and_metrics(tmp, cfg.to_dict(), metrics, hashed=self.hashed)
        for key, value in arrays.items():
            if cfg.output.save_states or not key.endswith("_counts"):
                f.create_dataset(key, data=value, compression="gzip", compression_opts=1)
        if features is not None:  # a fitted feature extractor (FEAST)
            from .features import save_feast

            save_feast(features, f.create_group("features"))
        if raster is not None:  # the first test sample's spikes: raster.png redrawn
            write_raster(f.create_group("raster"), raster)
        net.save(tmp / "network.h5")
        if readout is not None:
            from .readout.io import save_readout

            save_readout(readout, tmp / "readout.h5")
        if cfg.output.plots:
            rule = cfg.readout.params.get("rule", "")
            write_figures(
                tmp, metrics, y_test=y_test, pred=pred, raster=raster, title=cfg.name,
                curve_title=f"{rule} readout".strip(),
            )  # fmt: skip

    def close(self) -> None:
        """Close states.h5; remove the scratch file."""
        self.states.close()
        if self.scratch is not None:
            self.scratch.close()
            (self.tmp / SCRATCH).unlink(missing_ok=True)


@contextmanager
def results_folder(
    cfg: ClassifyConfig, hashed: Mapping[str, Any] | None = None
) -> Iterator[ResultsWriter]:
    """The results folder ``cfg.output.dir`` being written (:class:`ResultsWriter`): filled
    in a temporary folder that replaces an existing one only when the block ends without
    an error (never a half-written folder or states.h5; checked again before the rename:
    the folder may have changed while the run ran). ``hashed``: the config the provenance
    hash is of (:func:`write_config_and_metrics`)."""
    check = dict(inputs={"dataset.root": cfg.dataset.root}, overwrite=cfg.output.overwrite)
    out = check_output(cfg.output.dir, **check)
    with atomic_folder(out) as tmp:
        writer = ResultsWriter(cfg, out, tmp, hashed)
        try:
            yield writer
        finally:
            writer.close()
        if tmp.parent != out:
            check_output(out, **check)
        elif any(p != tmp for p in out.iterdir()):  # an empty folder, filled in place
            raise OutputError(
                f"output.dir {str(out)!r} was empty when the run started and now holds files "
                "spikelab did not write; the results are not moved in: choose a new or "
                "empty folder"
            )


def write_raster(group: h5py.Group, rec: Any) -> None:
    """The spikes of a recording's first sample (``steps``, ``neurons``) and what a
    raster plot needs (attributes ``n_steps``, ``n_neurons``, ``dt`` in ms,
    ``populations`` as JSON) into ``group`` of states.h5."""
    steps, neurons = rec.raster.sample(0)
    group.create_dataset("steps", data=np.asarray(steps, np.int32))
    group.create_dataset("neurons", data=np.asarray(neurons, np.int32))
    group.attrs.update(n_steps=int(rec.n_steps), n_neurons=int(rec.counts.shape[2]),
                       dt=float(rec.dt), populations=json.dumps(rec.populations))  # fmt: skip


def read_raster(group: h5py.Group) -> Any:
    """The one-sample ``Recording`` (with its raster) that ``write_raster`` saved."""
    from .spikes import Recording, SpikeTrains

    steps, neurons = group["steps"][()], group["neurons"][()]
    n_steps, n = int(group.attrs["n_steps"]), int(group.attrs["n_neurons"])
    trains = SpikeTrains(n_steps=n_steps, n_neurons=n, offsets=np.array([0, len(steps)]),
                         steps=steps, neurons=neurons)  # fmt: skip
    counts = np.bincount(neurons, minlength=n).astype(np.int32).reshape(1, 1, n)
    pops = tuple((str(a), int(b), int(c)) for a, b, c in json.loads(group.attrs["populations"]))
    return Recording(counts=counts, bin_steps=n_steps, n_steps=n_steps,
                     dt=float(group.attrs["dt"]), populations=pops, raster=trains)  # fmt: skip


def write_figures(
    folder: Path,
    metrics: Mapping[str, Any],
    *,
    y_test: np.ndarray,
    pred: np.ndarray,
    raster: Any = None,
    title: str = "",
    curve_title: str = "",
) -> list[Path]:
    """The figures of a classify results folder, drawn off pyplot (``spikelab.plots``)
    and saved here: confusion.png, raster.png (a ``Recording`` with a raster),
    readout_curve.png (a readout learned online: ``metrics["readout_history"]``)."""
    from . import plots

    fig = plots.new_figure(plots.CONFUSION_SIZE)
    plots.plot_confusion(y_test, pred, ax=fig.add_subplot(), title=title)
    written = [plots.save_figure(fig, folder / "confusion.png")]
    if raster is not None:
        fig = plots.new_figure(plots.RASTER_SIZE)
        ax, rate_ax = plots.raster_axes(fig)
        plots.plot_raster(raster, ax=ax, rate_ax=rate_ax)
        written.append(plots.save_figure(fig, folder / "raster.png"))
    if metrics.get("readout_history"):  # a readout learned online, epoch by epoch
        fig = plots.new_figure(plots.CURVE_SIZE)
        plots.plot_learning_curve(
            metrics["readout_history"], test_accuracy=metrics.get("test_accuracy"),
            title=curve_title, ax=fig.add_subplot(),
        )  # fmt: skip
        written.append(plots.save_figure(fig, folder / "readout_curve.png"))
    return written
