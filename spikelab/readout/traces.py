"""Spike counts per step as the exponentially filtered traces a time-resolved readout reads."""

from __future__ import annotations

import numpy as np

__all__ = ["exponential_traces"]


def exponential_traces(counts: np.ndarray, tau: float, dt: float = 1.0) -> np.ndarray:
    """``r[t] = exp(-dt / tau) * r[t - 1] + s[t]`` along axis -2 of ``counts``
    ([..., steps, neurons], spikes per step, e.g. a Recording's counts with bin_steps=1).

    tau, dt : trace time constant and step (ms). Returns float32, same shape; the trace
    before the first step is 0.
    """
    counts = np.asarray(counts)
    if counts.ndim < 2:
        raise ValueError(f"counts must be [..., steps, neurons], got shape {counts.shape}")
    if not tau > 0 or not dt > 0:
        raise ValueError(f"tau and dt must be > 0 ms, got tau={tau}, dt={dt}")
    decay = np.float32(np.exp(-dt / tau))
    out = np.empty(counts.shape, dtype=np.float32)
    acc = np.zeros(counts.shape[:-2] + counts.shape[-1:], dtype=np.float32)
    for t in range(counts.shape[-2]):
        acc = decay * acc + counts[..., t, :]
        out[..., t, :] = acc
    return out
