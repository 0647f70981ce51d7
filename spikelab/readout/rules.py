"""Online learning rules for linear readouts ``z = W x + b`` (one update per presentation).

Each rule owns its weights and exposes ``output(x)`` and ``update(x, target)``; the
classifier :class:`spikelab.readout.hebbian.HebbianReadout` and time-resolved tasks (one
update per simulation step, e.g. Yamada & Chao 2025) drive them the same way.

* :class:`ThreeFactorRule`: error-modulated, gated Hebbian plasticity,
  ``dW = lr * g * e ⊗ x``: presynaptic activity ``x`` (factor 1) times the error of the
  readout unit, ``e = target - z`` (factor 2, a postsynaptic signal), times a gate ``g``
  (factor 3, a neuromodulatory/attention signal), per readout unit: the caller's ``gate``
  (default on for every unit; Yamada & Chao's G(t) opens it for the attended channel in
  its latency window). Optionally, ``gate_threshold`` skips presentations whose gated
  error is small (``max |g e| <= gate_threshold``; our addition, not the paper's). With
  the gate always open and no decay this is the delta (LMS) rule.
* :class:`HebbianRule`: plain supervised Hebbian learning with Oja's decay,
  ``dW_i = lr * t_i * (x - t_i * W_i)``: each unit's weights move toward the mean input of
  the presentations on which its target ``t_i`` is on, and its bias (a homeostatic
  threshold) follows ``-|W_i|^2 / 2``, so the readout ranks classes by the distance of
  ``x`` to their prototypes (a nearest-prototype readout). No error enters.
* :class:`ForceRule`: FORCE (Sussillo & Abbott 2009), recursive least squares with
  ``P(0) = I / alpha``: the non-local, least-squares reference the local rules are compared
  with. It stores ``P`` ([features x features]), so it is limited to ``max_features``.

Weights start at zero; nothing here draws random numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ForceRule", "HebbianRule", "OnlineRule", "ThreeFactorRule", "make_rule"]


class OnlineRule:
    """Linear readout state shared by the rules: weights [outputs, features], bias [outputs]."""

    def __init__(self, n_features: int, n_outputs: int) -> None:
        if n_features < 1 or n_outputs < 1:
            raise ValueError(
                f"a readout needs >= 1 feature and >= 1 output, got {n_features} and {n_outputs}"
            )
        self.W = np.zeros((n_outputs, n_features))
        self.b = np.zeros(n_outputs)
        self.n_updates = 0  # presentations that changed the weights

    def output(self, x: np.ndarray) -> np.ndarray:
        """Readout of one presentation [features] or of many [n, features]."""
        return x @ self.W.T + self.b

    def update(
        self, x: np.ndarray, target: np.ndarray, gate: bool | np.ndarray = True
    ) -> np.ndarray:
        """One presentation ``x`` [features] with ``target`` [outputs]; ``gate`` is one
        switch or one value per output (0: that unit does not learn). Returns the readout
        before the update."""
        raise NotImplementedError


class ThreeFactorRule(OnlineRule):
    """``dW = lr * g * (target - z) ⊗ x`` (and ``db = lr * g * (target - z)``).

    lr : learning rate. With ``normalize`` (default) the step is divided by
        ``|x|^2 + 1`` (normalised LMS), so lr in (0, 2) is stable whatever the number and
        scale of the features; without it, lr is per unit of x^2.
    gate_threshold : the update happens only when ``max |target - z| > gate_threshold``
        (0: every attended presentation with any error).
    decay : weight decay per update, ``W_i -= step * decay * W_i`` for the units learning.
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        lr: float = 0.1,
        gate_threshold: float = 0.0,
        decay: float = 0.0,
        normalize: bool = True,
    ) -> None:
        super().__init__(n_features, n_outputs)
        _check_positive("lr", lr)
        if gate_threshold < 0 or decay < 0:
            raise ValueError(
                f"gate_threshold and decay must be >= 0, got {gate_threshold} and {decay}"
            )
        self.lr, self.gate_threshold, self.decay = float(lr), float(gate_threshold), float(decay)
        self.normalize = bool(normalize)

    def update(
        self, x: np.ndarray, target: np.ndarray, gate: bool | np.ndarray = True
    ) -> np.ndarray:
        z = self.output(x)
        e = (target - z) * np.asarray(gate, dtype=float)
        if np.max(np.abs(e)) > self.gate_threshold:
            step = self.lr / (x @ x + 1.0) if self.normalize else self.lr
            if self.decay:
                self.W *= 1.0 - step * self.decay * (e != 0)[:, None]
            self.W += step * np.outer(e, x)
            self.b += step * e
            self.n_updates += 1
        return z


