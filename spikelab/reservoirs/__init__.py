"""Reservoir builders: seeded functions returning a ``Network``.

* ``lsm_column``        Maass, Natschläger & Markram (2002), Neural Computation 14:2531,
                        LIF or Izhikevich neurons (``neuron``).
* ``izhikevich_network`` Izhikevich (2003), IEEE Trans. Neural Networks 14:1569.
* ``lin2025_lsm``       the N-MNIST preset of Lin et al. (2025), Nat. Comput. Sci.

All randomness comes from ``numpy.random.default_rng(seed)``; the same arguments give a
bit-identical network. ``catalogue`` lists every builder's options with defaults and units
(``spikelab builders``, docs/reservoirs.md).
"""

from __future__ import annotations

from .inputs import grid_positions
from .izhikevich import izhikevich_network
from .lin2025 import lin2025_lsm
from .lsm import MAASS_A, MAASS_C, MAASS_DELAY_MS, connection_probability, lsm_column

__all__ = [
    "MAASS_A",
    "MAASS_C",
    "MAASS_DELAY_MS",
    "connection_probability",
    "grid_positions",
    "izhikevich_network",
    "lin2025_lsm",
    "lsm_column",
]
