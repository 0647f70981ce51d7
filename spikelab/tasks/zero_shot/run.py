"""The zero-shot run: every seed's reservoirs and heads, the table, the results folder.

Results folder (written under a temporary name, renamed into place at the end)::

    config.toml     the resolved configuration
    metrics.json    "retrieval" table, per-seed values, spike statistics, timings, reference
    retrieval.png   the table as a bar chart with error bars and chance levels
    epoch_trace.png accuracy on both test sets after every epoch (evaluation.trace_epochs)
    features.h5     spike counts per seed and modality, labels, train/test membership
    networks/       the reservoirs of every seed (Network.load reads them)

torch is imported only inside ``evaluate_seed`` (through the contrastive readout).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from ...fileio import atomic_folder
from ...logs import Log, forwarding
from ...neurobench import REFERENCE, mean_of_blocks, neurobench_metrics
from ...probe import measure_activity
from ...progress import bar, progress_bars, show_bars
from ...results import check_output, mark_format, write_config_and_metrics, write_marker
from ...spikes import RecordSpec
from ..probe import reservoir_hints
from ..stages import (
    Stopwatch,
    backend_extras,
    backend_options,
    build_reservoir,
    compile_simulation,
    data_seed,
    reservoir_seed,
    run_chunked,
)
from .config import MODALITIES, ZeroShotConfig
from .data import ModalityData, load_modality, masks
from .report import (
    DIRECTIONS,
    METHOD_NOTES,
    METHODS,
    RETRIEVAL_SIZE,
    SPLITS,
    format_table,
    plot_retrieval,
    retrieval_table,
)
from .trace import (
    TRACE_SIZE,
    epoch_tracer,
    format_selection,
    plot_epoch_trace,
    selection_summary,
)

logger = logging.getLogger(__name__)

_STREAM = {"image": 0, "audio": 1, "heads": 2}


def subseed(seed: int, stream: int) -> int:
    """An independent 32-bit seed per (run seed, stream): 0 image, 1 audio, 2 heads."""
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1)[0])


# ---- one seed -------------------------------------------------------------------------------
def simulate_modality(
    cfg: ZeroShotConfig, data: ModalityData, seed: int, *, progress: bool = False
) -> tuple[np.ndarray, dict[str, Any], Any]:
    """Spike counts ``[samples, bins, neurons]`` of this seed's reservoir, statistics, net."""
    modality = cfg.modality(data.name)
    net = build_reservoir(modality.reservoir, data.encoding, subseed(seed, _STREAM[data.name]))
    record = RecordSpec(bin_steps=int(modality.bin_steps) or None)
    sim = compile_simulation(net, cfg.backend, data.encoding.dt, record)
    run = run_chunked(
        sim,
        data.batch,
        chunk_size=int(cfg.output.chunk_size),
        progress=progress,
        desc=f"{data.name} seed {seed}",
    )
    totals = run.counts.sum(axis=1)
    pops, total = measure_activity(net, totals[:, None, :], data.encoding.steps_for(0.0),
                                   data.encoding.dt)  # fmt: skip
    stats = {
        "activity_warning": reservoir_hints(modality.reservoir).warning(pops, total),
        "spikes_per_sample": float(totals.sum() / len(totals)),
        "silent_fraction": float(np.mean(totals.sum(axis=0) == 0)),
        "simulate_s": run.wall_time_s,
        **backend_extras(run),
        "backend_options": backend_options(sim, cfg.backend),  # collect_metrics takes it out
    }
    stats["neurobench"] = neurobench_metrics(  # every sample of the modality, no accuracy
        net, run.counts, n_steps=data.batch.n_steps, dt=data.encoding.dt,
        inputs=data.batch.chunks(int(cfg.output.chunk_size)), extras=backend_extras(run),
    )  # fmt: skip
    return run.counts, stats, net


def _train_heads(
    cfg: ZeroShotConfig, train: tuple[Any, ...], seed: int, on_epoch: Any, progress: bool
) -> dict[str, Any]:
    """The CLIP heads and the prototypical baseline, trained on the same pairs."""
    from ...readout.contrastive import ContrastiveAligner

    return {
        loss: ContrastiveAligner(
            **cfg.contrastive.kwargs(),
            loss=loss,
            seed=subseed(seed, _STREAM["heads"]),
            progress=progress,
        ).fit(*train, on_epoch=on_epoch if loss == "clip" else None)
        for loss in ("clip", "prototypical")
    }


