"""Events to a ``SpikeBatch``: time binning, centre crop, polarity, spatial downsampling.

Events are tonic-style structured arrays with fields x, y, t, p (t in µs by default, as in
N-MNIST and tonic). A channel index is ``(x * H + y) * C + p`` for a sensor of size
(W, H, C) after cropping, downsampling and the polarity choice, i.e. the C-order index of
(x, y, p); an ``InputPort(shape=(W, H, C))`` describes the same layout.

Two ways to cut time into steps:

* ``time_bins="fixed"``: step = floor((t - t_start) / dt); events at or after
  ``n_steps * dt`` are dropped (``n_steps`` from ``duration`` ms, or the latest event).
* ``time_bins="equal"``: each sample's own span (first to last event) is split into
  ``n_steps`` equal chunks, as Lin et al. (2025) do; dt is then only the simulation step.

A count of events per (step, channel) is the event value; ``binarize=True`` makes it 1.

What is checked (``check_events``, run by every ``encode``), on the raw events:

* out of range, an error by default (``on_out_of_range="raise"``, with the counts and the
  first sample), or removed and counted with ``on_out_of_range="drop"``: events outside
  the sensor (x not in [0, W), y not in [0, H)), with a negative or non-finite time, and
  out of time order (an earlier t than an event before it in the array);
* cropped, never an error: with ``duration`` or ``n_steps`` set (fixed bins), events at
  or after ``n_steps * dt`` are cut, as asked (N-MNIST recordings last ~306 ms, so
  ``duration = 300`` cuts their tails); they are counted as ``past_duration``. The centre
  ``crop`` and the polarity choice remove events as asked and are not counted.

``encode_with_report`` returns the counts beside the batch (the classify task writes them
to metrics.json as ``encoding_events``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from . import event_binning
from .spikes import SpikeBatch

_POLARITY = ("split", "merge", "on", "off")
ON_OUT_OF_RANGE = ("raise", "drop")
#: The most steps a sample may have (a SpikeBatch indexes steps with int32; a recording
#: holds [samples, bins, neurons]): duration / dt and n_steps are bounded by it.
MAX_STEPS = 10**7
REPORT_KEYS = ("events", "outside_sensor", "bad_time", "out_of_order", "dropped", "past_duration")


def check_time_options(
    *,
    dt: float = 1.0,
    duration: float | None = None,
    n_steps: int | None = None,
    time_bins: str = "fixed",
    t_unit_us: float = 1.0,
    on_out_of_range: str = "raise",
    **_: object,
) -> None:
    """The options of an encoding that do not depend on the sensor: ValueError naming the
    option, its value and the allowed range (also run by the ``[encoding]`` config section,
    before any data is loaded)."""
    for name, v in (("dt", dt), ("t_unit_us", t_unit_us)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be > 0 (a finite number), got {v!r}")
    if time_bins not in ("fixed", "equal"):
        raise ValueError(f"time_bins must be 'fixed' or 'equal', got {time_bins!r}")
    if time_bins == "equal" and not n_steps:
        raise ValueError("time_bins='equal' needs n_steps (the number of equal chunks)")
    if n_steps is not None and (
        isinstance(n_steps, bool)
        or not isinstance(n_steps, numbers.Integral)
        or not 1 <= n_steps <= MAX_STEPS
    ):
        raise ValueError(f"n_steps must be a whole number in [1, {MAX_STEPS}], got {n_steps!r}")
    if duration is not None:
        ok = isinstance(duration, numbers.Real) and not isinstance(duration, bool)
        if not ok or not math.isfinite(duration) or duration <= 0:
            raise ValueError(f"duration must be a finite number of ms > 0, got {duration!r}")
        if n_steps is None and duration / dt > MAX_STEPS:
            raise ValueError(
                f"duration={duration:g} ms at dt={dt:g} ms is {duration / dt:.3g} steps per "
                f"sample, more than {MAX_STEPS}; shorten it or use a larger dt"
            )
    if on_out_of_range not in ON_OUT_OF_RANGE:
        raise ValueError(f"on_out_of_range must be 'raise' or 'drop', got {on_out_of_range!r}")


@dataclass(frozen=True, kw_only=True)
class EventEncoding:
    """Settings that turn event arrays into SpikeBatch rows (a pure, frozen transform).

    sensor_size : (W, H, C) of the raw events, e.g. (34, 34, 2) for N-MNIST.
    dt : simulation step in ms.
    duration : ms of each sample to keep (fixed bins); None: up to the latest event.
    n_steps : steps per sample (required for ``time_bins="equal"``; overrides duration).
    time_bins : "fixed" or "equal" (see module docstring).
    t_unit_us : the events' time unit in µs (1 for N-MNIST).
    crop : (w, h) centre crop, or None.
    downsample : integer spatial factor (pixels pooled into one channel).
    polarity : "split" (keep both), "merge" (one channel), "on" (p == 1 only), "off" (p == 0).
    binarize : 1 per active (step, channel) instead of the event count.
    on_out_of_range : "raise" (default) or "drop" events outside the sensor, with a negative
        or non-finite time, or out of time order (see the module docstring).
    """

    sensor_size: tuple[int, int, int] = (34, 34, 2)
    dt: float = 1.0
    duration: float | None = None
    n_steps: int | None = None
    time_bins: str = "fixed"
    t_unit_us: float = 1.0
    crop: tuple[int, int] | None = None
    downsample: int = 1
    polarity: str = "split"
    binarize: bool = False
    on_out_of_range: str = "raise"

    def __post_init__(self) -> None:
        size = tuple(int(s) for s in self.sensor_size)
        if len(size) != 3 or min(size) < 1:
            raise ValueError(f"sensor_size must be (W, H, C) positive ints, got {self.sensor_size}")
        object.__setattr__(self, "sensor_size", size)
        n_steps = self.n_steps
        if isinstance(n_steps, float) and n_steps.is_integer():  # 50.0 from a computation
            object.__setattr__(self, "n_steps", int(n_steps))
        check_time_options(**{f: getattr(self, f) for f in self.__dataclass_fields__})
        if self.polarity not in _POLARITY:
            raise ValueError(f"polarity must be one of {_POLARITY}, got {self.polarity!r}")
        if int(self.downsample) < 1:
            raise ValueError(f"downsample must be an integer >= 1, got {self.downsample}")
        if self.crop is not None:
            crop = tuple(int(c) for c in self.crop)
            if len(crop) != 2 or crop[0] > size[0] or crop[1] > size[1] or min(crop) < 1:
                raise ValueError(
                    f"crop {self.crop} must be (w, h) within the sensor size {size[:2]}"
                )
            object.__setattr__(self, "crop", crop)

    # ---- geometry -----------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(W, H, C) of the channels this encoding produces."""
        return event_binning.input_shape(
            self.sensor_size, self.crop, self.downsample, self.polarity
        )

    @property
    def n_channels(self) -> int:
        return math.prod(self.input_shape)

    def steps_for(self, t_max_us: float) -> int:
        return event_binning.steps_for(self.settings(), t_max_us)

    def settings(self) -> dict:
        """The settings as plain JSON values (what ``event_binning.dense_counts`` takes and
        the Lava artifact stores)."""
        return {
            f: list(v) if isinstance(v, tuple) else v
            for f, v in ((f, getattr(self, f)) for f in self.__dataclass_fields__)
        }

    def spatial(self, events: np.ndarray) -> np.ndarray:
        """Crop, polarity selection and downsampling (as tonic's CenterCrop and Downsample,
        in numpy: ``spikelab.event_binning``); a new array."""
        return event_binning.spatial(
            events, self.sensor_size, self.crop, self.polarity, self.downsample
        )

    def channels(self, ev: np.ndarray) -> np.ndarray:
        return event_binning.channel_index(ev, self.input_shape, self.polarity)

    def _steps(self, t: np.ndarray, n_steps: int) -> np.ndarray:
        return event_binning.step_index(t, n_steps, self.time_bins, self.dt, self.t_unit_us)

    # ---- checks ---------------------------------------------------------------------------
    def out_of_range(self, ev: np.ndarray) -> dict[str, np.ndarray]:
        """Boolean masks over the raw events ``ev``: ``outside_sensor``, ``bad_time``
        (negative or non-finite) and ``out_of_order`` (t earlier than an event before it)."""
        return event_binning.out_of_range_masks(ev, self.sensor_size)

    def past_duration(self, ev: np.ndarray) -> int:
        """How many events the fixed time bins cut (at or after ``n_steps * dt``)."""
        if self.time_bins != "fixed" or (self.n_steps is None and self.duration is None):
            return 0
        end = self.steps_for(0.0) * self.dt * 1000.0 / self.t_unit_us
        return int(np.count_nonzero(ev["t"] >= end))

    def check_events(self, samples: Sequence[np.ndarray]) -> tuple[list[np.ndarray], dict]:
        """The samples as encoding will use them, and their counts (``REPORT_KEYS``).

        Events out of range raise a ValueError with the counts (``on_out_of_range =
        "raise"``), or are dropped and counted (``"drop"``); see the module docstring."""
        report = dict.fromkeys(REPORT_KEYS, 0)
        kept, first = [], None
        for i, ev in enumerate(samples):
            masks = self.out_of_range(ev)
            bad = masks["outside_sensor"] | masks["bad_time"] | masks["out_of_order"]
            n_bad = int(np.count_nonzero(bad))
            if n_bad:
                ev = ev[~bad]
                first = i if first is None else first
            for key, m in masks.items():
                report[key] += int(np.count_nonzero(m))
            report["events"] += len(bad)
            report["dropped"] += n_bad
            report["past_duration"] += self.past_duration(ev)
            kept.append(ev)
        if report["dropped"] and self.on_out_of_range == "raise":
            raise ValueError(self._out_of_range_message(report, first))
        return kept, report

    def _out_of_range_message(self, report: dict, first: int) -> str:
        w, h, _ = self.sensor_size
        return (
            f"{report['dropped']} of {report['events']} events are out of range (first in "
            f"sample {first}): {report['outside_sensor']} outside the {w}x{h} sensor, "
            f"{report['bad_time']} with a negative or non-finite time, "
            f"{report['out_of_order']} out of time order. Fix the events, or set "
            'encoding.on_out_of_range = "drop" to drop them (the counts are reported)'
        )

    # ---- the transform ------------------------------------------------------------------
    def __call__(self, events: np.ndarray | Sequence[np.ndarray]) -> SpikeBatch:
        """The encoding as a tonic transform: one structured event array (one sample) gives
        a one-sample ``SpikeBatch``, so ``tonic.transforms.Compose([Denoise(...), enc])``
        works on a dataset's samples; a list of arrays is ``encode(list)``. Join per-sample
        batches with ``SpikeBatch.concatenate`` (needs a fixed length: ``duration`` or
        ``n_steps``). tonic's ``Compose`` stops at an empty array and returns it as is."""
        if isinstance(events, np.ndarray) and events.dtype.names is not None:
            return self.encode([events])
        if isinstance(events, np.ndarray) or not isinstance(events, Sequence):
            raise TypeError(
                "EventEncoding(...)(events) takes one structured event array (fields x, (y,) "
                f"t, p) or a list of them, got {type(events).__name__} "
                f"{getattr(events, 'dtype', '')}".rstrip()
            )
        return self.encode(events)

    def encode(
        self,
        samples: Sequence[np.ndarray],
        *,
        labels: Sequence[int] | np.ndarray | None = None,
        progress: bool = False,
    ) -> SpikeBatch:
        """Encode a list of event arrays into one ``SpikeBatch`` (one sample per array)."""
        return self.encode_with_report(samples, labels=labels, progress=progress)[0]

    def encode_with_report(
        self,
        samples: Sequence[np.ndarray],
        *,
        labels: Sequence[int] | np.ndarray | None = None,
        progress: bool = False,
    ) -> tuple[SpikeBatch, dict[str, int]]:
        """``encode``, and the counts of ``check_events`` (out of range, dropped, cropped)."""
        samples = list(samples)
        if not samples:
            raise ValueError("encode() needs at least one sample")
        samples, report = self.check_events(samples)
        spatial = [self.spatial(ev) for ev in tqdm(samples, desc="encode", disable=not progress)]
        if self.n_steps is None and self.duration is None:
            t_max = max((float(ev["t"].max()) for ev in spatial if len(ev)), default=0.0)
        else:
            t_max = 0.0
        return self._batch(spatial, self.steps_for(t_max), labels), report

    def _batch(
        self, spatial: list[np.ndarray], n_steps: int, labels: Sequence[int] | np.ndarray | None
    ) -> SpikeBatch:
        """Bin the (spatially transformed) samples into ``n_steps`` steps."""
        keys, vals, per = [], [], []
        n_ch = self.n_channels
        for ev in spatial:
            st = self._steps(ev["t"].astype(np.int64), n_steps)
            ch = self.channels(ev)
            keep = (st >= 0) & (st < n_steps)
            key = st[keep] * n_ch + ch[keep]
            uniq, counts = np.unique(key, return_counts=True)  # sorted by step, then channel
            keys.append(uniq)
            vals.append(np.ones(len(uniq), np.float32) if self.binarize else counts)
            per.append(len(uniq))
        key = np.concatenate(keys)
        return SpikeBatch(
            n_steps=n_steps,
            n_channels=n_ch,
            offsets=np.concatenate([[0], np.cumsum(per)]),
            steps=key // n_ch,
            channels=key % n_ch,
            values=np.concatenate(vals).astype(np.float32),
            dt=self.dt,
            labels=None if labels is None else np.asarray(labels),
        )


