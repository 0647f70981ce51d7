"""Deployment: NIR graphs, Lava artifacts and hardware resource reports.

* ``export_nir(net, path)`` / ``import_nir(path)``: NIR graphs (``spikelab.export.nir``),
  read by norse, Sinabs, Rockpool, snnTorch, lava-dl, SpiNNaker 2, Xylo and Speck tools.
* ``export_lava(net, path, dt, precision, n_steps=..., readout=...)``: a Lava process graph
  that runs with Lava alone, optionally with the trained readout (``spikelab.export.lava``).
* ``resource_report(net, target="loihi2")``: neurons, synapses, fan-in/out, weight bits and
  the Loihi 2 neuro-cores a network needs (``spikelab.export.resources``).

Each submodule imports its heavy dependency (nir, lava) only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from ..network import Network
    from .resources import ResourceReport

__all__ = ["export_lava", "export_nir", "import_nir", "resource_report"]


def export_nir(net: Network, path: str | Path, **options: Any) -> Path:
    """Write ``net`` as a NIR graph file (see ``spikelab.export.nir.to_nir`` for options)."""
    from .nir import export_nir as _export

    return _export(net, path, **options)


def import_nir(path: str | Path, **options: Any) -> Network:
    """Read a NIR graph file into a ``Network`` (see ``spikelab.export.nir.from_nir``)."""
    from .nir import from_nir

    return from_nir(path, **options)


def export_lava(net: Network, path: str | Path, dt: float | None = None,
                precision: str = "fixed_pt", **options: Any) -> Path:  # fmt: skip
    """Write a Lava deployment artifact folder (see ``spikelab.export.lava``)."""
    from .lava import export_lava as _export

    return _export(net, path, dt=dt, precision=precision, **options)


def resource_report(net: Network, target: str = "loihi2", **options: Any) -> ResourceReport:
    """What ``net`` needs on ``target`` (only "loihi2" for now)."""
    from .resources import resource_report as _report

    return _report(net, target=target, **options)
