"""N-TIDIGITS: spoken digits recorded by a 64-channel silicon cochlea (Anumula et al. 2018).

File layout (one HDF5 file, ``n-tidigits.hdf5``), as read by ``tonic.datasets.NTIDIGITS18``::

    train_labels              1-D array of byte strings: sample ids
    train_addresses/<id>      1-D integer array: channel of each event, 0..63
    train_timestamps/<id>     1-D float array: event time in seconds
    test_labels, test_addresses/<id>, test_timestamps/<id>     the same for the test set

A sample id is ``<gender>-<speaker>-<repetition>-<digits>``, e.g. ``man-ae-a-1`` or
``woman-ar-b-zz1``; the label is the text after the last ``-``. Digits are spelled
``o`` ("oh"), ``z`` ("zero") and ``1``..``9``. A single-digit sample has a one-character
label. Events become tonic's structured dtype ``(t, x, p)`` (int64): ``t`` in µs is
``(seconds * 1e6)`` truncated, ``x`` the channel, ``p`` always 1 (the file has no polarity).

Class maps (the label is an index into ``classes``):

- ``"tonic"`` (default): ``o``->0, ``1``..``9``->1..9, ``z``->10 (``NTIDIGITS18.class_map``).
- ``"lin2025"``: ``z``->0, ``1``..``9``->1..9, ``o``->10 (Lin et al. 2025; also
  torchneuromorphic), i.e. the digit value, with "oh" last.

tonic is imported only when a folder in tonic's layout is read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..progress import bar
from .base import DatasetError, EventDataset
from .cochlea import AUDIO_EVENT_DTYPE, events_from_spike_times

__all__ = [
    "LABEL_MAPS",
    "NTIDIGITS_CLASSES",
    "NTIDIGITS_SENSOR_SIZE",
    "TONIC_FILENAME",
    "TONIC_FOLDER",
    "NTidigitsSequences",
    "convert_labels",
    "find_ntidigits_file",
    "ntidigits",
    "parse_sample_id",
]

NTIDIGITS_SENSOR_SIZE = (64, 1, 1)
TONIC_FOLDER = "NTIDIGITS18"  # tonic's Dataset puts files in <save_to>/<class name>
TONIC_FILENAME = "n-tidigits.hdf5"
_DIGITS = "o123456789z"
#: Class names per label map: ``NTIDIGITS_CLASSES[map][label]`` is the digit character.
NTIDIGITS_CLASSES: dict[str, tuple[str, ...]] = {
    "tonic": tuple(_DIGITS),
    "lin2025": ("z", *"123456789", "o"),
}
#: Digit character -> class index, per label map.
LABEL_MAPS: dict[str, dict[str, int]] = {
    name: {c: i for i, c in enumerate(classes)} for name, classes in NTIDIGITS_CLASSES.items()
}
_GET_DATA = (
    "point path at tonic's folder (holding NTIDIGITS18/n-tidigits.hdf5) or at an HDF5 file "
    "in the N-TIDIGITS layout, or generate a synthetic stand-in with "
    "`spikelab datasets generate ntidigits-like OUT`"
)


def _check_map(name: str) -> str:
    if name not in LABEL_MAPS:
        raise ValueError(f"label_map must be one of {sorted(LABEL_MAPS)}, got {name!r}")
    return name


def convert_labels(labels: Sequence[int] | np.ndarray, source: str, target: str) -> np.ndarray:
    """Re-index class labels from label map ``source`` to ``target`` ("tonic", "lin2025").

    The two maps differ only in swapping 0 and 10 ("oh" and "zero"). Returns int64.
    """
    src, dst = NTIDIGITS_CLASSES[_check_map(source)], LABEL_MAPS[_check_map(target)]
    y = np.asarray(labels)
    if y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= len(src)):
        raise ValueError(f"labels must be integers in [0, {len(src)}), got {y!r}")
    table = np.array([dst[c] for c in src], dtype=np.int64)
    return table[y.astype(np.int64)]


def parse_sample_id(sample_id: str) -> tuple[str, str, str, str]:
    """Split an id such as ``man-ae-a-1`` into (gender, speaker, repetition, digits).

    Ids with fewer than four fields (e.g. ``man-ae-1``) give ``""`` for the missing
    middle fields; the digits are always the text after the last ``-``.
    """
    parts = sample_id.split("-")
    digits = parts[-1]
    if len(parts) < 2 or not digits or any(c not in _DIGITS for c in digits):
        raise ValueError(
            f"sample id {sample_id!r} is not '<gender>-<speaker>-<rep>-<digits>' with digits "
            f"from {_DIGITS!r}"
        )
    head = (parts[:-1] + ["", "", ""])[:3]
    return head[0], head[1], head[2], digits


def find_ntidigits_file(path: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """Locate the HDF5 file for ``path``.

    Returns ``(file, tonic_root)``: ``tonic_root`` is the ``save_to`` folder for
    ``tonic.datasets.NTIDIGITS18`` when the file sits where tonic expects it
    (``<root>/NTIDIGITS18/n-tidigits.hdf5``), else ``None``. ``path`` may be that
    root, the ``NTIDIGITS18`` folder, a folder holding one ``*.hdf5``/``*.h5`` file,
    or a file.
    """
    p = Path(path).expanduser()
    if p.is_file():
        tonic = p.name == TONIC_FILENAME and p.parent.name == TONIC_FOLDER
        return p, (p.parent.parent if tonic else None)
    if not p.is_dir():
        raise FileNotFoundError(f"no N-TIDIGITS file or folder at {str(p)!r}; {_GET_DATA}")
    if (p / TONIC_FOLDER / TONIC_FILENAME).is_file():
        return p / TONIC_FOLDER / TONIC_FILENAME, p
    if p.name == TONIC_FOLDER and (p / TONIC_FILENAME).is_file():
        return p / TONIC_FILENAME, p.parent
    found = sorted([*p.glob("*.hdf5"), *p.glob("*.h5")])
    if len(found) == 1:
        return found[0], None
    what = "several HDF5 files: " + ", ".join(f.name for f in found) if found else "no HDF5 file"
    raise FileNotFoundError(
        f"{str(p)!r} holds {what} and no {TONIC_FOLDER}/{TONIC_FILENAME}; {_GET_DATA}"
    )


# ------------------------------------------------------------------------ readers


def _open(file: Path):
    import h5py

    try:
        return h5py.File(file, "r")
    except OSError as err:
        raise DatasetError(
            f"{str(file)!r} is not a readable HDF5 file ({err}); {_GET_DATA}"
        ) from None


def _check_ids(file: Path, name: str, ids: list[str]) -> None:
    """Sample ids must be usable as HDF5 dataset names: not empty, no NUL, no '/'."""
    bad = [i for i in ids if not i or "\x00" in i or "/" in i]
    if bad:
        raise DatasetError(
            f"{str(file)!r}: {name} holds {len(bad)} ids that cannot name a dataset (empty, "
            f"NUL or '/'), e.g. {bad[0]!r}"
        )


def _read_index(file: Path, partition: str) -> list[str]:
    """Sample ids of one partition, validated against the address and timestamp groups."""
    with _open(file) as h5:
        names = [f"{partition}_{k}" for k in ("labels", "addresses", "timestamps")]
        missing = [n for n in names if n not in h5]
        if missing:
            raise DatasetError(
                f"{str(file)!r} lacks {missing} (it has {sorted(h5.keys())}); an N-TIDIGITS "
                f"file holds {partition}_labels, {partition}_addresses/<id> and "
                f"{partition}_timestamps/<id>"
            )
        try:
            ids = [x.decode() if isinstance(x, bytes) else str(x) for x in h5[names[0]][()]]
        except (TypeError, ValueError, AttributeError, OSError) as err:
            raise DatasetError(
                f"{str(file)!r}: {names[0]} is not an array of strings ({err})"
            ) from None
        _check_ids(file, names[0], ids)
        for name in names[1:]:
            group = h5[name]
            absent = [i for i in ids if i not in group]
            if absent:
                raise DatasetError(
                    f"{str(file)!r}: {len(absent)} ids of {names[0]} have no {name}/<id> "
                    f"dataset, e.g. {absent[0]!r}"
                )
        for i in bar(ids, desc=f"check N-TIDIGITS {partition}", unit="sample", leave=False):
            n_a, n_t = h5[names[1]][i].shape, h5[names[2]][i].shape
            if n_a != n_t or len(n_a) != 1:
                raise DatasetError(
                    f"{str(file)!r}: sample {i!r} has addresses of shape {n_a} but "
                    f"timestamps of shape {n_t}; both must be 1-D of equal length"
                )
    for i in ids:
        try:
            parse_sample_id(i)
        except ValueError as err:
            raise DatasetError(f"{str(file)!r}: {err}") from None
    return ids


class _Hdf5Reader:
    """``reader`` for ``EventDataset``: pseudo path ``<file>/<partition>/<id>`` -> events.

    Keeps the file open between calls; the handle is dropped when pickled."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._h5: Any = None

    def __getstate__(self) -> dict:
        return {"file": self.file, "_h5": None}

    def __call__(self, path: Path) -> np.ndarray:
        partition, sample_id = path.parent.name, path.name
        if self._h5 is None:
            self._h5 = _open(self.file)
        try:
            x = np.asarray(self._h5[f"{partition}_addresses"][sample_id])
            t = np.asarray(self._h5[f"{partition}_timestamps"][sample_id])
        except (KeyError, OSError) as err:
            raise DatasetError(
                f"{str(self.file)!r}: cannot read sample {sample_id!r} ({err})"
            ) from None
        return _validated(x, t, self.file, sample_id)


