"""Factorised "what" x "when" prediction readouts (after Yamada & Chao 2025).

A cue is followed on each trial by one of ``n_channels`` events (or none) at a latency.
Per channel c two linear readouts of the same reservoir features ``x(t)``:

* **when** ``w_c(t) = W_when[c] x(t) + b``: learned online, every step, towards a
  Gaussian bump of height 1 centred on the event's step, by a gated rule whose gate is
  open only for the channel whose event occurred on this trial (the attention gate G(t)
  of Yamada & Chao: plasticity restricted to the active channel);
* **what** ``a_c = W_what[c] x_mean + b``: learned once per trial, after it ("offline
  consolidation"), from the trial's mean features, towards 1 for the channel that
  occurred and 0 for the others.

The prediction is ``y_c(t) = a_c * w_c(t)``: with the cue's response the same on every
trial, ``a_c`` converges to the channel's probability and ``w_c`` to its timing, so the
amplitude of the predicted bump tracks the probability and its position the latency.

What is ours, not the paper's (its Methods were not available to us; docs/readouts.md):
the bump target and its width, the normalised rule step, the per-trial what update of
every channel (targets 0 and 1), no feedback of the prediction into the reservoir.

    ww = WhatWhenReadout(n_features=200, n_channels=2, width=15)
    for x_trial, channel, step in trials:     # x_trial [steps, features]
        ww.learn_trial(x_trial, channel, step)
    y = ww.predict(x_test)                    # [steps, channels]
"""

from __future__ import annotations

import numpy as np

from .rules import OnlineRule, check_number, make_rule

__all__ = ["WhatWhenReadout", "bump"]


def bump(n_steps: int, center: float, width: float) -> np.ndarray:
    """Gaussian bump of height 1 centred on step ``center``, s.d. ``width`` steps."""
    t = np.arange(n_steps, dtype=float)
    return np.exp(-0.5 * ((t - center) / width) ** 2)


class WhatWhenReadout:
    """Per-channel what x when readouts learned by an online rule (``three_factor`` or
    ``force``; ``when_options`` / ``what_options`` go to the rule, e.g. ``lr``). With
    ``force`` the when readouts keep one P per channel (each channel learns on its own
    trials only, so a shared P would not be least squares per channel).

    width : s.d. of the timing target (steps).
    """

    def __init__(
        self,
        n_features: int,
        n_channels: int,
        *,
        width: float = 10.0,
        rule: str = "three_factor",
        when_options: dict | None = None,
        what_options: dict | None = None,
    ) -> None:
        if rule not in ("three_factor", "force"):
            raise ValueError(f"rule must be 'three_factor' or 'force', got {rule!r}")
        self.width = check_number("width", width, lo=0, lo_open=True)
        self.n_channels = check_number("n_channels", n_channels, lo=1, integer=True)
        self.n_features = check_number("n_features", n_features, lo=1, integer=True)
        self.rule = rule
        when = dict(when_options or {})
        if rule == "force":
            when.setdefault("per_output", True)
        self.when: OnlineRule = make_rule(rule, n_features, n_channels, **when)
        self.what: OnlineRule = make_rule(rule, n_features, n_channels, **(what_options or {}))

    def learn_trial(self, x: np.ndarray, channel: int | None, step: float | None) -> None:
        """One training trial: features ``x`` [steps, features]; the event of ``channel``
        at ``step`` (``channel=None``: no event; only the what readouts learn)."""
        x = self._features(x)
        target = np.zeros(self.n_channels)
        if channel is not None:
            channel = check_number("channel", channel, lo=0, hi=self.n_channels - 1, integer=True)
            if step is None:
                raise ValueError("an event needs its step (the event's time step in the trial)")
            step = check_number("step", step)
            target[channel] = 1.0
            timing = bump(len(x), step, self.width)
            gate = target.copy()  # G(t): only the channel that occurred learns its timing
            with np.errstate(over="ignore", invalid="ignore"):  # checked below
                for t in range(len(x)):
                    self.when.update(x[t], target * timing[t], gate)
        with np.errstate(over="ignore", invalid="ignore"):
            self.what.update(x.mean(axis=0), target)  # once per trial, after it
        if not (self.when.finite() and self.what.finite()):
            raise ValueError(
                "the what/when readouts' weights diverged (inf or NaN); lower lr in "
                "when_options / what_options or keep normalize=True"
            )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted event profile [steps, channels]: what x when."""
        x = self._features(x)
        return self.what.output(x.mean(axis=0))[None, :] * self.when.output(x)

    def _features(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"x must be [steps, {self.n_features} features] (one trial), got shape {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError("x holds NaN or infinite values")
        return x

    def expected(self, n_steps: int, probabilities: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """The ideal prediction [steps, channels]: probability x bump at the latency."""
        return np.stack(
            [p * bump(n_steps, s, self.width) for p, s in zip(probabilities, steps, strict=True)],
            axis=1,
        )
