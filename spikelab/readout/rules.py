"""Online learning rules for linear readouts ``z = W x + b`` (one update per presentation).

Each rule owns its weights and exposes ``output(x)`` and ``update(x, target, gate)``; the
classifier :class:`spikelab.readout.online.OnlineReadout` and time-resolved readouts (one
update per simulation step, :class:`spikelab.readout.what_when.WhatWhenReadout`) drive
them the same way.

* :class:`ThreeFactorRule`: error-modulated, gated Hebbian plasticity,
  ``dW = s * (g e) ⊗ x``: presynaptic activity ``x`` (factor 1) times the error of the
  readout unit, ``e = target - z`` (factor 2, a postsynaptic signal), times a gate ``g``
  (factor 3, a neuromodulatory / attention signal), per readout unit. The form is that of
  the three-factor rules reviewed by Frémaux & Gerstner (2016) and used by Yamada & Chao
  (2025), whose exact equation we do not have. ``gate_threshold`` (ours) skips
  presentations whose largest gated error is small. With the gate always open and no decay
  this is the (normalised) delta / LMS rule.
* :class:`HebbianRule`: supervised Hebbian learning with a postsynaptically gated decay
  (Grossberg's instar rule), ``dW_i = r (x - W_i)`` for each unit whose target is on:
  each unit's weights average its class's inputs (a prototype) and its bias, a
  homeostatic threshold, is ``-|W_i|^2 / 2``, so the largest readout is the nearest
  prototype. No error enters.
* :class:`ForceRule`: FORCE (Sussillo & Abbott 2009), recursive least squares with
  ``P(0) = I / alpha``: the non-local least-squares reference. ``forgetting < 1`` is RLS
  with exponential forgetting (it tracks changes; classic FORCE has none).

Weights start at zero; nothing here draws random numbers.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

__all__ = ["ForceRule", "HebbianRule", "OnlineRule", "ThreeFactorRule", "make_rule"]


def check_number(
    name: str, value: object, *, lo: float | None = None, hi: float | None = None,
    lo_open: bool = False, hi_open: bool = False, integer: bool = False,
) -> float:  # fmt: skip
    """``value`` as a float (or int), with an error naming ``name`` and the allowed range."""
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and np.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        lo_s = "" if lo is None else ("(" if lo_open else "[") + f"{lo:g}"
        hi_s = "" if hi is None else f"{hi:g}" + (")" if hi_open else "]")
        rng = f"in {lo_s or '(-inf'}, {hi_s or 'inf)'}"
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {what} {rng}, got {value!r}")
    return int(value) if integer else float(value)


def check_flag(name: str, value: object) -> bool:
    """A real bool (a TOML ``true``/``false``), not a string that would read as True."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return bool(value)


class OnlineRule:
    """Linear readout state shared by the rules: weights [outputs, features], bias [outputs]."""

    def __init__(self, n_features: int, n_outputs: int) -> None:
        check_number("n_features", n_features, lo=1, integer=True)
        check_number("n_outputs", n_outputs, lo=1, integer=True)
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

    def finite(self) -> bool:
        """False once the weights have diverged (inf or NaN)."""
        return bool(np.isfinite(self.W).all() and np.isfinite(self.b).all())


