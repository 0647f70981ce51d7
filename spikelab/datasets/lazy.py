"""The events of a file-backed dataset as a lazy, picklable sequence (issue 15).

``LazyEvents(ds)`` is a ``Sequence`` of structured event arrays: ``events[i]`` reads sample
``i``'s file when asked (``ds.reader(path)``, then ``ds.transform``), exactly what
``ds[i][0]`` gives, and keeps nothing; ``events[a:b]`` is a lazy view of those samples.
It pickles as the sample paths, the reader and the transform, never as events, so a chunk
of a run sent to a Dask worker travels as file references and the worker reads the files
(from a path both see: a shared file system when workers run on other hosts).

A random ``[[transforms]]`` entry gives the same events each time a sample is read: tonic
draws from numpy's global generator, which ``SeededTransforms`` seeds per sample from the
seed and the sample's own events (``spikelab.datasets.transforms``). That global generator
is shared by the threads of a process, so the transforms of this module's reads run one at
a time in a process (a lock), as they would on a single thread.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MAX_READER_BYTES", "LazyEvents", "lazy_events"]

#: the largest pickle of a dataset's reader and transform that lazy events carry with
#: every chunk; a reader holding its samples in memory (FSDD's cochlea events) is larger
#: and its dataset is read eagerly instead
MAX_READER_BYTES = 64 * 1024

_TRANSFORM_LOCK = threading.Lock()  # tonic's random transforms share numpy's global generator


class LazyEvents(Sequence):
    """Sample ``i``'s events read from ``paths[i]`` by ``reader`` (then ``transform``) on
    every access; a slice is a ``LazyEvents`` of those paths. Build it with
    :func:`lazy_events` from a dataset, or directly from its parts."""

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        reader: Callable[[Path], np.ndarray],
        transform: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        self.paths = tuple(os.fspath(p) for p in paths)
        self.reader = reader
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return LazyEvents(self.paths[index], self.reader, self.transform)
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int or a slice, got {type(index).__name__}")
        events = np.asarray(self.reader(Path(self.paths[index]))).copy()
        if self.transform is None:
            return events
        with _TRANSFORM_LOCK:
            return self.transform(events)

    def __add__(self, other: Any) -> list[np.ndarray]:
        """``a + b``, as for lists: every sample of both, read now (a list)."""
        return list(self) + list(other)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return LazyEvents, (self.paths, self.reader, self.transform)

    def __repr__(self) -> str:
        first = f", first {self.paths[0]!r}" if self.paths else ""
        return f"LazyEvents({len(self)} samples read on demand{first})"


def lazy_events(ds: Any) -> LazyEvents | None:
    """The events of dataset ``ds`` (an ``EventDataset``) as :class:`LazyEvents`, or None
    when they cannot be read lazily: not file-backed, no reader, or a reader and transform
    that do not pickle within :data:`MAX_READER_BYTES` (they travel with every chunk)."""
    paths, reader = getattr(ds, "paths", None), getattr(ds, "reader", None)
    if paths is None or reader is None:
        return None
    transform = getattr(ds, "transform", None)
    try:
        pickle.dump((reader, transform), _Bounded(MAX_READER_BYTES), pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - too large, or does not pickle: stays eager
        return None
    return LazyEvents(paths, reader, transform)


class _Bounded:
    """A file that counts what is written and refuses more than ``limit`` bytes (so a
    large reader is not pickled whole to learn that it is large)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise OverflowError(f"more than {self.limit} bytes")
        return len(data)
