"""``spikelab report``: redraw results folders' figures from their files and compare the
metrics of several runs in one table and one plot.

    spikelab report results/a results/b --out report/

Nothing here simulates or changes a results folder: the figures are drawn again from
what the run saved (classify: ``states.h5`` labels, predictions and first-sample raster,
``metrics.json`` learning curve; zero_shot: ``metrics.json`` and ``config.toml``) into the
output folder, one sub-folder per run. The table has one column per run and one row per
metric (dotted paths into ``metrics.json``, e.g. ``neurobench.Footprint``).
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fileio import write_text_atomic
from .results import MARKER, is_results_folder, read_marker

#: The rows of the table by default: patterns over the dotted metric paths, in this order;
#: a pattern no run has gives no row.
DEFAULT_METRICS = (
    "test_accuracy",
    "baseline_test_accuracy",
    "retrieval.*.zero_shot.contrastive.mean",
    "neurobench.ClassificationAccuracy*",
    "neurobench.ActivationSparsity",
    "neurobench.ConnectionSparsity",
    "neurobench.Footprint",
    "neurobench.SynapticOperations.Effective_ACs",
    "neurobench.SynapticOperations.Effective_MACs",
    "neurobench.SynapticOperations.Dense",
    "neurobench.per_modality.*.ActivationSparsity",
    "neurobench.per_modality.*.SynapticOperations.Effective_ACs",
    "neurobench.energy.energy_per_sample_j",
    "n_neurons",
    "backend",
    "samples_per_s",
    "timings.total_s",
)
#: The panels of the comparison plot (the first of each tuple a run has is drawn).
PLOT_METRICS = (
    ("accuracy", ("test_accuracy", "neurobench.ClassificationAccuracy.audio_to_image")),
    ("ActivationSparsity", ("neurobench.ActivationSparsity",
                            "neurobench.per_modality.image.ActivationSparsity")),
    ("Effective_ACs / sample", ("neurobench.SynapticOperations.Effective_ACs",
                                "neurobench.per_modality.image.SynapticOperations.Effective_ACs")),
    ("Footprint (bytes)", ("neurobench.Footprint", "neurobench.per_modality.image.Footprint")),
)  # fmt: skip


@dataclass(frozen=True)
class Run:
    """A results folder: where, its label in the table, its task and its metrics."""

    folder: Path
    label: str
    task: str
    metrics: dict[str, Any]


def check_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` as a results folder, or a clear error naming it and what to give instead."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(
            f"{str(folder)!r} does not exist; give the folder a run wrote (its output.dir, "
            "e.g. results/nmnist_lsm)"
        )
    if not folder.is_dir():
        raise ValueError(
            f"{str(folder)!r} is a file, not a results folder; give the folder a run wrote "
            f"(it holds {MARKER}, metrics.json, config.toml)"
        )
    if not is_results_folder(folder):
        raise ValueError(
            f"{str(folder)!r} is not a spikelab results folder: it has no {MARKER} (the mark "
            "`spikelab run` leaves); give the folder a run wrote (its output.dir)"
        )
    if not (folder / "metrics.json").is_file():
        raise FileNotFoundError(
            f"{str(folder)!r} is a results folder without metrics.json; the run did not finish "
            "writing it: run it again"
        )
    return folder


def load_runs(paths: Sequence[str | os.PathLike[str]]) -> list[Run]:
    """The runs of ``paths`` (every one checked before any is read), labelled by the
    run's name, or by the folder when two runs share a name."""
    if not paths:
        raise ValueError("give at least one results folder")
    folders = [check_folder(p) for p in paths]
    metrics, names, tasks = [], [], []
    for folder in folders:
        try:
            metrics.append(json.loads((folder / "metrics.json").read_text()))
        except ValueError as e:
            raise ValueError(f"{folder / 'metrics.json'} is not valid JSON ({e})") from None
        marker = read_marker(folder) or {}
        names.append(str(marker.get("name") or folder.name))
        tasks.append(str(marker.get("task") or "classify"))
    labels = unique_labels(names, [str(f) for f in folders])
    return [Run(*row) for row in zip(folders, labels, tasks, metrics, strict=True)]


