"""FSDD: the Free Spoken Digit Dataset (real recordings of spoken digits, 8 kHz WAV).

Layout: ``<root>/recordings/{digit}_{speaker}_{index}.wav`` (``root`` may also be the
``recordings`` folder itself): mono PCM WAV, digit 0-9, speaker a lower-case name,
index 0-49. :func:`fsdd` returns the waveforms of one split with their labels (the digit),
speakers and indices; :func:`fsdd_events` the same recordings as cochlea events
(``spikelab.datasets.cochlea``, cached on disk by ``spikelab.datasets.event_cache``).

Splits (``split=``):

- ``"fsdd"``: FSDD's own split, test = indices 0-4, train = indices 5-49.
- ``"stratified"``: ``test_fraction`` of every digit, drawn by ``seed``.
- ``"speakers"``: leave speakers out; the recordings of ``test_speakers`` are the test set.
- ``"auto"`` (default): ``"fsdd"`` when the folder holds indices 0-4, else ``"stratified"``
  (as N-MNIST's ``Train/``/``Test/`` folders are used when present).

WAV files are read with ``scipy.io.wavfile``; integer PCM is scaled to [-1, 1). A file that
cannot be read raises ``DatasetError`` naming it, or, with ``on_error="skip"``, is left out
with a warning. Like tonic's datasets, ``transform`` and ``target_transform`` are applied
on every ``ds[i]``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .base import DatasetError, EventDataset, stratified_split
from .cochlea import CochleaConfig, fsdd_cochlea

__all__ = [
    "FSDD_CLASSES",
    "FSDD_SPLITS",
    "FsddDataset",
    "FsddFile",
    "find_fsdd_files",
    "fsdd",
    "fsdd_events",
    "fsdd_split_indices",
    "read_wav",
]

FSDD_CLASSES = tuple("0123456789")
FSDD_SPLITS = ("auto", "fsdd", "stratified", "speakers")
FSDD_TEST_INDICES = range(0, 5)  # FSDD's own test split: indices 0-4 of every digit/speaker
_NAME = re.compile(r"^([0-9])_([A-Za-z][A-Za-z0-9]*)_([0-9]+)\.wav$")
_GET_DATA = (
    "point root at a folder holding recordings/{digit}_{speaker}_{index}.wav, e.g. "
    "../shared/data/fsdd or a clone of github.com/Jakobovski/free-spoken-digit-dataset"
)


@dataclass(frozen=True)
class FsddFile:
    """One recording: its path, digit (the label), speaker and index."""

    path: Path
    digit: int
    speaker: str
    index: int


def find_fsdd_files(root: str | os.PathLike[str]) -> list[FsddFile]:
    """Every ``{digit}_{speaker}_{index}.wav`` under ``root`` (or ``root/recordings``),
    sorted by speaker, digit, index. Other files are ignored."""
    p = Path(root).expanduser()
    folder = p / "recordings" if (p / "recordings").is_dir() else p
    if not folder.is_dir():
        raise FileNotFoundError(f"no FSDD folder at {str(p)!r}; {_GET_DATA}")
    found = []
    for f in folder.iterdir():
        m = _NAME.match(f.name)
        if m:
            found.append(FsddFile(f, int(m.group(1)), m.group(2), int(m.group(3))))
    if not found:
        raise FileNotFoundError(f"{str(folder)!r} holds no {{digit}}_{{speaker}}_{{index}}.wav")
    return sorted(found, key=lambda r: (r.speaker, r.digit, r.index))


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, float]:
    """A mono WAV file as float64 samples in [-1, 1) and its sample rate (Hz).

    Raises ``DatasetError`` naming the file when it is not a readable WAV, is empty, or
    holds more than one channel or non-finite samples."""
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", wavfile.WavFileWarning)
            rate, data = wavfile.read(os.fspath(path))
    except (ValueError, OSError, EOFError, wavfile.WavFileWarning) as err:
        raise DatasetError(f"{str(path)!r} is not a readable WAV file ({err})") from None
    data = np.asarray(data)
    if data.ndim != 1 or data.size == 0:
        raise DatasetError(
            f"{str(path)!r} holds {data.shape} samples; FSDD recordings are mono, non-empty"
        )
    if data.dtype.kind in "iu":
        info = np.iinfo(data.dtype)
        mid = (int(info.max) + int(info.min) + 1) / 2
        x = (data.astype(np.float64) - mid) / (int(info.max) + 1 - mid)
    else:
        x = data.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise DatasetError(f"{str(path)!r} holds NaN or inf samples")
    return x, float(rate)


class FsddDataset(Sequence):
    """Recordings of one split: ``ds[i]`` is ``(transform(waveform), target_transform(label))``.

    Attributes: ``waveforms`` (list of float64 arrays in [-1, 1)), ``labels`` (int64 digit),
    ``speakers`` (str array), ``indices`` (int64: the recording's FSDD index), ``paths``,
    ``sample_rates`` (Hz per recording), ``sample_rate`` (Hz, when all agree), ``classes``.
    """

    classes = list(FSDD_CLASSES)

    def __init__(
        self,
        files: Sequence[FsddFile],
        waveforms: Sequence[np.ndarray],
        sample_rates: Sequence[float],
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
    ) -> None:
        self.files = list(files)
        self.waveforms = list(waveforms)
        self.sample_rates = np.asarray(sample_rates, dtype=np.float64)
        self.labels = np.array([f.digit for f in self.files], dtype=np.int64)
        self.speakers = np.array([f.speaker for f in self.files], dtype=str)
        self.indices = np.array([f.index for f in self.files], dtype=np.int64)
        self.paths = [f.path for f in self.files]
        self.transform, self.target_transform = transform, target_transform

    @property
    def sample_rate(self) -> float:
        rates = np.unique(self.sample_rates)
        if rates.size != 1:
            raise ValueError(f"the recordings have several sample rates: {rates.tolist()} Hz")
        return float(rates[0])

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Any, Any]:  # type: ignore[override]
        x, y = self.waveforms[i].copy(), int(self.labels[i])
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def __repr__(self) -> str:
        return (
            f"FsddDataset({len(self)} recordings, speakers {sorted(set(self.speakers))}, "
            f"per-digit counts {np.bincount(self.labels, minlength=10).tolist()})"
        )


def fsdd_split_indices(
    files: Sequence[FsddFile],
    split: str = "auto",
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    test_speakers: Sequence[str] = (),
) -> tuple[np.ndarray, np.ndarray, str]:
    """``(train, test, description)``: positions into ``files`` of each split (see the
    module doc for ``split``), and what was done, in words."""
    if split not in FSDD_SPLITS:
        raise ValueError(f"split must be one of {FSDD_SPLITS}, got {split!r}")
    index = np.array([f.index for f in files])
    if split == "auto":
        split = "fsdd" if np.isin(index, FSDD_TEST_INDICES).any() else "stratified"
    if split == "fsdd":
        test = np.isin(index, FSDD_TEST_INDICES)
        if not test.any() or test.all():
            raise ValueError("split='fsdd' needs recordings of indices 0-4 and of 5-49")
        return np.flatnonzero(~test), np.flatnonzero(test), "FSDD's split (test: indices 0-4)"
    if split == "stratified":
        labels = np.array([f.digit for f in files], dtype=np.int64)
        tr, te = stratified_split(labels, test_fraction, seed)
        return tr, te, f"stratified {1 - test_fraction:.0%}/{test_fraction:.0%} by seed {seed}"
    speakers = np.array([f.speaker for f in files])
    unknown = sorted(set(test_speakers) - set(speakers.tolist()))
    if not test_speakers or unknown:
        raise ValueError(
            f"split='speakers' needs test_speakers from {sorted(set(speakers.tolist()))}, "
            f"got {list(test_speakers)!r}"
        )
    test = np.isin(speakers, list(test_speakers))
    if test.all():
        raise ValueError(f"test_speakers {list(test_speakers)} leave no training speaker")
    return np.flatnonzero(~test), np.flatnonzero(test), f"speakers {list(test_speakers)} held out"


def load_waveforms(
    files: Sequence[FsddFile], on_error: str = "raise"
) -> tuple[list[FsddFile], list[np.ndarray], list[float]]:
    """Read every file; ``on_error="skip"`` leaves unreadable ones out with a warning."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    kept, waves, rates = [], [], []
    for f in files:
        try:
            x, rate = read_wav(f.path)
        except DatasetError as err:
            if on_error == "raise":
                raise
            warnings.warn(f"skipping {err}", stacklevel=2)
            continue
        kept.append(f)
        waves.append(x)
        rates.append(rate)
    return kept, waves, rates


def fsdd(
    root: str | os.PathLike[str],
    train: bool = True,
    *,
    split: Literal["auto", "fsdd", "stratified", "speakers"] = "auto",
    test_fraction: float = 0.2,
    seed: int = 0,
    test_speakers: Sequence[str] = (),
    on_error: Literal["raise", "skip"] = "raise",
    transform: Callable[[np.ndarray], Any] | None = None,
    target_transform: Callable[[int], Any] | None = None,
) -> FsddDataset:
    """The train (``train=True``) or test recordings of the FSDD folder ``root``.

    The split is chosen on every file found (before any is read): ``split`` and its
    options as in the module doc. Unreadable files raise ``DatasetError`` naming the file,
    or are skipped with a warning (``on_error="skip"``). Labels are the digit (0-9).
    """
    files = find_fsdd_files(root)
    tr, te, _ = fsdd_split_indices(
        files, split, test_fraction=test_fraction, seed=seed, test_speakers=test_speakers
    )
    chosen = [files[i] for i in (tr if train else te)]
    kept, waves, rates = load_waveforms(chosen, on_error)
    return FsddDataset(kept, waves, rates, transform, target_transform)


def fsdd_events(
    root: str | os.PathLike[str],
    train: bool = True,
    *,
    cochlea: CochleaConfig | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    transform: Callable[[np.ndarray], Any] | None = None,
    target_transform: Callable[[int], Any] | None = None,
    **options: Any,
) -> EventDataset:
    """The recordings of :func:`fsdd` (same split ``options``) as cochlea events: an
    ``EventDataset`` of ``AUDIO_EVENT_DTYPE`` events, ``sensor_size = (n_channels, 1, 1)``,
    ``paths`` the WAV files; ``transform``/``target_transform`` act on the events and
    labels. ``cochlea`` defaults to ``fsdd_cochlea()`` (8 kHz input). With ``cache_dir``
    the events are computed once per recording and cochlea config and kept on disk
    (``spikelab.datasets.event_cache``)."""
    from .event_cache import EventLookup, cochlea_events_cached

    cochlea = fsdd_cochlea() if cochlea is None else cochlea
    ds = fsdd(root, train, **options)
    events = cochlea_events_cached(
        ds.paths, ds.waveforms, ds.sample_rates, cochlea, cache_dir, progress=progress
    )
    return EventDataset(
        labels=ds.labels,
        sensor_size=(cochlea.n_channels, 1, 1),
        classes=FSDD_CLASSES,
        paths=ds.paths,
        reader=EventLookup(ds.paths, events),
        transform=transform,
        target_transform=target_transform,
    )
