"""Figures a person looks at: confusion matrices and spike rasters (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .spikes import Recording


def figure(size: tuple[float, float]) -> tuple[Any, Any]:
    """(pyplot, a new figure of ``size`` inches) on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=size, dpi=110)


def plot_confusion(
    y_true: np.ndarray, y_pred: np.ndarray, path: str | Path, title: str = ""
) -> Path:
    """Row-normalised confusion matrix with counts in the cells."""
    classes = np.unique(np.concatenate([y_true, y_pred]))
    idx = {c: i for i, c in enumerate(classes)}
    cm = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        cm[idx[t], idx[p]] += 1
    plt, fig = figure((5.5, 4.8))
    ax = fig.add_subplot(111)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    ax.set_xticks(range(len(classes)), [str(c) for c in classes])
    ax.set_yticks(range(len(classes)), [str(c) for c in classes])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = float(np.trace(cm) / max(cm.sum(), 1))
    ax.set_title(f"{title} accuracy {acc:.1%} (n={cm.sum()})".strip())
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true class")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_raster(
    rec: Recording,
    path: str | Path,
    *,
    sample: int = 0,
    title: str = "",
    max_neurons: int | None = None,
) -> Path:
    """Spike raster of one sample, one colour per population, with the population rate."""
    if rec.raster is None:
        raise ValueError("this recording has no raster; compile with RecordSpec(raster=True)")
    steps, neurons = rec.raster.sample(sample)
    plt, fig = figure((8, 5))
    ax = fig.add_axes((0.08, 0.32, 0.9, 0.6))
    ax2 = fig.add_axes((0.08, 0.08, 0.9, 0.18), sharex=ax)
    t_ms = steps * rec.dt
    max_neurons = rec.counts.shape[2] if max_neurons is None else max_neurons
    for k, (name, start, stop) in enumerate(rec.populations):
        m = (neurons >= start) & (neurons < min(stop, max_neurons))
        ax.scatter(t_ms[m], neurons[m], s=0.6, color=f"C{k}", label=name, rasterized=True)
        counts = np.bincount(steps[(neurons >= start) & (neurons < stop)], minlength=rec.n_steps)
        width = max(1, int(round(5.0 / rec.dt)))
        rate = np.convolve(counts, np.ones(width) / width, mode="same")
        ax2.plot(
            np.arange(rec.n_steps) * rec.dt,
            rate / (stop - start) / rec.dt * 1000.0,
            color=f"C{k}",
            lw=0.8,
        )
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, min(rec.counts.shape[2], max_neurons) - 0.5)
    ax.legend(loc="upper right", markerscale=8, fontsize=8)
    ax.set_title(title or f"sample {sample}: {len(steps)} spikes")
    ax2.set_xlabel("time (ms)")
    ax2.set_ylabel("rate (Hz)")
    plt.setp(ax.get_xticklabels(), visible=False)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_learning_curve(
    history: list[dict], path: str | Path, *, test_accuracy: float | None = None, title: str = ""
) -> Path:
    """An online readout's learning curve (``OnlineReadout.history_``): training accuracy
    and the fraction of samples that changed the weights, per epoch; the final test
    accuracy as a dashed line when given."""
    epochs = [h["epoch"] for h in history]
    plt, fig = figure((6, 3.8))
    ax = fig.add_subplot(111)
    ax.plot(epochs, [h["train_accuracy"] for h in history], "o-", ms=3, label="train accuracy")
    ax.plot(
        epochs, [h["updated_fraction"] for h in history], "s-", ms=3, label="samples that learned"
    )
    if test_accuracy is not None:
        ax.axhline(test_accuracy, color="k", ls="--", lw=0.8, label="test accuracy (final)")
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "online readout")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
