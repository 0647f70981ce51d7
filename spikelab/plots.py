"""Figures a person looks at: confusion matrices, spike rasters, learning curves.

As with matplotlib's own plotting functions (and seaborn's, pandas'), each function draws
into the Axes it is given (``ax=``; a raster's rate panel ``rate_ax=``) or, without one,
into a new pyplot figure (so ``plt.show()`` and notebooks display it), and returns the
``Figure`` it drew on. Nothing here saves a file or chooses a backend: importing this
module does not import matplotlib, and no function calls ``matplotlib.use``.

Saving is the runner's step: it draws on ``new_figure`` (a Figure outside pyplot, so no
window and no global state) and writes it with ``save_figure``::

    fig = new_figure(CONFUSION_SIZE)
    plot_confusion(y_test, pred, ax=fig.add_subplot())
    save_figure(fig, folder / "confusion.png")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .spikes import Recording

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 110  # the resolution of the PNGs of a results folder
CONFUSION_SIZE = (5.5, 4.8)  # inches
RASTER_SIZE = (8.0, 5.0)
CURVE_SIZE = (6.0, 3.8)


def new_figure(size: tuple[float, float]) -> Figure:
    """A Figure of ``size`` inches (constrained layout) that pyplot does not manage:
    drawing and saving it opens no window and leaves the backend as it is (the runner's
    figures)."""
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=DPI, layout="constrained")


def save_figure(fig: Figure, path: str | Path, *, dpi: float = DPI) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) and close it if pyplot holds it."""
    import sys

    path = Path(path)
    fig.savefig(path, dpi=dpi)
    if "matplotlib.pyplot" in sys.modules:  # a figure pyplot holds is released
        sys.modules["matplotlib.pyplot"].close(fig)  # (no-op for one it does not)
    return path


def axes_or_new(ax: Axes | None, size: tuple[float, float]) -> Axes:
    """``ax``, or the single Axes of a new pyplot figure of ``size`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=size, layout="constrained").add_subplot()


def confusion_counts(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """(classes, counts ``[true, predicted]``) over the classes seen in either array."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D and of one length, got {y_true.shape} and "
            f"{y_pred.shape}"
        )
    classes, idx = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    k, n = len(classes), len(y_true)
    cm = np.bincount(idx[:n] * k + idx[n:], minlength=k * k).reshape(k, k)
    return classes, cm


def plot_confusion(
    y_true: Any, y_pred: Any, *, ax: Axes | None = None, title: str = "", colorbar: bool = True
) -> Figure:
    """Row-normalised confusion matrix (colour: fraction of the true class) with the counts
    in the cells and the accuracy in the title."""
    classes, cm = confusion_counts(y_true, y_pred)
    ax = axes_or_new(ax, CONFUSION_SIZE)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i, j in zip(*np.nonzero(cm), strict=True):
        colour = "white" if norm[i, j] > 0.5 else "black"
        ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7, color=colour)
    labels = [str(c) for c in classes]
    ax.set_xticks(range(len(classes)), labels)
    ax.set_yticks(range(len(classes)), labels)
    ax.set(xlabel="predicted", ylabel="true")
    acc = float(np.trace(cm) / max(cm.sum(), 1))
    ax.set_title(f"{title} accuracy {acc:.1%} (n={cm.sum()})".strip())
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, label="fraction of true class")
    return ax.figure


def raster_axes(fig: Any) -> tuple[Axes, Axes]:
    """The raster and rate panels (3:1, shared time axis) in ``fig`` (a Figure or SubFigure)."""
    ax, rate_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    return ax, rate_ax


