"""N-MNIST: reading and writing its 40-bit event files, and loading its folders.

File format (Orchard et al. 2015), one event per 5 bytes, big-endian bit order::

    byte 0: x (8 bits)      byte 1: y (8 bits)
    byte 2: p (bit 7) | t bits 22..16      byte 3: t bits 15..8      byte 4: t bits 7..0

``t`` is in µs. A record with ``y == 240`` is a timestamp-overflow marker (tonic's reader
handles it; the real files contain none). The sensor is 34 x 34 pixels, two polarities.

tonic (and with it torch) is imported only when a file is read, not at import time.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..fileio import write_bytes_atomic
from ..progress import bar
from .base import EVENT_DTYPE, DatasetError, EventDataset

__all__ = [
    "NMNIST_CLASSES",
    "NMNIST_SENSOR_SIZE",
    "nmnist",
    "parse_mnist_bytes",
    "read_mnist_file",
    "write_mnist_file",
]

NMNIST_SENSOR_SIZE = (34, 34, 2)
#: Class names as tonic.datasets.NMNIST.classes spells them; the label is the index.
NMNIST_CLASSES = [
    f"{i} - {w}" for i, w in enumerate("zero one two three four five six seven eight nine".split())
]
_T_LIMIT_US = 1 << 23  # 23-bit timestamps
_OVERFLOW_Y = 240
_TONIC_MIN_FILES = 10_000  # tonic's own "is extracted" test (NMNIST._check_exists)
_GET_DATA = (
    "point root at a folder holding Train/<label>/*.bin (and Test/<label>/*.bin), such as "
    "../shared/data/nmnist-small or tonic's download folder, or generate a synthetic "
    "stand-in with `spikelab datasets generate nmnist-like OUT`"
)


def parse_mnist_bytes(
    raw: bytes, *, source: str = "<bytes>", sensor_size: tuple[int, int, int] = NMNIST_SENSOR_SIZE
) -> np.ndarray:
    """Decode N-MNIST file contents with ``tonic.io.read_mnist_file`` and validate them.

    Raises ``DatasetError`` naming ``source`` when the data are empty, truncated (length not
    a multiple of 5 bytes), hold coordinates outside ``sensor_size`` or timestamps (µs)
    that go backwards. Returns an ``EVENT_DTYPE`` array.
    """
    from tonic.io import read_mnist_file as tonic_read

    n = len(raw)
    if n == 0:
        raise DatasetError(f"{source}: file is empty (0 bytes); re-download or regenerate it")
    if n % 5:
        raise DatasetError(
            f"{source}: {n} bytes is not a multiple of 5 (N-MNIST events are 40 bits), so the "
            "file is truncated or not an N-MNIST file; re-download or regenerate it"
        )
    events = tonic_read(io.BytesIO(raw), dtype=EVENT_DTYPE, is_stream=True)
    if events.size == 0:
        raise DatasetError(f"{source}: holds only timestamp-overflow markers, no events")
    width, height = sensor_size[0], sensor_size[1]
    bad = np.flatnonzero((events["x"] >= width) | (events["y"] >= height))
    if bad.size:
        e = events[bad[0]]
        raise DatasetError(
            f"{source}: event {bad[0]} at x={e['x']}, y={e['y']} lies outside the "
            f"{width}x{height} sensor ({bad.size} such events); the file is corrupt"
        )
    back = np.flatnonzero(np.diff(events["t"]) < 0)
    if back.size:
        i = back[0] + 1
        raise DatasetError(
            f"{source}: timestamps go backwards at event {i} (t={events['t'][i]} µs after "
            f"{events['t'][i - 1]} µs); the file is corrupt"
        )
    return events


def read_mnist_file(
    path: str | os.PathLike[str], *, sensor_size: tuple[int, int, int] = NMNIST_SENSOR_SIZE
) -> np.ndarray:
    """Read and validate one N-MNIST ``.bin`` file; see ``parse_mnist_bytes``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from exc
    return parse_mnist_bytes(raw, source=str(path), sensor_size=sensor_size)


