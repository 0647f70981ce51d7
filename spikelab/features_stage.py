"""The optional feature stage of an experiment (``[features]`` in a config).

``kind = "feast"``: FEAST (Afshar et al. 2020) learns its features online on the training
events (``fit_samples`` of them, 0 = all), then both splits are transformed into events
whose polarity is the feature index, so the sensor becomes (W, H, n_neurons) and the
encoding, the reservoir's input port and the histogram baseline take them unchanged. The
other keys are FEAST's hyperparameters. The fitted model is saved in ``states.h5``
under ``features/`` (``spikelab.features.load_feast`` reads it back).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np


def apply_features(
    fcfg: dict[str, Any], split: Any, seed: int, log: Any, progress: bool
) -> tuple[Any, tuple[int, int, int], Any]:
    """Returns (split with transformed events, new sensor size, fitted model or None)."""
    kind = fcfg.get("kind", "none")
    if kind in ("none", "", None):
        return split, split.sensor_size, None
    if kind != "feast":
        raise ValueError(f"features.kind {kind!r} is unknown; use 'none' or 'feast'")
    from .features import FEAST

    params = {k: v for k, v in fcfg.items() if k not in ("kind", "fit_samples")}
    params.setdefault("seed", seed)
    model = FEAST(**params)
    n_fit = int(fcfg.get("fit_samples", 0)) or len(split.train_events)
    rng = np.random.default_rng(seed)
    fit_idx = np.sort(rng.permutation(len(split.train_events))[:n_fit])
    log(f"FEAST: learning {model.n_neurons} features on {len(fit_idx)} training samples")
    model.fit([split.train_events[i] for i in fit_idx], sensor_size=split.sensor_size)
    miss = model.n_misses_ / max(model.n_events_seen_, 1)
    log(f"FEAST: {model.n_events_seen_} events seen, miss rate {miss:.3f}")
    w, h, _ = split.sensor_size
    out = replace(
        split,
        train_events=model.transform_many(split.train_events, sensor_size=split.sensor_size),
        test_events=model.transform_many(split.test_events, sensor_size=split.sensor_size),
        sensor_size=(w, h, int(model.n_neurons)),
        description=split.description + f"; FEAST {model.n_neurons} features",
    )
    return out, out.sensor_size, model
