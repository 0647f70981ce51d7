"""The optional feature stage of an experiment (``[features]`` in a config)."""

from __future__ import annotations

from typing import Any

import numpy as np


def apply_features(
    fcfg: dict[str, Any], split: Any, seed: int, log: Any, progress: bool
) -> tuple[Any, tuple[int, int, int], dict[str, np.ndarray] | None]:
    """Returns (split with transformed events, new sensor size, learned state to save)."""
    kind = fcfg.get("kind", "none")
    if kind in ("none", "", None):
        return split, split.sensor_size, None
    raise ValueError(f"features.kind {kind!r} is unknown; use 'none' or 'feast'")