#: The latest timestamp (s) a sample may have: far beyond any recording, and t in µs
#: (int64) stays exact; a larger one is a damaged file (1e13 s used to become INT64_MIN).
MAX_TIMESTAMP_S = 1e6


def _validated(x: np.ndarray, t: np.ndarray, file: Path, sample_id: str) -> np.ndarray:
    """Events of one sample after the checks of its raw arrays (both readers run them):
    addresses whole numbers in 0..63, timestamps finite seconds in [0, MAX_TIMESTAMP_S]."""
    where = f"{str(file)!r}: sample {sample_id!r}"
    if x.shape != t.shape or x.ndim != 1:
        raise DatasetError(f"{where} has {x.shape} addresses, {t.shape} timestamps")
    if x.dtype.kind not in "iuf" or t.dtype.kind not in "iuf":
        raise DatasetError(
            f"{where} has addresses of dtype {x.dtype}, timestamps of dtype {t.dtype}; "
            "both must be numbers"
        )
    if x.size and not np.all(np.isfinite(x) & (x == np.round(x))):
        bad = x[~(np.isfinite(x) & (x == np.round(x)))]
        raise DatasetError(f"{where} has {len(bad)} non-integer addresses, e.g. {bad[0]}")
    if x.size and (x.min() < 0 or x.max() >= NTIDIGITS_SENSOR_SIZE[0]):
        raise DatasetError(f"{where} has addresses outside 0..63 (range {x.min()}..{x.max()})")
    t = t.astype(np.float64)  # exact for every integer and float dtype (no overflow)
    bad_t = ~np.isfinite(t) | (t < 0) | (t > MAX_TIMESTAMP_S)
    if bad_t.any():
        raise DatasetError(
            f"{where} has {int(bad_t.sum())} timestamps that are NaN, inf, negative or above "
            f"{MAX_TIMESTAMP_S:g} s, e.g. {t[bad_t][0]}; timestamps are seconds from the start"
        )
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        raise DatasetError(
            f"{where} has timestamps out of order ({back.size} decreases, the first after "
            f"event {back[0]}); they must be non-decreasing"
        )
    return events_from_spike_times(t, x.astype(np.int64), 1)


