"""The reservoir as a scikit-learn transformer (chunked running: ``spikelab.tasks.stages``).

pipe = Pipeline([("lsm", LSMTransformer(net, backend="numba", encoding=enc)),
                 ("readout", LinearReadout())])
pipe.fit(train_events, y_train).score(test_events, y_test)

Input: a ``SpikeBatch``; a list of event arrays (with ``encoding``); or a numeric array,
``[samples, steps, channels]`` of input values per step, or ``[samples, channels]`` (one
step), checked by scikit-learn's ``validate_data`` (sparse, complex, object, NaN, empty
input are errors). ``net`` may be a ``Network`` or a function ``n_inputs -> Network``
(e.g. ``functools.partial(lsm_column, (3, 3, 3), seed=0)``) that ``fit`` calls with the
input's channel count, as scikit-learn estimators learn their input size in ``fit``.

On a Dask cluster: inside ``with spikelab.sweeps.cluster.use_client(client):`` ``transform``
encodes and simulates its chunks on the workers, the same features bit for bit
(docs/sweeps.md). Each chunk's counts go straight into the float64 feature matrix as they
arrive (``FeatureRows``): memory is the result plus a few chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .encoding import EventEncoding
from .network import Network
from .spikes import RecordSpec, SpikeBatch
from .tasks.stages import ChunkedRun, run_chunked

__all__ = ["ChunkedRun", "FeatureRows", "LSMTransformer", "run_chunked"]


class FeatureRows:
    """A ``CountsSink`` (``spikelab.tasks.stages``) writing each chunk's counts ``[chunk,
    bins, neurons]`` as rows of one float64 matrix ``[n_samples, bins * neurons]``."""

    def __init__(self, n_samples: int) -> None:
        self.n_samples = int(n_samples)
        self.out: np.ndarray | None = None

    def write(self, start: int, counts: np.ndarray) -> None:
        rows = counts.reshape(len(counts), -1)
        if self.out is None:
            self.out = np.empty((self.n_samples, rows.shape[1]), dtype=np.float64)
        self.out[start : start + len(rows)] = rows

    def result(self) -> np.ndarray:
        if self.out is None:
            raise ValueError("no samples were simulated")
        return self.out


class LSMTransformer(TransformerMixin, BaseEstimator):
    """Reservoir states as features: event arrays (or a SpikeBatch) -> [n, bins * neurons].

    net : the reservoir, or a function ``n_inputs -> Network`` called in ``fit``.
    backend : registered backend name. dt : step (ms).
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
        """Compile the reservoir (``sim_``; ``net_``, the network, built first when ``net``
        is a function of the input count). ``X`` (optional) fixes the input size:
        ``n_features_in_`` for a numeric array."""
        n_inputs = self._input_size(X)
        if isinstance(self.net, Network):
            self.net_ = self.net
        elif callable(self.net):
            if n_inputs is None:
                raise ValueError(
                    "net is a function n_inputs -> Network: fit needs X (or an encoding) to "
                    "know the input size"
                )
            self.net_ = self.net(n_inputs=n_inputs)
        else:
            raise TypeError(
                f"net must be a Network or a function n_inputs -> Network, got {self.net!r}"
            )
        if n_inputs is not None and n_inputs != self.net_.n_inputs:
            raise ValueError(
                f"X has {n_inputs} features, but LSMTransformer is expecting "
                f"{self.net_.n_inputs} features as input (the network's n_inputs)"
            )
        self.sim_ = self.net_.compile(
            self.backend,
            dt=self.dt,
            record=RecordSpec(bin_steps=self.bin_steps),
            **(self.backend_options or {}),
        )
        return self

    def _input_size(self, X: Any) -> int | None:
        """Channels of the input (a numeric array's are validated: ``n_features_in_``)."""
        if isinstance(X, SpikeBatch):
            return X.n_channels
        if X is None or _is_event_list(X):
            return None if self.encoding is None else self.encoding.n_channels
        return self._numeric(X, reset=True).shape[-1]

    def _numeric(self, X: Any, *, reset: bool) -> np.ndarray:
        """A numeric input checked by scikit-learn: 2-D through ``validate_data``
        (``n_features_in_``), 3-D through ``check_array`` (steps may differ between fit and
        transform; the channels are checked against the network)."""
        if isinstance(X, np.ndarray) and X.ndim == 3:
            x = check_array(X, allow_nd=True, dtype=np.float64)
            if not reset and x.shape[2] != self.net_.n_inputs:
                raise ValueError(
                    f"X has {x.shape[2]} channels, but the network has {self.net_.n_inputs} inputs"
                )
            return x
        return validate_data(self, X, reset=reset, dtype=np.float64)

    def _as_input(self, X: Any) -> SpikeBatch | Sequence[np.ndarray]:
        if isinstance(X, SpikeBatch) or _is_event_list(X):
            if not isinstance(X, SpikeBatch) and self.encoding is None:
                raise ValueError(
                    "LSMTransformer got event arrays but no encoding; pass "
                    "encoding=EventEncoding(...) or give a SpikeBatch"
                )
            return X
        x = self._numeric(X, reset=False)
        dense = x[:, None, :] if x.ndim == 2 else x
        return SpikeBatch.from_dense(dense, dt=self.dt)

    def transform(self, X: SpikeBatch | Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """[n_samples, bins * neurons] spike counts; event arrays are encoded chunk by chunk.
        Raises ``NotFittedError`` before ``fit``."""
        check_is_fitted(self, "sim_")
        X = self._as_input(X)
        run = run_chunked(
            self.sim_, X, encoding=self.encoding, chunk_size=self.chunk_size,
            progress=self.progress, sink=FeatureRows(len(X)),
        )  # fmt: skip
        return run.counts


def _is_event_list(X: Any) -> bool:
    """A list (or other sequence, not an array) of per-sample event arrays."""
    if isinstance(X, np.ndarray | SpikeBatch) or not isinstance(X, Sequence) or not len(X):
        return False
    return isinstance(X[0], np.ndarray)
