"""Readouts learned online, sample by sample, by a plasticity rule (scikit-learn contract).

Where :class:`~spikelab.readout.linear.LinearReadout` solves for its weights in one step,
:class:`OnlineReadout` learns them one training sample at a time with a rule of
:mod:`spikelab.readout.rules`: the error-modulated three-factor rule (``"three_factor"``,
the default), supervised Hebbian / instar learning (``"hebbian"``: class prototypes, a
nearest-centroid readout) or FORCE / recursive least squares (``"force"``: the non-local
least-squares reference, for at most a few thousand features).

Features are a ``Recording``'s spike counts flattened per sample (as for the linear
readout), optionally ``log1p``-compressed and standardised with the training set's
statistics. Targets are one-hot (1 for the sample's class, 0 for the others); the
prediction is the class of the largest readout.

    r = OnlineReadout(rule="three_factor", epochs=20, seed=0).fit(rec_train, y_train)
    r.score(rec_test, y_test); r.history_[-1]   # {"epoch": 20, "train_accuracy": ..., ...}
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from ..spikes import Recording
from .rules import RULES, OnlineRule, check_flag, check_force_size, check_number, make_rule
from .validation import readout_tags, validated_features, validated_labels

__all__ = ["OnlineReadout"]

# the rule's option name -> this class's parameter name
_RULE_OPTIONS = {
    "three_factor": {"lr": "lr", "gate_threshold": "gate_threshold", "decay": "decay",
                     "normalize": "normalize"},
    "hebbian": {"lr": "lr"},
    "force": {"alpha": "force_alpha", "forgetting": "forgetting", "max_features": "max_features"},
}  # fmt: skip
_DEFAULT_EPOCHS = {"three_factor": 20, "hebbian": 1, "force": 1}


class OnlineReadout(ClassifierMixin, BaseEstimator):
    """A linear readout learned online by a plasticity rule.

    rule : "three_factor" (error-modulated, gated), "hebbian" (instar: class prototypes)
        or "force" (recursive least squares).
    epochs : passes over the training set, each in a new random order drawn from ``seed``;
        None: the rule's default (three_factor 20; hebbian 1, since with exact averaging
        more passes change nothing; force 1, since k passes equal ridge with penalty
        force_alpha / k at k times the cost).
    lr : None: the rule's default. three_factor: 0.1; the step is lr / (|x|^2 + 1), and lr
        must lie in (0, 2). hebbian: a fixed averaging rate in (0, 1]; None averages
        exactly (the class means).
    gate_threshold, decay, normalize : three_factor only (see ``ThreeFactorRule``): learn
        from a sample only when its largest error exceeds gate_threshold; weight decay;
        the normalised step.
    force_alpha, forgetting, max_features : force only: ``P(0) = I / force_alpha`` (the
        ridge penalty after one pass); forgetting factor per update (1: classic FORCE);
        refuse more than max_features features.
    log1p, standardize : feature preprocessing, as for the linear readout (log1p needs
        features > -1, e.g. spike counts).
    seed : an int >= 0, the seed of the numpy Generator that draws the presentation
        order (same seed, same weights).
    progress : a tqdm bar over epochs.

    After ``fit``: ``classes_``, ``n_features_in_``, ``rule_`` (the trained rule, with
    ``W`` and ``b``) and ``history_``, one dict per epoch: ``train_accuracy``;
    ``mean_squared_error`` of the readout against the one-hot targets over the epoch's
    presentations, before each update (None for the hebbian rule, which does not fit the
    targets); ``updated_fraction`` of presentations that changed the weights (always 1
    for hebbian and force, which learn from every sample). A rule whose weights diverge
    stops ``fit`` with an error naming the epoch and the fix.
    """

    def __init__(
        self,
        rule: str = "three_factor",
        epochs: int | None = None,
        lr: float | None = None,
        gate_threshold: float = 0.0,
        decay: float = 0.0,
        normalize: bool = True,
        force_alpha: float = 1.0,
        forgetting: float = 1.0,
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
        self.forgetting = forgetting
        self.max_features = max_features
        self.log1p = log1p
        self.standardize = standardize
        self.seed = seed
        self.progress = progress

    # ---- checks -------------------------------------------------------------------------
    def check_params(self, n_features: int | None = None) -> None:
        """Every option's type and range (and, given ``n_features``, FORCE's size), so a
        bad setting fails before a long simulation rather than after it."""
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {sorted(RULES)}, got {self.rule!r}")
        if self.epochs is not None:
            check_number("epochs", self.epochs, lo=1, integer=True)
        check_number("seed", self.seed, lo=0, integer=True)
        for name in ("log1p", "standardize", "progress"):
            check_flag(name, getattr(self, name))
        make_rule(self.rule, 1, 1, **self._rule_options())  # the rule checks its options
        used = set(_RULE_OPTIONS[self.rule].values())
        defaults = {k: p.default for k, p in inspect.signature(type(self)).parameters.items()}
        ignored = sorted(
            {p for opts in _RULE_OPTIONS.values() for p in opts.values()
             if p not in used and getattr(self, p) != defaults[p]}
        )  # fmt: skip
        if ignored and n_features is None:  # once per check, not again with the size
            warnings.warn(
                f"rule {self.rule!r} ignores {ignored} (options of another rule)", stacklevel=2
            )
        if n_features is not None and self.rule == "force":
            check_force_size(n_features, self.max_features)

    def _rule_options(self) -> dict[str, Any]:
        options = {k: getattr(self, p) for k, p in _RULE_OPTIONS[self.rule].items()}
        if options.get("lr", 0) is None:
            del options["lr"]
        return options

    def __sklearn_tags__(self):  # noqa: ANN204 - scikit-learn's Tags
        """Positive-only input when ``log1p`` is on (scikit-learn's input tags)."""
        return readout_tags(super().__sklearn_tags__(), self.log1p)

    def _features(self, X: Recording | np.ndarray, *, reset: bool = False) -> np.ndarray:
        raw = validated_features(self, X, reset=reset, log1p=self.log1p)
        return np.log1p(raw) if self.log1p else raw

    # ---- learning -----------------------------------------------------------------------
    def fit(
        self,
        X: Recording | np.ndarray,
        y: np.ndarray,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
    ) -> OnlineReadout:
        """Train from zero weights; ``on_epoch(record)`` is called after every epoch."""
        self.check_params()
        x = self._features(X, reset=True)
        y = _labels(y, len(x))
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"need samples of >= 2 classes to train a classifier, got 1 class "
                f"({self.classes_.tolist()}) in {len(y)} sample(s)"
            )
        self._start(x)
        epochs = _DEFAULT_EPOCHS[self.rule] if self.epochs is None else int(self.epochs)
        from tqdm.auto import tqdm

        for _ in tqdm(range(epochs), desc=f"{self.rule} readout", unit="epoch",
                      disable=not self.progress):  # fmt: skip
            self._epoch((x - self.mean_) / self.scale_, y_idx, on_epoch)
        return self

    def partial_fit(
        self,
        X: Recording | np.ndarray,
        y: np.ndarray,
        classes: np.ndarray | None = None,
    ) -> OnlineReadout:
        """One pass over these samples, continuing from the current weights (scikit-learn's
        online interface). The first call needs ``classes`` (all labels that will occur)
        and fixes the preprocessing statistics on its samples; later calls may repeat
        ``classes`` but not change it."""
        if not hasattr(self, "rule_"):
            if classes is None:
                raise ValueError("the first partial_fit call needs classes=[...] (all labels)")
            self.check_params()
            x = self._features(X, reset=True)
            y = _labels(y, len(x))
            self.classes_ = np.unique(_labels(classes, None))
            if len(self.classes_) < 2:
                raise ValueError(f"need >= 2 classes, got {list(self.classes_)}")
            self._start(x)
            x = (x - self.mean_) / self.scale_
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes {list(np.unique(classes))} differ from the first call's "
                    f"{list(self.classes_)}; start again with a new readout"
                )
            x = self._check(X)
            y = _labels(y, len(x))
        unknown = sorted(set(y.tolist()) - set(self.classes_.tolist()))
        if unknown:
            raise ValueError(f"labels {unknown} are not among classes {list(self.classes_)}")
        self._epoch(x, np.searchsorted(self.classes_, y), None)
        return self

    def _start(self, x: np.ndarray) -> None:
        """Fresh state for features ``x`` (after log1p) and ``classes_``: the preprocessing
        statistics, zero weights, the presentation-order generator, an empty history."""
        self.check_params(x.shape[1])
        self.n_features_in_ = x.shape[1]
        self.mean_ = x.mean(axis=0) if self.standardize else np.zeros(x.shape[1])
        std = x.std(axis=0) if self.standardize else np.ones(x.shape[1])
        self.scale_ = np.where(std > 0, std, 1.0)
        self.rule_: OnlineRule = make_rule(
            self.rule, x.shape[1], len(self.classes_), **self._rule_options()
        )
        self._rng = np.random.default_rng(self.seed)
        self.history_: list[dict[str, Any]] = []

    def restore(
        self, classes: np.ndarray, mean: np.ndarray, scale: np.ndarray, rule: OnlineRule,
        history: list[dict[str, Any]],
    ) -> OnlineReadout:  # fmt: skip
        """Set a fitted state saved earlier (``spikelab.readout.io.load_readout``); the
        presentation order of later ``partial_fit`` calls starts again from ``seed``."""
        self.classes_, self.mean_, self.scale_, self.rule_ = classes, mean, scale, rule
        self.n_features_in_ = len(mean)
        self._rng = np.random.default_rng(self.seed)
        self.history_ = history
        return self

    def _epoch(self, x: np.ndarray, y_idx: np.ndarray, on_epoch: Callable | None) -> None:
        targets = np.eye(len(self.classes_))[y_idx]
        before, sq = self.rule_.n_updates, 0.0
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked below
            for i in self._rng.permutation(len(x)):
                z = self.rule_.update(x[i], targets[i])
                sq += float(np.sum((targets[i] - z) ** 2))
        epoch = len(self.history_) + 1
        if not self.rule_.finite():
            del self.rule_  # not a fitted readout: predict must not return labels
            hint = {
                "three_factor": f"lower lr (now {self.lr}) or keep normalize=True",
                "hebbian": "check the features' scale",
                "force": f"raise force_alpha (now {self.force_alpha}) or forgetting "
                f"(now {self.forgetting})",
            }[self.rule]
            raise ValueError(
                f"the {self.rule} readout's weights diverged (inf or NaN) in epoch {epoch}; {hint}"
            )
        record = {
            "epoch": epoch,
            "train_accuracy": float(np.mean(self._argmax(x) == y_idx)),
            "mean_squared_error": None if self.rule == "hebbian" else sq / targets.size,
            "updated_fraction": (self.rule_.n_updates - before) / len(x),
        }
        self.history_.append(record)
        if on_epoch is not None:
            on_epoch(record)

    # ---- prediction ---------------------------------------------------------------------
    def decision_function(self, X: Recording | np.ndarray) -> np.ndarray:
        """Readout values [samples, classes]; for two classes, as scikit-learn does, one
        column: readout of the second class minus that of the first."""
        x = self._check(X)
        z = self.rule_.output(x)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict(self, X: Recording | np.ndarray) -> np.ndarray:
        x = self._check(X)
        return self.classes_[self._argmax(x)]

    def _argmax(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.rule_.output(x), axis=1)

    def _check(self, X: Recording | np.ndarray) -> np.ndarray:
        if not hasattr(self, "rule_"):
            raise NotFittedError("this readout is not fitted yet; call fit(X, y) first")
        x = self._features(X)
        return (x - self.mean_) / self.scale_


def _labels(y: object, n: int | None) -> np.ndarray:
    """Class labels as a 1-D array (of length ``n`` when given); continuous targets, which
    would make every value a class, are refused (``validation.validated_labels``)."""
    return validated_labels(y, n)
