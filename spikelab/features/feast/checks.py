"""Argument checks of FEAST: parameters, sensor sizes and event arrays.

Every error names the bad value and says what to pass instead.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import NamedTuple

import numpy as np


class EventColumns(NamedTuple):
    """The kernels' view of concatenated samples: int64 ``x``, ``y`` (pixels), float64 ``t``,
    int64 ``ch`` (time-surface channel) per event; int64 ``starts``, the indices where a
    sample begins (the kernels reset the time surface there)."""

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray
    ch: np.ndarray
    starts: np.ndarray


def int_param(name: str, value, lo: int, fix: str) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}; {fix}")


def real_param(name: str, value, lo, hi, fix: str, *, closed: bool = False) -> None:
    """value must be a finite real in (lo, hi] (``closed``: [lo, hi]); None = unbounded."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok and lo is not None:
        ok = value >= lo if closed else value > lo
    if ok and hi is not None:
        ok = value <= hi
    if not ok:
        raise ValueError(f"{name} must be {fix}, got {value!r}")


def sensor(sensor_size) -> tuple[int, int, int]:
    try:
        w, h, p = (int(v) for v in sensor_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"sensor_size must be (width, height, polarities), got {sensor_size!r}; "
            "N-MNIST is (34, 34, 2)"
        ) from None
    if min(w, h, p) < 1:
        raise ValueError(f"sensor_size entries must be >= 1, got {sensor_size!r}")
    return w, h, p


def as_stream_list(event_streams) -> list[np.ndarray]:
    if hasattr(event_streams, "tocsr") or hasattr(event_streams, "todense"):  # scipy.sparse
        raise TypeError(
            "sparse input is not supported: FEAST takes structured event arrays (fields x, "
            "y, t, p, tonic's layout) or a list of them, one per sample"
        )
    if isinstance(event_streams, np.ndarray):
        return [event_streams]
    try:
        return list(event_streams)
    except TypeError:
        raise TypeError(
            "event_streams must be a structured event array or a list of them, got "
            f"{type(event_streams).__name__}"
        ) from None


def check_events(ev, sensor) -> None:
    names = getattr(getattr(ev, "dtype", None), "names", None)
    if not isinstance(ev, np.ndarray) or names is None or not {"x", "y", "t", "p"} <= set(names):
        raise TypeError(
            "events must be a structured numpy array with fields x, y, t, p (tonic's layout), "
            f"got {type(ev).__name__} with fields {names}"
        )
    if ev.ndim != 1:
        raise ValueError(f"events must be 1-D, got shape {ev.shape}")
    if ev.size == 0:
        return
    w, h, _ = sensor
    for f, size in (("x", w), ("y", h)):
        lo, hi = ev[f].min(), ev[f].max()
        if lo < 0 or hi >= size:
            raise ValueError(
                f"event {f} in [{lo}, {hi}] leaves the sensor ({f} < {size}); pass the right "
                f"sensor_size (width, height, polarities), got {tuple(sensor)}"
            )
    if np.any(np.diff(ev["t"]) < 0):
        raise ValueError("events must be sorted by t; sort them with np.sort(events, order='t')")


def check_p_capacity(dtype, n_neurons: int) -> None:
    p = dtype["p"]
    cap = 1 if p.kind == "b" else np.iinfo(p).max if p.kind in "iu" else np.inf
    if n_neurons - 1 > cap:
        raise ValueError(
            f"the events' p field ({p}) cannot hold feature indices up to {n_neurons - 1}; "
            "cast p to a wider integer type, e.g. events.astype([('x','<i8'),('y','<i8'),"
            "('t','<i8'),('p','<i8')])"
        )


def chunks(streams, max_events: int):
    """(start, stop) sample ranges holding at most about max_events events each."""
    i0, total = 0, 0
    for i, s in enumerate(streams):
        if total and total + len(s) > max_events:
            yield i0, i
            i0, total = i, 0
        total += len(s)
    yield i0, len(streams)


def kernel_columns(streams, sensor, *, split: bool, skip_first_reset: bool = False):
    """Concatenated kernel inputs (``EventColumns``) of the samples, checked.

    ``skip_first_reset`` drops the first sample start (a stream continued across calls).
    """
    for s in streams:
        check_events(s, sensor)
    lengths = np.array([len(s) for s in streams], np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    starts = offsets[lengths > 0]
    if skip_first_reset and lengths.size and lengths[0] > 0:
        starts = starts[1:]
    if not streams:
        empty = np.empty(0, np.int64)
        return EventColumns(empty, empty, np.empty(0), empty, empty)

    def col(name, dtype):
        return np.concatenate([s[name] for s in streams]).astype(dtype)

    x, y, t = col("x", np.int64), col("y", np.int64), col("t", np.float64)
    if split:
        ch = (col("p", np.float64) > 0).astype(np.int64)
    else:
        ch = np.zeros(x.size, np.int64)
    return EventColumns(x, y, t, ch, np.ascontiguousarray(starts))


def validate_feast_params(est) -> None:
    """Check every FEAST hyperparameter; ValueError naming the value and the fix."""
    int_param("n_neurons", est.n_neurons, 1, "e.g. n_neurons=32")
    int_param("radius", est.radius, 0, "e.g. radius=3 (a 7x7 patch)")
    int_param("epochs", est.epochs, 1, "e.g. epochs=1")
    int_param("record_every", est.record_every, 1, "e.g. record_every=1000 events")
    real_param("tau", est.tau, 0, None, "a time > 0 in the timestamps' unit, e.g. 20000.0 µs")
    real_param("eta", est.eta, 0, 1, "in (0, 1], e.g. eta=0.01")
    real_param("threshold_open", est.threshold_open, 0, None, ">= 0, e.g. 0.001", closed=True)
    real_param("threshold_close", est.threshold_close, 0, None, ">= 0, e.g. 0.0002", closed=True)
    real_param(
        "theta0", est.theta0, -1, 1, "in [-1, 1] (a cosine similarity), e.g. 0.0", closed=True
    )
    choices = {
        "polarity": ("merged", "split"),
        "border": ("skip", "pad"),
        "dtype": ("float64", "float32"),
    }
    for name, allowed in choices.items():
        if getattr(est, name) not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {getattr(est, name)!r}")
    if est.seed is not None and not isinstance(est.seed, Integral):
        raise ValueError(f"seed must be an int or None, got {est.seed!r}; e.g. seed=0")
    if not isinstance(est.shuffle, (bool, np.bool_)):
        raise ValueError(f"shuffle must be True or False, got {est.shuffle!r}")
