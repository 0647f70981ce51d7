"""Event datasets: N-MNIST folders (real or tonic's download) and a synthetic stand-in.

Events are numpy structured arrays with fields x, y, t (µs), p (``EVENT_DTYPE``, tonic's).
Importing this package imports numpy only; tonic, scikit-learn and scipy load on use.
"""

from .base import EVENT_DTYPE, DatasetError, EventDataset, empty_events, stratified_split
from .nmnist import nmnist, read_mnist_file, write_mnist_file
from .ntidigits import (
    LABEL_MAPS,
    NTIDIGITS_CLASSES,
    NTIDIGITS_SENSOR_SIZE,
    NTidigitsSequences,
    convert_labels,
    ntidigits,
)
from .ntidigits_synthetic import generate_ntidigits_like
from .synthetic import SaccadeSettings, generate_nmnist_like

__all__ = [
    "EVENT_DTYPE",
    "LABEL_MAPS",
    "NTIDIGITS_CLASSES",
    "NTIDIGITS_SENSOR_SIZE",
    "NTidigitsSequences",
    "convert_labels",
    "generate_ntidigits_like",
    "ntidigits",
    "DatasetError",
    "EventDataset",
    "SaccadeSettings",
    "empty_events",
    "generate_nmnist_like",
    "nmnist",
    "read_mnist_file",
    "stratified_split",
    "write_mnist_file",
]