def _encode(events: np.ndarray, sensor_size: tuple[int, int, int]) -> bytes:
    if events.dtype.names is None or not {"x", "y", "t", "p"} <= set(events.dtype.names):
        raise TypeError(f"events must be a structured array with x, y, t, p; got {events.dtype}")
    if events.ndim != 1 or events.size == 0:
        raise ValueError(f"events must be a non-empty 1-D array, got shape {events.shape}")
    x, y, t, p = (np.asarray(events[f]).astype(np.int64) for f in "xytp")
    width, height = sensor_size[0], sensor_size[1]
    checks = [
        ((x < 0) | (x >= width), f"x outside [0, {width})", x),
        ((y < 0) | (y >= height) | (y == _OVERFLOW_Y), f"y outside [0, {height})", y),
        ((p != 0) & (p != 1), "p not 0 or 1", p),
        ((t < 0) | (t >= _T_LIMIT_US), f"t outside [0, {_T_LIMIT_US}) µs", t),
    ]
    for mask, what, values in checks:
        if mask.any():
            i = int(np.argmax(mask))
            raise ValueError(f"cannot write N-MNIST file: event {i} has {what} ({values[i]})")
    if np.any(np.diff(t) < 0):
        raise ValueError("cannot write N-MNIST file: timestamps must be non-decreasing; sort first")
    buf = np.empty((x.size, 5), dtype=np.uint8)
    buf[:, 0] = x
    buf[:, 1] = y
    buf[:, 2] = (p << 7) | ((t >> 16) & 0x7F)
    buf[:, 3] = (t >> 8) & 0xFF
    buf[:, 4] = t & 0xFF
    return buf.tobytes()


def write_mnist_file(
    path: str | os.PathLike[str],
    events: np.ndarray,
    *,
    sensor_size: tuple[int, int, int] = NMNIST_SENSOR_SIZE,
) -> Path:
    """Write events (fields x, y, t in µs, p) as an N-MNIST 40-bit ``.bin`` file.

    The file is written under a temporary name in the same folder and renamed into place
    (``os.replace``), so readers never see half a file. Parent folders are created.
    Raises ``ValueError`` for events the format cannot hold: x or y outside the sensor,
    p not 0/1, t outside [0, 2**23) µs, or t decreasing. Returns the path written.
    """
    return write_bytes_atomic(path, _encode(np.asarray(events), sensor_size))


# -- folders ------------------------------------------------------------------------------------


def _tonic_save_to(root: Path, train: bool) -> Path | None:
    """The ``save_to`` argument under which tonic finds a complete NMNIST download, or None."""
    zip_name, folder = ("train.zip", "Train") if train else ("test.zip", "Test")
    for save_to in (root, root.parent) if root.name == "NMNIST" else (root,):
        location = save_to / "NMNIST"
        if (location / zip_name).is_file() and (location / folder).is_dir():
            n_bins = sum(1 for _ in (location / folder).glob("**/*.bin"))
            if n_bins >= _TONIC_MIN_FILES:
                return save_to
    return None


def _from_tonic(save_to: Path, train: bool) -> tuple[list[Path], list[int]]:
    import tonic.datasets

    class NMNIST(tonic.datasets.NMNIST):  # same class name: tonic derives its folder from it
        def download(self) -> None:
            raise DatasetError(f"tonic's NMNIST under {save_to} is incomplete; {_GET_DATA}")

    ds = NMNIST(save_to=str(save_to), train=train)
    return [Path(p) for p in ds.data], [int(t) for t in ds.targets]


def _split_folder(root: Path, train: bool) -> Path:
    name = "Train" if train else "Test"
    for base in (root, root / "NMNIST"):
        for cand in (base / name, base / name.lower()):
            if cand.is_dir():
                return cand
    if train:
        raise FileNotFoundError(f"N-MNIST folder {root} has no Train/ folder; {_GET_DATA}")
    has_train = any((b / "Train").is_dir() for b in (root, root / "NMNIST"))
    hint = (
        "it holds Train/ only: split the training set instead, e.g. "
        "`train_idx, test_idx = stratified_split(ds.labels, 0.2, seed=0)` then "
        "`ds.subset(test_idx)`"
        if has_train
        else _GET_DATA
    )
    raise FileNotFoundError(f"N-MNIST folder {root} has no Test/ folder (train=False); {hint}")