def evaluate_seed(
    cfg: ZeroShotConfig,
    data: dict[str, ModalityData],
    feats: dict[str, np.ndarray],
    seed: int,
    *,
    progress: bool = False,
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, float], dict[str, Any] | None]:
    """Train the CLIP heads and the prototypical baseline on this seed's features; return
    ``acc[direction][split][method]``, the final training loss of each model and, with
    ``evaluation.trace_epochs``, the CLIP heads' retrieval accuracy on both test sets after
    every epoch (``trace[direction][split]``; None otherwise)."""
    img, aud = data["image"], data["audio"]
    mi, ma = masks(img, cfg.split), masks(aud, cfg.split)
    fi, fa = feats["image"], feats["audio"]
    parts = {
        part: (fi[mi[part]], img.labels[mi[part]], fa[ma[part]], aud.labels[ma[part]])
        for part in SPLITS
    }
    on_epoch, trace = None, None
    if cfg.evaluation.trace_epochs:
        on_epoch, trace = epoch_tracer(
            lambda al: {part: al.retrieval_accuracy(*args) for part, args in parts.items()}
        )
    train = (fi[mi["train"]], fa[ma["train"]], img.labels[mi["train"]], aud.labels[ma["train"]])
    models = _train_heads(cfg, train, seed, on_epoch, progress)
    losses = {loss: model.loss_curve_[-1] for loss, model in models.items()}
    acc: dict[str, dict[str, dict[str, float]]] = {d: {} for d in DIRECTIONS}
    for part, args in parts.items():
        found = {
            "contrastive": models["clip"].retrieval_accuracy(*args),
            "prototypical": models["prototypical"].prototype_accuracy(*args),
            "contrastive_prototypes": models["clip"].prototype_accuracy(*args),
        }
        for d in DIRECTIONS:
            acc[d][part] = {method: found[method][d] for method in METHODS}
    return acc, losses, trace


def eval_labels(cfg: ZeroShotConfig, data: dict[str, ModalityData]) -> dict[str, Any]:
    """The digits of the evaluated samples: ``labels[split][modality]``."""
    found = {m: masks(d, cfg.split) for m, d in data.items()}
    return {part: {m: d.labels[found[m][part]] for m, d in data.items()} for part in SPLITS}


# ---- the results folder ---------------------------------------------------------------------
def title(cfg: ZeroShotConfig) -> str:
    c = cfg.contrastive
    return (
        f"{cfg.name}: backend {cfg.backend.name}, {c.epochs} epochs, "
        f"temperature {c.temperature}, embedding {c.embed_dim}"
    )


def write_plots(cfg: ZeroShotConfig, metrics: dict[str, Any], folder: Path) -> None:
    """retrieval.png and, with an epoch trace, epoch_trace.png (drawn off pyplot)."""
    from ...plots import new_figure, save_figure

    fig = new_figure(RETRIEVAL_SIZE)
    plot_retrieval(metrics["retrieval"], title=title(cfg), reference=cfg.reference, fig=fig)
    save_figure(fig, folder / "retrieval.png")
    if "epoch_selection" in metrics:
        sel = metrics["epoch_selection"]
        fig = new_figure(TRACE_SIZE)
        plot_epoch_trace(
            [s["epoch_trace"] for s in metrics["per_seed"]],
            metrics["retrieval"]["seeds"],
            {d: sel[d]["chance"] for d in DIRECTIONS},
            title=title(cfg) + ": accuracy after each epoch (test sets)",
            fig=fig,
        )
        save_figure(fig, folder / "epoch_trace.png")


def write_features(
    path: Path, data: dict[str, ModalityData], counts: dict[int, dict[str, np.ndarray]]
) -> None:
    """features.h5: labels and train/test membership per modality, counts per seed."""
    import h5py

    with h5py.File(path, "w") as f:
        mark_format(f, "spikelab.zero_shot")
        for m, d in data.items():
            f.create_dataset(f"{m}/labels", data=d.labels)
            f.create_dataset(f"{m}/is_test", data=d.is_test)
        for seed, per in counts.items():
            for m, c in per.items():
                f.create_dataset(
                    f"seed_{seed}/{m}_counts", data=c, compression="gzip", compression_opts=1
                )


