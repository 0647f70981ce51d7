"""Event datasets as plain sequences of ``(events, label)`` pairs.

An event array is a numpy structured array with the fields ``x``, ``y``, ``t``, ``p``
(``EVENT_DTYPE``, the dtype of ``tonic.datasets.NMNIST``): pixel column and row,
timestamp in µs, polarity (1 = ON, 0 = OFF).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EVENT_DTYPE",
    "DatasetError",
    "EventDataset",
    "empty_events",
    "stratified_split",
]

#: Event dtype: x, y (pixels), t (µs), p (0 = OFF, 1 = ON), all int64. It equals
#: ``tonic.datasets.NMNIST.dtype`` (tonic spells it ``int``, which is int64 on Linux and macOS).
EVENT_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])

Reader = Callable[[Path], np.ndarray]


class DatasetError(ValueError):
    """A dataset file or folder is corrupt, truncated or laid out wrongly."""


def empty_events() -> np.ndarray:
    """Return an event array with no events (``EVENT_DTYPE``, shape ``(0,)``)."""
    return np.zeros(0, dtype=EVENT_DTYPE)


class EventDataset(Sequence):
    """A read-only sequence of ``(events, label)`` samples, backed by files or by memory.

    Give either ``paths`` and ``reader`` (files are read lazily, one per ``__getitem__``;
    ``cache=True`` keeps what was read in memory) or ``events`` (a list of event arrays).
    Each access returns a fresh copy of the events, so callers may modify it freely.

    ``transform`` and ``target_transform`` are applied per sample, as in tonic's datasets:
    ``ds[i]`` is ``(transform(events), target_transform(label))``. ``labels`` stay the raw
    class indices (what splits and sample limits use); the cache holds untransformed events,
    so a random transform draws again on every access.

    Attributes:
        labels: class index of every sample (read-only int64 array).
        sensor_size: ``(width, height, polarities)``, e.g. ``(34, 34, 2)`` for N-MNIST.
        classes: class names; ``classes[label]`` names a label.
        paths: list of file paths when file-backed, else ``None``.
    """

    def __init__(
        self,
        *,
        labels: Sequence[int] | np.ndarray,
        sensor_size: tuple[int, int, int],
        classes: Sequence[str],
        paths: Sequence[str | os.PathLike[str]] | None = None,
        reader: Reader | None = None,
        events: Sequence[np.ndarray] | None = None,
        cache: bool = False,
        _cache_store: dict[str, np.ndarray] | None = None,
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
    ) -> None:
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be a callable or None, got {fn!r}")
        self.transform, self.target_transform = transform, target_transform
        if (paths is None) == (events is None):
            raise TypeError("EventDataset needs exactly one of paths= (with reader=) or events=")
        if paths is not None and reader is None:
            raise TypeError("EventDataset(paths=...) needs reader=, a function path -> events")
        labels_arr = np.asarray(labels)
        if labels_arr.ndim != 1 or (labels_arr.size and labels_arr.dtype.kind not in "iu"):
            raise TypeError(f"labels must be a 1-D integer sequence, got {labels_arr.dtype}")
        labels_arr = labels_arr.astype(np.int64, copy=True)
        labels_arr.setflags(write=False)
        n = len(paths) if paths is not None else len(events)  # type: ignore[arg-type]
        if labels_arr.size != n:
            raise ValueError(f"got {n} samples but {labels_arr.size} labels")
        if n and (labels_arr.min() < 0 or labels_arr.max() >= len(classes)):
            raise ValueError(
                f"labels must lie in [0, {len(classes)}) for {len(classes)} classes, "
                f"got range [{labels_arr.min()}, {labels_arr.max()}]"
            )
        self._labels = labels_arr
        self._sensor_size = tuple(int(s) for s in sensor_size)
        self._classes = list(classes)
        self._paths = [Path(p) for p in paths] if paths is not None else None
        self._reader = reader
        self._events = list(events) if events is not None else None
        self._cache = cache
        self._store: dict[str, np.ndarray] = {} if _cache_store is None else _cache_store

    # -- sequence protocol -------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._labels.size)

    def __getitem__(self, index: Any) -> Any:
        """``ds[i]`` gives ``(events, label)``; ``ds[a:b]`` gives a subset ``EventDataset``."""
        if isinstance(index, slice):
            return self.subset(np.arange(len(self))[index])
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int or a slice, got {type(index).__name__}")
        i = int(index)
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for a dataset of {len(self)} samples")
        i %= len(self)
        events: Any = self._load(i)
        label: Any = int(self._labels[i])
        if self.transform is not None:
            events = self.transform(events)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return events, label

    def _load(self, i: int) -> np.ndarray:
        if self._events is not None:
            return self._events[i].copy()
        path = self._paths[i]  # type: ignore[index]
        key = str(path)
        stored = self._store.get(key)
        if stored is None:
            stored = self._reader(path)  # type: ignore[misc]
            if self._cache:
                self._store[key] = stored
        return stored.copy()

    # -- attributes ----------------------------------------------------------------------------
    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def sensor_size(self) -> tuple[int, int, int]:
        return self._sensor_size  # type: ignore[return-value]

    @property
    def classes(self) -> list[str]:
        return list(self._classes)

    @property
    def paths(self) -> list[Path] | None:
        return None if self._paths is None else list(self._paths)

    @property
    def reader(self) -> Reader | None:
        """The function path -> events of a file-backed dataset (None when in memory)."""
        return self._reader

    def subset(self, indices: Sequence[int] | np.ndarray) -> EventDataset:
        """Return the samples at ``indices`` (in that order) as a new ``EventDataset``.

        A file-backed subset shares the in-memory cache of its parent.
        """
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise TypeError(f"indices must be a 1-D integer array, got {idx.dtype} {idx.shape}")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"indices out of range for a dataset of {len(self)} samples")
        idx %= max(len(self), 1)
        common: dict[str, Any] = {
            "labels": self._labels[idx],
            "sensor_size": self._sensor_size,
            "classes": self._classes,
            "transform": self.transform,
            "target_transform": self.target_transform,
        }
        if self._events is not None:
            return EventDataset(events=[self._events[i] for i in idx], **common)
        return EventDataset(
            paths=[self._paths[i] for i in idx],  # type: ignore[index]
            reader=self._reader,
            cache=self._cache,
            _cache_store=self._store,
            **common,
        )

    def __repr__(self) -> str:
        kind = "files" if self._paths is not None else "memory"
        counts = np.bincount(self._labels, minlength=len(self._classes)).tolist()
        return (
            f"EventDataset({len(self)} samples from {kind}, sensor_size={self._sensor_size}, "
            f"per-class counts={counts})"
        )


def stratified_split(
    labels: Sequence[int] | np.ndarray, test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into train and test sets with the same class proportions.

    Each class contributes ``round(n_class * test_fraction)`` samples to the test set (at
    least one sample stays in train; a class of one sample goes to train), chosen by a
    ``numpy.random.default_rng(seed)`` permutation per class. Deterministic given ``seed``.

    Returns:
        ``(train_idx, test_idx)``: sorted int64 index arrays, disjoint, covering all samples.
    """
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    y = np.asarray(labels)
    if y.ndim != 1 or (y.size and y.dtype.kind not in "iu"):
        raise TypeError(f"labels must be a 1-D integer array, got {y.dtype} {y.shape}")
    rng = np.random.default_rng(seed)
    test_parts = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        n_test = min(int(round(members.size * float(test_fraction))), members.size - 1)
        test_parts.append(rng.permutation(members)[:n_test])
    test = np.sort(np.concatenate(test_parts)) if test_parts else np.zeros(0, np.int64)
    test = test.astype(np.int64)
    if test.size == 0:
        raise ValueError(
            f"test_fraction={test_fraction} of {y.size} labels leaves an empty test set; "
            "use a larger test_fraction or more samples"
        )
    train = np.setdiff1d(np.arange(y.size, dtype=np.int64), test, assume_unique=True)
    return train, test
