"""Save a fitted FEAST into an HDF5 group and load it back (bit-identical arrays).

Layout of the group: attributes ``type = "FEAST"``, ``format_version``, ``params`` (JSON of
``get_params()``), ``sensor_size``, counters; datasets for every learned array
(``weights_``, ``thresholds_``, ``threshold_history_``, ``miss_rate_history_``,
``events_history_``, ``win_counts_``). The streaming state of ``partial_fit(...,
continue_stream=True)`` is not saved: a loaded model continues with a new sample.
"""

from __future__ import annotations

import json

import numpy as np

from .extractor import FEAST, LEARNED_ARRAYS, LEARNED_COUNTERS

FORMAT_VERSION = 1


def save_feast(model: FEAST, group) -> None:
    """Write the fitted ``model`` into ``group`` (an open ``h5py.Group`` or ``h5py.File``)."""
    if not hasattr(model, "weights_"):
        raise ValueError("save_feast needs a fitted FEAST; call fit or partial_fit first")
    group.attrs["type"] = "FEAST"
    group.attrs["format_version"] = FORMAT_VERSION
    group.attrs["params"] = json.dumps(model.get_params(), default=lambda v: v.item())
    group.attrs["sensor_size"] = np.asarray(model.sensor_size_, np.int64)
    for name in LEARNED_COUNTERS:
        group.attrs[name] = int(getattr(model, name))
    for name in LEARNED_ARRAYS:
        group.create_dataset(name, data=getattr(model, name))


def load_feast(group) -> FEAST:
    """Rebuild a fitted FEAST from a group written by ``save_feast``."""
    kind = group.attrs.get("type")
    if kind != "FEAST":
        raise ValueError(f"group {group.name!r} holds {kind!r}, not a FEAST model")
    version = int(group.attrs["format_version"])
    if version > FORMAT_VERSION:
        raise ValueError(
            f"FEAST format version {version} is newer than this spikelab reads "
            f"({FORMAT_VERSION}); upgrade spikelab"
        )
    learned = {name: group[name][()] for name in LEARNED_ARRAYS}
    learned.update({name: int(group.attrs[name]) for name in LEARNED_COUNTERS})
    sensor_size = tuple(int(v) for v in group.attrs["sensor_size"])
    return FEAST.from_learned(json.loads(group.attrs["params"]), sensor_size, learned)
