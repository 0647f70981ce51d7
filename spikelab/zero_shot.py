"""The zero-shot multimodal LSM of Lin et al. (2025): config -> run -> results folder.

    spikelab run examples/lin2025_zero_shot.toml [--backend crossbar]

Two frozen random reservoirs (``spikelab.reservoirs.lin2025_lsm``) turn N-MNIST-style
images and N-TIDIGITS-style spoken digits into spike counts; two small heads
(``spikelab.readout.contrastive.ContrastiveAligner``) are trained to align them with the
CLIP loss on same-class pairs of the training digits (1-7 by default). Evaluation is
top-1 cross-modal retrieval by cosine similarity, both ways, on held-out samples of the
training digits ("in-class") and on the digits never seen in training (8 and 9:
"zero-shot"), with a prototypical-network baseline beside it, each as mean ± std over
the run ``seeds`` (a seed drives both reservoirs, the pairing and the head
initialisation; the top-level ``seed`` fixes the data: generation and train/test split).

Labels are digit values on both sides: images 0-9; audio through the dataset's
``lin2025`` label map ("z"/zero -> 0, "1".."9" -> 1..9, "o"/oh -> 10). "Oh" has no image:
``audio.oh = "drop"`` (default) removes it, ``"zero"`` pools it with "zero" as digit 0.

Results folder (written under a temporary name, renamed into place at the end)::

    config.toml     the resolved configuration
    metrics.json    "retrieval" table, per-seed values, spike statistics, timings, reference
    retrieval.png   the table as a bar chart with error bars and chance levels
    epoch_trace.png accuracy on both test sets after every epoch (evaluation.trace_epochs)
    features.h5     spike counts per seed and modality, labels, train/test membership
    networks/       the reservoirs of every seed (Network.load reads them)

This module imports torch only inside ``run_zero_shot`` (through the contrastive readout).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import to_toml
from .zero_shot_report import (
    DIRECTIONS,
    METHOD_NOTES,
    METHODS,
    SPLITS,
    format_table,
    plot_retrieval,
    retrieval_table,
)

Log = Callable[[str], None]

_DATASET = {"test_fraction": 0.2, "max_per_class": 0, "on_error": "raise", "generate": ""}
DEFAULTS: dict[str, Any] = {
    "task": "zero_shot",
    "name": "zero_shot",
    "seed": 0,  # data: generation, sample limits, train/test split
    "seeds": [0, 1, 2],  # runs: reservoirs, pairing, head initialisation
    "image": {
        "dataset": {
            **_DATASET,
            "name": "nmnist",
            "root": "../shared/data/nmnist-small",
            "per_class": 100,
        },
        "encoding": {
            "crop": [16, 16],
            "polarity": "on",
            "n_steps": 50,
            "time_bins": "equal",
            "binarize": True,
        },
        "reservoir": {
            "builder": "lin2025_lsm",
            "n_neurons": 200,
            "decay": 0.9,
            "v_th": 5.0,
            "weight_scale": 0.3,
        },
        "bin_steps": 0,  # 0: one count per neuron over the whole sample
    },
    "audio": {
        "dataset": {
            **_DATASET,
            "name": "ntidigits",
            "root": "results/data/ntidigits-like",
            "generate": "ntidigits-like",
            "per_class": 40,
            "label_map": "lin2025",
        },
        "encoding": {
            "n_steps": 129,
            "time_bins": "equal",
            "binarize": True,
            "polarity": "merge",
        },
        "reservoir": {
            "builder": "lin2025_lsm",
            "n_neurons": 200,
            "decay": 0.97,
            "v_th": 5.3,
            "weight_scale": 0.1,
        },
        "bin_steps": 0,
        "oh": "drop",  # or "zero": "oh" pooled with "zero" as digit 0
    },
    "backend": {"name": "numba"},
    "contrastive": {
        "embed_dim": 64,
        "temperature": 1.0,
        "lr": 1e-3,
        "epochs": 100,
        "batch_size": 64,
        "log1p": True,
        "standardize": True,
        "device": "cpu",
        "n_threads": 1,
    },
    "split": {
        "train_classes": [1, 2, 3, 4, 5, 6, 7],
        "zero_shot_classes": [8, 9],
        "zero_shot_samples": "all",  # "all": train and test samples of the unseen digits
    },
    "evaluation": {
        # accuracy on both test sets after every epoch: epoch_trace.png and
        # metrics["epoch_selection"] (what picking an epoch on test data would report)
        "trace_epochs": True,
    },
    "reference": {},
    "output": {
        "dir": "results/zero_shot",
        "chunk_size": 128,
        "plots": True,
        "save_features": True,
        "save_networks": True,
    },
}
_MODALITY_KEYS = {"image": {"dataset", "encoding", "reservoir", "bin_steps"}}
_MODALITY_KEYS["audio"] = _MODALITY_KEYS["image"] | {"oh"}


# ---- configuration --------------------------------------------------------------------------
def _merge(base: dict[str, Any], over: dict[str, Any], where: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(out.get(key), dict):
            if not isinstance(value, dict):
                raise ValueError(f"config [{where}{key}] must be a table, got {value!r}")
            out[key] = _merge(out[key], value, f"{where}{key}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_keys(section: str, got: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(got) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in [{section}]; known: {sorted(known)}")


def resolve_zero_shot(cfg: dict[str, Any]) -> dict[str, Any]:
    """The config with defaults filled in and checked; raises ValueError naming the fix."""
    _check_keys("top level of a zero_shot config", cfg, set(DEFAULTS))
    if cfg.get("task", "zero_shot") != "zero_shot":
        raise ValueError(f"run_zero_shot needs task = 'zero_shot', got {cfg['task']!r}")
    out = _merge(DEFAULTS, cfg, "")
    for m in ("image", "audio"):
        _check_keys(m, out[m], _MODALITY_KEYS[m])
    for section in ("contrastive", "split", "evaluation", "output"):
        _check_keys(section, out[section], set(DEFAULTS[section]))
    _check_split(out["split"])
    _check_seeds(out["seeds"])
    if not isinstance(out["evaluation"]["trace_epochs"], bool):
        raise ValueError(
            f"evaluation.trace_epochs must be true or false, got "
            f"{out['evaluation']['trace_epochs']!r}"
        )
    if out["audio"]["oh"] not in ("drop", "zero"):
        raise ValueError(f"audio.oh must be 'drop' or 'zero', got {out['audio']['oh']!r}")
    if not isinstance(out["backend"].get("name"), str):
        raise ValueError(f"backend.name must be a backend name, got {out['backend'].get('name')!r}")
    return out


def _check_split(split: dict[str, Any]) -> None:
    lists = {}
    for key in ("train_classes", "zero_shot_classes"):
        value = split[key]
        if not isinstance(value, list | tuple) or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 9 for c in value
        ):
            raise ValueError(f"split.{key} must be a list of digits 0-9, got {value!r}")
        if len(set(value)) < 2:
            raise ValueError(f"split.{key} needs at least two different digits, got {value!r}")
        lists[key] = set(value)
    both = sorted(lists["train_classes"] & lists["zero_shot_classes"])
    if both:
        raise ValueError(
            f"digits {both} are in both split.train_classes and split.zero_shot_classes; "
            "zero-shot digits must never be trained on"
        )
    if split["zero_shot_samples"] not in ("all", "test"):
        raise ValueError(
            f"split.zero_shot_samples must be 'all' or 'test', got {split['zero_shot_samples']!r}"
        )


def _check_seeds(seeds: Any) -> None:
    if (
        not isinstance(seeds, list | tuple)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise ValueError(
            f"seeds must be a list of distinct non-negative integers (3 or more for a spread), "
            f"got {seeds!r}"
        )


# ---- data -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModalityData:
    """One modality's kept samples (train then test), encoded once for every seed."""

    name: str
    batch: Any  # SpikeBatch
    labels: np.ndarray  # digit of each sample
    is_test: np.ndarray  # bool: from the dataset's test split
    encoding: Any  # EventEncoding
    description: str


