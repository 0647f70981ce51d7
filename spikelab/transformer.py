"""The reservoir as a scikit-learn transformer, and chunked running of large batches.

pipe = Pipeline([("lsm", LSMTransformer(net, backend="numba", encoding=enc)),
                 ("readout", LinearReadout())])
pipe.fit(train_events, y_train).score(test_events, y_test)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from tqdm.auto import tqdm

from .backends.base import Simulation
from .encoding import EventEncoding
from .network import Network
from .spikes import Recording, RecordSpec, SpikeBatch


@dataclass(frozen=True)
class ChunkedRun:
    """Counts of a whole batch run chunk by chunk, with totals for statistics."""

    counts: np.ndarray  # [samples, bins, neurons]
    n_spikes: int
    n_synaptic_events: int
    wall_time_s: float
    populations: tuple[tuple[str, int, int], ...]
    first: Recording  # the first chunk's recording (raster, voltages when recorded)
    extras: tuple[tuple[str, float, int], ...] = ()  # (key, per-sample value, chunk size)


def _chunks(
    data: SpikeBatch | Sequence[np.ndarray], encoding: EventEncoding | None, size: int
) -> Iterator[SpikeBatch]:
    if isinstance(data, SpikeBatch):
        yield from data.chunks(size)
        return
    if encoding is None:
        raise ValueError("event arrays need an encoding=EventEncoding(...) to become spikes")
    if encoding.n_steps is None and encoding.duration is None:
        raise ValueError(
            "encoding in chunks needs a fixed length: set encoding.duration (ms) or n_steps"
        )
    for start in range(0, len(data), size):
        yield encoding.encode([data[i] for i in range(start, min(start + size, len(data)))])


def run_chunked(
    sim: Simulation,
    data: SpikeBatch | Sequence[np.ndarray],
    *,
    encoding: EventEncoding | None = None,
    chunk_size: int = 128,
    progress: bool = False,
    desc: str = "simulate",
) -> ChunkedRun:
    """Run a batch, or a (lazy) sequence of event arrays encoded chunk by chunk, in chunks
    of ``chunk_size`` samples, keeping only the bin counts: memory is bounded by one chunk's
    spikes plus the counts.

    Scalar ``Recording.extras`` whose key contains "per_sample" (e.g. a backend's
    ``energy_per_sample_j``) are kept per chunk so callers can average them.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    parts, n_spk, n_syn, wall, first, extras = [], 0, 0, 0.0, None, []
    with tqdm(total=len(data), desc=desc, unit="sample", disable=not progress) as bar:
        for chunk in _chunks(data, encoding, chunk_size):
            rec = sim.run(chunk)
            first = first or rec
            parts.append(rec.counts)
            n_spk += rec.n_spikes
            n_syn += rec.n_synaptic_events
            wall += rec.wall_time_s
            extras += [
                (k, float(v), len(chunk))
                for k, v in rec.extras.items()
                if "per_sample" in k and isinstance(v, int | float | np.number)
            ]
            bar.update(len(chunk))
    if first is None:
        raise ValueError("run_chunked got no samples")
    return ChunkedRun(
        np.concatenate(parts), n_spk, n_syn, wall, first.populations, first, tuple(extras)
    )


class LSMTransformer(TransformerMixin, BaseEstimator):
    """Reservoir states as features: event arrays (or a SpikeBatch) -> [n, bins * neurons].

    net : the reservoir. backend : registered backend name. dt : step (ms).
    encoding : how event arrays become input spikes (not needed for SpikeBatch input).
    bin_steps : width of a count bin in steps (None: one bin per sample).
    backend_options : keyword options for the backend (e.g. {"dtype": "float32"}).
    """

    def __init__(
        self,
        net: Network,
        backend: str = "numba",
        dt: float = 1.0,
        encoding: EventEncoding | None = None,
        bin_steps: int | None = None,
        backend_options: dict[str, Any] | None = None,
        chunk_size: int = 128,
        progress: bool = False,
    ) -> None:
        self.net = net
        self.backend = backend
        self.dt = dt
        self.encoding = encoding
        self.bin_steps = bin_steps
        self.backend_options = backend_options
        self.chunk_size = chunk_size
        self.progress = progress

    def fit(self, X: Any = None, y: Any = None) -> LSMTransformer:  # noqa: N803
        self.sim_ = self.net.compile(
            self.backend,
            dt=self.dt,
            record=RecordSpec(bin_steps=self.bin_steps),
            **(self.backend_options or {}),
        )
        return self

    def transform(self, X: SpikeBatch | Sequence[np.ndarray]) -> np.ndarray:  # noqa: N803
        """[n_samples, bins * neurons] spike counts; event arrays are encoded chunk by chunk."""
        if not isinstance(X, SpikeBatch) and self.encoding is None:
            raise ValueError(
                "LSMTransformer got event arrays but no encoding; pass encoding=EventEncoding(...)"
                " or give a SpikeBatch"
            )
        if not hasattr(self, "sim_"):
            self.fit()
        run = run_chunked(
            self.sim_, X, encoding=self.encoding, chunk_size=self.chunk_size, progress=self.progress
        )
        return run.counts.reshape(run.counts.shape[0], -1).astype(np.float64)
