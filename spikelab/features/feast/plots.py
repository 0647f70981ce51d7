"""FEAST learning signals: a convergence summary and a figure a person looks at.

Both read only what ``FEAST.fit`` records (thresholds every K events, the miss rate per
window, wins per neuron), never the weights: the paper's point is that these signals,
cheap to read out of hardware, tell whether learning has converged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LEARNING_SIZE = (9.0, 9.0)  # inches


def convergence_summary(
    model, *, n_blocks: int = 10, ratio: float = 0.2, miss_tol: float = 0.02
) -> dict:
    """Has learning settled? Judged from the recorded thresholds and miss rate only.

    The records are cut into ``n_blocks`` consecutive blocks of equal length and the
    thresholds averaged per neuron within each block (averaging removes the jitter of
    single wins and misses). The drift of block b is the mean over neurons of
    ``|mean_b(theta_i) - mean_{b-1}(theta_i)|``, with ``theta0`` standing in for block -1,
    so the first drift is the distance the thresholds travelled to their working point.
    ``converged`` is true when the last drift is below ``ratio`` times the largest drift of
    the first half of the blocks (the climb to the working point) and
    the mean miss rates of the last two blocks differ by less than ``miss_tol``.
    Returns a dict with the per-block ``threshold_drift`` and ``miss_rate`` lists, their
    ``*_early``/``*_late`` values, and ``converged``.
    """
    theta, miss = np.asarray(model.threshold_history_), np.asarray(model.miss_rate_history_)
    n = len(theta)
    if n < 2 * n_blocks:
        raise ValueError(
            f"only {n} learning-signal records for {n_blocks} blocks; train on more events, "
            f"lower record_every (now {model.record_every}) or pass fewer n_blocks"
        )
    blocks = np.array_split(np.arange(n), n_blocks)
    drift = _threshold_drift(theta, blocks, float(model.theta0))
    miss_blocks = [_nan_mean(miss[b]) for b in blocks]
    summary = {
        "threshold_drift": drift.tolist(),
        "threshold_drift_early": float(drift[: max(1, n_blocks // 2)].max()),
        "threshold_drift_late": float(drift[-1]),
        "miss_rate": miss_blocks,
        "miss_rate_early": miss_blocks[0],
        "miss_rate_late": miss_blocks[-1],
        "events_per_block": float(model.events_history_[-1]) / n_blocks,
    }
    summary["converged"] = bool(
        drift[-1] < ratio * summary["threshold_drift_early"]
        and abs(miss_blocks[-1] - miss_blocks[-2]) < miss_tol
    )
    return summary


def _threshold_drift(theta: np.ndarray, blocks: list[np.ndarray], theta0: float) -> np.ndarray:
    """Per block: mean over neurons of |block mean - previous block mean| (theta0 before)."""
    means = np.vstack([np.full(theta.shape[1], theta0)] + [theta[b].mean(axis=0) for b in blocks])
    return np.mean(np.abs(np.diff(means, axis=0)), axis=1)


def _nan_mean(x: np.ndarray) -> float:
    """Mean of the non-NaN entries (NaN when there are none)."""
    m = x[~np.isnan(x)]
    return float(m.mean()) if m.size else float("nan")


def plot_feast_learning(model: Any, *, title: str | None = None, fig: Any = None) -> Any:
    """Thresholds and miss rate against events seen, and wins per neuron, in three panels
    of ``fig`` (a Figure or SubFigure; None: a new pyplot figure). Returns the Figure; saving
    is the caller's (``spikelab.plots.save_figure``)."""
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=LEARNING_SIZE, layout="constrained")
    ev = np.asarray(model.events_history_)
    theta = np.asarray(model.threshold_history_)
    miss = np.asarray(model.miss_rate_history_)
    ax_t, ax_m, ax_w = fig.subplots(3, 1, height_ratios=[3, 2, 2])
    ax_t.plot(ev, theta, lw=0.6, alpha=0.7)
    ax_t.set(xlabel="events seen", ylabel="threshold θ_i (all neurons)")
    ax_t.set_title(title or f"FEAST learning signals ({model.n_neurons} neurons)")
    ax_m.plot(ev, miss, lw=0.5, color="0.6", label=f"per {model.record_every} events")
    width = max(1, len(miss) // 50)
    if len(miss) > width:
        smooth = np.convolve(np.nan_to_num(miss), np.ones(width) / width, mode="valid")
        ax_m.plot(ev[width - 1 :], smooth, color="C3", lw=1.5, label=f"mean of {width} windows")
    ax_m.set(xlabel="events seen", ylabel="miss rate", ylim=(0, None))
    ax_m.legend(loc="upper right", fontsize="small")
    counts = np.asarray(model.win_counts_)
    ax_w.bar(np.arange(counts.size), counts, color="C0")
    ax_w.axhline(counts.mean(), color="k", lw=0.8, ls="--")
    ax_w.set(xlabel="neuron", ylabel="wins during learning")
    ax_w.set_title(
        f"wins per neuron: mean {counts.mean():.0f} (dashed), min {counts.min()}, "
        f"max {counts.max()}",
        fontsize="medium",
    )
    return fig
