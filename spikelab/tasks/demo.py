"""``spikelab demo`` (``make demo``): a classify run, then what only spikelab does with it.

    spikelab demo                  # the packaged config, spikelab/config/packaged/demo.toml

1. **Classify** (``spikelab.tasks.classify``): an LSM of LIF neurons on generated
   N-MNIST-like digits, its ridge readout, and the pixel-histogram baselines on the same
   split. The demo reports the comparison as measured, also when the baseline wins.
2. **A second backend**: the same reservoir (the run's ``network.h5``) on torch (numba when
   the run itself used torch) over the run's test split; its spike counts are compared value
   by value with the run's (``states.h5``), and its readout predictions with the run's.
   Without torch the step is skipped, and the summary says why.
3. **Deployment** (``spikelab.export``): the network as a NIR graph; as a Lava artifact
   (written by a Lava-capable interpreter: this one if it imports lava, else the Lava
   worker's, ``.venv-lava`` or ``SPIKELAB_LAVA_PYTHON``, because the artifact's process
   graph is saved with Lava's own serialiser); and its Loihi 2 resource fit (numpy only).
4. **One figure**, ``demo.png``: a test sample's spike raster, the confusion matrix, and
   the test accuracies beside the baselines.
5. ``demo.json`` (everything above as numbers and paths) and a summary: where the results
   are and what to run next (``DemoResult.summary()``, printed by the command).

Everything lands in the run's results folder (``results/demo``): ``export/`` holds
``reservoir.nir``, ``lava/`` and ``loihi2_resources.txt``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..backends.base import BackendUnavailable, UnsupportedFeature
from ..config import BackendConfig
from ..fileio import write_json_atomic, write_text_atomic
from ..network import Network
from ..spikes import Recording, RecordSpec
from .predict import SavedRun, open_results, run_test_split
from .registry import parse, run_task
from .stages import compile_simulation, run_chunked

logger = logging.getLogger(__name__)

EXPORT_DIR = "export"
FIGURE = "demo.png"
REPORT = "demo.json"
LAVA_TIMEOUT_S = 900.0  # importing Lava and writing the artifact on a loaded machine
#: Runs ``spikelab export`` in the Lava-capable interpreter (same checkout, same package).
EXPORT_CODE = "import sys; from spikelab.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced: the results folder and each step's numbers and paths."""

    folder: Path
    metrics: dict[str, Any]  # the classify run's metrics.json
    backend: dict[str, Any]  # the second backend's comparison (or why it was skipped)
    exports: dict[str, Any] = field(default_factory=dict)  # nir, lava, loihi2
    figure: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    def to_dict(self) -> dict[str, Any]:
        """The content of ``demo.json`` (plain JSON values)."""
        return {
            "folder": str(self.folder),
            "test_accuracy": self.metrics.get("test_accuracy"),
            "baseline_test_accuracy": self.metrics.get("baseline_test_accuracy"),
            "baseline_same_readout_test_accuracy": self.metrics.get(
                "baseline_same_readout_test_accuracy"
            ),
            "second_backend": self.backend,
            "exports": self.exports,
            "figure": None if self.figure is None else str(self.figure),
            "timings": self.timings,
        }

    def summary(self) -> str:
        """The closing lines: the comparison, each step's outcome, where things are and
        what to run next."""
        return "\n".join(summary_lines(self))


