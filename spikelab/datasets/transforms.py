"""tonic transforms named in a config's ``[[transforms]]`` list, applied to every sample's
events before encoding (and before FEAST)::

    [[transforms]]
    name = "Denoise"            # a class of tonic.transforms
    filter_time = 10000         # its parameters (µs for N-MNIST and N-TIDIGITS)

    [[transforms]]
    name = "DropEvent"
    p = 0.1

``build_transforms`` checks the list before any data is loaded: an unknown name, an unknown
or missing parameter, a value out of range, or a transform that fails on a few probe events
of the dataset's dtype is a ``ValueError`` naming the entry, the value and the fix. Only
transforms that keep events on the same sensor are accepted (cropping and downsampling are
``[encoding]`` options; frames and time surfaces are not events).

Randomness: tonic's random transforms (DropEvent, TimeJitter, ...) draw from numpy's
global generator. ``SeededTransforms`` seeds it around each sample from ``(seed, the
sample's events)`` and puts the previous state back, so the same seed gives the same
result, whatever the order the samples are read in, and the caller's global state is left
as it was (not thread-safe: do not read samples from several threads at once).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import numbers
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = [
    "TRANSFORMS",
    "SeededTransforms",
    "build_transforms",
    "dataset_sensor",
]

#: The tonic transforms a config may name: each maps events to events on the same sensor.
TRANSFORMS = (
    "CropTime",
    "Decimation",
    "Denoise",
    "DropEvent",
    "DropEventByArea",
    "DropEventByTime",
    "DropPixel",
    "EventDrop",
    "MergePolarities",
    "RandomDropPixel",
    "RandomFlipLR",
    "RandomFlipPolarity",
    "RandomFlipUD",
    "RandomTimeReversal",
    "RefractoryPeriod",
    "SpatialJitter",
    "TimeAlignment",
    "TimeJitter",
    "TimeSkew",
    "UniformNoise",
)
#: Transforms left out on purpose, and what to use instead.
_INSTEAD = {
    "CenterCrop": "set encoding.crop = [w, h] (the encoding crops at the centre)",
    "RandomCrop": "set encoding.crop = [w, h]; a random crop changes the sensor per sample",
    "Downsample": "set encoding.downsample (an integer factor)",
    "EventDownsampling": "set encoding.downsample (an integer factor)",
    "Compose": "list the transforms one [[transforms]] entry each, in order",
}
_REPRESENTATION = "a tonic representation, not events: the [encoding] section makes the spikes"
#: Range checks of common parameters: name -> (low, high, what), a value or a [lo, hi] pair.
_RANGES = {
    ("Denoise", "filter_time"): (0.0, math.inf, "a time > 0 in the events' unit (µs)"),
    ("RefractoryPeriod", "delta"): (0.0, math.inf, "a time >= 0 in the events' unit (µs)"),
    ("DropEvent", "p"): (0.0, 1.0, "a probability in [0, 1]"),
    ("DropEventByTime", "duration_ratio"): (0.0, 1.0, "a fraction in [0, 1]"),
    ("DropEventByArea", "area_ratio"): (0.0, 1.0, "a fraction in [0, 1]"),
    ("RandomDropPixel", "p"): (0.0, 1.0, "a probability in [0, 1]"),
    ("RandomFlipLR", "p"): (0.0, 1.0, "a probability in [0, 1]"),
    ("RandomFlipUD", "p"): (0.0, 1.0, "a probability in [0, 1]"),
    ("RandomFlipPolarity", "p"): (0.0, 1.0, "a probability in [0, 1]"),
    ("RandomTimeReversal", "p"): (0.0, 1.0, "a probability in [0, 1]"),
    ("Decimation", "n"): (1.0, math.inf, "a whole number >= 1"),
    ("TimeJitter", "std"): (0.0, math.inf, "a standard deviation >= 0 (µs)"),
    ("SpatialJitter", "var_x"): (0.0, math.inf, "a variance >= 0 (pixels²)"),
    ("SpatialJitter", "var_y"): (0.0, math.inf, "a variance >= 0 (pixels²)"),
    ("UniformNoise", "n"): (0.0, math.inf, "a number of events >= 0"),
}


def dataset_sensor(name: str) -> tuple[tuple[int, int, int], np.dtype]:
    """Sensor size and event dtype of a dataset name of the ``[dataset]`` section."""
    from .base import EVENT_DTYPE
    from .cochlea import AUDIO_EVENT_DTYPE
    from .nmnist import NMNIST_SENSOR_SIZE
    from .ntidigits import NTIDIGITS_SENSOR_SIZE

    if name == "ntidigits":
        return NTIDIGITS_SENSOR_SIZE, AUDIO_EVENT_DTYPE
    if name == "fsdd":  # cochlea events; the channel count only bounds the probe events
        from .cochlea import CochleaConfig

        return (int(CochleaConfig().n_channels), 1, 1), AUDIO_EVENT_DTYPE
    return NMNIST_SENSOR_SIZE, EVENT_DTYPE


@contextmanager
def seeded_global_numpy(seed: int, key: int) -> Iterator[None]:
    """numpy's global generator seeded from ``(seed, key)`` inside the block; its earlier
    state is put back afterwards (tonic's random transforms draw from it)."""
    state = np.random.get_state()  # noqa: NPY002 - tonic draws from the global generator
    np.random.seed(np.random.SeedSequence([int(seed), int(key)]).generate_state(4))  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


@dataclasses.dataclass(frozen=True)
class SeededTransforms:
    """Transforms applied in order to one sample's events (a loader's ``transform=``),
    with tonic's global randomness seeded per sample from ``seed`` and the events."""

    transforms: tuple[Callable[[np.ndarray], np.ndarray], ...]
    seed: int = 0
    names: tuple[str, ...] = ()

    def __call__(self, events: np.ndarray) -> np.ndarray:
        if not self.transforms:
            return events
        key = zlib.crc32(np.ascontiguousarray(events).tobytes())
        with seeded_global_numpy(self.seed, key):
            for transform in self.transforms:
                if len(events) == 0:  # as tonic's Compose: nothing left to transform
                    break
                events = transform(events)
        return events

    def __repr__(self) -> str:
        return f"SeededTransforms({', '.join(self.names) or 'none'}; seed={self.seed})"


def build_transforms(
    entries: Sequence[Mapping[str, Any]] | None,
    *,
    dataset: str = "nmnist",
    seed: int = 0,
) -> SeededTransforms:
    """The ``[[transforms]]`` entries as one seeded transform, every entry checked and
    tried on a few probe events of ``dataset``'s dtype and sensor (``ValueError``)."""
    if entries is None:
        entries = []
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes | Mapping):
        raise ValueError(
            f"transforms must be a list of tables ([[transforms]] with name = ...), got {entries!r}"
        )
    sensor, dtype = dataset_sensor(dataset)
    built = [_build_one(i, entry, sensor) for i, entry in enumerate(entries)]
    names = tuple(type(t).__name__ for t in built)
    out = SeededTransforms(tuple(built), int(seed), names)
    for i, transform in enumerate(built):
        _try_on_probe(i, names[i], transform, sensor, dtype, seed)
    return out