def _digits(y: np.ndarray, mcfg: dict[str, Any]) -> np.ndarray:
    """Dataset labels -> digit values; audio "oh" -> 0 or -1 (dropped) per ``oh``."""
    dcfg = mcfg["dataset"]
    if dcfg["name"] != "ntidigits":
        return np.asarray(y, dtype=np.int64)
    from .datasets import LABEL_MAPS, convert_labels

    d = convert_labels(y, dcfg.get("label_map", "tonic"), "lin2025")
    oh = LABEL_MAPS["lin2025"]["o"]
    return np.where(d == oh, 0 if mcfg.get("oh") == "zero" else -1, d)


def _encoding(mcfg: dict[str, Any], sensor: tuple[int, int, int], m: str) -> Any:
    from .encoding import EventEncoding

    kw = dict(mcfg["encoding"])
    if kw.get("crop") is not None:
        kw["crop"] = tuple(kw["crop"])
    try:
        return EventEncoding(sensor_size=sensor, **kw)
    except TypeError as e:
        raise ValueError(f"[{m}.encoding] has a key EventEncoding does not take: {e}") from None


def load_modality(
    cfg: dict[str, Any], m: str, *, progress: bool = False, log: Log = print
) -> ModalityData:
    """Load, relabel to digits, keep the configured digits and encode modality ``m``."""
    from .experiment import load_split

    mcfg = cfg[m]
    split = load_split(mcfg["dataset"], int(cfg["seed"]), log)
    labels = np.concatenate([_digits(split.y_train, mcfg), _digits(split.y_test, mcfg)])
    is_test = np.repeat([False, True], [len(split.y_train), len(split.y_test)])
    events = split.train_events + split.test_events
    classes = [*cfg["split"]["train_classes"], *cfg["split"]["zero_shot_classes"]]
    keep = np.flatnonzero(np.isin(labels, classes))
    enc = _encoding(mcfg, split.sensor_size, m)
    data = ModalityData(
        name=m,
        batch=enc.encode([events[i] for i in keep], labels=labels[keep], progress=progress),
        labels=labels[keep],
        is_test=is_test[keep],
        encoding=enc,
        description=split.description,
    )
    _check_coverage(data, cfg["split"])
    return data


