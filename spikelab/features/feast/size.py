"""Network-size heuristic for FEAST: inject noise events, watch how noise is represented.

Afshar et al. (2020) propose choosing the number of neurons from how the network
represents injected noise events. The operationalisation here (their text was not at
hand when this was written; see docs/feast.md) is:

1. add uniformly random events (position, time within the sample, polarity) to every
   sample, ``noise_fraction`` of all events, remembering which ones are noise;
2. for every candidate size, fit FEAST on the noisy samples and run inference on them;
3. measure how separately noise is represented: ``noise_isolation`` is the fraction of
   the noise events won by *noise neurons* (neurons more than half of whose wins are
   noise events), ``signal_leak`` the fraction of the signal events lost to them, and
   ``noise_mi`` the mutual information between "is noise" and the outcome (miss or
   winning neuron), as a fraction of the entropy of "is noise".

A network too small for the signal has no neuron to spare: noise events are absorbed
into signal features (low isolation). Once a network has capacity beyond the signal's
features, a neuron settles on the isolated-event context of noise. The recommendation is
the smallest candidate whose ``noise_isolation`` reaches ``isolation`` (default 0.5);
if none does, the largest candidate (and the rule says so: try larger ones).

Because FEAST's thresholds equalise the win rates of the neurons, a neuron can only be
spared for noise once ``1 / n_neurons`` is comparable to the share of noise in the
decisions: ``noise_fraction`` sets the resolution of the test ("the smallest network
that gives events as rare as the injected noise a feature of their own"), and the
recommendation grows as it shrinks. docs/feast.md has the measured tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .extractor import DEFAULT_SENSOR_SIZE, FEAST
from .kernels import MISS, SKIPPED


@dataclass(frozen=True)
class SizeRecommendation:
    """Recommended neuron count and the evidence behind it (one dict per candidate)."""

    n_neurons: int
    rule: str
    noise_fraction: float
    evidence: tuple[dict, ...]

    def table(self) -> str:
        """The evidence as a fixed-width text table."""
        cols = [
            "n_neurons",
            "noise_isolation",
            "signal_leak",
            "noise_mi",
            "noise_neurons",
            "noise_miss_rate",
            "signal_miss_rate",
        ]
        lines = ["  ".join(f"{c:>16}" for c in cols)]
        for row in self.evidence:
            lines.append("  ".join(_fmt(row[c]) for c in cols))
        return "\n".join(lines)


def _fmt(v) -> str:
    return f"{v:>16d}" if isinstance(v, (int, np.integer)) else f"{v:>16.3f}"


def add_noise_events(
    events: np.ndarray, fraction: float, rng: np.random.Generator, sensor_size=DEFAULT_SENSOR_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Return (events with uniform random noise events merged in by t, is_noise mask).

    Noise makes up ``fraction`` of the returned events; its times are uniform over the
    sample's [first t, last t], positions uniform over the sensor, polarity 0 or 1.
    """
    n_noise = int(round(len(events) * fraction / (1.0 - fraction)))
    noise = np.zeros(n_noise, events.dtype)
    if len(events) and n_noise:
        t0, t1 = float(events["t"][0]), float(events["t"][-1])
        noise["x"] = rng.integers(0, sensor_size[0], n_noise)
        noise["y"] = rng.integers(0, sensor_size[1], n_noise)
        noise["t"] = rng.uniform(t0, t1, n_noise).astype(events.dtype["t"])
        noise["p"] = rng.integers(0, 2, n_noise)
    merged = np.concatenate([events, noise])
    order = np.argsort(merged["t"], kind="stable")
    is_noise = np.concatenate([np.zeros(len(events), bool), np.ones(n_noise, bool)])
    return merged[order], is_noise[order]