def _where(i: int, name: Any = None) -> str:
    return f"transforms[{i}]" + (f" ({name})" if name else "")


def _build_one(i: int, entry: Any, sensor: tuple[int, int, int]) -> Any:
    """One entry as a tonic transform object (its name and parameters checked)."""
    import tonic.transforms as T  # tonic imports torch when present: lazily

    if not isinstance(entry, Mapping) or "name" not in entry:
        raise ValueError(
            f"{_where(i)} must be a table with a name, e.g. "
            f'{{name = "Denoise", filter_time = 10000}}; got {entry!r}'
        )
    name = entry["name"]
    cls = _transform_class(i, name, T)
    params = {k: _plain(v) for k, v in entry.items() if k != "name"}
    accepted = list(inspect.signature(cls).parameters)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        near = difflib.get_close_matches(unknown[0], accepted, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ";"
        raise ValueError(
            f"{_where(i, name)} has no parameter {unknown[0]!r}{hint} its parameters are "
            f"{', '.join(accepted) or 'none'}"
        )
    if "sensor_size" in accepted and "sensor_size" not in params:
        params["sensor_size"] = sensor
    for key, value in params.items():
        _check_range(i, name, key, value)
    try:
        return cls(**params)
    except TypeError as err:
        raise ValueError(
            f"{_where(i, name)}: {err}; its parameters are {', '.join(accepted)}"
        ) from None


def _transform_class(i: int, name: Any, T: Any) -> type:
    if isinstance(name, str) and name in TRANSFORMS:
        return getattr(T, name)
    if isinstance(name, str) and name in _INSTEAD:
        raise ValueError(f"{_where(i)}: name {name!r} is not accepted here; {_INSTEAD[name]}")
    if isinstance(name, str) and name.startswith("To") and hasattr(T, name):
        raise ValueError(f"{_where(i)}: {name!r} is {_REPRESENTATION}; remove the entry")
    near = difflib.get_close_matches(str(name), TRANSFORMS, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise ValueError(
        f"{_where(i)}: name {name!r} is not a tonic transform spikelab applies{hint}; "
        f"use one of {', '.join(TRANSFORMS)}"
    )


def _plain(value: Any) -> Any:
    """TOML lists as tuples (tonic tests ``isinstance(p, tuple)`` for a range)."""
    return tuple(_plain(v) for v in value) if isinstance(value, list) else value


def _check_range(i: int, name: str, key: str, value: Any) -> None:
    rng = _RANGES.get((name, key))
    if rng is None:
        return
    low, high, what = rng
    items = value if isinstance(value, tuple) and len(value) == 2 else (value,)
    ok = all(
        isinstance(v, numbers.Real)
        and not isinstance(v, bool)
        and math.isfinite(v)
        and (low < v if (name, key) == ("Denoise", "filter_time") else low <= v)
        and v <= high
        for v in items
    )
    if not ok:
        raise ValueError(
            f"{_where(i, name)}: {key} = {value!r} is out of range; give {what} "
            f"(or a [low, high] pair of them)"
        )


def _try_on_probe(
    i: int, name: str, transform: Any, sensor: tuple[int, int, int], dtype: np.dtype, seed: int
) -> None:
    """Run ``transform`` on 64 events of the dataset's dtype: a parameter of the wrong
    type or a transform that cannot handle these events fails here, before any data."""
    rng = np.random.default_rng(0)
    probe = np.zeros(64, dtype=dtype)
    probe["x"] = rng.integers(0, sensor[0], probe.size)
    if "y" in dtype.names:
        probe["y"] = rng.integers(0, sensor[1], probe.size)
    probe["t"] = np.sort(rng.integers(0, 100_000, probe.size))
    probe["p"] = rng.integers(0, sensor[2], probe.size)
    try:
        with seeded_global_numpy(seed, 0):
            out = transform(probe)
    except Exception as err:  # noqa: BLE001 - any failure here is a config error
        raise ValueError(
            f"{_where(i, name)} fails on {dtype.names} events of a {sensor} sensor "
            f"({type(err).__name__}: {err}); check its parameters' types and values, or "
            "remove it (it may not apply to this dataset's events)"
        ) from None
    if not isinstance(out, np.ndarray) or out.dtype.names is None:
        raise ValueError(f"{_where(i, name)} does not return events; remove the entry")
