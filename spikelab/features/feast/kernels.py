"""Numba kernels of FEAST: pure functions over arrays, one loop over events each.

Both kernels keep the time surface as ``S[ch, y + R, x + R] = exp((T - t_ref) / tau)``
in a zero-padded array (``T`` the last event time of a pixel, ``t_ref`` a reference
time, ``R`` the radius). An unseen pixel (``T = -inf``) holds 0. The context of an
event at time ``t`` is the patch ``exp((T_patch - t) / tau) = S_patch * exp((t_ref - t) / tau)``;
the factor ``exp((t_ref - t) / tau)`` is common to the whole patch and cancels in the
L2 normalisation, so the kernels only evaluate one ``exp`` per event (the new pixel).
When ``(t - t_ref) / tau`` passes ``_RESCALE_SPAN`` the surface is rescaled to
``t_ref = t`` (values under ``_FLUSH`` become 0), which keeps every value finite.

Weights are handed to the kernels transposed (``[context_dim, n_neurons]``), so that the
products ``d_i = w_i . c`` are a sum over the non-zero context entries of contiguous
rows: the inner loop runs over neurons and vectorises, and pixels that never fired cost
nothing.

The settings fixed during a call travel as NamedTuples (``SurfaceSettings``,
``LearnSettings``), the events as ``checks.EventColumns``; numba reads their fields.

Winner codes in the returned ``winners`` array: ``k >= 0`` the winning neuron,
``MISS`` (-1) no candidate, ``SKIPPED`` (-2) the patch left the sensor (``border="skip"``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

MISS = -1
SKIPPED = -2
_RESCALE_SPAN = 200.0  # in units of tau; exp(200) ~ 7e86, squares stay far from overflow
_FLUSH = 1e-200


class SurfaceSettings(NamedTuple):
    """The time surface and the selection: sensor (pixels), radius R, border rule, tau."""

    width: int
    height: int
    radius: int
    skip: bool  # border="skip": an event whose patch leaves the sensor is not scored
    tau: float  # in the events' time unit


class LearnSettings(NamedTuple):
    """The learning rules of ``feast_fit`` and its recording period (events)."""

    eta: float
    d_close: float
    d_open: float
    record_every: int


@njit(cache=True)
def _advance(surface, t_ref, t, tau):
    """Rescale ``surface`` in place to the reference time ``t`` if it drifted too far."""
    if (t - t_ref) / tau <= _RESCALE_SPAN:
        return t_ref
    factor = np.exp((t_ref - t) / tau)
    flat = surface.reshape(-1)
    for i in range(flat.size):
        v = flat[i] * factor
        flat[i] = v if v > _FLUSH else 0.0
    return t


@njit(cache=True)
def _gather(surface, xi, yi, radius, idx, val):
    """Write the non-zero context entries of the event at (xi, yi) into idx/val.

    Returns ``(count, squared_norm)``. Context index layout: ``ch * side**2 + dy * side + dx``
    with ``side = 2R + 1`` over every surface channel (one when polarity is merged).
    """
    side = 2 * radius + 1
    n_ch = surface.shape[0]
    count = 0
    sq = 0.0
    for c in range(n_ch):
        base = c * side * side
        for dy in range(side):
            row = yi + dy  # padded coordinates: patch rows yi .. yi + 2R
            for dx in range(side):  # branch-free compaction of the non-zero entries
                v = surface[c, row, xi + dx]
                idx[count] = base + dy * side + dx
                val[count] = v
                sq += v * v
                count += np.int64(v != 0.0)
    return count, sq


@njit(cache=True)
def _scores(w_t, idx, raw, count, sq, val, d):
    """Normalise the context (val = raw / |raw|, in the weights' dtype), then
    d_i = sum_j w_t[j, i] * c_j over its non-zero entries."""
    inv_norm = 1.0 / np.sqrt(sq)
    for m in range(count):
        val[m] = raw[m] * inv_norm
    d[:] = 0.0
    m = 0
    while m + 4 <= count:  # four rows at a time: fewer loads and stores of d
        r0, r1, r2, r3 = w_t[idx[m]], w_t[idx[m + 1]], w_t[idx[m + 2]], w_t[idx[m + 3]]
        v0, v1, v2, v3 = val[m], val[m + 1], val[m + 2], val[m + 3]
        for i in range(d.size):
            d[i] += r0[i] * v0 + r1[i] * v1 + r2[i] * v2 + r3[i] * v3
        m += 4
    while m < count:
        row = w_t[idx[m]]
        v = val[m]
        for i in range(d.size):
            d[i] += row[i] * v
        m += 1


@njit(cache=True)
def _select(d, thresholds):
    """Index of the largest d_i among d_i > theta_i, or MISS."""
    best = MISS
    best_d = -np.inf
    for i in range(d.size):
        if d[i] > thresholds[i] and d[i] > best_d:
            best = i
            best_d = d[i]
    return best


@njit(cache=True)
def _in_sensor(xi, yi, radius, width, height):
    return xi >= radius and yi >= radius and xi + radius < width and yi + radius < height


@njit(cache=True, inline="always")
def _workspace(dim, w_t):
    """Scratch buffers (idx, raw, val, d) of a context of ``dim`` entries."""
    idx = np.empty(dim, np.int64)
    raw = np.empty(dim)
    val = np.empty(dim, w_t.dtype)
    d = np.empty(w_t.shape[1], w_t.dtype)
    return idx, raw, val, d


@njit(cache=True)
def _event_scores(e, ev, s, surface, t_ref, cfg, w_t, work):
    """Put event ``e`` of ``ev`` on the time surface (clearing it where a new sample starts)
    and, unless it is skipped at the sensor edge, score every neuron against its context into
    ``d`` (``work`` = idx, raw, val, d).

    Returns ``(s, t_ref, count)``: the next sample-start index, the surface's reference
    time and the context's non-zero count (-1 when the event is skipped).
    """
    idx, raw, val, d = work
    xe, ye, te = ev.x[e], ev.y[e], ev.t[e]
    if s < ev.starts.size and e == ev.starts[s]:
        surface[:] = 0.0
        t_ref = te
        s += 1
    t_ref = _advance(surface, t_ref, te, cfg.tau)
    surface[ev.ch[e], ye + cfg.radius, xe + cfg.radius] = np.exp((te - t_ref) / cfg.tau)
    if cfg.skip and not _in_sensor(xe, ye, cfg.radius, cfg.width, cfg.height):
        return s, t_ref, -1
    count, sq = _gather(surface, xe, ye, cfg.radius, idx, raw)
    _scores(w_t, idx, raw, count, sq, val, d)
    return s, t_ref, count


@njit(cache=True)
def feast_infer(ev, w_t, thresholds, n_ch, cfg):
    """Winner per event with frozen weights and thresholds (no learning).

    ev: ``EventColumns`` (int64 x, y pixel coordinates; float64 t, non-decreasing within a
    sample; int64 ch surface channel, 0 when merged; int64 starts, where a new sample begins
    and the time surface is reset); cfg: ``SurfaceSettings``. Returns int64 winners.
    """
    side = 2 * cfg.radius + 1
    surface = np.zeros((n_ch, cfg.height + 2 * cfg.radius, cfg.width + 2 * cfg.radius))
    work = _workspace(n_ch * side * side, w_t)
    winners = np.full(ev.x.size, SKIPPED, np.int64)
    t_ref = 0.0
    s = 0
    for e in range(ev.x.size):
        s, t_ref, count = _event_scores(e, ev, s, surface, t_ref, cfg, w_t, work)
        if count >= 0:
            winners[e] = _select(work[3], thresholds)
    return winners


@njit(cache=True)
def _update_winner(w_t, k, idx, val, count, eta, c_full):
    """w_k <- (1 - eta) w_k + eta c, then w_k <- w_k / |w_k| (column k of w_t)."""
    c_full[:] = 0.0
    for m in range(count):
        c_full[idx[m]] = val[m]
    sq = 0.0
    for j in range(w_t.shape[0]):
        v = (1.0 - eta) * w_t[j, k] + eta * c_full[j]
        w_t[j, k] = v
        sq += v * v
    inv = 1.0 / np.sqrt(sq)
    for j in range(w_t.shape[0]):
        w_t[j, k] *= inv


@njit(cache=True, inline="always")
def _apply_decision(k, count, w_t, thresholds, window, win_counts, work, c_full, rules):
    """A miss (``k == MISS``) lowers every threshold; a win moves neuron k's weights towards
    the context and raises its threshold. ``window`` counts misses and decisions."""
    window[1] += 1
    if k == MISS:
        window[0] += 1
        for i in range(thresholds.size):
            thresholds[i] -= rules.d_open
    else:
        _update_winner(w_t, k, work[0], work[2], count, rules.eta, c_full)
        thresholds[k] += rules.d_close
        win_counts[k] += 1


@njit(cache=True, inline="always")
def _record_buffers(n_seen, n, record_every, n_neurons):
    """Empty records (events, thresholds, miss rate) for the multiples of ``record_every``
    passed between ``n_seen`` and ``n_seen + n`` events."""
    n_rec = (n_seen + n) // record_every - n_seen // record_every
    return np.empty(n_rec, np.int64), np.empty((n_rec, n_neurons)), np.empty(n_rec)


@njit(cache=True, inline="always")
def _record(r, n_done, thresholds, window, rec_events, rec_thresholds, rec_miss):
    """Record ``r``: events seen, thresholds and the window's miss rate; clears the window."""
    rec_events[r] = n_done
    rec_thresholds[r] = thresholds
    rec_miss[r] = window[0] / window[1] if window[1] > 0 else np.nan
    window[:] = 0


@njit(cache=True)
def feast_fit(ev, w_t, thresholds, surface, t_ref, window, n_seen, cfg, rules):
    """One online pass of FEAST learning over the events ``ev`` (``EventColumns``), in order.

    Inputs are not modified: ``w_t`` ([context_dim, n_neurons]), ``thresholds``,
    ``surface`` (padded, see module) and ``window`` (int64 [2]: misses and decisions in
    the current recording window) are copied. ``n_seen`` is the number of events seen
    before this call; a record is taken whenever the running count reaches a multiple of
    ``rules.record_every``. Returns ``(w_t, thresholds, surface, t_ref, window, winners,
    rec_events, rec_thresholds, rec_miss_rate, win_counts)``; the miss rate of a window
    is misses / (wins + misses) in it (NaN when every event was skipped).
    """
    w_t, thresholds = w_t.copy(), thresholds.copy()
    surface, window = surface.copy(), window.copy()
    n = ev.x.size
    rec_events, rec_thresholds, rec_miss = _record_buffers(
        n_seen, n, rules.record_every, thresholds.size
    )
    win_counts = np.zeros(thresholds.size, np.int64)
    work = _workspace(w_t.shape[0], w_t)
    c_full = np.empty(w_t.shape[0])
    winners = np.full(n, SKIPPED, np.int64)
    r = 0
    s = 0
    for e in range(n):
        s, t_ref, count = _event_scores(e, ev, s, surface, t_ref, cfg, w_t, work)
        if count >= 0:
            k = _select(work[3], thresholds)
            winners[e] = k
            _apply_decision(k, count, w_t, thresholds, window, win_counts, work, c_full, rules)
        if (n_seen + e + 1) % rules.record_every == 0:
            _record(r, n_seen + e + 1, thresholds, window, rec_events, rec_thresholds, rec_miss)
            r += 1
    return (
        w_t, thresholds, surface, t_ref, window, winners, rec_events, rec_thresholds, rec_miss,
        win_counts,
    )  # fmt: skip