def _masks(data: ModalityData, split: dict[str, Any]) -> dict[str, np.ndarray]:
    """Row masks: ``train`` (train split, trained digits), ``in_class`` (test split,
    trained digits), ``zero_shot`` (unseen digits; all samples or the test split only)."""
    seen = np.isin(data.labels, split["train_classes"])
    unseen = np.isin(data.labels, split["zero_shot_classes"])
    pool = np.ones_like(data.is_test) if split["zero_shot_samples"] == "all" else data.is_test
    return {
        "train": seen & ~data.is_test,
        "in_class": seen & data.is_test,
        "zero_shot": unseen & pool,
    }


def _check_coverage(data: ModalityData, split: dict[str, Any]) -> None:
    masks = _masks(data, split)
    for part, classes in (
        ("train", split["train_classes"]),
        ("in_class", split["train_classes"]),
        ("zero_shot", split["zero_shot_classes"]),
    ):
        have = set(np.unique(data.labels[masks[part]]).tolist())
        missing = [c for c in classes if c not in have]
        if missing:
            raise ValueError(
                f"{data.name} data ({data.description}) has no {part.replace('_', '-')} samples "
                f"of digit(s) {missing}; use a dataset with those digits, more samples "
                f"([{data.name}.dataset] per_class / max_per_class / test_fraction) or other "
                "split.train_classes / split.zero_shot_classes"
            )


# ---- one seed -------------------------------------------------------------------------------
_STREAM = {"image": 0, "audio": 1, "heads": 2}


def _subseed(seed: int, stream: int) -> int:
    """An independent 32-bit seed per (run seed, stream): 0 image, 1 audio, 2 heads."""
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1)[0])


