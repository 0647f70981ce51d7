"""Event-count histograms: the readout features of FEAST outputs and of raw events.

A FEAST output event has ``p`` = feature index, so the same histogram serves both: raw
events with ``n_channels=2`` (polarities) and FEAST events with ``n_channels=n_neurons``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def event_histogram(
    event_streams: Sequence[np.ndarray],
    n_channels: int,
    sensor_size: tuple[int, int] | tuple[int, int, int] = (34, 34),
    *,
    pool: int = 1,
    n_time_bins: int = 1,
) -> np.ndarray:
    """Counts per (time bin, channel, pooled y, pooled x) for every sample.

    Parameters
    ----------
    event_streams : structured event arrays (fields x, y, t, p), one per sample.
    n_channels : number of values of ``p`` (2 for polarity, n_neurons for FEAST output);
        ``p`` must lie in [0, n_channels) (raw polarities -1/+1 are read as p > 0).
    sensor_size : (width, height[, polarities]) in pixels.
    pool : side of the square pooling window in pixels (1 = no pooling).
    n_time_bins : equal time bins spanning each sample's own [first t, last t].

    Returns
    -------
    float64 array [n_samples, n_time_bins * n_channels * ceil(height/pool) * ceil(width/pool)].
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
        p = ev["p"].astype(np.int64)
        if n_channels == 2 and p.min() < 0:
            p = (p > 0).astype(np.int64)
        if p.min() < 0 or p.max() >= n_channels:
            raise ValueError(
                f"sample {i}: p in [{p.min()}, {p.max()}] does not fit n_channels={n_channels}"
            )
        t = ev["t"].astype(np.float64)
        span = t[-1] - t[0] + 1.0
        tb = np.minimum(((t - t[0]) * n_time_bins / span).astype(np.int64), n_time_bins - 1)
        flat = ((tb * n_channels + p) * hp + ev["y"] // pool) * wp + ev["x"] // pool
        out[i] = np.bincount(flat.astype(np.int64), minlength=size)
    return out
