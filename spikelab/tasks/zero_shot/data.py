"""The zero-shot task's data: each modality loaded, relabelled to digits and encoded once.

Labels are digit values on both sides: images 0-9; audio through the dataset's ``lin2025``
label map ("z"/zero -> 0, "1".."9" -> 1..9, "o"/oh -> 10). "Oh" has no image:
``audio.oh = "drop"`` (default) removes it, ``"zero"`` pools it with "zero" as digit 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..stages import Log, load_split
from .config import ModalityConfig, SplitConfig, ZeroShotConfig


@dataclass(frozen=True)
class ModalityData:
    """One modality's kept samples (train then test), encoded once for every seed."""

    name: str
    batch: Any  # SpikeBatch
    labels: np.ndarray  # digit of each sample
    is_test: np.ndarray  # bool: from the dataset's test split
    encoding: Any  # EventEncoding
    description: str
    #: the encoding's event counts (out of range, dropped, cropped: ``EventEncoding``)
    events: dict[str, int] = field(default_factory=dict)


def digits(y: np.ndarray, modality: ModalityConfig) -> np.ndarray:
    """Dataset labels -> digit values; audio "oh" -> 0 or -1 (dropped) per ``oh``."""
    dataset = modality.dataset
    if dataset.name != "ntidigits":
        return np.asarray(y, dtype=np.int64)
    from ...datasets import LABEL_MAPS, convert_labels

    d = convert_labels(y, dataset.label_map, "lin2025")
    oh = LABEL_MAPS["lin2025"]["o"]
    return np.where(d == oh, 0 if getattr(modality, "oh", "drop") == "zero" else -1, d)


def load_modality(
    cfg: ZeroShotConfig, m: str, *, progress: bool = False, log: Log | None = None
) -> ModalityData:
    """Load, relabel to digits, keep the configured digits and encode modality ``m``
    (lines: the ``spikelab`` logger; ``log``, the older API, receives them too)."""
    modality = cfg.modality(m)
    split = load_split(modality.dataset, int(cfg.seed), log)
    labels = np.concatenate([digits(split.y_train, modality), digits(split.y_test, modality)])
    is_test = np.repeat([False, True], [len(split.y_train), len(split.y_test)])
    events = split.train_events + split.test_events
    keep = np.flatnonzero(np.isin(labels, [*cfg.split.train_classes, *cfg.split.zero_shot_classes]))
    enc = modality.encoding.make(split.sensor_size)
    batch, report = enc.encode_with_report(
        [events[i] for i in keep], labels=labels[keep], progress=progress
    )
    data = ModalityData(
        name=m,
        batch=batch,
        labels=labels[keep],
        is_test=is_test[keep],
        encoding=enc,
        description=split.description,
        events=report,
    )
    check_coverage(data, cfg.split)
    return data


def masks(data: ModalityData, split: SplitConfig) -> dict[str, np.ndarray]:
    """Row masks: ``train`` (train split, trained digits), ``in_class`` (test split,
    trained digits), ``zero_shot`` (unseen digits; all samples or the test split only)."""
    seen = np.isin(data.labels, split.train_classes)
    unseen = np.isin(data.labels, split.zero_shot_classes)
    pool = np.ones_like(data.is_test) if split.zero_shot_samples == "all" else data.is_test
    return {
        "train": seen & ~data.is_test,
        "in_class": seen & data.is_test,
        "zero_shot": unseen & pool,
    }


def check_coverage(data: ModalityData, split: SplitConfig) -> None:
    """Every configured digit has samples in each part it is evaluated in."""
    found = masks(data, split)
    for part, classes in (
        ("train", split.train_classes),
        ("in_class", split.train_classes),
        ("zero_shot", split.zero_shot_classes),
    ):
        have = set(np.unique(data.labels[found[part]]).tolist())
        missing = [c for c in classes if c not in have]
        if missing:
            raise ValueError(
                f"{data.name} data ({data.description}) has no {part.replace('_', '-')} samples "
                f"of digit(s) {missing}; use a dataset with those digits, more samples "
                f"([{data.name}.dataset] per_class / max_per_class / test_fraction) or other "
                "split.train_classes / split.zero_shot_classes"
            )