def unique_labels(names: Sequence[str], folders: Sequence[str]) -> list[str]:
    """``names``, with the folder in place of a name two runs share (and a number when
    even those repeat)."""
    labels = [n if names.count(n) == 1 else f for n, f in zip(names, folders, strict=True)]
    return [lab if labels.count(lab) == 1 else f"{lab} #{i + 1}" for i, lab in enumerate(labels)]


def flatten_metrics(value: Any, prefix: str = "") -> dict[str, Any]:
    """The scalar leaves of a metrics dict by dotted path (lists are left out)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten_metrics(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if value is None or isinstance(value, bool | int | float | str):
        return {prefix: value}
    return {}


def select_rows(runs: Sequence[Run], patterns: Iterable[str]) -> list[str]:
    """The metric paths some run has that match ``patterns`` (in the patterns' order)."""
    keys: list[str] = []
    for run in runs:
        keys += [k for k in flatten_metrics(run.metrics) if k not in keys]
    rows: list[str] = []
    for pattern in patterns:
        rows += [k for k in keys if fnmatch.fnmatchcase(k, pattern) and k not in rows]
    return rows


def metrics_table(runs: Sequence[Run], patterns: Iterable[str] = DEFAULT_METRICS) -> dict:
    """``{"runs": labels, "rows": [(metric, [value per run]), ...]}``; a run without the
    metric has None."""
    patterns = list(patterns)
    rows = select_rows(runs, patterns)
    if not rows:
        raise ValueError(
            f"no metric matches {patterns} in these runs; see their metrics.json for the "
            "names (dotted paths, e.g. neurobench.Footprint)"
        )
    flat = [flatten_metrics(r.metrics) for r in runs]
    return {"runs": [r.label for r in runs], "rows": [(k, [f.get(k) for f in flat]) for k in rows]}


def cell(value: Any) -> str:
    """A table cell: numbers to 4 significant digits, missing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_text(table: Mapping[str, Any]) -> str:
    """The table as aligned text (what ``spikelab report`` prints)."""
    rows = [["metric", *table["runs"]]] + [[k, *map(cell, v)] for k, v in table["rows"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines[:1] + ["  ".join("-" * w for w in widths)] + lines[1:]) + "\n"


def format_markdown(table: Mapping[str, Any]) -> str:
    """The table as GitHub markdown."""
    head = ["metric", *table["runs"]]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join([k, *map(cell, v)]) + " |" for k, v in table["rows"]]
    return "\n".join(lines) + "\n"


def format_csv(table: Mapping[str, Any]) -> str:
    """The table as CSV, one row per run (full precision), a column per metric."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["run", *(k for k, _ in table["rows"])])
    for i, label in enumerate(table["runs"]):
        writer.writerow([label, *("" if v[i] is None else v[i] for _, v in table["rows"])])
    return buf.getvalue()


def comparison_values(runs: Sequence[Run]) -> dict[str, list[float | None]]:
    """The panels of the comparison plot: per panel, one number (or None) per run."""
    flat = [flatten_metrics(r.metrics) for r in runs]
    out: dict[str, list[float | None]] = {}
    for title, keys in PLOT_METRICS:
        values = [next((f[k] for k in keys if isinstance(f.get(k), int | float)), None)
                  for f in flat]  # fmt: skip
        if any(v is not None for v in values):
            out[title] = values
    return out


def redraw_figures(run: Run, out: Path) -> list[Path]:
    """Draw a run's figures again from its files into ``out`` (created); the paths."""
    out.mkdir(parents=True, exist_ok=True)
    if run.task == "zero_shot":
        from .config import load_config
        from .tasks.zero_shot.config import ZeroShotConfig
        from .tasks.zero_shot.run import write_plots

        cfg = ZeroShotConfig.from_dict(load_config(run.folder / "config.toml"))
        write_plots(cfg, run.metrics, out)
        return sorted(out.glob("*.png"))
    return redraw_classify(run, out)


def redraw_classify(run: Run, out: Path) -> list[Path]:
    """confusion.png (states.h5 labels and predictions), raster.png (states.h5 raster/,
    when the run saved it) and readout_curve.png (an online readout's history)."""
    import h5py

    from .config import load_config
    from .results import read_raster, write_figures

    states = run.folder / "states.h5"
    if not states.is_file():
        raise FileNotFoundError(
            f"{states} is missing: the confusion matrix is drawn from its labels and "
            "predictions; run the experiment again to have it"
        )
    with h5py.File(states, "r") as f:
        if "y_test" not in f or "test_predictions" not in f:
            raise ValueError(f"{states} has no y_test/test_predictions; it is not a classify run's")
        y_test, pred = f["y_test"][()], f["test_predictions"][()]
        raster = read_raster(f["raster"]) if "raster" in f else None
    cfg = load_config(run.folder / "config.toml") if (run.folder / "config.toml").is_file() else {}
    rule = ((cfg.get("readout") or {}).get("params") or {}).get("rule", "")
    return write_figures(out, run.metrics, y_test=y_test, pred=pred, raster=raster,
                         title=str(cfg.get("name", run.label)),
                         curve_title=f"{rule} readout".strip())  # fmt: skip


def check_out(out: Path, runs: Sequence[Run]) -> Path:
    """The report folder, once it is safe to write: not a results folder nor inside one
    given, and new, empty or an earlier report (it holds report.md)."""
    out = Path(os.path.abspath(out))
    for run in runs:
        root = run.folder.resolve()
        if out.resolve() == root or root in out.resolve().parents:
            raise ValueError(
                f"--out {str(out)!r} is inside the results folder {str(run.folder)!r}; a report "
                "never changes a run's folder: choose another folder (e.g. --out report)"
            )
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder for the report")
    if out.is_dir() and any(out.iterdir()) and not (out / "report.md").is_file():
        raise ValueError(
            f"--out {str(out)!r} is a non-empty folder that is not an earlier report (no "
            "report.md); choose a new or empty folder"
        )
    if is_results_folder(out):
        raise ValueError(f"--out {str(out)!r} is a results folder; choose another folder")
    return out


def folder_names(labels: Sequence[str]) -> list[str]:
    """File-system-safe, distinct folder names for the run labels."""
    safe = [
        "".join(c if c.isalnum() or c in "._-" else "_" for c in lab) or "run" for lab in labels
    ]
    return [s if safe.count(s) == 1 else f"{s}_{i + 1}" for i, s in enumerate(safe)]


def write_report(
    runs: Sequence[Run], table: Mapping[str, Any], out: str | os.PathLike[str], *,
    figures: bool = True,
) -> list[Path]:  # fmt: skip
    """Into ``out``: report.csv, report.md, report.png (the comparison plot) and, with
    ``figures``, each run's figures redrawn under figures/<run>/. Returns the paths."""
    from .plots import new_figure, plot_run_comparison, save_figure

    out = check_out(Path(out), runs)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        write_text_atomic(out / "report.csv", format_csv(table)),
        write_text_atomic(out / "report.md", format_markdown(table)),
    ]
    values = comparison_values(runs)
    if values:
        fig = new_figure((1.0 + 3.0 * len(values), 3.8))
        plot_run_comparison([r.label for r in runs], values, fig=fig)
        written.append(save_figure(fig, out / "report.png"))
    if figures:
        for run, name in zip(runs, folder_names([r.label for r in runs]), strict=True):
            written += redraw_figures(run, out / "figures" / name)
    return written
