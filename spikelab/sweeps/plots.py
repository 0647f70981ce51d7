"""The figures of a sweep: every metric against each swept parameter (mean and standard
deviation over seeds and the other parameters' values as lines), and for two parameters a
heat map of the mean per metric."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .table import METRICS

__all__ = ["plot_sweep"]

PLOTTED = ("test_accuracy", "baseline_test_accuracy", "samples_per_s", "spikes_per_sample")


def _axis(values: Sequence[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    try:
        return sorted(seen)
    except TypeError:
        return seen


def _lines(ax: Any, summary: Sequence[Mapping[str, Any]], keys: Sequence[str], metric: str) -> None:
    """``metric`` against ``keys[0]``, one line per value of the other keys."""
    x_key, others = keys[0], list(keys[1:])
    xs = _axis([s[x_key] for s in summary])
    for combo in _axis([tuple(s[k] for k in others) for s in summary]) or [()]:
        sel = [s for s in summary if tuple(s[k] for k in others) == combo]
        pts = [(xs.index(s[x_key]), s[f"{metric}_mean"], s[f"{metric}_std"]) for s in sel]
        pts = sorted(p for p in pts if p[1] is not None)
        if not pts:
            continue
        label = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in zip(others, combo, strict=True))
        i, mean, std = (np.array(c, dtype=float) for c in zip(*pts, strict=True))
        ax.errorbar(i, mean, yerr=std, marker="o", capsize=3, label=label or None)
    ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.set_xlabel(x_key)
    ax.set_ylabel(f"{metric} (mean ± sd over seeds)")
    if others:
        ax.legend(fontsize="small", loc="upper left")  # "best" can be slow


def _heatmap(
    fig: Any, ax: Any, summary: Sequence[Mapping[str, Any]], keys: Sequence[str], metric: str
) -> None:
    ys, xs = _axis([s[keys[0]] for s in summary]), _axis([s[keys[1]] for s in summary])
    grid = np.full((len(ys), len(xs)), np.nan)
    sd = np.full_like(grid, np.nan)
    for s in summary:
        if s[f"{metric}_mean"] is not None:
            i, j = ys.index(s[keys[0]]), xs.index(s[keys[1]])
            grid[i, j], sd[i, j] = s[f"{metric}_mean"], s[f"{metric}_std"]
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label=metric)
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(
                j, i, f"{v:.3g}\n±{sd[i, j]:.2g}", ha="center", va="center", fontsize=7, color="w"
            )
    ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.set_yticks(range(len(ys)), [str(y) for y in ys])
    ax.set_xlabel(keys[1])
    ax.set_ylabel(keys[0])
    ax.set_title(f"{metric}: mean (± sd) over seeds")


def plot_sweep(summary: Sequence[Mapping[str, Any]], keys: Sequence[str], out: Path) -> list[Path]:
    """Write ``sweep_<metric>.png`` (lines against each parameter) and, for two parameters,
    ``sweep_<metric>_heatmap.png`` into ``out``; the paths written."""
    from matplotlib.figure import Figure  # no pyplot: no backend chosen or switched

    written: list[Path] = []
    if not summary or not keys:
        return written
    for metric in (m for m in PLOTTED if m in METRICS):
        if all(s[f"{metric}_mean"] is None for s in summary):
            continue
        fig = Figure(figsize=(5 * len(keys), 4))
        axes = fig.subplots(1, len(keys), squeeze=False)
        for ax, k in zip(axes[0], keys, strict=True):
            _lines(ax, summary, [k, *[o for o in keys if o != k]], metric)
        fig.tight_layout()
        written.append(out / f"sweep_{metric}.png")
        fig.savefig(written[-1], dpi=100)
        if len(keys) == 2:
            fig = Figure(figsize=(6, 4.5))
            ax = fig.subplots()
            _heatmap(fig, ax, summary, keys, metric)
            fig.tight_layout()
            written.append(out / f"sweep_{metric}_heatmap.png")
            fig.savefig(written[-1], dpi=100)
        return written