class _TonicReader:
    """``reader`` backed by ``tonic.datasets.NTIDIGITS18`` (created lazily, never downloads:
    it is only used when the file is already where tonic looks)."""

    def __init__(self, root: Path, file: Path, train: bool, ids: list[str]) -> None:
        self.root, self.file, self.train = root, file, train
        self.index = {sample_id: i for i, sample_id in enumerate(ids)}
        self._ds: Any = None
        self._raw = _Hdf5Reader(file)  # the raw arrays, checked: tonic does not check them

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_ds": None}

    def __call__(self, path: Path) -> np.ndarray:
        self._raw(path)  # DatasetError naming the file and sample when the arrays are bad
        if self._ds is None:
            from tonic.datasets import NTIDIGITS18

            self._ds = NTIDIGITS18(str(self.root), train=self.train, single_digits=False)
        sample_id = path.name
        events, target = self._ds[self.index[sample_id]]
        if target != sample_id.split("-")[-1]:
            raise DatasetError(f"{str(self.file)!r}: tonic returned label {target!r} for {path}")
        return np.asarray(events).astype(AUDIO_EVENT_DTYPE, copy=False)


class NTidigitsSequences(Sequence):
    """Multi-digit view (``single_digits=False``): ``ds[i]`` is ``(events, digits)`` with
    ``digits`` an int64 array of class indices, e.g. ``[3, 10, 9]`` for "3z9" (tonic map)."""

    def __init__(
        self,
        paths: list[Path],
        reader: Any,
        label_map: str,
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        self.paths, self._reader, self.label_map = paths, reader, label_map
        self.transform, self.target_transform = transform, target_transform
        table = LABEL_MAPS[label_map]
        self.targets = [np.array([table[c] for c in p.name.split("-")[-1]]) for p in paths]
        self.sensor_size = NTIDIGITS_SENSOR_SIZE
        self.classes = list(NTIDIGITS_CLASSES[label_map])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Any, Any]:  # type: ignore[override]
        events: Any = self._reader(self.paths[i])
        digits: Any = self.targets[i].copy()
        if self.transform is not None:
            events = self.transform(events)
        if self.target_transform is not None:
            digits = self.target_transform(digits)
        return events, digits

    @property
    def labels(self) -> np.ndarray:
        raise ValueError(
            "multi-digit samples have no single class label; use .targets (one int64 array "
            "per sample) or ntidigits(..., single_digits=True)"
        )


