"""The results folder of an experiment, written atomically.

    <output.dir>/config.toml    the resolved configuration
                metrics.json   accuracies, baseline, timings, spike statistics
                states.h5      reservoir states (bin counts) and labels, train and test;
                               the fitted FEAST model under features/ when used
                network.h5     the reservoir (Network.load reads it)
                confusion.png  test confusion matrix
                raster.png     spike raster of the first test sample
                readout_curve.png  learning curve of a readout learned online (kind online)

Everything is written into a temporary sibling folder that is renamed into place at the
end, so an interrupted run never leaves a half-written results folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from .config import to_toml
from .fileio import atomic_folder, json_safe

if TYPE_CHECKING:
    from .config import ClassifyConfig

FORMAT_VERSION = 1


def write_config_and_metrics(folder: Path, cfg: Mapping[str, Any], metrics: dict[str, Any]) -> None:
    """``config.toml`` (the resolved config, plain values) and ``metrics.json`` of a folder."""
    (folder / "config.toml").write_text(to_toml(cfg))
    (folder / "metrics.json").write_text(json.dumps(json_safe(metrics), indent=2) + "\n")


def mark_format(f: h5py.File, kind: str) -> None:
    """The format name and version attributes of an HDF5 file of a results folder."""
    f.attrs["format"] = kind
    f.attrs["format_version"] = FORMAT_VERSION


def write_results(
    cfg: ClassifyConfig,
    metrics: dict[str, Any],
    *,
    arrays: dict[str, np.ndarray],
    net: Any,
    raster: Any,
    y_test: np.ndarray,
    pred: np.ndarray,
    features: Any = None,
) -> Path:
    """Write the folder ``cfg.output.dir``; replaces an existing one only at the end."""
    from .plots import plot_confusion, plot_learning_curve, plot_raster

    out = Path(cfg.output.dir)
    with atomic_folder(out) as tmp:
        write_config_and_metrics(tmp, cfg.to_dict(), metrics)
        with h5py.File(tmp / "states.h5", "w") as f:
            mark_format(f, "spikelab.results")
            for key, value in arrays.items():
                if cfg.output.save_states or not key.endswith("_counts"):
                    f.create_dataset(key, data=value, compression="gzip", compression_opts=1)
            if features is not None:  # a fitted feature extractor (FEAST)
                from .features import save_feast

                save_feast(features, f.create_group("features"))
        net.save(tmp / "network.h5")
        if cfg.output.plots:
            plot_confusion(y_test, pred, tmp / "confusion.png", title=cfg.name)
            if raster is not None:
                plot_raster(raster, tmp / "raster.png")
            if metrics.get("readout_history"):  # a readout learned online, epoch by epoch
                plot_learning_curve(
                    metrics["readout_history"],
                    tmp / "readout_curve.png",
                    test_accuracy=metrics.get("test_accuracy"),
                    title=f"{cfg.readout.params.get('rule', '')} readout",
                )
    return out
