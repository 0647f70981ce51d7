"""The retrieval table of a zero-shot run: summary over seeds, chance levels, text, figure.

``retrieval_table`` turns per-seed accuracies into ``table[direction][split]`` (directions
``audio_to_image`` / ``image_to_audio``, splits ``in_class`` / ``zero_shot``), each with
the chance level, the sample counts and digits, and per method the mean, the sample
standard deviation over seeds (ddof=1), the standard error of the mean (std / sqrt(seeds)),
the per-seed values and the margin over chance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DIRECTIONS = ("audio_to_image", "image_to_audio")
SPLITS = ("in_class", "zero_shot")
RETRIEVAL_SIZE = (10.0, 4.6)  # inches
METHODS = ("contrastive", "prototypical", "contrastive_prototypes")

METHOD_NOTES = {
    "contrastive": "CLIP-trained heads, top-1 retrieval of single samples by cosine similarity",
    "prototypical": (
        "prototypical-network baseline: heads trained with a cross-modal prototypical loss; "
        "a query takes the class of the nearest prototype (mean embedding of a class) of the "
        "other modality, built from that modality's labelled evaluation samples"
    ),
    "contrastive_prototypes": "the CLIP-trained heads evaluated by nearest prototype",
}
_COLOURS = {
    "contrastive": "#1f77b4",
    "prototypical": "#ff7f0e",
    "contrastive_prototypes": "#2ca02c",
}
_LABELS = {
    "contrastive": "contrastive (CLIP), single-sample retrieval",
    "prototypical": "prototypical network",
    "contrastive_prototypes": "CLIP heads, nearest prototype",
}


def chance_levels(query: np.ndarray, gallery: np.ndarray) -> tuple[float, float]:
    """(retrieval chance: a random gallery item has the query's class, i.e. the mean over
    queries of their class's share of the gallery; prototype chance: a random prototype of
    the gallery's classes is the query's class, 1/K for K classes)."""
    classes, counts = np.unique(gallery, return_counts=True)
    share = dict(zip(classes.tolist(), (counts / counts.sum()).tolist(), strict=True))
    retrieval = float(np.mean([share.get(c, 0.0) for c in query.tolist()]))
    return retrieval, float(np.mean(np.isin(query, classes)) / len(classes))


def seed_summary(values: list[float], chance: float) -> dict[str, Any]:
    """Mean, std (ddof=1), sem and margin over chance of per-seed values in [0, 1]."""
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
        "sem": float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0,
        "per_seed": v.tolist(),
        "chance": chance,
        "margin_over_chance": float(v.mean() - chance),
    }


def retrieval_table(
    per_seed: list[dict[str, Any]], labels: dict[str, dict[str, np.ndarray]]
) -> dict[str, Any]:
    """The table from ``per_seed[i] = {"seed": s, "accuracy": acc[direction][split][method]}``
    and the evaluation labels ``labels[split] = {"image": digits, "audio": digits}``."""
    table: dict[str, Any] = {"seeds": [s["seed"] for s in per_seed]}
    for d in DIRECTIONS:
        table[d] = {}
        for part in SPLITS:
            yi, ya = labels[part]["image"], labels[part]["audio"]
            q, g = (ya, yi) if d == "audio_to_image" else (yi, ya)
            chance, proto_chance = chance_levels(q, g)
            row: dict[str, Any] = {
                "chance": chance,
                "n_queries": len(q),
                "n_gallery": len(g),
                "digits": sorted(set(q.tolist())),
            }
            for method in METHODS:
                c = chance if method == "contrastive" else proto_chance
                row[method] = seed_summary([s["accuracy"][d][part][method] for s in per_seed], c)
            table[d][part] = row
    return table


def format_table(table: dict[str, Any]) -> str:
    """The table as text: percent, mean ± std over seeds, and the retrieval chance."""
    lines = [f"{'':16}{'':10}" + "".join(f"{m:>24}" for m in METHODS) + f"{'chance':>9}"]
    for d in DIRECTIONS:
        for part in SPLITS:
            row = table[d][part]
            cells = "".join(
                f"{100 * row[m]['mean']:>17.1f} ± {100 * row[m]['std']:4.1f}" for m in METHODS
            )
            lines.append(f"{d:16}{part:10}{cells}{100 * row['chance']:>8.1f}")
    return "\n".join(lines)


def _span(digits: list[int]) -> str:
    if len(digits) > 2 and digits == list(range(digits[0], digits[-1] + 1)):
        return f"{digits[0]}–{digits[-1]}"
    return ", ".join(str(c) for c in digits)


def _bars(ax: Any, row: dict[str, Any], gi: int, width: float) -> None:
    for mi, method in enumerate(METHODS):
        x = gi + (mi - 1) * width
        cell = row[method]
        mean, std = 100 * cell["mean"], 100 * cell["std"]
        label = _LABELS[method] if gi == 0 else None
        ax.bar(x, mean, width * 0.92, yerr=std, capsize=3, color=_COLOURS[method], label=label)
        ax.text(
            x, mean + std + 1.0, f"{mean:.1f}\n±{std:.1f}", ha="center", va="bottom", fontsize=6.5
        )
        chance_label = "chance" if (gi, mi) == (0, 0) else None
        ax.hlines(
            100 * cell["chance"],
            x - width / 2,
            x + width / 2,
            colors="black",
            linestyles="--",
            linewidth=1.2,
            label=chance_label,
        )


def _reference_marks(ax: Any, ref: dict[str, Any], d: str, part: str, x: float) -> None:
    for kind, face, dx in (("software", "crimson", -0.06), ("rram", "none", 0.06)):
        key = f"paper_{d}_{part}_{kind}"
        if key in ref:
            label = f"Lin et al. 2025, {'RRAM' if kind == 'rram' else kind}"
            ax.plot(
                x + dx,
                100 * float(ref[key]),
                marker="D",
                markerfacecolor=face,
                color="crimson",
                markersize=6,
                linestyle="none",
                label=label,
            )


def _panel(ax: Any, table: dict[str, Any], d: str, ref: dict[str, Any], width: float) -> None:
    """One direction: the in-class and zero-shot groups of bars, reference marks, ticks."""
    ticks = []
    for gi, part in enumerate(SPLITS):
        row = table[d][part]
        _bars(ax, row, gi, width)
        _reference_marks(ax, ref, d, part, gi - width)
        name = "in-class" if part == "in_class" else "zero-shot"
        ticks.append(
            f"{name}: digits {_span(row['digits'])}\n{row['n_queries']} queries, "
            f"{row['n_gallery']} gallery"
        )
    ax.set_xticks(range(len(SPLITS)), ticks, fontsize=8)
    ax.set_title(d.replace("_to_", " → "), fontsize=10)
    ax.set_ylim(0, 115)
    ax.grid(axis="y", alpha=0.3)


def plot_retrieval(
    table: dict[str, Any],
    *,
    title: str = "",
    reference: dict[str, Any] | None = None,
    fig: Any = None,
) -> Any:
    """Bar chart of the table: one panel per direction, in-class and zero-shot groups, one
    bar per method (mean over seeds, error bar = std), a dashed chance level over each bar,
    and the paper's figures where ``reference`` has ``paper_<direction>_<split>_software``
    (filled diamond) or ``..._rram`` (open diamond). Drawn into ``fig`` (a Figure or
    SubFigure; None: a new pyplot figure); returns it (``spikelab.plots``: nothing saved)."""
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=RETRIEVAL_SIZE, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, d in zip(axes, DIRECTIONS, strict=True):
        _panel(ax, table, d, reference or {}, width=0.26)
    axes[0].set_ylabel(f"top-1 accuracy (%), mean ± std over {len(table['seeds'])} seeds")
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    fig.legend(
        list(seen.values()),
        list(seen),
        loc="outside lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.suptitle(title or "zero-shot cross-modal retrieval", fontsize=10)
    return fig