def simulate_modality(
    cfg: dict[str, Any], data: ModalityData, seed: int, *, progress: bool = False
) -> tuple[np.ndarray, dict[str, Any], Any]:
    """Spike counts ``[samples, bins, neurons]`` of this seed's reservoir, statistics, net."""
    from .experiment import _extras, build_reservoir
    from .spikes import RecordSpec
    from .transformer import run_chunked

    mcfg = cfg[data.name]
    net = build_reservoir(mcfg["reservoir"], data.encoding, _subseed(seed, _STREAM[data.name]))
    opts = dict(cfg["backend"])
    backend = opts.pop("name")
    record = RecordSpec(bin_steps=int(mcfg["bin_steps"]) or None)
    sim = net.compile(backend, dt=data.encoding.dt, record=record, **opts)
    run = run_chunked(
        sim,
        data.batch,
        chunk_size=int(cfg["output"]["chunk_size"]),
        progress=progress,
        desc=f"{data.name} seed {seed}",
    )
    totals = run.counts.sum(axis=1)
    stats = {
        "spikes_per_sample": float(totals.sum() / len(totals)),
        "silent_fraction": float(np.mean(totals.sum(axis=0) == 0)),
        "simulate_s": run.wall_time_s,
        **_extras(run),
    }
    return run.counts, stats, net