class ThreeFactorRule(OnlineRule):
    """``dW = s (g e) ⊗ x``, ``db = s g e``, ``e = target - z``.

    lr : learning rate. With ``normalize`` (default) the step is
        ``s = lr / (|x|^2 + 1)`` (normalised LMS: the input's squared norm acts as a
        per-presentation gain), which cannot diverge for lr in (0, 2), so other values are
        refused; it learns best well below 1 (0.1 by default: on separable data the final
        training error grows with lr). Without it ``s = lr``, per unit of x^2, and a too
        large lr diverges (``OnlineReadout`` then stops with an error).
    gate_threshold : learn only when the largest gated error ``max |g e|`` exceeds this
        (0: whenever any gated error is non-zero).
    decay : weight decay of the learning units, ``W_i *= 1 - s * decay``; needs
        ``lr * decay < 1``. With normalisation, s scales as 1/|x|^2, so the decay per
        update shrinks as features are added.
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
        self.normalize = check_flag("normalize", normalize)
        hi = 2.0 if self.normalize else None
        self.lr = check_number("lr", lr, lo=0, lo_open=True, hi=hi, hi_open=True)
        self.gate_threshold = check_number("gate_threshold", gate_threshold, lo=0)
        self.decay = check_number("decay", decay, lo=0)
        if self.lr * self.decay >= 1:
            raise ValueError(
                f"lr * decay must be < 1 (else the decay flips the weights' sign), got "
                f"lr={self.lr} and decay={self.decay}"
            )

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
    """``dW_i = r_i (x - W_i)`` for the units whose target is on (and gate open), then
    ``b_i = -|W_i|^2 / 2``: Grossberg's instar rule with a homeostatic threshold.

    Targets are read as on (non-zero) or off; a gate value is a mask (non-zero: learns).
    Each unit's weights average its class's inputs (a prototype), so
    ``W_i x + b_i = -|x - W_i|^2 / 2 + |x|^2 / 2``: the largest readout is the nearest
    prototype. An error plays no part.

    lr : a fixed rate ``r`` in (0, 1] (an exponential average: recent samples weigh more),
        or None (default): ``r = 1 / k`` on the unit's k-th presentation, so ``W_i`` is
        exactly the mean of its class's inputs so far (plasticity that consolidates).
    """

    def __init__(self, n_features: int, n_outputs: int, lr: float | None = None) -> None:
        super().__init__(n_features, n_outputs)
        self.lr = None if lr is None else check_number("lr", lr, lo=0, lo_open=True, hi=1)
        self.seen = np.zeros(n_outputs)  # presentations with the unit's target on

    def update(
        self, x: np.ndarray, target: np.ndarray, gate: bool | np.ndarray = True
    ) -> np.ndarray:
        z = self.output(x)
        on = (np.asarray(target) != 0) & (np.asarray(gate) != 0)
        if np.any(on):
            self.seen += on
            rate = (1.0 / np.maximum(self.seen, 1.0) if self.lr is None else self.lr) * on
            self.W += rate[:, None] * (x[None, :] - self.W)
            self.b = np.where(on, -0.5 * np.sum(self.W**2, axis=1), self.b)
            self.n_updates += 1
        return z


class ForceRule(OnlineRule):
    """FORCE / recursive least squares (bias as an extra constant feature):
    ``k = P x``, ``c = 1 / (forgetting + x.k)``, ``P = (P - c k k^T) / forgetting``,
    ``W += c (target - z) ⊗ k``.

    alpha : ``P(0) = I / alpha``; with ``forgetting = 1`` one pass over n presentations
        gives the ridge solution with penalty ``alpha`` (on the bias too); k passes over the
        same data give penalty ``alpha / k``.
    forgetting : in (0, 1]; 1 is classic FORCE (every presentation weighs the same
        forever); below 1 old presentations fade with that factor per update.
    per_output : one P per output unit, each updated only when its gate is open (exact
        least squares per unit under per-unit gates); default False: one shared P,
        updated when any gate is open (exact when all units learn together).
    max_features : refuse more features than this (a P holds (features + 1)^2 numbers;
        with per_output, all the P together may hold no more than one such matrix).
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        alpha: float = 1.0,
        forgetting: float = 1.0,
        per_output: bool = False,
        max_features: int = 4096,
    ) -> None:
        check_force_size(n_features, max_features)
        super().__init__(n_features, n_outputs)
        self.alpha = check_number("alpha", alpha, lo=0, lo_open=True)
        self.forgetting = check_number("forgetting", forgetting, lo=0, lo_open=True, hi=1)
        self.per_output = check_flag("per_output", per_output)
        if self.per_output and n_outputs * (n_features + 1) ** 2 > (max_features + 1) ** 2:
            raise ValueError(
                f"per_output FORCE keeps {n_outputs} matrices of {n_features + 1} x "
                f"{n_features + 1}, more than one of max_features={max_features} holds; use "
                "fewer features or outputs, per_output=False, or raise max_features"
            )
        eye = np.eye(n_features + 1) / self.alpha
        self.P = np.stack([eye] * n_outputs) if self.per_output else eye

    def update(
        self, x: np.ndarray, target: np.ndarray, gate: bool | np.ndarray = True
    ) -> np.ndarray:
        z = self.output(x)
        g = np.broadcast_to(np.asarray(gate, dtype=float), z.shape)
        if not np.any(g):
            return z
        xa = np.append(x, 1.0)
        e = (target - z) * g
        for i, P in enumerate(self.P if self.per_output else [self.P]):
            if self.per_output and not g[i]:
                continue
            k = P @ xa
            c = 1.0 / (self.forgetting + xa @ k)
            P -= c * np.outer(k, k)
            if self.forgetting != 1.0:
                P /= self.forgetting
            rows = slice(i, i + 1) if self.per_output else slice(None)
            dw = c * np.outer(e[rows], k)
            self.W[rows] += dw[:, :-1]
            self.b[rows] += dw[:, -1]
        self.n_updates += 1
        return z


def check_force_size(n_features: int, max_features: int) -> None:
    """FORCE's P matrix is (features + 1)^2 numbers: refuse more than ``max_features``."""
    max_features = check_number("max_features", max_features, lo=1, integer=True)
    if n_features > max_features:
        raise ValueError(
            f"FORCE keeps a {n_features + 1} x {n_features + 1} matrix for {n_features} "
            f"features; that is more than max_features={max_features}. Use fewer features "
            "(fewer bins or neurons) or a local rule (rule='three_factor'), or raise "
            "max_features"
        )


RULES = {"three_factor": ThreeFactorRule, "hebbian": HebbianRule, "force": ForceRule}


def rule_options(name: str) -> list[str]:
    """The options a rule takes (its constructor's keywords beyond the sizes)."""
    params = inspect.signature(RULES[name]).parameters
    return [p for p in params if p not in ("n_features", "n_outputs")]


def make_rule(name: str, n_features: int, n_outputs: int, **options: object) -> OnlineRule:
    """A rule by name (``three_factor``, ``hebbian``, ``force``) with its own options."""
    if name not in RULES:
        raise ValueError(f"rule must be one of {sorted(RULES)}, got {name!r}")
    unknown = sorted(set(options) - set(rule_options(name)))
    if unknown:
        raise ValueError(
            f"rule {name!r} takes the options {rule_options(name)}; {unknown} is not one"
        )
    return RULES[name](n_features, n_outputs, **options)
