"""Events to step and channel indices: the numeric core of ``EventEncoding`` (numpy only).

This module imports nothing but numpy and the standard library, and nothing of spikelab:
the Lava artifact ships a verbatim copy (``event_encoding.py``) so that a deployed
reservoir takes raw event arrays with Lava and numpy alone, binned exactly as spikelab
bins them. ``spikelab.encoding.EventEncoding`` holds the settings and checks them; the
functions here take the settings as plain values (a dict from ``EventEncoding.settings()``
for ``dense_counts``).

Events are structured arrays with fields x, (y,) t, p. The spatial steps reproduce tonic's
``CenterCrop`` (offsets ``(W - w) // 2``, ``(H - h) // 2``) and ``Downsample``
(``x * (1 / f)`` cast back to the field's type), so an encoding gives the same channels
with and without tonic installed.
"""

from __future__ import annotations

import math

import numpy as np


def input_shape(
    sensor_size: tuple[int, int, int], crop: tuple[int, int] | None, downsample: int, polarity: str
) -> tuple[int, int, int]:
    """(W, H, C) of the channels after the centre crop, downsampling and polarity choice."""
    w, h = crop if crop is not None else sensor_size[:2]
    f = int(downsample)
    c = sensor_size[2] if polarity == "split" else 1
    return (math.ceil(w / f), math.ceil(h / f), c)


def check_fields(ev: np.ndarray) -> None:
    """ValueError unless ``ev`` is a structured array with fields x, (y,) t, p."""
    names = ev.dtype.names or ()
    if not {"x", "t", "p"} <= set(names):
        raise ValueError(
            f"events must be a structured array with fields x, (y,) t, p; got {ev.dtype}"
        )


def spatial(
    ev: np.ndarray,
    sensor_size: tuple[int, int, int],
    crop: tuple[int, int] | None,
    polarity: str,
    downsample: int,
) -> np.ndarray:
    """Centre crop, polarity selection and downsampling (as tonic's transforms); a new array."""
    check_fields(ev)
    if crop is not None:
        ox, oy = (sensor_size[0] - crop[0]) // 2, (sensor_size[1] - crop[1]) // 2
        keep = (ox <= ev["x"]) & (ev["x"] < ox + crop[0])
        if "y" in ev.dtype.names:
            keep &= (oy <= ev["y"]) & (ev["y"] < oy + crop[1])
        ev = ev[keep]  # a copy
        ev["x"] -= ox
        if "y" in ev.dtype.names:
            ev["y"] -= oy
    if polarity == "on":
        ev = ev[ev["p"] > 0]
    elif polarity == "off":
        ev = ev[ev["p"] <= 0]
    if int(downsample) > 1:
        ev = ev.copy()
        factor = 1.0 / int(downsample)
        for axis in ("x", "y"):
            if axis in ev.dtype.names:
                ev[axis] = (ev[axis] * factor).astype(ev.dtype[axis])
    return ev


def channel_index(ev: np.ndarray, shape: tuple[int, int, int], polarity: str) -> np.ndarray:
    """The channel of each (spatially transformed) event: ``(x * H + y) * C + p``."""
    _, h, c = shape
    y = ev["y"].astype(np.int64) if "y" in ev.dtype.names else 0
    p = (ev["p"] > 0).astype(np.int64) if polarity == "split" and c > 1 else 0
    return (ev["x"].astype(np.int64) * h + y) * c + p


def step_index(
    t: np.ndarray, n_steps: int, time_bins: str, dt_ms: float, t_unit_us: float
) -> np.ndarray:
    """The step of each event time ``t`` (in units of ``t_unit_us`` µs).

    "fixed": floor(t / dt); "equal": the sample's span cut into ``n_steps`` equal chunks."""
    if time_bins == "equal":
        if not len(t):
            return np.zeros(0, np.int64)
        t0, span = t.min(), t.max() - t.min()
        if span == 0:
            return np.zeros(len(t), np.int64)
        return np.minimum((t - t0) * n_steps // (span + 1), n_steps - 1).astype(np.int64)
    dt_units = dt_ms * 1000.0 / t_unit_us
    return np.floor(t / dt_units).astype(np.int64)


def out_of_range_masks(ev: np.ndarray, sensor_size: tuple[int, int, int]) -> dict[str, np.ndarray]:
    """Boolean masks over raw events: ``outside_sensor``, ``bad_time`` (negative or
    non-finite) and ``out_of_order`` (an earlier t than an event before it)."""
    check_fields(ev)
    w, h, _ = sensor_size
    outside = (ev["x"] < 0) | (ev["x"] >= w)
    if "y" in ev.dtype.names:
        outside |= (ev["y"] < 0) | (ev["y"] >= h)
    t = ev["t"]
    bad_time = ~np.isfinite(t) | (t < 0) if t.dtype.kind == "f" else t < 0
    good_t = np.where(bad_time, -np.inf, t.astype(np.float64))
    order = np.zeros(len(ev), bool)
    if len(ev) > 1:
        order[1:] = good_t[1:] < np.maximum.accumulate(good_t)[:-1]
    return {"outside_sensor": outside, "bad_time": bad_time, "out_of_order": order & ~bad_time}


def steps_for(settings: dict, t_max: float) -> int:
    """Steps of a sample whose latest event is at ``t_max`` (units of ``t_unit_us``)."""
    if settings["n_steps"] is not None:
        return int(settings["n_steps"])
    if settings["duration"] is not None:
        return max(1, math.ceil(settings["duration"] / settings["dt"]))
    return max(1, math.floor(t_max * settings["t_unit_us"] / 1000.0 / settings["dt"]) + 1)


def dense_counts(ev: np.ndarray, settings: dict) -> np.ndarray:
    """One sample's events as [n_channels, n_steps] counts (1 per active cell when
    ``binarize``), with the settings of ``EventEncoding.settings()``. Events out of range
    raise a ValueError with their counts, or are dropped when the settings'
    ``on_out_of_range`` is "drop" (as ``EventEncoding`` does)."""
    sensor = tuple(settings["sensor_size"])
    masks = out_of_range_masks(ev, sensor)
    bad = masks["outside_sensor"] | masks["bad_time"] | masks["out_of_order"]
    if bad.any() and settings["on_out_of_range"] != "drop":
        counts = {k: int(m.sum()) for k, m in masks.items() if m.any()}
        raise ValueError(
            f"{int(bad.sum())} of {len(ev)} events are out of range {counts} for the sensor "
            f"{sensor[:2]}; fix the events (the encoding was set to raise, not drop)"
        )
    ev = ev[~bad]
    crop = None if settings["crop"] is None else tuple(settings["crop"])
    sp = spatial(ev, sensor, crop, settings["polarity"], settings["downsample"])
    shape = input_shape(sensor, crop, settings["downsample"], settings["polarity"])
    t_max = float(sp["t"].max()) if len(sp) else 0.0
    n_steps = steps_for(settings, t_max)
    st = step_index(sp["t"].astype(np.int64), n_steps, settings["time_bins"], settings["dt"],
                    settings["t_unit_us"])  # fmt: skip
    ch = channel_index(sp, shape, settings["polarity"])
    keep = (st >= 0) & (st < n_steps)
    out = np.zeros((math.prod(shape), n_steps), np.float32)
    np.add.at(out, (ch[keep], st[keep]), 1.0)
    return np.minimum(out, 1.0) if settings["binarize"] else out