def ntidigits(
    path: str | os.PathLike[str],
    train: bool = True,
    *,
    label_map: Literal["tonic", "lin2025"] = "tonic",
    single_digits: bool = True,
    reader: Literal["auto", "tonic", "hdf5"] = "auto",
    cache: bool = False,
    transform: Callable[[np.ndarray], Any] | None = None,
    target_transform: Callable[[Any], Any] | None = None,
) -> EventDataset | NTidigitsSequences:
    """Load the train or test split of N-TIDIGITS (or a file in its layout). Never downloads.

    ``path`` is located by :func:`find_ntidigits_file`. ``reader="auto"`` reads through
    ``tonic.datasets.NTIDIGITS18`` when the file sits in tonic's layout and with h5py
    otherwise; both give identical events. ``single_digits=True`` keeps the samples with
    a one-character label (tonic's rule) and returns an ``EventDataset`` whose ``labels``
    follow ``label_map`` and whose ``classes`` are the digit characters in label order;
    ``single_digits=False`` keeps every sample and returns :class:`NTidigitsSequences`.
    ``sensor_size`` is ``(64, 1, 1)``; events have dtype ``AUDIO_EVENT_DTYPE`` (t in µs).
    ``paths`` are pseudo paths ``<file>/<train|test>/<sample id>``. ``transform`` and
    ``target_transform`` are applied per sample to the events and the label (the digits
    array when ``single_digits=False``), as in tonic's datasets.

    Raises ``FileNotFoundError`` when nothing is found and ``DatasetError`` (a
    ``ValueError``) naming the file when it is not HDF5 or lacks groups or samples.
    """
    _check_map(label_map)
    file, tonic_root = _locate(path, reader)
    partition = "train" if train else "test"
    ids = _read_index(file, partition)
    if reader == "hdf5" or tonic_root is None:
        read: Any = _Hdf5Reader(file)
    else:
        read = _TonicReader(tonic_root, file, train, ids)
    paths = [file / partition / i for i in ids]
    if not single_digits:
        return NTidigitsSequences(paths, read, label_map, transform, target_transform)
    tf = {"transform": transform, "target_transform": target_transform}
    return _single_digits(paths, read, label_map, cache, **tf)


def _single_digits(
    paths: list[Path], read: Any, label_map: str, cache: bool, **transforms: Any
) -> EventDataset:
    """The samples with a one-character label (tonic's rule), labelled by ``label_map``."""
    keep = [p for p in paths if len(p.name.split("-")[-1]) == 1]
    table = LABEL_MAPS[label_map]
    return EventDataset(
        labels=np.array([table[p.name[-1]] for p in keep], dtype=np.int64),
        sensor_size=NTIDIGITS_SENSOR_SIZE,
        classes=NTIDIGITS_CLASSES[label_map],
        paths=keep,
        reader=read,
        cache=cache,
        **transforms,
    )


def _locate(path: str | os.PathLike[str], reader: str) -> tuple[Path, Path | None]:
    """``find_ntidigits_file(path)``, checked against the ``reader`` asked for."""
    if reader not in ("auto", "tonic", "hdf5"):
        raise ValueError(f"reader must be 'auto', 'tonic' or 'hdf5', got {reader!r}")
    file, tonic_root = find_ntidigits_file(path)
    if reader == "tonic" and tonic_root is None:
        raise ValueError(
            f"reader='tonic' needs the file at <root>/{TONIC_FOLDER}/{TONIC_FILENAME}, "
            f"got {str(file)!r}; move it there or use reader='hdf5'"
        )
    return file, tonic_root