def run_demo(
    cfg: Mapping[str, Any], *, second_backend: str | None = None, progress: bool | None = None
) -> DemoResult:
    """Run the demo on a classify config (raw tables, e.g. the packaged demo.toml with the
    command line applied). ``second_backend``: the backend compared with the run's (None:
    torch, or numba when the run used torch). Returns what it produced; lines go to the
    ``spikelab`` logger."""
    typed = parse(cfg)  # every key checked before anything runs
    if typed.task != "classify":
        raise ValueError(f"the demo runs a classify config; this one has task = {typed.task!r}")
    run_backend = typed.backend.name  # type: ignore[attr-defined]
    other = second_backend or ("numba" if run_backend == "torch" else "torch")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    folder = run_task(typed, progress=progress)
    timings["classify_s"] = time.perf_counter() - t0
    saved = open_results(folder)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    log_comparison(metrics)
    t0 = time.perf_counter()
    ids, samples, sensor = run_test_split(saved)
    backend = backend_check(saved, samples, sensor, other, progress)
    timings["second_backend_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    exports = export_all(saved)
    timings["export_s"] = time.perf_counter() - t0
    figure = draw_figure(saved, samples[0], sensor, metrics, backend)
    result = DemoResult(folder, metrics, backend, exports, figure, timings)
    write_json_atomic(folder / REPORT, result.to_dict())
    return result


def log_comparison(metrics: Mapping[str, Any]) -> None:
    """The reservoir beside the histogram baseline, as measured."""
    acc, base = metrics.get("test_accuracy"), metrics.get("baseline_test_accuracy")
    if acc is None or base is None:
        return
    verdict = "beats" if acc > base else "does not beat"
    logger.info(
        "the reservoir (%.2f %%) %s the pixel-histogram baseline (%.2f %%) on this data",
        100 * acc,
        verdict,
        100 * base,
    )


# ---- step 2: the same reservoir on a second backend ---------------------------------------
def saved_test_counts(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The run's test spike counts ``[samples, bins, neurons]``, labels and predictions."""
    with h5py.File(folder / "states.h5", "r") as f:
        return f["test_counts"][()], f["y_test"][()], f["test_predictions"][()]


def compare_counts(counts: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """Value-by-value comparison of two count arrays of one shape."""
    if counts.shape != reference.shape:
        raise ValueError(f"count shapes differ: {counts.shape} vs {reference.shape}")
    differ = counts != reference
    return {
        "identical": bool(not differ.any()),
        "values": int(counts.size),
        "values_differing": int(differ.sum()),
        "samples_differing": int(differ.reshape(len(counts), -1).any(axis=1).sum()),
        "spikes": int(counts.sum()),
        "spikes_reference": int(reference.sum()),
    }


def backend_check(
    saved: SavedRun, samples: list[np.ndarray], sensor: Any, backend: str, progress: bool | None
) -> dict[str, Any]:
    """The run's test split on ``backend``: counts and predictions beside the run's. A
    backend that is not installed is skipped, with the reason (``skipped``)."""
    cfg = saved.cfg
    if saved.features is not None:  # the run's FEAST features, as in classify
        samples = saved.features.transform_many(samples, sensor_size=sensor)
        sensor = (sensor[0], sensor[1], int(saved.features.n_neurons))
    enc = cfg.encoding.make(sensor)
    record = RecordSpec(bin_steps=cfg.record.bin_steps or None)
    out: dict[str, Any] = {"backend": backend, "reference_backend": cfg.backend.name}
    try:
        sim = compile_simulation(saved.net, BackendConfig.coerce({"name": backend}), enc.dt, record)
    except BackendUnavailable as e:
        logger.warning("second backend skipped: %s", e)
        return {**out, "skipped": str(e)}
    run = run_chunked(sim, samples, encoding=enc, chunk_size=int(cfg.output.chunk_size),
                      progress=progress, desc=backend)  # fmt: skip
    reference, y_test, ref_pred = saved_test_counts(saved.folder)
    out.update(compare_counts(run.counts, reference))
    out["samples"] = len(samples)
    out["samples_per_s"] = len(samples) / max(run.wall_time_s, 1e-12)
    pred = saved.readout.predict(run.counts)  # the run's readout on this backend's counts
    out["predictions_identical"] = int(np.sum(pred == ref_pred))
    out["test_accuracy"] = float(np.mean(pred == y_test))
    logger.info("%s", backend_line(out))
    return out


def backend_line(check: Mapping[str, Any]) -> str:
    """One line on the second backend's outcome."""
    name, ref = check["backend"], check["reference_backend"]
    if "skipped" in check:
        return f"{name}: skipped ({check['skipped']})"
    same = "identical to" if check["identical"] else "NOT identical to"
    text = (
        f"{name}: spike counts of {check['samples']} test samples {same} {ref}'s "
        f"({check['spikes']:,} vs {check['spikes_reference']:,} spikes; "
        f"{check['values_differing']:,} of {check['values']:,} counts differ)"
    )
    text += f"; predictions identical on {check['predictions_identical']}/{check['samples']}"
    return text + f", test accuracy {100 * check['test_accuracy']:.2f} %"


# ---- step 3: deployment -------------------------------------------------------------------
def export_all(saved: SavedRun) -> dict[str, Any]:
    """NIR, the Lava artifact and the Loihi 2 fit of the run's network, under ``export/``."""
    out = saved.folder / EXPORT_DIR
    out.mkdir(exist_ok=True)
    return {
        "nir": nir_step(saved.net, out / "reservoir.nir"),
        "lava": lava_step(saved.folder, out / "lava"),
        "loihi2": loihi2_step(saved.net, out / "loihi2_resources.txt"),
    }


def nir_step(net: Network, path: Path) -> dict[str, Any]:
    """The NIR graph; strictly when NIR can express the network, else without what it
    cannot (refractoriness, kept only in spikelab's metadata), and the note says so."""
    from ..export import export_nir

    note = None
    try:
        export_nir(net, path)
    except UnsupportedFeature as e:
        note = str(e).split(";")[0] + ": exported without it (strict=False)"
        export_nir(net, path, strict=False)
    logger.info("NIR graph: %s%s", path, f" ({note})" if note else "")
    return {"path": str(path), "strict": note is None, "note": note}


def lava_python() -> tuple[str | None, str]:
    """(interpreter that can import lava, how it was found), or (None, why there is none)."""
    if importlib.util.find_spec("lava") is not None:
        return sys.executable, "this Python imports lava"
    from ..backends.lava.remote import find_lava_python

    try:
        return str(find_lava_python()), "the Lava worker's interpreter"
    except BackendUnavailable as e:
        return None, str(e)


def lava_step(folder: Path, out: Path) -> dict[str, Any]:
    """The Lava artifact of the results folder (network, readout, steps), written by
    ``spikelab export`` in a Lava-capable interpreter; skipped, with the reason, without one."""
    python, how = lava_python()
    if python is None:
        logger.warning("Lava artifact skipped: %s", how)
        return {"path": None, "skipped": how}
    cmd = [python, "-c", EXPORT_CODE, "-q", "export", str(folder), "--to", "lava", str(out)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=LAVA_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        done = None
    if done is None or done.returncode != 0:
        text = f"timed out after {LAVA_TIMEOUT_S:.0f} s" if done is None else done.stderr
        lines = [ln for ln in text.strip().splitlines() if ln and "--debug" not in ln]
        why = f"{python} could not write it: {' / '.join(lines)[-600:] or 'no output'}"
        logger.warning("Lava artifact NOT written: %s", why)
        return {"path": None, "python": python, "error": why}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    logger.info("Lava artifact: %s (written by %s: %s)", out, python, how)
    return {
        "path": str(out),
        "python": python,
        "precision": manifest.get("precision"),
        "n_steps": manifest.get("n_steps"),
        "readout": manifest.get("readout") is not None,
    }


def loihi2_step(net: Network, path: Path) -> dict[str, Any]:
    """The Loihi 2 resource report (numpy only) as text beside a few numbers."""
    from ..export import resource_report

    report = resource_report(net, target="loihi2")
    write_text_atomic(path, report.to_text() + "\n")
    fit = "fits" if report.fits else "does NOT fit"
    logger.info("Loihi 2: %s on %d neuro-cores (%d chip(s)); %s", fit, report.cores,
                report.chips, path)  # fmt: skip
    return {
        "path": str(path),
        "fits": report.fits,
        "cores": report.cores,
        "chips": report.chips,
        "reasons": list(report.reasons),
    }


# ---- step 4: the figure -------------------------------------------------------------------
def first_raster(saved: SavedRun, sample: np.ndarray, sensor: Any) -> Recording:
    """The raster of one test sample on the run's backend."""
    cfg = saved.cfg
    if saved.features is not None:
        sample = saved.features.transform_many([sample], sensor_size=sensor)[0]
        sensor = (sensor[0], sensor[1], int(saved.features.n_neurons))
    enc = cfg.encoding.make(sensor)
    record = RecordSpec(bin_steps=cfg.record.bin_steps or None, raster=True)
    return compile_simulation(saved.net, cfg.backend, enc.dt, record).run(enc.encode([sample]))


def accuracy_bars(ax: Any, metrics: Mapping[str, Any], check: Mapping[str, Any]) -> None:
    """Test accuracies: the reservoir (on each backend) beside the histogram baselines."""
    ref = check.get("reference_backend", "run")
    bars = [(f"LSM\n{ref}", metrics.get("test_accuracy"), "C0")]
    if check.get("test_accuracy") is not None:
        bars.append((f"LSM\n{check['backend']}", check["test_accuracy"], "C1"))
    bars.append(("histogram\nlogistic", metrics.get("baseline_test_accuracy"), "C7"))
    bars.append(("histogram\nsame readout", metrics.get("baseline_same_readout_test_accuracy"),
                 "C7"))  # fmt: skip
    bars = [b for b in bars if b[1] is not None]
    x = np.arange(len(bars))
    ax.bar(x, [100 * b[1] for b in bars], color=[b[2] for b in bars])
    for i, (_, acc, _) in enumerate(bars):
        ax.text(i, 100 * acc + 0.3, f"{100 * acc:.1f}", ha="center", va="bottom", fontsize=8)
    low = min(100 * b[1] for b in bars)
    ax.set_ylim(max(0.0, low - 10.0), 100.5)
    ax.set_xticks(x, [b[0] for b in bars], fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"n = {metrics.get('n_test')} test samples")


def draw_figure(
    saved: SavedRun,
    sample: np.ndarray,
    sensor: Any,
    metrics: Mapping[str, Any],
    check: Mapping[str, Any],
) -> Path:
    """``demo.png``: raster and rates of a test sample | confusion matrix | accuracies."""
    from ..plots import new_figure, plot_confusion, plot_raster, raster_axes, save_figure

    with h5py.File(saved.folder / "states.h5", "r") as f:
        y_test, pred = f["y_test"][()], f["test_predictions"][()]
    fig = new_figure((15.0, 4.8))
    left, middle, right = fig.subfigures(1, 3, width_ratios=[1.6, 1.15, 0.9])
    ax, rate_ax = raster_axes(left)
    rec = first_raster(saved, sample, sensor)
    plot_raster(rec, ax=ax, rate_ax=rate_ax, title=f"test sample 0 (label {y_test[0]})")
    plot_confusion(y_test, pred, ax=middle.add_subplot(), title="LSM")
    accuracy_bars(right.add_subplot(), metrics, check)
    path = save_figure(fig, saved.folder / FIGURE)
    logger.info("figure: %s", path)
    return path


# ---- step 5: the summary ------------------------------------------------------------------
def summary_lines(result: DemoResult) -> list[str]:
    """The lines of ``DemoResult.summary()``."""
    m, ex, folder = result.metrics, result.exports, result.folder
    lines = ["", "spikelab demo: summary"]
    acc, base = m.get("test_accuracy"), m.get("baseline_test_accuracy")
    if acc is not None and base is not None:
        verdict = "beats" if acc > base else "does NOT beat"
        lines.append(
            f"  classify   LSM ({m.get('n_neurons')} neurons, {m.get('backend')}) "
            f"{100 * acc:.2f} % {verdict} the pixel-histogram baseline {100 * base:.2f} % "
            f"({m.get('n_test')} test samples)"
        )
    lines.append(f"  backends   {backend_line(result.backend)}")
    lines += export_lines(ex)
    if result.figure is not None:
        lines.append(f"  figure     {shown(result.figure)}")
    lines += [
        f"  results    {shown(folder)}/ (metrics.json, {REPORT}, states.h5, network.h5, readout.h5)"
    ]
    lines += next_steps(folder, ex)
    return lines


def export_lines(ex: Mapping[str, Any]) -> list[str]:
    """Summary lines of the deployment step."""
    lines = []
    nir = ex.get("nir", {})
    if nir:
        note = f" ({nir['note']})" if nir["note"] else ""
        lines.append(f"  NIR        {shown(Path(nir['path']))}{note}")
    lava = ex.get("lava", {})
    if lava.get("path"):
        readout = "yes" if lava["readout"] else "no"
        lines.append(f"  Lava       {shown(Path(lava['path']))} ({lava['precision']}, "
                     f"{lava['n_steps']} steps, readout included: {readout})")  # fmt: skip
    elif lava:
        lines.append(f"  Lava       not written: {lava.get('skipped') or lava.get('error')}")
    loihi = ex.get("loihi2", {})
    if loihi:
        fit = "fits" if loihi["fits"] else "does NOT fit: " + "; ".join(loihi["reasons"])
        lines.append(
            f"  Loihi 2    {fit} ({loihi['cores']} neuro-cores); {shown(Path(loihi['path']))}"
        )
    return lines


def next_steps(folder: Path, ex: Mapping[str, Any]) -> list[str]:
    """What to run next, with this run's paths."""
    here = shown(folder)
    steps = [
        ("spikelab run examples/nmnist_lsm.toml", "real N-MNIST recordings (docs/experiments.md)"),
        ("spikelab probe examples/nmnist_lsm.toml", "a config's activity in seconds, before a run"),
        (f"spikelab report {here}", "redraw this run's figures, compare runs"),
        (f"spikelab predict {here} EVENTS.bin", "classify recordings with this reservoir"),
    ]
    lava = ex.get("lava", {})
    if lava.get("path"):
        run = f"{shown(Path(lava['python']))} {shown(Path(lava['path']) / 'run_artifact.py')}"
        steps.append((f"{run} inputs.npy", "the artifact with Lava alone (docs/export.md)"))
    steps.append(("make docs", "the documentation and API reference, into site/"))
    width = min(max(len(cmd) for cmd, _ in steps), 48)
    return ["next:"] + [f"  {cmd:<{width}}  # {why}" for cmd, why in steps]


def shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies under it, else as it is."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except ValueError:
        return str(path)