def evaluate_seed(
    cfg: dict[str, Any],
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
    from .readout.contrastive import ContrastiveAligner
    from .zero_shot_trace import epoch_tracer

    img, aud = data["image"], data["audio"]
    mi, ma = _masks(img, cfg["split"]), _masks(aud, cfg["split"])
    fi, fa = feats["image"], feats["audio"]
    parts = {
        part: (fi[mi[part]], img.labels[mi[part]], fa[ma[part]], aud.labels[ma[part]])
        for part in SPLITS
    }
    on_epoch, trace = None, None
    if cfg["evaluation"]["trace_epochs"]:
        on_epoch, trace = epoch_tracer(
            lambda al: {part: al.retrieval_accuracy(*args) for part, args in parts.items()}
        )
    models, losses = {}, {}
    for loss in ("clip", "prototypical"):
        models[loss] = ContrastiveAligner(
            **cfg["contrastive"],
            loss=loss,
            seed=_subseed(seed, _STREAM["heads"]),
            progress=progress,
        ).fit(
            fi[mi["train"]],
            fa[ma["train"]],
            img.labels[mi["train"]],
            aud.labels[ma["train"]],
            on_epoch=on_epoch if loss == "clip" else None,
        )
        losses[loss] = models[loss].loss_curve_[-1]
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


def _eval_labels(cfg: dict[str, Any], data: dict[str, ModalityData]) -> dict[str, Any]:
    masks = {m: _masks(d, cfg["split"]) for m, d in data.items()}
    return {part: {m: d.labels[masks[m][part]] for m, d in data.items()} for part in SPLITS}


# ---- the results folder ---------------------------------------------------------------------
def _write_folder(
    cfg: dict[str, Any],
    metrics: dict[str, Any],
    data: dict[str, ModalityData],
    counts: dict[int, dict[str, np.ndarray]],
    nets: dict[int, dict[str, Any]],
) -> Path:
    """Write the results folder under a temporary name; rename it into place at the end."""
    import h5py

    from .fileio import atomic_folder, json_safe
    from .results import FORMAT_VERSION

    out = Path(cfg["output"]["dir"])
    with atomic_folder(out) as tmp:
        (tmp / "config.toml").write_text(to_toml(cfg))
        (tmp / "metrics.json").write_text(json.dumps(json_safe(metrics), indent=2) + "\n")
        if cfg["output"]["plots"]:
            plot_retrieval(
                metrics["retrieval"],
                tmp / "retrieval.png",
                title=_title(cfg),
                reference=cfg["reference"],
            )
            if "epoch_selection" in metrics:
                from .zero_shot_trace import plot_epoch_trace

                sel = metrics["epoch_selection"]
                plot_epoch_trace(
                    [s["epoch_trace"] for s in metrics["per_seed"]],
                    metrics["retrieval"]["seeds"],
                    {d: sel[d]["chance"] for d in DIRECTIONS},
                    tmp / "epoch_trace.png",
                    title=_title(cfg) + ": accuracy after each epoch (test sets)",
                )
        if cfg["output"]["save_features"]:
            with h5py.File(tmp / "features.h5", "w") as f:
                f.attrs["format"] = "spikelab.zero_shot"
                f.attrs["format_version"] = FORMAT_VERSION
                for m, d in data.items():
                    f.create_dataset(f"{m}/labels", data=d.labels)
                    f.create_dataset(f"{m}/is_test", data=d.is_test)
                for seed, per in counts.items():
                    for m, c in per.items():
                        f.create_dataset(
                            f"seed_{seed}/{m}_counts",
                            data=c,
                            compression="gzip",
                            compression_opts=1,
                        )
        if cfg["output"]["save_networks"]:
            (tmp / "networks").mkdir()
            for seed, per in nets.items():
                for m, net in per.items():
                    net.save(tmp / "networks" / f"{m}_seed{seed}.h5")
    return out


def _title(cfg: dict[str, Any]) -> str:
    c = cfg["contrastive"]
    return (
        f"{cfg['name']}: backend {cfg['backend']['name']}, {c['epochs']} epochs, "
        f"temperature {c['temperature']}, embedding {c['embed_dim']}"
    )


# ---- the run --------------------------------------------------------------------------------
def _require_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        raise ModuleNotFoundError(
            "the zero_shot task trains PyTorch projection heads, and torch is not installed "
            "here (the Lava venv has none); run it from the main venv or `pip install torch`"
        )


def run_zero_shot(cfg: dict[str, Any], *, progress: bool = True, log: Log = print) -> Path:
    """Run a (raw or resolved) zero-shot config; returns the results folder."""
    from tqdm.auto import tqdm

    cfg = resolve_zero_shot(cfg)
    _require_torch()
    seeds = [int(s) for s in cfg["seeds"]]
    if len(seeds) < 3:
        log(f"note: {len(seeds)} seed(s); use 3 or more for a meaningful spread")
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    data = {}
    for m in ("image", "audio"):
        t0 = time.perf_counter()
        data[m] = load_modality(cfg, m, progress=progress, log=log)
        timings[f"load_encode_{m}_s"] = time.perf_counter() - t0
        log(
            f"{m}: {data[m].description}; kept {len(data[m].labels)} samples of digits "
            f"{sorted(set(data[m].labels.tolist()))}"
        )
    per_seed: list[dict[str, Any]] = []
    counts: dict[int, dict[str, np.ndarray]] = {}
    nets: dict[int, dict[str, Any]] = {}
    t_sim = t_train = 0.0
    for seed in tqdm(seeds, desc="seeds", disable=not progress):
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
    timings.update(simulate_s=t_sim, train_evaluate_s=t_train)
    table = retrieval_table(per_seed, _eval_labels(cfg, data))
    timings["total_s"] = time.perf_counter() - t_all
    metrics = {
        "retrieval": table,
        "methods": METHOD_NOTES,
        "per_seed": per_seed,
        "backend": cfg["backend"]["name"],
        "backend_options": {k: v for k, v in cfg["backend"].items() if k != "name"},
        "data": {m: d.description for m, d in data.items()},
        "n_samples": {
            m: {"train": int(np.sum(~d.is_test)), "test": int(np.sum(d.is_test))}
            for m, d in data.items()
        },
        "timings": timings,
    }
    if cfg["evaluation"]["trace_epochs"]:
        from .zero_shot_trace import selection_summary

        chance = {d: table[d]["zero_shot"]["chance"] for d in DIRECTIONS}
        metrics["epoch_selection"] = selection_summary([s["epoch_trace"] for s in per_seed], chance)
    if cfg["reference"]:
        metrics["reference"] = dict(cfg["reference"])
    out = _write_folder(cfg, metrics, data, counts, nets)
    log("top-1 accuracy (%), mean ± std over seeds " + str(seeds) + ":\n" + format_table(table))
    if "epoch_selection" in metrics:
        from .zero_shot_trace import format_selection

        log("epoch selection on the test sets (not results; see docs/zero_shot.md):")
        log(format_selection(metrics["epoch_selection"]))
    for key, value in cfg["reference"].items():
        log(f"reference {key}: {value}")
    log(f"results: {out} ({timings['total_s']:.0f} s)")
    return out
