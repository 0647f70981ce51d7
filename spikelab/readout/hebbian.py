"""Readouts trained by local plasticity, presentation by presentation (scikit-learn contract).

Where :class:`~spikelab.readout.linear.LinearReadout` solves for its weights in one step,
:class:`HebbianReadout` learns them online, one training sample at a time, with a rule of
:mod:`spikelab.readout.rules`: the error-modulated, gated three-factor Hebbian rule of
Yamada & Chao (2025) (``rule="three_factor"``, the default), plain supervised Hebbian
learning with Oja's decay (``"hebbian"``), or FORCE / recursive least squares
(``"force"``, the least-squares reference, for at most a few thousand features).

Features are a ``Recording``'s spike counts flattened per sample (as for the linear
readout), optionally ``log1p``-compressed and standardised with the training set's
statistics. Targets are one-hot (1 for the sample's class, 0 for the others); the
prediction is the class of the largest readout.

    r = HebbianReadout(rule="three_factor", epochs=20, seed=0).fit(rec_train, y_train)
    r.score(rec_test, y_test); r.history_[-1]   # {"epoch": 20, "train_accuracy": ..., ...}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from ..backends.base import Recording
from .linear import reservoir_features
from .rules import RULES, OnlineRule, check_force_size, make_rule

__all__ = ["HebbianReadout"]

# the rule's option name -> this class's parameter name
_RULE_OPTIONS = {
    "three_factor": {"lr": "lr", "gate_threshold": "gate_threshold", "decay": "decay",
                     "normalize": "normalize"},
    "hebbian": {"lr": "lr"},
    "force": {"alpha": "force_alpha", "max_features": "max_features"},
}  # fmt: skip


class HebbianReadout(ClassifierMixin, BaseEstimator):
    """A linear readout trained online by a local plasticity rule.

    rule : "three_factor" (error-modulated, gated Hebbian), "hebbian" (Oja-decayed
        supervised Hebbian, a class-prototype readout) or "force" (recursive least squares).
    epochs : passes over the training set, each in a new random order drawn from ``seed``.
    lr : learning rate; None: the rule's default. three_factor: 0.1, normalised by
        |x|^2 + 1, stable in (0, 2). hebbian: the averaging rate in (0, 1]; None averages
        exactly (1/k on a class's k-th sample: the class mean, a nearest-centroid readout).
    gate_threshold : three_factor only: learn from a sample only when its largest output
        error exceeds this (0: from every sample with any error).
    decay : three_factor only: weight decay per gated update.
    normalize : three_factor only: normalised LMS step (see lr).
    force_alpha, max_features : force only: P(0) = I / force_alpha; refuse more features
        than max_features (P holds features^2 numbers).
    log1p, standardize : feature preprocessing, as for the linear readout.
    seed : presentation order (a numpy Generator; same seed, same weights).
    progress : a tqdm bar over epochs.

    After ``fit``: ``classes_``, ``n_features_in_``, ``rule_`` (the trained rule, with
    ``W`` and ``b``) and ``history_`` (one dict per epoch: ``train_accuracy``,
    ``mean_squared_error`` of the readout over the epoch's presentations before each
    update (None for the hebbian rule, which does not fit the targets),
    ``updated_fraction`` of presentations that changed the weights).
    """

    def __init__(
        self,
        rule: str = "three_factor",
        epochs: int = 20,
        lr: float | None = None,
        gate_threshold: float = 0.0,
        decay: float = 0.0,
        normalize: bool = True,
        force_alpha: float = 1.0,
        max_features: int = 4096,
        log1p: bool = True,
        standardize: bool = True,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.rule = rule
        self.epochs = epochs
        self.lr = lr
        self.gate_threshold = gate_threshold
        self.decay = decay
        self.normalize = normalize
        self.force_alpha = force_alpha
        self.max_features = max_features
        self.log1p = log1p
        self.standardize = standardize
        self.seed = seed
        self.progress = progress

    def fit(
        self,
        X: Recording | np.ndarray,  # noqa: N803
        y: np.ndarray,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
    ) -> HebbianReadout:
        """Train from zero weights; ``on_epoch(record)`` is called after every epoch."""
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        raw = reservoir_features(X)
        y = np.asarray(y)
        if len(y) != len(raw):
            raise ValueError(f"{len(raw)} samples of features but {len(y)} labels")
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"need samples of >= 2 classes to train a classifier, got {y[:1]}")
        self.check_n_features(raw.shape[1])
        self.n_features_in_ = raw.shape[1]
        x = self._fit_preprocessing(raw)
        targets = np.eye(len(self.classes_))[y_idx]
        options = {k: getattr(self, p) for k, p in _RULE_OPTIONS[self.rule].items()}
        if options.get("lr", 0) is None:
            del options["lr"]
        self.rule_: OnlineRule = make_rule(self.rule, x.shape[1], len(self.classes_), **options)
        rng = np.random.default_rng(self.seed)
        self.history_: list[dict[str, Any]] = []
        from tqdm.auto import tqdm

        for epoch in tqdm(range(1, int(self.epochs) + 1), desc=f"{self.rule} readout",
                          unit="epoch", disable=not self.progress):  # fmt: skip
            before, sq = self.rule_.n_updates, 0.0
            for i in rng.permutation(len(x)):
                z = self.rule_.update(x[i], targets[i])
                sq += float(np.sum((targets[i] - z) ** 2))
            record = {
                "epoch": epoch,
                "train_accuracy": float(np.mean(self._argmax(x) == y_idx)),
                "mean_squared_error": None  # the hebbian rule does not fit the targets
                if self.rule == "hebbian"
                else sq / (len(x) * len(self.classes_)),
                "updated_fraction": (self.rule_.n_updates - before) / len(x),
            }
            self.history_.append(record)
            if on_epoch is not None:
                on_epoch(record)
        return self

    def check_n_features(self, n_features: int) -> None:
        """Fail now, not after a long simulation, when ``n_features`` features cannot be
        learned with these settings (FORCE above ``max_features``; an unknown rule)."""
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {sorted(RULES)}, got {self.rule!r}")
        if self.rule == "force":
            check_force_size(n_features, int(self.max_features))

    def decision_function(self, X: Recording | np.ndarray) -> np.ndarray:  # noqa: N803
        """Readout values [samples, classes]."""
        return self.rule_.output(self._check(X))

    def predict(self, X: Recording | np.ndarray) -> np.ndarray:  # noqa: N803
        x = self._check(X)
        return self.classes_[self._argmax(x)]

    def _argmax(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.rule_.output(x), axis=1)

    def _fit_preprocessing(self, raw: np.ndarray) -> np.ndarray:
        x = np.log1p(raw) if self.log1p else raw
        self.mean_ = x.mean(axis=0) if self.standardize else np.zeros(x.shape[1])
        std = x.std(axis=0) if self.standardize else np.ones(x.shape[1])
        self.scale_ = np.where(std > 0, std, 1.0)
        return (x - self.mean_) / self.scale_

    def _check(self, X: Recording | np.ndarray) -> np.ndarray:  # noqa: N803
        if not hasattr(self, "rule_"):
            raise NotFittedError("this readout is not fitted yet; call fit(X, y) first")
        raw = reservoir_features(X)
        if raw.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} features, got {raw.shape[1]}")
        x = np.log1p(raw) if self.log1p else raw
        return (x - self.mean_) / self.scale_
