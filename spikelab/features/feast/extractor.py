"""FEAST: event-based feature extraction with adaptive selection thresholds.

Afshar, Ralph, Xu, Tapson, van Schaik and Cohen, "Event-based Feature Extraction Using
Adaptive Selection Thresholds", Sensors 20(6):1600, 2020 (arXiv 1907.07853).

Per input event (x, y, t, p), in time order:

1. time surface ``T[ch, y, x] = t`` (``ch = 0`` when polarity is merged, ``p > 0`` when split);
2. context ``c = exp((T_patch - t) / tau)`` over the (2R+1)² patch around (x, y), every
   surface channel (unseen pixels, ``T = -inf``, give 0), normalised to unit L2 norm;
3. ``d_i = w_i . c``; candidates are the neurons with ``d_i > theta_i``; the winner is the
   candidate with the largest ``d_i``;
4. win: ``w_k <- (1 - eta) w_k + eta c``, renormalised; ``theta_k <- theta_k + threshold_close``;
   the output event is (x, y, t, k);
5. miss (no candidate): every ``theta_i <- theta_i - threshold_open``; no output.

``transform`` is the paper's inference: the same selection with weights and thresholds
frozen, no learning; events without a winner (and events skipped at the border) give no
output. The time surface is reset at the start of every sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ...progress import bar
from . import checks as chk
from . import kernels

DEFAULT_SENSOR_SIZE = (34, 34, 2)
_CHUNK_EVENTS = 1_000_000  # events per kernel call during fit (bounds memory)
#: Learned attributes: the arrays, then the counters (what ``from_learned`` accepts).
LEARNED_ARRAYS = (
    "weights_",
    "thresholds_",
    "threshold_history_",
    "miss_rate_history_",
    "events_history_",
    "win_counts_",
)
LEARNED_COUNTERS = ("n_events_seen_", "n_misses_", "n_samples_seen_")
LEARNED = LEARNED_ARRAYS + LEARNED_COUNTERS


class FEAST(TransformerMixin, BaseEstimator):
    """Unsupervised online feature extractor for event streams (scikit-learn contract).

    Parameters
    ----------
    n_neurons : number of features (neurons).
    radius : R, the context is the (2R+1) x (2R+1) patch around the event (pixels).
    tau : time constant of the time surface, in the event timestamps' unit (µs for N-MNIST).
    eta : learning rate of the winner's weights, in (0, 1].
    threshold_open : Δ_open, lowers every threshold on a miss (dimensionless, >= 0).
    threshold_close : Δ_close, raises the winner's threshold on a win (dimensionless, >= 0).
    theta0 : initial threshold of every neuron (a cosine similarity, in [-1, 1]).
    polarity : "merged" (one time surface) or "split" (one per polarity; the context holds
        both, so it is twice as long).
    border : "skip" (events whose patch leaves the sensor only update the surface) or
        "pad" (pixels outside the sensor count as never seen).
    epochs : passes over the training samples in ``fit``.
    seed : seed of the numpy Generator for the initial weights and the sample order.
    shuffle : present the samples in a new random order each epoch of ``fit``.
    record_every : K, learning signals are sampled every K input events.
    dtype : "float64" (reference) or "float32" (fast path: weights, contexts and dot
        products in single precision; thresholds and the time surface stay float64).

    Attributes (after fit)
    ----------------------
    weights_ : [n_neurons, context_dim] in ``dtype``, unit-norm rows; context index
        ``ch * (2R+1)**2 + (dy + R) * (2R+1) + (dx + R)``.
    thresholds_ : float64 [n_neurons].
    threshold_history_ : float64 [n_records, n_neurons], thresholds every K events.
    miss_rate_history_ : float64 [n_records], misses / (wins + misses) in each window of K
        events (NaN if the window held only skipped events).
    events_history_ : int64 [n_records], events seen at each record (the x axis).
    win_counts_ : int64 [n_neurons], wins per neuron during learning.
    n_events_seen_, n_misses_, n_samples_seen_ : counters over all learning calls.
    sensor_size_ : (width, height, polarities) used in fit.
    context_shape_ : (channels, 2R+1, 2R+1).
    """

    def __init__(
        self,
        n_neurons: int = 32,
        radius: int = 3,
        tau: float = 20_000.0,
        eta: float = 0.01,
        threshold_open: float = 0.001,
        threshold_close: float = 0.0002,
        theta0: float = 0.0,
        polarity: str = "merged",
        border: str = "pad",
        epochs: int = 1,
        seed: int | None = 0,
        shuffle: bool = True,
        record_every: int = 1000,
        dtype: str = "float64",
    ) -> None:
        self.n_neurons = n_neurons
        self.radius = radius
        self.tau = tau
        self.eta = eta
        self.threshold_open = threshold_open
        self.threshold_close = threshold_close
        self.theta0 = theta0
        self.polarity = polarity
        self.border = border
        self.epochs = epochs
        self.seed = seed
        self.shuffle = shuffle
        self.record_every = record_every
        self.dtype = dtype

    # ------------------------------------------------------------------ learning
    def fit(self, event_streams, y=None, *, sensor_size=DEFAULT_SENSOR_SIZE) -> FEAST:
        """Learn features online from a list of samples (structured event arrays).

        Every epoch presents every sample once (in a new random order when ``shuffle``);
        the time surface is reset at the start of each sample. ``y`` is ignored.
        ``sensor_size`` is (width, height, polarities) in pixels. Returns self.
        """
        self._validate_params()
        streams = chk.as_stream_list(event_streams)
        if not streams:
            raise ValueError("fit needs at least one sample (a list of event arrays), got none")
        self._init_state(sensor_size)
        for _ in range(self.epochs):
            order = self._rng.permutation(len(streams)) if self.shuffle else range(len(streams))
            self._learn([streams[i] for i in order], continue_stream=False)
        return self

    def partial_fit(
        self, event_streams, y=None, *, sensor_size=None, continue_stream: bool = False
    ) -> FEAST:
        """One learning pass over the given samples, in the given order (streaming).

        A single structured array is one sample. With ``continue_stream=True`` the first
        array continues the stream of the previous call (the time surface is kept, its
        timestamps must not go back); otherwise the surface is reset per sample.
        The first call on an unfitted model initialises it with ``sensor_size``
        (default (34, 34, 2)); later calls must use the same sensor size. Returns self.
        """
        if not hasattr(self, "weights_"):
            self._validate_params()
            self._init_state(DEFAULT_SENSOR_SIZE if sensor_size is None else sensor_size)
        else:
            self._check_unchanged()
        if sensor_size is not None and chk.sensor(sensor_size) != self.sensor_size_:
            raise ValueError(
                f"sensor_size {tuple(sensor_size)} differs from the fitted {self.sensor_size_}; "
                "start a new model (or call fit) for a different sensor"
            )
        self._learn(chk.as_stream_list(event_streams), continue_stream=continue_stream)
        return self

    @classmethod
    def from_learned(cls, params: Mapping[str, Any], sensor_size, learned: Mapping[str, Any]):
        """A fitted FEAST from its ``get_params()``, sensor size and learned attributes
        (``weights_``, ``thresholds_``, ... and the counters), e.g. read back from a file.
        The streaming state starts a new sample."""
        unknown = sorted(set(learned) - set(LEARNED))
        if unknown:
            raise ValueError(f"unknown learned attributes {unknown}; known: {list(LEARNED)}")
        model = cls(**params)
        model._validate_params()
        model._init_state(sensor_size)
        for name, value in learned.items():
            setattr(model, name, value)
        return model

    def _init_state(self, sensor_size) -> None:
        self.sensor_size_ = chk.sensor(sensor_size)
        n_ch = 2 if self.polarity == "split" else 1
        side = 2 * self.radius + 1
        self.context_shape_ = (n_ch, side, side)
        self._rng = np.random.default_rng(self.seed)
        w = self._rng.random((self.n_neurons, n_ch * side * side))
        self.weights_ = (w / np.linalg.norm(w, axis=1, keepdims=True)).astype(self.dtype)
        self.thresholds_ = np.full(self.n_neurons, float(self.theta0))
        self.threshold_history_ = np.empty((0, self.n_neurons))
        self.miss_rate_history_ = np.empty(0)
        self.events_history_ = np.empty(0, np.int64)
        self.win_counts_ = np.zeros(self.n_neurons, np.int64)
        self.n_events_seen_ = 0
        self.n_misses_ = 0
        self.n_samples_seen_ = 0
        width, height, _ = self.sensor_size_
        r = self.radius
        self._surface = np.zeros((n_ch, height + 2 * r, width + 2 * r))
        self._t_ref = 0.0
        self._window = np.zeros(2, np.int64)
        self._last_t = -np.inf

    def _check_unchanged(self) -> None:
        """The learned state must still match the parameters (set_params after fit)."""
        n_ch = 2 if self.polarity == "split" else 1
        side = 2 * self.radius + 1
        if self.weights_.shape != (self.n_neurons, n_ch * side * side) or str(
            self.weights_.dtype
        ) != str(self.dtype):
            raise ValueError(
                f"weights_ {self.weights_.shape} ({self.weights_.dtype}) do not match "
                f"n_neurons={self.n_neurons}, radius={self.radius}, polarity={self.polarity!r}, "
                f"dtype={self.dtype!r}: parameters changed after fit; call fit again"
            )

    def _learn(self, streams: list[np.ndarray], *, continue_stream: bool) -> None:
        for s in streams:  # all checked before any learning: no half-trained model on error
            chk.check_events(s, self.sensor_size_)
        w_t = np.ascontiguousarray(self.weights_.T)
        theta = self.thresholds_
        records = [], [], []
        total = sum(len(s) for s in streams)  # a bar as spikelab.progress decides
        with bar(total=total, desc="FEAST fit", unit="event", leave=False) as shown:
            for i0, i1 in chk.chunks(streams, _CHUNK_EVENTS):
                keep_first = continue_stream and i0 == 0
                if keep_first and len(streams[0]):
                    self._check_continues(streams[0])
                ev = self._columns(streams[i0:i1], skip_first_reset=keep_first)
                w_t, theta = self._learn_chunk(ev, w_t, theta, records)
                shown.update(int(ev.t.size))
        self.weights_ = np.ascontiguousarray(w_t.T)
        self.thresholds_ = theta
        self.events_history_ = np.concatenate([self.events_history_, *records[0]])
        self.threshold_history_ = np.concatenate([self.threshold_history_, *records[1]])
        self.miss_rate_history_ = np.concatenate([self.miss_rate_history_, *records[2]])
        self.n_samples_seen_ += len(streams)

    def _check_continues(self, events: np.ndarray) -> None:
        if events["t"][0] < self._last_t:
            raise ValueError(
                f"continue_stream=True but the first timestamp {events['t'][0]} is "
                f"before the last one seen ({self._last_t}); pass continue_stream=False "
                "to start a new sample"
            )

    def _learn_chunk(self, ev: chk.EventColumns, w_t, theta, records) -> tuple:
        """One ``feast_fit`` call: updates the streaming state and counters, appends the
        learning-signal records; returns the new (transposed weights, thresholds)."""
        rules = kernels.LearnSettings(
            eta=float(self.eta),
            d_close=float(self.threshold_close),
            d_open=float(self.threshold_open),
            record_every=int(self.record_every),
        )
        out = kernels.feast_fit(
            ev, w_t, theta, self._surface, self._t_ref, self._window, self.n_events_seen_,
            self._settings(self.sensor_size_), rules,
        )  # fmt: skip
        w_t, theta, self._surface, self._t_ref, self._window, winners = out[:6]
        for lst, arr in zip(records, out[6:9], strict=True):
            lst.append(arr)
        self.win_counts_ = self.win_counts_ + out[9]
        self.n_misses_ += int(np.count_nonzero(winners == kernels.MISS))
        self.n_events_seen_ += int(ev.t.size)
        if ev.t.size:
            self._last_t = float(ev.t[-1])
        return w_t, theta

    def _settings(self, sensor: tuple[int, int, int]) -> kernels.SurfaceSettings:
        return kernels.SurfaceSettings(
            width=int(sensor[0]),
            height=int(sensor[1]),
            radius=int(self.radius),
            skip=self.border == "skip",
            tau=float(self.tau),
        )

    # ----------------------------------------------------------------- inference
    def transform(self, events, *, sensor_size=None):
        """Feature events of one sample: the input events that found a winner, with ``p``
        replaced by the winning neuron's index (same dtype as the input, same order).

        Weights and thresholds are frozen (no learning). A list of samples gives a list
        (see ``transform_many``). ``sensor_size`` defaults to the one used in fit.
        """
        if isinstance(events, (list, tuple)):
            return self.transform_many(events, sensor_size=sensor_size)
        return self.transform_many([events], sensor_size=sensor_size)[0]

    def __call__(self, events):
        """A fitted FEAST as a tonic transform: ``transform(events)`` (one structured event
        array in, its feature events out), so it composes with tonic's transforms, e.g.
        ``tonic.transforms.Compose([Denoise(filter_time=...), feast, EventEncoding(...)])``;
        the encoding then needs ``sensor_size=(W, H, n_neurons)``."""
        return self.transform(events)

    def transform_many(self, event_streams: Sequence[np.ndarray], *, sensor_size=None) -> list:
        """``transform`` of every sample, in one kernel call; returns a list of arrays."""
        check_is_fitted(self, "weights_")
        streams = chk.as_stream_list(event_streams)
        for s in streams:
            chk.check_p_capacity(s.dtype, self.n_neurons)
        winners = self.winners(streams, sensor_size=sensor_size)
        out, i = [], 0
        for s in streams:
            win = winners[i : i + len(s)]
            i += len(s)
            keep = win >= 0
            feat = s[keep]  # a copy: the input is never modified
            feat["p"] = win[keep].astype(s.dtype["p"])
            out.append(feat)
        return out

    def winners(self, event_streams, *, sensor_size=None) -> np.ndarray:
        """Winner code of every event of the concatenated samples, frozen weights: ``k >= 0``
        the winning neuron, ``MISS`` (-1) no candidate, ``SKIPPED`` (-2) skipped at the
        border (``spikelab.features.feast.kernels``). int64 [total events]."""
        check_is_fitted(self, "weights_")
        self._check_unchanged()
        sensor = self.sensor_size_ if sensor_size is None else chk.sensor(sensor_size)
        ev = self._columns(chk.as_stream_list(event_streams), sensor=sensor)
        w_t = np.ascontiguousarray(self.weights_.T)
        n_ch = self.context_shape_[0]
        return kernels.feast_infer(ev, w_t, self.thresholds_, n_ch, self._settings(sensor))

    def _columns(self, streams, *, sensor=None, skip_first_reset=False) -> chk.EventColumns:
        sensor = self.sensor_size_ if sensor is None else sensor
        split = self.polarity == "split"
        return chk.kernel_columns(streams, sensor, split=split, skip_first_reset=skip_first_reset)

    def _validate_params(self) -> None:
        chk.validate_feast_params(self)
