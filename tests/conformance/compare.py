"""Comparisons of a backend's Recording with the numba float64 reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from spikelab import (
    BackendUnavailable,
    Network,
    Recording,
    RecordSpec,
    SpikeBatch,
    UnsupportedFeature,
)


@dataclass(frozen=True)
class Config:
    """One backend configuration under test."""

    id: str
    backend: str
    options: dict[str, Any] = field(default_factory=dict)
    exact: bool = True

    @property
    def rate_tolerance(self) -> float:
        """Relative tolerance on per-population spike counts for inexact backends."""
        return 0.10 if self.id.startswith("lava-fixed") else 0.05

    def compile(self, net: Network, *, dt: float, record: RecordSpec) -> Any:
        """Compile ``net`` on this configuration; skip (with the reason) where unsupported."""
        try:
            return net.compile(self.backend, dt=dt, record=record, **self.options)
        except UnsupportedFeature as exc:
            pytest.skip(f"{self.id}: unsupported: {exc}")
        except BackendUnavailable as exc:
            pytest.skip(f"{self.id}: backend unavailable here: {exc}")


def reference(net: Network, batch: SpikeBatch, dt: float, record: RecordSpec) -> Recording:
    """The numba float64 run every backend is compared with."""
    return net.compile("numba", dt=dt, record=record, dtype="float64").run(batch)


def first_difference(ref: Recording, out: Recording, sample: int) -> int | None:
    """First step at which the two rasters of ``sample`` differ (None: identical)."""
    diff = np.flatnonzero((ref.raster.dense(sample) != out.raster.dense(sample)).any(axis=1))
    return int(diff[0]) if len(diff) else None


def assert_identical_rasters(
    ref: Recording, out: Recording, label: str, n_steps: int | None = None
) -> None:
    """Identical spike rasters over all steps (or the first ``n_steps``) of every sample."""
    assert out.raster is not None, f"{label}: the backend returned no raster"
    for b in range(len(ref)):
        ra, rb = ref.raster.dense(b), out.raster.dense(b)
        if n_steps is not None:
            ra, rb = ra[:n_steps], rb[:n_steps]
        if not np.array_equal(ra, rb):
            step = int(np.flatnonzero((ra != rb).any(axis=1))[0])
            neurons = np.flatnonzero(ra[step] != rb[step])[:10]
            raise AssertionError(
                f"{label}: sample {b}: rasters differ first at step {step}, neurons "
                f"{neurons.tolist()} (reference spikes {int(ra.sum())}, backend {int(rb.sum())})"
            )


def population_counts(rec: Recording) -> dict[str, int]:
    return {name: int(rec.counts[:, :, lo:hi].sum()) for name, lo, hi in rec.populations}


def assert_rates_close(ref: Recording, out: Recording, tol: float, label: str) -> None:
    """Per-population spike counts (over the batch) within ``tol`` relative to the reference
    (with a floor of 20 spikes so that near-silent populations do not dominate)."""
    rc, oc = population_counts(ref), population_counts(out)
    for name, n_ref in rc.items():
        n_out = oc[name]
        assert abs(n_out - n_ref) <= tol * max(n_ref, 20), (
            f"{label}: population {name!r}: {n_out} spikes vs reference {n_ref} "
            f"(tolerance {tol:.0%})"
        )


def assert_neuron_counts_close(
    ref: Recording, out: Recording, tol: float, label: str, floor: int = 2
) -> None:
    """Per-neuron spike counts within max(floor, 2 * tol * count): for a few single neurons
    (golden traces), whose spike timing an inexact backend is free to shift."""
    a, b = ref.counts.sum(axis=(0, 1)), out.counts.sum(axis=(0, 1))
    for j, (n_ref, n_out) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        allowed = max(floor, 2 * tol * n_ref)
        assert abs(n_out - n_ref) <= allowed, (
            f"{label}: neuron {j}: {n_out} spikes vs reference {n_ref} (allowed +-{allowed:.1f})"
        )


def assert_correlated(ref: Recording, out: Recording, label: str, minimum: float = 0.5) -> None:
    """Loose raster check: per-neuron spike counts correlate with the reference."""
    a = ref.counts.sum(axis=(0, 1)).astype(np.float64)
    b = out.counts.sum(axis=(0, 1)).astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        assert np.array_equal(a, b), f"{label}: constant per-neuron counts differ"
        return
    r = float(np.corrcoef(a, b)[0, 1])
    assert r >= minimum, f"{label}: per-neuron spike counts correlate only r={r:.3f} (< {minimum})"


def assert_conforms(config: Config, ref: Recording, out: Recording, label: str) -> None:
    """The comparison a configuration promises: identical rasters, or rates and correlation."""
    if config.exact:
        assert_identical_rasters(ref, out, label)
        np.testing.assert_array_equal(out.counts, ref.counts, err_msg=label)
    else:
        assert_rates_close(ref, out, config.rate_tolerance, label)
        assert_correlated(ref, out, label)