def event_histogram(
    event_streams: Sequence[np.ndarray],
    n_channels: int,
    sensor_size: tuple[int, int] | tuple[int, int, int] = (34, 34),
    *,
    pool: int = 1,
    n_time_bins: int = 1,
) -> np.ndarray:
    """Event counts per (time bin, channel, pooled y, pooled x) of every sample: float64
    [n_samples, n_time_bins * n_channels * ceil(height/pool) * ceil(width/pool)].

    The one event-count histogram: readout features of raw events (``n_channels=2``, the
    polarities) and of FEAST output (``p`` = feature index, ``n_channels=n_neurons``).
    ``p`` must lie in [0, n_channels); raw polarities -1/+1 are read as p > 0, and with one
    channel every event counts in it. Events without ``y`` (audio) lie on row 0.
    ``sensor_size`` is (width, height[, polarities]) in pixels, ``pool`` the side of the
    square pooling window (1 = none); ``n_time_bins`` equal bins span each sample's own
    [first t, last t].
    """
    if int(pool) < 1 or int(n_time_bins) < 1 or int(n_channels) < 1:
        raise ValueError(
            f"pool, n_time_bins and n_channels must be >= 1, got pool={pool}, "
            f"n_time_bins={n_time_bins}, n_channels={n_channels}"
        )
    width, height = int(sensor_size[0]), int(sensor_size[1])
    wp, hp = -(-width // pool), -(-height // pool)
    size = n_time_bins * n_channels * hp * wp
    out = np.zeros((len(event_streams), size))
    for i, ev in enumerate(event_streams):
        if len(ev) == 0:
            continue
        p = _channel_of(ev, n_channels, i)
        tb = _equal_bins(ev["t"].astype(np.float64), n_time_bins)
        y = ev["y"] // pool if "y" in ev.dtype.names else 0
        flat = ((tb * n_channels + p) * hp + y) * wp + ev["x"] // pool
        out[i] = np.bincount(flat.astype(np.int64), minlength=size)
    return out


def _channel_of(ev: np.ndarray, n_channels: int, i: int) -> np.ndarray:
    """int64 channel of every event of sample ``i`` (see ``event_histogram``)."""
    if ev.dtype.names is None or not {"x", "t", "p"} <= set(ev.dtype.names):
        raise ValueError(
            f"sample {i}: events must be a structured array with fields x, (y,) t, p; "
            f"got {ev.dtype}"
        )
    p = ev["p"].astype(np.int64)
    if n_channels == 1:
        return np.zeros_like(p)
    if n_channels == 2 and p.min() < 0:
        p = (p > 0).astype(np.int64)
    if p.min() < 0 or p.max() >= n_channels:
        raise ValueError(
            f"sample {i}: p in [{p.min()}, {p.max()}] does not fit n_channels={n_channels}"
        )
    return p


def _equal_bins(t: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each time when [min t, max t] is cut into ``n_bins`` equal parts."""
    t0 = t.min()
    span = t.max() - t0 + 1.0
    return np.minimum(((t - t0) * n_bins / span).astype(np.int64), n_bins - 1)


def count_histogram(
    samples: Sequence[np.ndarray],
    *,
    sensor_size: tuple[int, int, int] = (34, 34, 2),
    n_time_bins: int = 3,
) -> np.ndarray:
    """Event counts per (time bin x pixel x polarity) for each sample: float32
    [n, bins * W * H * C], pixels and polarities in ``EventEncoding``'s channel order
    ``(x * H + y) * C + p``. It is ``event_histogram`` with C channels, axes reordered.

    Each sample's own span is split into ``n_time_bins`` equal parts (3 for N-MNIST's three
    saccades). This is the baseline feature of every experiment.
    """
    w, h, c = EventEncoding(sensor_size=sensor_size).sensor_size
    out = np.zeros((len(samples), n_time_bins * w * h * c), dtype=np.float32)
    for start in range(0, len(samples), 256):  # in chunks: memory bounded by one chunk
        part = [samples[i] for i in range(start, min(start + 256, len(samples)))]
        hist = event_histogram(part, c, (w, h), n_time_bins=n_time_bins)
        hist = hist.reshape(len(part), n_time_bins, c, h, w).transpose(0, 1, 4, 3, 2)
        out[start : start + len(part)] = hist.reshape(len(part), -1)
    return out
