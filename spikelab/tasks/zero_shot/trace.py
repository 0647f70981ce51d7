"""Retrieval accuracy traced over training epochs, and what selecting an epoch on the
test set does to the zero-shot figure.

Lin et al.'s published training script (``LSM-CLIP-ATV/zero_shot_sim.py`` in
github.com/MrLinNing/MemristorLSM) evaluates both test splits after every epoch and keeps
the epoch with the best in-class audio→image accuracy among the epochs where in-class
≥ 65 % *and* zero-shot ≥ 85 %: the reported zero-shot figure is chosen on the zero-shot
test set itself. This module records the same per-epoch accuracies so a run can report
both the honest figure (the last epoch, chosen by nothing) and the figures that such a
selection would give:

- ``final``: accuracy after the last epoch (the run's headline figure);
- ``max_over_epochs``: the best zero-shot accuracy of any epoch (selection on the
  zero-shot test set: an upper bound of what epoch picking can show);
- ``at_best_in_class``: zero-shot accuracy at the epoch of best in-class accuracy of the
  same direction (selection on the in-class test set, as the reference script does once
  its thresholds pass);
- ``reference_rule``: the reference script's rule with its thresholds (in-class ≥ 0.65
  and zero-shot ≥ 0.85, best in-class among those): the zero-shot accuracy it would
  report, or None when no epoch passes;
- ``best_run_and_epoch``: the maximum over every seed and epoch (selection over runs).

Nothing here trains or changes a model; it only reads accuracies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .report import DIRECTIONS, SPLITS, seed_summary

REFERENCE_THRESHOLDS = {"in_class": 0.65, "zero_shot": 0.85}
TRACE_SIZE = (10.0, 4.2)  # inches

Evaluator = Callable[[Any], dict[str, dict[str, float]]]


def epoch_tracer(evaluate: Evaluator) -> tuple[Callable[[int, Any], None], dict[str, Any]]:
    """An ``on_epoch`` callback for ``ContrastiveAligner.fit`` and the trace it fills.

    ``evaluate(aligner)`` returns ``acc[split][direction]`` (fractions in [0, 1]); the
    trace is ``trace[direction][split] = [accuracy after epoch 1, 2, ...]``.
    """
    trace: dict[str, Any] = {d: {s: [] for s in SPLITS} for d in DIRECTIONS}

    def on_epoch(epoch: int, aligner: Any) -> None:
        acc = evaluate(aligner)
        for d in DIRECTIONS:
            for s in SPLITS:
                trace[d][s].append(float(acc[s][d]))
        if any(len(trace[d][s]) != epoch for d in DIRECTIONS for s in SPLITS):
            raise RuntimeError(f"epoch trace out of step at epoch {epoch}")

    return on_epoch, trace


def selections(trace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per direction, the zero-shot accuracy under each selection rule (module docstring)."""
    out: dict[str, dict[str, Any]] = {}
    for d in DIRECTIONS:
        inc = np.asarray(trace[d]["in_class"], dtype=np.float64)
        zs = np.asarray(trace[d]["zero_shot"], dtype=np.float64)
        if not len(zs) or len(zs) != len(inc):
            raise ValueError(
                f"trace[{d!r}] needs equal, non-empty in_class and zero_shot lists, got "
                f"{len(inc)} and {len(zs)}"
            )
        passing = np.flatnonzero(
            (inc >= REFERENCE_THRESHOLDS["in_class"]) & (zs >= REFERENCE_THRESHOLDS["zero_shot"])
        )
        ref = None
        if len(passing):
            ref = float(zs[passing[np.argmax(inc[passing])]])
        out[d] = {
            "final": float(zs[-1]),
            "max_over_epochs": float(zs.max()),
            "min_over_epochs": float(zs.min()),
            "at_best_in_class": float(zs[int(np.argmax(inc))]),
            "reference_rule": ref,
            "epochs": len(zs),
        }
    return out


def selection_summary(traces: list[dict[str, Any]], chance: dict[str, float]) -> dict[str, Any]:
    """Over seeds: each selection rule per direction summarised as the retrieval table's
    cells are (mean, std, sem, per_seed, margin over chance), the maximum over every seed
    and epoch, and how many seeds the reference rule would have reported."""
    per_seed = [selections(t) for t in traces]
    out: dict[str, Any] = {
        "thresholds_of_reference_rule": dict(REFERENCE_THRESHOLDS),
        "note": (
            "zero-shot accuracy after the last epoch ('final', the run's figure) and under "
            "rules that pick an epoch by looking at the test sets; the latter are NOT results, "
            "they show how much selection on test data alone can add"
        ),
    }
    for d in DIRECTIONS:
        row: dict[str, Any] = {"chance": chance[d]}
        for rule in ("final", "max_over_epochs", "min_over_epochs", "at_best_in_class"):
            row[rule] = seed_summary([s[d][rule] for s in per_seed], chance[d])
        row["best_run_and_epoch"] = max(s[d]["max_over_epochs"] for s in per_seed)
        hits = [s[d]["reference_rule"] for s in per_seed]
        row["reference_rule"] = {
            "seeds_passing": int(sum(h is not None for h in hits)),
            "per_seed": hits,
        }
        out[d] = row
    return out


def format_selection(summary: dict[str, Any]) -> str:
    """Two lines of text (one per direction), percent."""
    lines = []
    for d in DIRECTIONS:
        r = summary[d]

        def pm(rule: str, r: dict[str, Any] = r) -> str:
            return f"{100 * r[rule]['mean']:.1f} ± {100 * r[rule]['std']:.1f}"

        lines.append(
            f"{d}: zero-shot final {pm('final')}; best epoch picked on the zero-shot test set "
            f"{pm('max_over_epochs')} (best of all runs {100 * r['best_run_and_epoch']:.1f}); "
            f"at the best in-class epoch {pm('at_best_in_class')}; chance {100 * r['chance']:.1f}"
        )
    return "\n".join(lines)


def plot_epoch_trace(
    traces: list[dict[str, Any]],
    seeds: list[int],
    chance: dict[str, float],
    *,
    title: str = "",
    fig: Any = None,
) -> Any:
    """Accuracy against epoch: one thin line per seed and the mean (thick), zero-shot and
    in-class, one panel per direction, with the zero-shot chance level dashed. Drawn into
    ``fig`` (a Figure or SubFigure; None: a new pyplot figure); returns it."""
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=TRACE_SIZE, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, d in zip(axes, DIRECTIONS, strict=True):
        for split, colour in (("zero_shot", "#d62728"), ("in_class", "#1f77b4")):
            curves = np.asarray([t[d][split] for t in traces], dtype=np.float64) * 100
            epochs = np.arange(1, curves.shape[1] + 1)
            for c in curves:
                ax.plot(epochs, c, color=colour, alpha=0.25, linewidth=0.7)
            name = "zero-shot" if split == "zero_shot" else "in-class"
            ax.plot(epochs, curves.mean(0), color=colour, linewidth=2.0, label=f"{name}, mean")
        ax.axhline(100 * chance[d], color="black", linestyle="--", linewidth=1.0, label="chance")
        ax.set_title(d.replace("_to_", " → "), fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("top-1 accuracy (%)")
    axes[1].text(
        0.98, 0.02, f"thin lines: one per seed ({len(seeds)} seeds)", transform=axes[1].transAxes,
        ha="right", va="bottom", fontsize=8,
    )  # fmt: skip
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(title or "retrieval accuracy during training (test sets)", fontsize=10)
    return fig
