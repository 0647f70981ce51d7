"""Event datasets: the real ones (N-MNIST, N-TIDIGITS) and generators writing their formats.

Readers (``(events, label)`` sequences, ``EventDataset``):

- ``nmnist``: N-MNIST folders (a folder in its layout or tonic's download).
- ``ntidigits``: N-TIDIGITS HDF5 files (tonic's layout or any file in its format).
- ``fsdd``: the Free Spoken Digit Dataset's WAV recordings (waveforms; ``fsdd_events``:
  as cochlea events, cached on disk by ``event_cache``).

Generators, by what they make:

- ``nmnist_like``: N-MNIST-like event files (simulated ATIS saccades over scikit-learn's
  digits), ``generate_nmnist_like``.
- ``speech``: spoken-digit waveforms (formant synthesiser, or espeak-ng).
- ``cochlea``: audio events from a waveform (a silicon-cochlea model).
- ``ntidigits_like``: an N-TIDIGITS-like HDF5 file (``speech`` through ``cochlea``),
  ``generate_ntidigits_like``.

Vision events are numpy structured arrays with fields x, y, t (µs), p (``EVENT_DTYPE``,
tonic's); audio events have t (µs), x (channel), p (``AUDIO_EVENT_DTYPE``, tonic's).
Importing this package imports numpy only; tonic, h5py, scikit-learn and scipy load on use.
"""

from .base import EVENT_DTYPE, DatasetError, EventDataset, empty_events, stratified_split
from .cochlea import AUDIO_EVENT_DTYPE, CochleaConfig, cochlea_events, fsdd_cochlea
from .fsdd import FsddDataset, fsdd, fsdd_events
from .nmnist import nmnist, read_mnist_file, write_mnist_file
from .nmnist_like import SaccadeSettings, generate_nmnist_like
from .ntidigits import (
    LABEL_MAPS,
    NTIDIGITS_CLASSES,
    NTIDIGITS_SENSOR_SIZE,
    NTidigitsSequences,
    convert_labels,
    ntidigits,
)
from .ntidigits_like import generate_ntidigits_like

__all__ = [
    "AUDIO_EVENT_DTYPE",
    "EVENT_DTYPE",
    "LABEL_MAPS",
    "NTIDIGITS_CLASSES",
    "NTIDIGITS_SENSOR_SIZE",
    "CochleaConfig",
    "DatasetError",
    "EventDataset",
    "FsddDataset",
    "NTidigitsSequences",
    "SaccadeSettings",
    "cochlea_events",
    "convert_labels",
    "empty_events",
    "fsdd",
    "fsdd_cochlea",
    "fsdd_events",
    "generate_nmnist_like",
    "generate_ntidigits_like",
    "nmnist",
    "ntidigits",
    "read_mnist_file",
    "stratified_split",
    "write_mnist_file",
]