class HebbianRule(OnlineRule):
    """``dW_i = lr_i * t_i * (x - t_i * W_i)``, then ``b_i = -|W_i|^2 / 2``.

    Oja-decayed supervised Hebbian learning. With one-hot targets each unit's weights
    average its class's inputs (a prototype) and its bias (a homeostatic threshold) is
    set to minus half the prototype's squared norm, so
    ``W_i x + b_i = -|x - W_i|^2 / 2 + |x|^2 / 2``: the largest readout is the nearest
    prototype. An error plays no part.

    lr : a fixed rate in (0, 1] (an exponential average: recent samples weigh more), or
        None (default): ``1 / k`` on the unit's k-th presentation, so ``W_i`` is exactly
        the mean of its class's inputs so far (plasticity that consolidates).
    """

    def __init__(self, n_features: int, n_outputs: int, lr: float | None = None) -> None:
        super().__init__(n_features, n_outputs)
        if lr is not None:
            _check_positive("lr", lr)
            if lr > 1:
                raise ValueError(f"HebbianRule lr must be <= 1 (an averaging rate), got {lr}")
        self.lr = None if lr is None else float(lr)
        self.seen = np.zeros(n_outputs)  # presentations with the unit's target on

    def update(
        self, x: np.ndarray, target: np.ndarray, gate: bool | np.ndarray = True
    ) -> np.ndarray:
        z = self.output(x)
        target = target * np.asarray(gate, dtype=float)
        if np.any(target):
            self.seen += target != 0
            rate = 1.0 / np.maximum(self.seen, 1.0) if self.lr is None else self.lr
            t = target[:, None]
            self.W += (rate * target)[:, None] * (x[None, :] - t * self.W)
            self.b = np.where(target != 0, -0.5 * np.sum(self.W**2, axis=1), self.b)
            self.n_updates += 1
        return z


class ForceRule(OnlineRule):
    """FORCE / recursive least squares: ``k = P x``, ``c = 1 / (1 + x.k)``,
    ``P -= c k k^T``, ``W += c (target - z) ⊗ k`` (bias as an extra constant feature).

    alpha : ``P(0) = I / alpha`` (the inverse of the ridge penalty; smaller alpha learns
        faster). max_features : refuse more features than this (P has features^2 entries).
    """

    def __init__(
        self, n_features: int, n_outputs: int, alpha: float = 1.0, max_features: int = 4096
    ) -> None:
        check_force_size(n_features, max_features)
        super().__init__(n_features, n_outputs)
        _check_positive("alpha", alpha)
        self.alpha = float(alpha)
        self.P = np.eye(n_features + 1) / self.alpha

    def update(
        self, x: np.ndarray, target: np.ndarray, gate: bool | np.ndarray = True
    ) -> np.ndarray:
        z = self.output(x)
        g = np.asarray(gate, dtype=float)
        if np.any(g):  # P is shared by all units: it updates when any unit is gated in
            xa = np.append(x, 1.0)
            k = self.P @ xa
            c = 1.0 / (1.0 + xa @ k)
            self.P -= c * np.outer(k, k)
            dw = c * np.outer((target - z) * g, k)
            self.W += dw[:, :-1]
            self.b += dw[:, -1]
            self.n_updates += 1
        return z


def check_force_size(n_features: int, max_features: int) -> None:
    """FORCE's P matrix is (features + 1)^2 numbers: refuse more than ``max_features``."""
    if n_features + 1 > max_features:
        raise ValueError(
            f"FORCE keeps a {n_features + 1} x {n_features + 1} matrix; that is more than "
            f"max_features={max_features}. Use fewer features (fewer bins or neurons) or "
            "the local rule (rule='three_factor'), or raise max_features"
        )


RULES = {"three_factor": ThreeFactorRule, "hebbian": HebbianRule, "force": ForceRule}


def make_rule(name: str, n_features: int, n_outputs: int, **options: float) -> OnlineRule:
    """A rule by name (``three_factor``, ``hebbian``, ``force``) with its own options."""
    if name not in RULES:
        raise ValueError(f"rule must be one of {sorted(RULES)}, got {name!r}")
    try:
        return RULES[name](n_features, n_outputs, **options)
    except TypeError:
        import inspect

        known = [p for p in inspect.signature(RULES[name]).parameters if not p.startswith("n_")]
        raise ValueError(
            f"rule {name!r} takes the options {known}, got {sorted(options)}"
        ) from None


def _check_positive(name: str, value: float) -> None:
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