def write_folder(
    cfg: ZeroShotConfig,
    metrics: dict[str, Any],
    data: dict[str, ModalityData],
    counts: dict[int, dict[str, np.ndarray]],
    nets: dict[int, dict[str, Any]],
) -> Path:
    """Write the results folder under a temporary name; rename it into place at the end."""
    out = check_zero_shot_output(cfg)  # again: the folder may have changed during the run
    with atomic_folder(out) as tmp:
        write_marker(tmp, name=cfg.name, task=cfg.task)
        write_config_and_metrics(tmp, cfg.to_dict(), metrics)
        if cfg.output.plots:
            write_plots(cfg, metrics, tmp)
        if cfg.output.save_features:
            write_features(tmp / "features.h5", data, counts)
        if cfg.output.save_networks:
            (tmp / "networks").mkdir()
            for seed, per in nets.items():
                for m, net in per.items():
                    net.save(tmp / "networks" / f"{m}_seed{seed}.h5")
    return out


# ---- the run --------------------------------------------------------------------------------
def check_zero_shot_output(cfg: ZeroShotConfig) -> Path:
    """``spikelab.results.check_output`` for this run: never either modality's data folder."""
    inputs = {f"{m}.dataset.root": cfg.modality(m).dataset.root for m in MODALITIES}
    return check_output(cfg.output.dir, inputs=inputs, overwrite=cfg.output.overwrite)


def seeds_used(cfg: ZeroShotConfig) -> dict[str, Any]:
    """The seeds in force: each modality's data seed, the run seeds, and per run seed the
    seed of each reservoir and of the heads."""
    per_run = {
        str(seed): {
            **{
                m: reservoir_seed(cfg.modality(m).reservoir, subseed(seed, _STREAM[m]))
                for m in MODALITIES
            },
            "heads": subseed(seed, _STREAM["heads"]),
        }
        for seed in cfg.seeds
    }
    data = {m: data_seed(cfg.modality(m).dataset, int(cfg.seed)) for m in MODALITIES}
    return {"seed": int(cfg.seed), "data": data, "runs": list(cfg.seeds), "per_run": per_run}


