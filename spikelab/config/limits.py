"""The size guard: an estimate of the memory a reservoir needs while it is built, checked
against a limit before any data is loaded (``[reservoir]`` section).

Every builder holds O(n^2) temporaries for n neurons: ``lsm_column`` the [n, n, 3]
position differences and the [n, n] distance matrix, ``izhikevich_network`` and
``lin2025_lsm`` dense [n, n] draws and their CSR copies. The limit is 8 GB; raise it with
the environment variable ``SPIKELAB_MEMORY_LIMIT_GB`` (e.g. ``=64`` on a large machine).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from .schema import ConfigError

LIMIT_ENV = "SPIKELAB_MEMORY_LIMIT_GB"
DEFAULT_LIMIT_GB = 8.0
#: peak bytes per neuron pair while building (tracemalloc at 2000 neurons: 32, 33 and 40;
#: rounded up)
BYTES_PER_PAIR = {"lsm_column": 40, "izhikevich_network": 40, "lin2025_lsm": 48}


def memory_limit_bytes() -> float:
    """The limit in bytes: ``SPIKELAB_MEMORY_LIMIT_GB`` if set, else 8 GB."""
    raw = os.environ.get(LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_LIMIT_GB * 1e9
    try:
        gb = float(raw)
    except ValueError:
        gb = math.nan
    if not math.isfinite(gb) or gb <= 0:
        raise ConfigError(f"{LIMIT_ENV} must be a positive number of GB, got {raw!r}")
    return gb * 1e9


def reservoir_neurons(builder: str, n_neurons: int | None, params: Mapping[str, Any]) -> int:
    """The number of neurons a ``[reservoir]`` section builds (its builder's defaults when
    ``n_neurons`` is not set)."""
    if n_neurons is not None:
        return int(n_neurons)
    if builder == "lsm_column":
        return math.prod(int(s) for s in params.get("shape", (10, 10, 10)))
    if builder == "izhikevich_network":
        return int(params.get("n_exc", 800)) + int(params.get("n_inh", 200))
    return 200  # lin2025_lsm


def check_reservoir_size(
    builder: str, n_neurons: int | None, params: Mapping[str, Any], where: str = "reservoir"
) -> None:
    """ConfigError when building the reservoir would need more memory than the limit."""
    n = reservoir_neurons(builder, n_neurons, params)
    need = BYTES_PER_PAIR.get(builder, 64) * float(n) ** 2
    limit = memory_limit_bytes()
    if need > limit:
        raise ConfigError(
            f"{where}.n_neurons = {n} needs about {need / 1e9:.3g} GB to build "
            f"({builder}: O(n^2) temporaries), above the limit of {limit / 1e9:.3g} GB; "
            f"use fewer neurons, or raise the limit with the environment variable "
            f"{LIMIT_ENV}=<GB>"
        )
