"""Opt-in download of the full N-MNIST and N-TIDIGITS through tonic, and a disk cache that
reads a split's files once.

``download(name, root, train)`` lets tonic's own dataset classes (``tonic.datasets.NMNIST``,
``tonic.datasets.NTIDIGITS18``) fetch and extract the files into ``root`` when they are not
there yet (network access; nothing is fetched when tonic finds them). It runs only when a
config says ``download = true`` in ``[dataset]`` (never by default).

``disk_cached(ds, file)`` is the equivalent of ``tonic.DiskCachedDataset`` for our
``EventDataset``: the first time, every sample is read once (a progress bar) into one HDF5
file holding the events of the whole split (each field in the smallest integer dtype that
holds it, plus per-sample offsets); later runs read samples from that file, never from the
60,000 small files again. tonic's DiskCachedDataset writes one HDF5 file per sample, which
is no quicker to read than N-MNIST's own 60,000 files; one file per split is. The cache
holds raw events: the dataset's ``transform`` is applied after it, so random transforms
draw afresh. A cache whose sample list differs from the dataset's is rebuilt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import DatasetError, EventDataset

__all__ = ["CacheReader", "disk_cached", "download"]

_FORMAT = 1


def download(name: str, root: str | os.PathLike[str], train: bool = True) -> Path:
    """Fetch dataset ``name`` ("nmnist" or "ntidigits") into ``root`` through tonic, unless
    tonic finds it complete there already. Needs network access. Returns ``root``; load it
    with ``nmnist(root)`` / ``ntidigits(root)``."""
    import tonic.datasets

    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    if name == "nmnist":
        tonic.datasets.NMNIST(save_to=str(root), train=train)
    elif name == "ntidigits":
        tonic.datasets.NTIDIGITS18(save_to=str(root), train=train)
    else:
        raise ValueError(f"download needs 'nmnist' or 'ntidigits', got {name!r}")
    return root


def _column_dtype(values: np.ndarray) -> np.dtype:
    if values.dtype.kind not in "iu" or not values.size:
        return values.dtype
    if values.min() >= 0:
        return np.min_scalar_type(int(values.max()))
    return np.result_type(np.min_scalar_type(int(values.min())), np.int8)


def _write_cache(ds: EventDataset, file: Path, ids: list[str], progress: bool) -> None:
    """Read every sample of ``ds`` once (its transform off) into the HDF5 ``file``."""
    import h5py
    from tqdm.auto import tqdm

    raw = EventDataset(
        paths=ds.paths, reader=ds.reader, labels=ds.labels,
        sensor_size=ds.sensor_size, classes=ds.classes,
    )  # fmt: skip
    samples = [raw[i][0] for i in tqdm(range(len(raw)), desc="cache", disable=not progress)]
    if not samples:
        raise DatasetError(f"nothing to cache: the dataset for {file} has no samples")
    events = np.concatenate(samples)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in samples])]).astype(np.int64)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    with h5py.File(tmp, "w") as h5:
        h5.attrs["format"] = _FORMAT
        h5.attrs["dtype"] = json.dumps(events.dtype.descr)
        h5["ids"] = json.dumps(ids)  # a dataset: attributes are limited to 64 kB
        h5["offsets"] = offsets
        for name in events.dtype.names:
            col = events[name]
            h5.create_dataset(name, data=col.astype(_column_dtype(col)))
    os.replace(tmp, file)


def _cache_matches(file: Path, ids: list[str]) -> bool:
    import h5py

    if not file.is_file():
        return False
    try:
        with h5py.File(file, "r") as h5:
            return h5.attrs.get("format") == _FORMAT and json.loads(h5["ids"][()]) == ids
    except (OSError, KeyError, ValueError):
        return False


class CacheReader:
    """``reader`` for ``EventDataset``: a sample's path -> its events from the cache file.

    Keeps the file open between calls; the handle is dropped when pickled."""

    def __init__(self, file: Path, ids: list[str]) -> None:
        self.file = file
        self.index = {sample_id: i for i, sample_id in enumerate(ids)}
        self._h5: Any = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_h5": None}

    def __call__(self, path: Path) -> np.ndarray:
        import h5py

        if self._h5 is None:
            self._h5 = h5py.File(self.file, "r")
            dtype = np.dtype([tuple(f) for f in json.loads(self._h5.attrs["dtype"])])
            self._dtype, self._offsets = dtype, self._h5["offsets"][()]
        i = self.index[str(path)]
        lo, hi = int(self._offsets[i]), int(self._offsets[i + 1])
        out = np.empty(hi - lo, dtype=self._dtype)
        for name in self._dtype.names:
            out[name] = self._h5[name][lo:hi]
        return out


def disk_cached(
    ds: EventDataset, file: str | os.PathLike[str], *, progress: bool = True
) -> EventDataset:
    """``ds`` read through a one-file disk cache at ``file`` (HDF5), written on first use
    (every sample read once) and rebuilt when ``ds`` lists other samples. The result has
    the same samples, labels, classes and transforms as ``ds``."""
    if ds.paths is None:
        raise ValueError("disk_cached needs a file-backed dataset (one made with paths=)")
    file = Path(file).expanduser()
    ids = [str(p) for p in ds.paths]
    if not _cache_matches(file, ids):
        _write_cache(ds, file, ids, progress)
    return EventDataset(
        paths=ds.paths, reader=CacheReader(file, ids), labels=ds.labels,
        sensor_size=ds.sensor_size, classes=ds.classes,
        transform=ds.transform, target_transform=ds.target_transform,
    )  # fmt: skip
