"""Sweeps: a config run at every point of a grid times seeds, on Dask or in-process.

    import spikelab
    result = spikelab.sweep("examples/sweep_nmnist.toml", ["reservoir.weight_scale=0.05"], "0-2")

(``spikelab.sweep`` is :func:`spikelab.sweeps.sweep`, imported on first use.)

Modules: ``grid`` (points, values read as ``--set`` reads them, checked before anything
runs), ``point`` (one point run on a worker; its folder written by the client),
``runner`` (skip what is done, run the rest, write the tables), ``table`` (sweep.csv,
sweep_summary.csv), ``plots``, ``cluster`` (the local cluster, connecting to a scheduler,
the chunk map of ``spikelab run --scheduler``). See docs/sweeps.md.
"""

from .grid import Point, make_points, parse_grid, parse_seeds
from .runner import SweepResult, sweep

__all__ = ["Point", "SweepResult", "make_points", "parse_grid", "parse_seeds", "sweep"]
