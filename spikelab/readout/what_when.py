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

from .rules import OnlineRule, make_rule

__all__ = ["WhatWhenReadout", "bump"]


def bump(n_steps: int, center: float, width: float) -> np.ndarray:
    """Gaussian bump of height 1 centred on step ``center``, s.d. ``width`` steps."""
    t = np.arange(n_steps, dtype=float)
    return np.exp(-0.5 * ((t - center) / width) ** 2)


class WhatWhenReadout:
    """Per-channel what x when readouts learned by an online rule (``three_factor`` or
    ``force``; ``when_options`` / ``what_options`` go to the rule, e.g. ``lr``).

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
        if width <= 0:
            raise ValueError(f"width must be > 0 steps, got {width}")
        self.n_channels, self.width, self.rule = int(n_channels), float(width), rule
        self.when: OnlineRule = make_rule(rule, n_features, n_channels, **(when_options or {}))
        self.what: OnlineRule = make_rule(rule, n_features, n_channels, **(what_options or {}))

    def learn_trial(self, x: np.ndarray, channel: int | None, step: float | None) -> None:
        """One training trial: features ``x`` [steps, features]; the event of ``channel``
        at ``step`` (``channel=None``: no event; only the what readouts learn)."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 2:
            raise ValueError(f"x must be [steps, features], got shape {x.shape}")
        target = np.zeros(self.n_channels)
        if channel is not None:
            if not 0 <= channel < self.n_channels:
                raise ValueError(f"channel must be in [0, {self.n_channels}), got {channel}")
            if step is None:
                raise ValueError("an event needs its step")
            target[channel] = 1.0
            timing = bump(len(x), step, self.width)
            gate = target.copy()  # G(t): only the channel that occurred learns its timing
            for t in range(len(x)):
                self.when.update(x[t], target * timing[t], gate)
        self.what.update(x.mean(axis=0), target)  # once per trial, after it

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted event profile [steps, channels]: what x when."""
        x = np.asarray(x, dtype=float)
        return self.what.output(x.mean(axis=0))[None, :] * self.when.output(x)

    def expected(self, n_steps: int, probabilities: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """The ideal prediction [steps, channels]: probability x bump at the latency."""
        return np.stack(
            [p * bump(n_steps, s, self.width) for p, s in zip(probabilities, steps, strict=True)],
            axis=1,
        )
