"""The reservoir as a scikit-learn transformer (chunked running: ``spikelab.tasks.stages``).

pipe = Pipeline([("lsm", LSMTransformer(net, backend="numba", encoding=enc)),
                 ("readout", LinearReadout())])
pipe.fit(train_events, y_train).score(test_events, y_test)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .encoding import EventEncoding
from .network import Network
from .spikes import RecordSpec, SpikeBatch
from .tasks.stages import ChunkedRun, run_chunked

__all__ = ["ChunkedRun", "LSMTransformer", "run_chunked"]


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

    def fit(self, X: Any = None, y: Any = None) -> LSMTransformer:
        self.sim_ = self.net.compile(
            self.backend,
            dt=self.dt,
            record=RecordSpec(bin_steps=self.bin_steps),
            **(self.backend_options or {}),
        )
        return self

    def transform(self, X: SpikeBatch | Sequence[np.ndarray]) -> np.ndarray:
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
