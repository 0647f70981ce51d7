"""Linear readouts on reservoir states (scikit-learn estimator contract).

Features are the spike counts of a ``Recording`` ([batch, bins, neurons]) flattened per
sample, optionally ``log1p``-compressed and standardised; the classifier is ridge
regression (one-vs-all, closed form) or multinomial logistic regression.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, RidgeClassifier, RidgeClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ..spikes import Recording
from .validation import check_features, readout_tags, validated_features, validated_labels

__all__ = ["LinearReadout", "check_features", "reservoir_features"]


def reservoir_features(states: Recording | np.ndarray) -> np.ndarray:
    """[batch, features] float64 from a Recording, a counts array [B, bins, N], or a matrix."""
    x = states.counts if isinstance(states, Recording) else np.asarray(states)
    if x.ndim == 3:
        x = x.reshape(x.shape[0], -1)
    if x.ndim != 2:
        raise ValueError(
            f"features must be [samples, features] or [samples, bins, neurons], got shape {x.shape}"
        )
    return x.astype(np.float64, copy=False)


class LinearReadout(ClassifierMixin, BaseEstimator):
    """Ridge or logistic readout.

    kind : "ridge" or "logistic".
    alpha : ridge L2 penalty (kind="ridge"); a list of values selects one by efficient
        leave-one-out cross-validation on the training set only (``alpha_`` after fit).
    C : inverse L2 penalty (kind="logistic").
    log1p : compress counts with log(1 + x) first.
    standardize : z-score each feature on the training set.
    """

    def __init__(
        self,
        kind: str = "ridge",
        alpha: float = 1.0,
        C: float = 1.0,
        log1p: bool = True,
        standardize: bool = True,
        max_iter: int = 2000,
    ) -> None:
        self.kind = kind
        self.alpha = alpha
        self.C = C
        self.log1p = log1p
        self.standardize = standardize
        self.max_iter = max_iter

    def _make(self) -> Pipeline:
        if self.kind == "ridge" and np.ndim(self.alpha):
            clf: Any = RidgeClassifierCV(alphas=np.asarray(self.alpha, dtype=float))
        elif self.kind == "ridge":
            clf = RidgeClassifier(alpha=self.alpha)
        elif self.kind == "logistic":
            clf = LogisticRegression(C=self.C, max_iter=self.max_iter)
        else:
            raise ValueError(f"kind must be 'ridge' or 'logistic', got {self.kind!r}")
        steps: list[tuple[str, Any]] = []
        if self.log1p:
            steps.append(("log1p", FunctionTransformer(np.log1p)))
        if self.standardize:
            steps.append(("scale", StandardScaler()))
        steps.append(("clf", clf))
        return Pipeline(steps)

    def __sklearn_tags__(self):  # noqa: ANN204 - scikit-learn's Tags
        """Positive-only input when ``log1p`` is on (scikit-learn's input tags)."""
        return readout_tags(super().__sklearn_tags__(), self.log1p)

    def fit(self, X: Recording | np.ndarray, y: np.ndarray) -> LinearReadout:
        x = validated_features(self, X, reset=True, log1p=self.log1p)
        y = validated_labels(y, len(x))
        self.pipeline_ = self._make().fit(x, y)
        if self.kind == "logistic":  # iterations of the solver (ridge is closed form)
            self.n_iter_ = int(np.max(self.pipeline_[-1].n_iter_))
        self.classes_ = self.pipeline_.classes_
        self.n_features_in_ = x.shape[1]
        self.alpha_ = getattr(self.pipeline_[-1], "alpha_", self.alpha)
        return self

    def decision_function(self, X: Recording | np.ndarray) -> np.ndarray:
        x = self._check(X)
        return self.pipeline_.decision_function(x)

    def predict(self, X: Recording | np.ndarray) -> np.ndarray:
        x = self._check(X)
        return self.pipeline_.predict(x)

    def _check(self, X: Recording | np.ndarray) -> np.ndarray:
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("this readout is not fitted yet; call fit(X, y) first")
        return validated_features(self, X, reset=False, log1p=self.log1p)