def pop_backend_options(cfg: ZeroShotConfig, per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """The backend options every simulation reported (the same for all), out of per_seed."""
    found = [
        s["spikes"][m].pop("backend_options")
        for s in per_seed
        for m in s["spikes"]
        if "backend_options" in s["spikes"][m]
    ]
    return found[0] if found else dict(cfg.backend.params)


def require_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        raise ModuleNotFoundError(
            "the zero_shot task trains PyTorch projection heads, and torch is not installed "
            "here (the Lava venv has none); run it from the main venv or `pip install torch`"
        )


def load_modalities(
    cfg: ZeroShotConfig, clock: Stopwatch, progress: bool
) -> dict[str, ModalityData]:
    data = {}
    for m in MODALITIES:
        with clock(f"load_encode_{m}_s"):
            data[m] = load_modality(cfg, m, progress=progress)
        logger.info(
            "%s: %s; kept %d samples of digits %s",
            m, data[m].description, len(data[m].labels), sorted(set(data[m].labels.tolist())),
        )  # fmt: skip
    return data


def run_seeds(
    cfg: ZeroShotConfig, data: dict[str, ModalityData], clock: Stopwatch, progress: bool
) -> tuple[list[dict[str, Any]], dict[int, dict[str, np.ndarray]], dict[int, dict[str, Any]]]:
    """Per seed: simulate both reservoirs, train and evaluate the heads."""
    per_seed: list[dict[str, Any]] = []
    counts: dict[int, dict[str, np.ndarray]] = {}
    nets: dict[int, dict[str, Any]] = {}
    t_sim = t_train = 0.0
    for seed in bar([int(s) for s in cfg.seeds], desc="seeds", progress=progress):
        t0 = time.perf_counter()
        counts[seed], nets[seed], spikes = {}, {}, {}
        for m, d in data.items():
            counts[seed][m], spikes[m], nets[seed][m] = simulate_modality(
                cfg, d, seed, progress=progress
            )
        t_sim += time.perf_counter() - t0
        t0 = time.perf_counter()
        feats = {m: c.reshape(len(c), -1) for m, c in counts[seed].items()}
        acc, losses, trace = evaluate_seed(cfg, data, feats, seed, progress=progress)
        t_train += time.perf_counter() - t0
        per_seed.append({"seed": seed, "accuracy": acc, "final_loss": losses, "spikes": spikes})
        if trace is not None:
            per_seed[-1]["epoch_trace"] = trace
    clock.timings.update(simulate_s=t_sim, train_evaluate_s=t_train)
    return per_seed, counts, nets


def neurobench_summary(per_seed: list[dict[str, Any]], table: dict[str, Any]) -> dict[str, Any]:
    """The NeuroBench block: each modality's reservoir figures averaged over the seeds
    (each seed's own block is in ``per_seed[i]["spikes"][modality]["neurobench"]``) and,
    as ``ClassificationAccuracy``, the nearest-prototype classification of the zero-shot
    test queries by the CLIP heads (mean over seeds, per direction)."""
    return {
        "reference": REFERENCE,
        "per_modality": {
            m: mean_of_blocks([s["spikes"][m]["neurobench"] for s in per_seed])
            for m in per_seed[0]["spikes"]
        },
        "ClassificationAccuracy": {
            d: table[d]["zero_shot"]["contrastive_prototypes"]["mean"] for d in DIRECTIONS
        },
    }


def collect_metrics(
    cfg: ZeroShotConfig,
    data: dict[str, ModalityData],
    per_seed: list[dict[str, Any]],
    clock: Stopwatch,
) -> dict[str, Any]:
    """The table, the per-seed values, the epoch selection audit and the run's facts."""
    options = pop_backend_options(cfg, per_seed)
    table = retrieval_table(per_seed, eval_labels(cfg, data))
    clock.total()
    metrics = {
        "retrieval": table,
        "methods": METHOD_NOTES,
        "per_seed": per_seed,
        "backend": cfg.backend.name,
        "backend_options": options,
        "seeds": seeds_used(cfg),
        "data": {m: d.description for m, d in data.items()},
        "encoding_events": {m: d.events for m, d in data.items()},
        "n_samples": {
            m: {"train": int(np.sum(~d.is_test)), "test": int(np.sum(d.is_test))}
            for m, d in data.items()
        },
        "timings": clock.timings,
        "neurobench": neurobench_summary(per_seed, table),
    }
    if cfg.evaluation.trace_epochs:
        chance = {d: table[d]["zero_shot"]["chance"] for d in DIRECTIONS}
        metrics["epoch_selection"] = selection_summary([s["epoch_trace"] for s in per_seed], chance)
    if cfg.reference:
        metrics["reference"] = dict(cfg.reference)
    return metrics


def run_zero_shot(
    cfg: ZeroShotConfig | dict[str, Any],
    *,
    progress: bool | None = True,
    log: Log | None = None,
) -> Path:
    """Run a zero-shot config (typed, or its raw tables); returns the results folder.
    Lines go to the ``spikelab`` logger (``log``, the older API, receives them too)."""
    progress = show_bars(progress)
    with forwarding(log), progress_bars(progress):
        return zero_shot(cfg, progress)


def zero_shot(cfg: ZeroShotConfig | dict[str, Any], progress: bool) -> Path:
    """:func:`run_zero_shot` without ``log``."""
    cfg = ZeroShotConfig.coerce(cfg)
    check_zero_shot_output(cfg)  # before any data is loaded: never replace what is not ours
    require_torch()
    seeds = [int(s) for s in cfg.seeds]
    if len(seeds) < 3:
        logger.info("note: %d seed(s); use 3 or more for a meaningful spread", len(seeds))
    clock = Stopwatch()
    data = load_modalities(cfg, clock, progress)
    per_seed, counts, nets = run_seeds(cfg, data, clock, progress)
    for run in per_seed:  # the silent/saturated warning of every run, as classify gives it
        for m, stats in run["spikes"].items():
            if stats.get("activity_warning"):
                logger.warning(
                    "%s reservoir, seed %s: %s", m, run["seed"], stats["activity_warning"]
                )
    metrics = collect_metrics(cfg, data, per_seed, clock)
    out = write_folder(cfg, metrics, data, counts, nets)
    table = format_table(metrics["retrieval"])
    logger.info("top-1 accuracy (%%), mean ± std over seeds %s:\n%s", seeds, table)
    if "epoch_selection" in metrics:
        logger.info("epoch selection on the test sets (not results; see docs/zero_shot.md):")
        logger.info("%s", format_selection(metrics["epoch_selection"]))
    for key, value in cfg.reference.items():
        logger.info("reference %s: %s", key, value)
    logger.info("results: %s (%.0f s)", out, metrics["timings"]["total_s"])
    return out
