"""Input checks the readouts share, through scikit-learn's own validation (``validate_data``),
so they behave as scikit-learn estimators do (sparse, 1-D, empty, complex or object input,
``n_features_in_``, targets) while keeping our messages for what matters to a reservoir:
NaN or infinite features and ``log1p`` on negative values.

Features are a ``Recording``'s counts or an array ``[samples, bins, neurons]`` (flattened
per sample) or a matrix ``[samples, features]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import Tags
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import assert_all_finite, column_or_1d, validate_data

from ..spikes import Recording

__all__ = ["readout_tags", "validated_features", "validated_labels"]


def flat_counts(X: Any) -> Any:
    """A Recording's counts, or a 3-D array, flattened to [samples, features]; anything else
    (a matrix, a list, sparse input) is passed on for ``validate_data`` to judge."""
    if isinstance(X, Recording):
        X = X.counts
    if isinstance(X, np.ndarray) and X.ndim == 3:
        X = X.reshape(X.shape[0], -1)
    return X


def check_features(x: np.ndarray, log1p: bool) -> np.ndarray:
    """Clear errors for features a readout cannot use: NaN or inf anywhere, and values
    <= -1 when they are to be log1p-compressed (spike counts never are)."""
    if not np.isfinite(x).all():
        bad = int(np.sum(~np.isfinite(x)))
        raise ValueError(f"the features hold {bad} NaN or infinite values; clean them first")
    if log1p and x.size and x.min() <= -1:
        raise ValueError(
            f"Negative values in data: log1p needs features > -1 (spike counts), got a "
            f"minimum of {x.min()}; "
            "set log1p=False for other features"
        )
    return x


def validated_features(est: BaseEstimator, X: Any, *, reset: bool, log1p: bool) -> np.ndarray:
    """Features as float64 [samples, features]: ``reset=True`` (fit) sets
    ``n_features_in_``; ``reset=False`` (predict) checks the count against it."""
    X = flat_counts(X)
    n_fit = getattr(est, "n_features_in_", None)
    n = X.shape[1] if not reset and isinstance(X, np.ndarray) and X.ndim == 2 else None
    if n is not None and n_fit is not None and n != n_fit:
        raise ValueError(
            f"X has {n} features, but {type(est).__name__} is expecting {n_fit} features "
            f"as input (expected {n_fit} features, the training set's)"
        )
    x = validate_data(est, X, reset=reset, dtype=np.float64, ensure_all_finite=False)
    return check_features(x, log1p)


def validated_labels(y: Any, n: int | None) -> np.ndarray:
    """Class labels as a 1-D array (of length ``n`` when given): a column vector is
    flattened with scikit-learn's warning; continuous or unknown targets are refused."""
    if y is None:
        raise ValueError(
            "requires y to be passed, but the target y is None: give one class label per sample"
        )
    y = np.asarray(y)
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name="y")  # scikit-learn's message: "Input y contains NaN"
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim != 1 or (n is not None and len(y) != n):
        want = f"({n},)" if n is not None else "(n,)"
        raise ValueError(f"labels must have shape {want}, one per sample, got {y.shape}")
    if len(y):
        kind = type_of_target(y, raise_unknown=True)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"Unknown label type: {kind}. labels must be classes (integers or strings), "
                f"got {kind} values such as {y[:3].tolist()}"
            )
    return y


def readout_tags(tags: Tags, log1p: bool) -> Tags:
    """A readout's scikit-learn tags: positive-only input when log1p compresses it
    (scikit-learn's checks then feed non-negative features)."""
    tags.input_tags.positive_only = bool(log1p)
    return tags