def plot_raster(
    rec: Recording,
    *,
    sample: int = 0,
    ax: Axes | None = None,
    rate_ax: Axes | None = None,
    title: str = "",
    max_neurons: int | None = None,
) -> Figure:
    """Spike raster of one sample, one colour per population; the population rates
    (Hz, 5 ms boxcar) in ``rate_ax``. Without ``ax``: a new figure with both panels; with
    ``ax`` only: the raster alone."""
    if rec.raster is None:
        raise ValueError("this recording has no raster; compile with RecordSpec(raster=True)")
    if not 0 <= sample < len(rec):
        raise ValueError(f"sample {sample} is out of range: the recording has {len(rec)}")
    if ax is None:
        import matplotlib.pyplot as plt

        ax, rate_ax = raster_axes(plt.figure(figsize=RASTER_SIZE, layout="constrained"))
    steps, neurons = rec.raster.sample(sample)
    n_shown = rec.counts.shape[2] if max_neurons is None else min(max_neurons, rec.counts.shape[2])
    for k, (name, start, stop) in enumerate(rec.populations):
        m = (neurons >= start) & (neurons < min(stop, n_shown))
        ax.scatter(steps[m] * rec.dt, neurons[m], s=0.6, color=f"C{k}", label=name, rasterized=True)
        if rate_ax is not None:
            pop = steps[(neurons >= start) & (neurons < stop)]
            rate_ax.plot(*population_rate(pop, stop - start, rec), color=f"C{k}", lw=0.8)
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, n_shown - 0.5)
    ax.legend(loc="upper right", markerscale=8, fontsize=8)
    ax.set_title(title or f"sample {sample}: {len(steps)} spikes")
    if rate_ax is not None:
        rate_ax.set(xlabel="time (ms)", ylabel="rate (Hz)")
    else:
        ax.set_xlabel("time (ms)")
    return ax.figure


def population_rate(
    steps: np.ndarray, size: int, rec: Recording, window_ms: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """(time in ms, rate in Hz per neuron) of the spikes at ``steps`` of ``size`` neurons,
    smoothed by a boxcar of ``window_ms``."""
    counts = np.bincount(steps, minlength=rec.n_steps)
    width = max(1, int(round(window_ms / rec.dt)))
    rate = np.convolve(counts, np.ones(width) / width, mode="same")
    return np.arange(rec.n_steps) * rec.dt, rate / size / rec.dt * 1000.0


def plot_learning_curve(
    history: Sequence[dict],
    *,
    test_accuracy: float | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Figure:
    """An online readout's learning curve (``OnlineReadout.history_``): training accuracy
    and the fraction of samples that changed the weights, per epoch; the final test
    accuracy as a dashed line when given."""
    ax = axes_or_new(ax, CURVE_SIZE)
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_accuracy"] for h in history], "o-", ms=3, label="train accuracy")
    updated = [h["updated_fraction"] for h in history]
    ax.plot(epochs, updated, "s-", ms=3, label="samples that learned")
    if test_accuracy is not None:
        ax.axhline(test_accuracy, color="k", ls="--", lw=0.8, label="test accuracy (final)")
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "online readout")
    return ax.figure


def plot_run_comparison(
    labels: Sequence[str], values: Mapping[str, Sequence[float | None]], *, fig: Any = None
) -> Any:
    """Several runs side by side: one panel per metric (``values``: title -> one number
    per run, None where a run lacks it, shown as "n/a"), one bar per run. Drawn into
    ``fig`` (a Figure or SubFigure; None: a new pyplot figure); returns it."""
    if not values:
        raise ValueError("nothing to compare: give at least one metric with a value")
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(1.0 + 3.0 * len(values), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(values)))
    x = np.arange(len(labels))
    for ax, (title, vals) in zip(axes, values.items(), strict=True):
        if len(vals) != len(labels):
            raise ValueError(f"{title!r} has {len(vals)} values for {len(labels)} runs")
        heights = [np.nan if v is None else float(v) for v in vals]
        ax.bar(x, heights, color=[f"C{i % 10}" for i in range(len(labels))])
        for xi, v in zip(x, vals, strict=True):
            text = "n/a" if v is None else f"{float(v):.3g}"
            ax.text(xi, 0 if v is None else float(v), text, ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.margins(y=0.12)
    return fig