def recommend_n_neurons(
    event_streams: Sequence[np.ndarray],
    candidates: Sequence[int] = (4, 8, 16, 32, 64),
    *,
    noise_fraction: float = 0.05,
    seed: int = 0,
    isolation: float = 0.5,
    sensor_size=DEFAULT_SENSOR_SIZE,
    **feast_params,
) -> SizeRecommendation:
    """Recommend a FEAST neuron count by the noise-event method (module docstring).

    ``event_streams``: training samples (structured event arrays); ``candidates``:
    neuron counts to try, ascending; ``noise_fraction``: share of injected noise in
    (0, 0.5); ``feast_params``: other FEAST parameters (radius, tau, ...), the same for
    every candidate. Cost: one fit and one inference pass per candidate.
    """
    if not 0.0 < noise_fraction < 0.5:
        raise ValueError(f"noise_fraction must be in (0, 0.5), got {noise_fraction!r}")
    cands = [int(c) for c in candidates]
    if not cands or any(c < 1 for c in cands) or cands != sorted(set(cands)):
        raise ValueError(f"candidates must be ascending distinct counts >= 1, got {candidates!r}")
    if "n_neurons" in feast_params:
        raise ValueError("pass the neuron counts to try as candidates=..., not n_neurons")
    rng = np.random.default_rng(seed)
    noisy = [add_noise_events(ev, noise_fraction, rng, sensor_size) for ev in event_streams]
    streams = [ev for ev, _ in noisy]
    is_noise = np.concatenate([m for _, m in noisy]) if noisy else np.zeros(0, bool)
    rows = []
    for n in cands:
        model = FEAST(n_neurons=n, seed=seed, **feast_params).fit(streams, sensor_size=sensor_size)
        rows.append({"n_neurons": n, **_noise_stats(model.winners(streams), is_noise, n)})
    reached = [r for r in rows if r["noise_isolation"] >= isolation]
    if reached:
        best = reached[0]
        rule = f"smallest candidate with noise_isolation >= {isolation}"
    else:  # never any capacity to spare for noise: the largest candidate is still too small
        best = rows[-1]
        rule = f"no candidate reached noise_isolation >= {isolation}; largest candidate taken"
    return SizeRecommendation(best["n_neurons"], rule, noise_fraction, tuple(rows))


def _noise_stats(winners: np.ndarray, is_noise: np.ndarray, n: int) -> dict:
    """Representation of noise vs signal events from the inference outcomes."""
    valid = winners != SKIPPED  # skipped at the border: no representation either way
    w, z = winners[valid], is_noise[valid]
    wins_noise = np.bincount(w[z & (w >= 0)], minlength=n)
    wins_signal = np.bincount(w[~z & (w >= 0)], minlength=n)
    total = wins_noise + wins_signal
    noise_neuron = wins_noise > 0.5 * np.maximum(total, 1)
    n_noise, n_signal = max(int(z.sum()), 1), max(int((~z).sum()), 1)
    outcome = np.where(w >= 0, w + 1, 0)  # 0 = miss
    joint = np.zeros((2, n + 1))
    np.add.at(joint, (z.astype(np.int64), outcome), 1.0)
    return {
        "noise_isolation": float(wins_noise[noise_neuron].sum() / n_noise),
        "signal_leak": float(wins_signal[noise_neuron].sum() / n_signal),
        "noise_mi": _normalised_mi(joint),
        "noise_neurons": int(noise_neuron.sum()),
        "noise_miss_rate": float(np.mean(w[z] == MISS)) if z.any() else 0.0,
        "signal_miss_rate": float(np.mean(w[~z] == MISS)) if (~z).any() else 0.0,
    }


def _normalised_mi(joint: np.ndarray) -> float:
    """I(row; column) / H(row) from a table of counts (0 when row is constant)."""
    p = joint / max(joint.sum(), 1.0)
    pr, pc = p.sum(axis=1), p.sum(axis=0)
    nz = p > 0
    mi = float(np.sum(p[nz] * np.log(p[nz] / np.outer(pr, pc)[nz])))
    h = float(-np.sum(pr[pr > 0] * np.log(pr[pr > 0])))
    return mi / h if h > 0 else 0.0
