"""``spikelab sweep``: a config at every point of a grid times seeds, on Dask or in-process
(``spikelab.sweeps``; docs/sweeps.md)."""

from __future__ import annotations

import argparse
import os
from typing import Any


def _sweep(args: argparse.Namespace) -> int:
    from ..sweeps import sweep
    from ..sweeps.cluster import SCHEDULER_ENV
    from .run import load_run_config

    if args.no_dask and (args.scheduler or args.workers):
        raise ValueError("--no-dask runs in this process: drop --scheduler / --workers")
    if not args.grid:
        raise ValueError(
            "give at least one --grid KEY=V1,V2,... (e.g. reservoir.weight_scale=0.05,0.1)"
        )
    args.output, args.overwrite_config = None, args.overwrite
    args.overwrite = False  # --overwrite is the sweep's (every point), not output.overwrite
    cfg = load_run_config(args.config, args)
    result = sweep(
        cfg,
        args.grid,
        args.seeds,
        out=args.out,
        scheduler=args.scheduler or os.environ.get(SCHEDULER_ENV) or None,
        workers=args.workers,
        dask=not args.no_dask,
        overwrite=args.overwrite_config,
        progress=False if args.quiet else None,
    )
    return 1 if result.failed else 0


def add_parser(sub: Any) -> None:
    """Register ``sweep``."""
    q = sub.add_parser(
        "sweep",
        help="run a config over a grid of values x seeds (on Dask, or in-process with --no-dask)",
    )
    q.add_argument("config", help="the experiment config (TOML) every point starts from")
    q.add_argument(
        "--grid",
        action="append",
        metavar="KEY=V1,V2,...",
        help="a swept config key and its values, read as --set reads them "
        "(e.g. reservoir.weight_scale=0.05,0.1); repeat for more keys: the points are the "
        "Cartesian product",
    )
    q.add_argument(
        "--seeds",
        default=None,
        help="seeds of every grid point: 0-4, 0,3,7 or 2 (default: the config's seed)",
    )
    q.add_argument(
        "--out",
        default=None,
        help="the sweep folder: sweep.csv, plots, points/<name>/ (default <output.dir>_sweep)",
    )
    q.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running Dask scheduler (tcp://HOST:PORT) to run the points on "
        "(default $SPIKELAB_SCHEDULER, else an embedded local cluster)",
    )
    q.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes of the embedded local cluster (default: one per core)",
    )
    q.add_argument(
        "--no-dask", action="store_true", help="run the points one by one in this process"
    )
    q.add_argument(
        "--overwrite",
        action="store_true",
        help="recompute every point and replace its folder (default: points whose results "
        "are present with the same config hash are skipped; other results are refused)",
    )
    q.add_argument(
        "--backend", help="backend name for every point (as for run; --set backend.name wins)"
    )
    q.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value for every point, e.g. reservoir.n_neurons=500",
    )
    q.set_defaults(func=_sweep)