def _from_folder(split_dir: Path) -> tuple[list[Path], list[int]]:
    paths: list[Path] = []
    labels: list[int] = []
    for sub in sorted(split_dir.iterdir()):
        if not sub.is_dir() or sub.name.startswith("."):
            continue
        if sub.name not in {str(i) for i in range(10)}:
            raise DatasetError(
                f"unexpected folder {sub}: N-MNIST's layout has one folder per label, 0 to 9"
            )
        files = sorted(f for f in sub.glob("*.bin") if f.is_file())
        paths += files
        labels += [int(sub.name)] * len(files)
    if not paths:
        raise DatasetError(f"no .bin files in {split_dir}/<label>/; {_GET_DATA}")
    return paths, labels


def _size_problem(path: Path) -> str | None:
    size = path.stat().st_size
    if size == 0:
        return f"{path}: file is empty (0 bytes); re-download or regenerate it"
    if size % 5:
        return f"{path}: {size} bytes is not a multiple of 5 (N-MNIST events are 40 bits)"
    return None


def _list_files(root: Path, train: bool) -> tuple[list[Path], list[int]]:
    """Files and labels of one split, from tonic's download or a folder in N-MNIST's layout."""
    if not root.is_dir():
        raise FileNotFoundError(f"N-MNIST folder {root} does not exist; {_GET_DATA}")
    save_to = _tonic_save_to(root, train)
    if save_to is not None:
        return _from_tonic(save_to, train)
    return _from_folder(_split_folder(root, train))


def _check_sizes(paths: list[Path]) -> None:
    """Raise ``DatasetError`` for the first file whose size cannot hold N-MNIST events."""
    for path in paths:
        problem = _size_problem(path)
        if problem:
            raise DatasetError(problem + "; pass on_error='skip' to leave such files out")


def _readable_only(
    paths: list[Path], labels: list[int], store: dict[str, np.ndarray] | None
) -> tuple[list[Path], list[int]]:
    """Read every file and leave out the bad ones, with one warning giving their count and
    names. What was read goes into ``store`` unless it is None."""
    keep, problems = [], []
    for i, path in enumerate(bar(paths, desc="check N-MNIST files", unit="file", leave=False)):
        try:
            events = read_mnist_file(path)
        except DatasetError as exc:
            problems.append(str(exc))
            continue
        keep.append(i)
        if store is not None:
            store[str(path)] = events
    if problems:
        shown = "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "")
        warnings.warn(
            f"skipped {len(problems)} of {len(paths)} N-MNIST files: {shown}",
            stacklevel=3,
        )
    return [paths[i] for i in keep], [labels[i] for i in keep]


def nmnist(
    root: str | os.PathLike[str],
    train: bool = True,
    *,
    on_error: Literal["raise", "skip"] = "raise",
    cache: bool = False,
    transform: Callable[[np.ndarray], Any] | None = None,
    target_transform: Callable[[int], Any] | None = None,
) -> EventDataset:
    """Load N-MNIST (or any folder in its layout) as an ``EventDataset``.

    ``root`` may hold tonic's complete download (``root/NMNIST/train.zip`` and the extracted
    ``Train/`` folder; tonic's ``NMNIST`` class lists the files, nothing is downloaded) or
    any folder in N-MNIST's layout, ``Train/<label>/*.bin`` and ``Test/<label>/*.bin``.
    Samples are ordered by label, then file name; events have t in µs.

    on_error: ``"raise"`` checks file sizes now and contents when a sample is read, raising
        ``DatasetError`` naming the file. ``"skip"`` reads every file now, leaves out the
        bad ones and warns once with their count and names.
    cache: keep events in memory once read.
    transform, target_transform: applied per sample to the events and the label, as in
        tonic's datasets (e.g. ``tonic.transforms.Denoise(filter_time=10_000)``, or a
        ``tonic.transforms.Compose`` ending in ``EventEncoding``); ``labels`` stay raw.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    paths, labels = _list_files(Path(root).expanduser(), train)
    store: dict[str, np.ndarray] = {}
    if on_error == "raise":
        _check_sizes(paths)
    else:
        paths, labels = _readable_only(paths, labels, store if cache else None)
    return EventDataset(
        paths=paths,
        labels=np.asarray(labels, dtype=np.int64),
        reader=read_mnist_file,
        sensor_size=NMNIST_SENSOR_SIZE,
        classes=NMNIST_CLASSES,
        cache=cache,
        _cache_store=store,
        transform=transform,
        target_transform=target_transform,
    )
