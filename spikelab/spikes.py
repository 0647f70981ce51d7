"""The values between stages: spikes into a simulation, what it records, what comes out.

``SpikeBatch`` (encoded input), ``RecordSpec`` (what to record) and ``Recording`` (the
result, numpy) are owned here; backends, readouts and plots import them from this module.

A ``SpikeBatch`` holds many independent samples in one CSR-like layout: for sample ``b``
its events are ``steps[offsets[b]:offsets[b+1]]`` (time step, 0-based), ``channels[...]``
(input channel) and ``values[...]`` (how many events fell in that step and channel, or an
analogue amplitude), sorted by step. ``SpikeTrains`` is the same layout for output spikes
(neuron instead of channel, no values).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _frozen(a: np.ndarray, dtype: type) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=dtype)
    a.setflags(write=False)
    return a


INT32_MAX = int(np.iinfo(np.int32).max)
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _whole(name: str, value: Any, low: int) -> int:
    """A count (``n_steps``, ``n_channels``) as an int in [low, 2**31 - 1]: no truncation of
    a fraction, no booleans, no wrap at int32."""
    ok = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer()
    )
    if isinstance(value, bool | np.bool_) or not ok:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if int(value) < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    if int(value) > INT32_MAX:
        raise ValueError(f"{name} must be at most {INT32_MAX} (int32), got {value!r}")
    return int(value)


def _int_events(name: str, a: Any) -> np.ndarray:
    """Event indices (steps, channels) as int64, refusing fractions, NaN and non-numbers
    (the int32 cast later would truncate or wrap them)."""
    arr = np.asarray(a)
    if arr.size == 0:
        return arr.astype(np.int64).reshape(-1)
    if arr.dtype.kind not in "iuf" or arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of whole numbers, got {arr.dtype} {arr.shape}"
        )
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.floor(arr))
        if bad.any():
            raise ValueError(
                f"{name} must be whole numbers: {int(bad.sum())} are not, e.g. {float(arr[bad][0])}"
            )
        if np.abs(arr).max() > 2**62:
            raise ValueError(f"{name} out of range, e.g. {np.abs(arr).max():g}")
    elif arr.dtype.kind == "u" and arr.max() > 2**62:
        raise ValueError(f"{name} out of range, e.g. {arr.max()}")
    return arr.astype(np.int64)


def _sort_by_sample_step(offsets: np.ndarray, steps: np.ndarray, *cols: np.ndarray) -> tuple:
    """Stable sort of events by (sample, step), keeping the order within a step; events
    already in that order (every encoder writes them so) are returned as they are, after
    one linear check instead of a sort."""
    falls = np.diff(steps) < 0
    falls[offsets[1:-1][(offsets[1:-1] > 0) & (offsets[1:-1] < len(steps))] - 1] = False
    if not falls.any():  # steps rise within every sample (a fall only where one begins)
        return (steps, *cols)
    sample = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    order = np.lexsort((steps, sample))
    return (steps[order], *(c[order] for c in cols))


@dataclass(frozen=True, kw_only=True, eq=False)
class SpikeBatch:
    """Input spikes for a batch of independent samples.

    Attributes
    ----------
    n_steps : number of simulation steps per sample.
    n_channels : number of input channels (the network's input ports, concatenated).
    offsets : int64 [n_samples + 1], start of each sample's events.
    steps : int32 [n_events], step index in [0, n_steps).
    channels : int32 [n_events], channel index in [0, n_channels).
    values : float32 [n_events], event count (or amplitude) in that step and channel.
    dt : step length in ms the batch was binned with.
    labels : optional int64 [n_samples].
    """

    n_steps: int
    n_channels: int
    offsets: np.ndarray
    steps: np.ndarray
    channels: np.ndarray
    values: np.ndarray
    dt: float = 1.0
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._check_sizes()
        offsets = np.asarray(self.offsets, dtype=np.int64)
        steps, ch, vals = self._checked_events(offsets)
        steps, ch, vals = _sort_by_sample_step(offsets, steps, ch, vals)
        object.__setattr__(self, "n_steps", int(self.n_steps))
        object.__setattr__(self, "n_channels", int(self.n_channels))
        object.__setattr__(self, "dt", float(self.dt))
        object.__setattr__(self, "offsets", _frozen(offsets, np.int64))
        object.__setattr__(self, "steps", _frozen(steps, np.int32))
        object.__setattr__(self, "channels", _frozen(ch, np.int32))
        object.__setattr__(self, "values", _frozen(vals, np.float32))
        if self.labels is not None:
            labels = _frozen(np.asarray(self.labels), np.int64)
            if len(labels) != len(offsets) - 1:
                raise ValueError(f"labels has {len(labels)} entries for {len(offsets) - 1} samples")
            object.__setattr__(self, "labels", labels)

    def _check_sizes(self) -> None:
        """Validate n_steps, n_channels and dt (ms)."""
        object.__setattr__(self, "n_steps", _whole("n_steps", self.n_steps, 1))
        object.__setattr__(self, "n_channels", _whole("n_channels", self.n_channels, 0))
        if not self.dt > 0:
            raise ValueError(f"dt must be > 0 ms, got {self.dt}")

    def _checked_events(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validate ``offsets`` and the event arrays; returns (steps, channels, values)."""
        steps = _int_events("steps", self.steps)
        n = len(steps)
        if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != n:
            raise ValueError(
                f"offsets must run from 0 to the number of events ({n}), got {offsets[:3]}..."
            )
        if np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must be non-decreasing")
        if len(self.channels) != n or len(self.values) != n:
            raise ValueError(
                f"steps, channels and values must have equal length, got "
                f"{n}, {len(self.channels)}, {len(self.values)}"
            )
        if n and (steps.min() < 0 or steps.max() >= self.n_steps):
            raise ValueError(
                f"steps must lie in [0, {self.n_steps}), got range [{steps.min()}, {steps.max()}]"
            )
        ch = _int_events("channels", self.channels)
        if n and (ch.min() < 0 or ch.max() >= self.n_channels):
            raise ValueError(
                f"channels must lie in [0, {self.n_channels}), got range [{ch.min()}, {ch.max()}]"
            )
        vals = np.asarray(self.values)
        if vals.dtype.kind not in "biuf":
            raise ValueError(f"values must be numbers, got dtype {vals.dtype}")
        if n and not np.all(np.isfinite(vals)):
            raise ValueError("values must be finite; found NaN or inf")
        if n and np.abs(vals).max() > FLOAT32_MAX:
            raise ValueError(
                f"values must fit float32 (|v| <= {FLOAT32_MAX:.4g}), got {np.abs(vals).max():g}"
            )
        return steps, ch, vals

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __repr__(self) -> str:
        labels = "" if self.labels is None else ", labels"
        return (
            f"SpikeBatch({len(self)} samples x {self.n_steps} steps x {self.n_channels} "
            f"channels, dt={self.dt:g} ms, {self.n_events} events{labels})"
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """(samples, steps, channels): lets scikit-learn's splitters index a batch."""
        return (len(self), self.n_steps, self.n_channels)

    def __getitem__(self, key: Any) -> SpikeBatch:
        """Samples by index array, list, slice or int (``batch[idx]`` == ``subset(idx)``)."""
        if isinstance(key, tuple):  # scikit-learn indexes arrays as X[key, ...]
            if len(key) != 2 or key[1] is not Ellipsis:
                raise IndexError("a SpikeBatch is indexed by sample only: batch[indices]")
            key = key[0]
        if isinstance(key, slice):
            return self.subset(np.arange(len(self))[key])
        key = np.asarray(key)
        if key.dtype == bool:
            if key.shape != (len(self),):
                raise IndexError(f"boolean index of shape {key.shape} for {len(self)} samples")
            key = np.flatnonzero(key)
        return self.subset(np.atleast_1d(key))

    @property
    def n_events(self) -> int:
        return len(self.steps)

    def sample(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, channels, values) of sample ``i``."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.steps[lo:hi], self.channels[lo:hi], self.values[lo:hi]

    def dense(self, i: int) -> np.ndarray:
        """Sample ``i`` as a dense float32 array [n_steps, n_channels]."""
        s, c, v = self.sample(i)
        out = np.zeros((self.n_steps, self.n_channels), dtype=np.float32)
        np.add.at(out, (s, c), v)
        return out

    def subset(self, indices: Sequence[int] | np.ndarray) -> SpikeBatch:
        """The samples at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"sample index out of range for a batch of {len(self)}")
        idx = idx % max(len(self), 1)
        lo, hi = self.offsets[idx], self.offsets[idx + 1]
        sizes = hi - lo
        ends = np.cumsum(sizes)
        if idx.size and np.all(np.diff(idx) == 1):  # consecutive samples: views of one slice
            take: slice | np.ndarray = slice(int(lo[0]), int(hi[-1]))
        else:  # event k of the subset is event lo[i] + (k - start of i) of this batch
            take = np.repeat(lo - (ends - sizes), sizes) + np.arange(
                int(ends[-1]) if idx.size else 0
            )
        # the events of a checked batch, each sample's kept in order: checked already
        out = object.__new__(SpikeBatch)
        fields = {
            "n_steps": self.n_steps,
            "n_channels": self.n_channels,
            "offsets": _frozen(np.concatenate([[0], ends]), np.int64),
            "steps": _frozen(self.steps[take], np.int32),
            "channels": _frozen(self.channels[take], np.int32),
            "values": _frozen(self.values[take], np.float32),
            "dt": self.dt,
            "labels": None if self.labels is None else _frozen(self.labels[idx], np.int64),
        }
        for name, value in fields.items():
            object.__setattr__(out, name, value)
        return out

    def chunks(self, size: int) -> list[SpikeBatch]:
        """Consecutive sub-batches of at most ``size`` samples."""
        if size < 1:
            raise ValueError(f"chunk size must be >= 1, got {size}")
        return [
            self.subset(np.arange(i, min(i + size, len(self)))) for i in range(0, len(self), size)
        ]

    @staticmethod
    def empty(n_samples: int, n_steps: int, *, n_channels: int = 0, dt: float = 1.0) -> SpikeBatch:
        """``n_samples`` samples without input events (e.g. for a network with no input ports,
        driven by its bias)."""
        return SpikeBatch(
            n_steps=n_steps,
            n_channels=n_channels,
            offsets=np.zeros(int(n_samples) + 1, dtype=np.int64),
            steps=np.zeros(0, np.int32),
            channels=np.zeros(0, np.int32),
            values=np.zeros(0, np.float32),
            dt=dt,
        )

    @staticmethod
    def from_dense(
        x: np.ndarray, *, dt: float = 1.0, labels: np.ndarray | None = None
    ) -> SpikeBatch:
        """Build a batch from a dense array [n_samples, n_steps, n_channels] (zeros dropped)."""
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(f"expected [samples, steps, channels], got shape {x.shape}")
        b, s, c = np.nonzero(x)
        counts = np.bincount(b, minlength=x.shape[0])
        return SpikeBatch(
            n_steps=x.shape[1],
            n_channels=x.shape[2],
            offsets=np.concatenate([[0], np.cumsum(counts)]),
            steps=s,
            channels=c,
            values=x[b, s, c],
            dt=dt,
            labels=labels,
        )

    @staticmethod
    def concatenate(batches: Sequence[SpikeBatch]) -> SpikeBatch:
        """Join batches with the same n_steps, n_channels and dt."""
        if not batches:
            raise ValueError("need at least one batch to concatenate")
        first = batches[0]
        for b in batches[1:]:
            if (b.n_steps, b.n_channels, b.dt) != (first.n_steps, first.n_channels, first.dt):
                raise ValueError("batches differ in n_steps, n_channels or dt")
        sizes = np.concatenate([np.diff(b.offsets) for b in batches])
        labels = None
        if all(b.labels is not None for b in batches):
            labels = np.concatenate([b.labels for b in batches])
        return SpikeBatch(
            n_steps=first.n_steps,
            n_channels=first.n_channels,
            offsets=np.concatenate([[0], np.cumsum(sizes)]),
            steps=np.concatenate([b.steps for b in batches]),
            channels=np.concatenate([b.channels for b in batches]),
            values=np.concatenate([b.values for b in batches]),
            dt=first.dt,
            labels=labels,
        )


@dataclass(frozen=True, kw_only=True, eq=False)
class SpikeTrains:
    """Output spikes of a batch: for sample b, ``steps`` and ``neurons`` in
    ``[offsets[b], offsets[b+1])``, sorted by step then neuron."""

    n_steps: int
    n_neurons: int
    offsets: np.ndarray
    steps: np.ndarray
    neurons: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __repr__(self) -> str:
        return (
            f"SpikeTrains({len(self)} samples x {self.n_steps} steps x {self.n_neurons} "
            f"neurons, {len(self.steps)} spikes)"
        )

    def sample(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.steps[lo:hi], self.neurons[lo:hi]

    def dense(self, i: int) -> np.ndarray:
        """Sample ``i`` as a bool raster [n_steps, n_neurons]."""
        s, n = self.sample(i)
        out = np.zeros((self.n_steps, self.n_neurons), dtype=bool)
        out[s, n] = True
        return out

    @staticmethod
    def from_dense(raster: np.ndarray) -> SpikeTrains:
        """From a boolean/uint8 array [n_samples, n_steps, n_neurons]."""
        raster = np.asarray(raster)
        b, s, n = np.nonzero(raster)
        counts = np.bincount(b, minlength=raster.shape[0])
        return SpikeTrains(
            n_steps=raster.shape[1],
            n_neurons=raster.shape[2],
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            steps=s.astype(np.int32),
            neurons=n.astype(np.int32),
        )


@dataclass(frozen=True, kw_only=True)
class RecordSpec:
    """What a simulation records.

    bin_steps : width of a spike-count bin in steps; None means one bin for the whole run.
    raster : also record every spike (as ``SpikeTrains``).
    voltage : global indices of neurons whose membrane potential (mV) is recorded every step.
    """

    bin_steps: int | None = None
    raster: bool = False
    voltage: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.bin_steps is not None and int(self.bin_steps) < 1:
            raise ValueError(f"bin_steps must be >= 1 or None, got {self.bin_steps}")
        object.__setattr__(self, "voltage", tuple(int(i) for i in self.voltage))

    def n_bins(self, n_steps: int) -> int:
        return 1 if self.bin_steps is None else -(-n_steps // int(self.bin_steps))

    def bin_width(self, n_steps: int) -> int:
        return n_steps if self.bin_steps is None else int(self.bin_steps)


@dataclass(frozen=True, kw_only=True, eq=False)
class Recording:
    """What a run returns, as numpy.

    counts : int32 [batch, bins, neurons] spikes per time bin.
    bin_steps : steps per bin.
    n_steps, dt : run length in steps and step in ms.
    populations : (name, start, stop) of each population in the global neuron index.
    raster : every spike, when recorded.
    voltage : float [batch, n_steps, len(voltage_neurons)] in mV, when recorded.
    n_spikes, n_synaptic_events : totals over the batch (for benchmarks).
    wall_time_s : time spent in ``run``.
    """

    counts: np.ndarray
    bin_steps: int
    n_steps: int
    dt: float
    populations: tuple[tuple[str, int, int], ...]
    raster: SpikeTrains | None = None
    voltage: np.ndarray | None = None
    voltage_neurons: tuple[int, ...] = ()
    n_spikes: int = 0
    n_synaptic_events: int = 0
    wall_time_s: float = 0.0
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.counts.shape[0]

    def __repr__(self) -> str:
        b, bins, n = self.counts.shape
        pops = ", ".join(f"{p} {stop - start}" for p, start, stop in self.populations[:4])
        more = f", +{len(self.populations) - 4} more" if len(self.populations) > 4 else ""
        parts = [
            f"{b} samples x {self.n_steps} steps (dt={self.dt:g} ms)",
            f"{n} neurons ({pops}{more})",
            f"{bins} bins of {self.bin_steps} steps",
            f"{int(self.counts.sum())} spikes",
        ]
        if self.raster is not None:
            parts.append("raster")
        if self.voltage is not None:
            parts.append(f"voltage of {len(self.voltage_neurons)} neurons")
        if self.extras:
            parts.append(f"extras: {', '.join(sorted(self.extras)[:6])}")
        return f"Recording({', '.join(parts)}, {self.wall_time_s:.3g} s)"

    def population(self, name: str) -> slice:
        for pname, start, stop in self.populations:
            if pname == name:
                return slice(start, stop)
        known = [p[0] for p in self.populations]
        raise KeyError(f"no population {name!r} in this recording; populations: {known}")

    def rates_hz(self, name: str | None = None) -> np.ndarray:
        """Mean firing rate (Hz) of each sample, over all neurons or one population."""
        counts = self.counts if name is None else self.counts[:, :, self.population(name)]
        seconds = self.n_steps * self.dt / 1000.0
        return counts.sum(axis=(1, 2)) / max(counts.shape[2], 1) / seconds
