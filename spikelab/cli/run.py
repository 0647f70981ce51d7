"""``spikelab run``, ``demo`` and ``probe``: a config with the command line applied."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEMO_CONFIG = "demo.toml"  # spikelab/config/packaged/demo.toml, shipped as package data


def load_run_config(path: str | Path | None, args: argparse.Namespace) -> dict[str, Any]:
    """The raw config of a file (or the packaged demo) with the command line applied:
    ``--backend`` first (``--set backend.name`` wins), then ``--set``, then ``--output``."""
    from ..config import apply_overrides, load_config, packaged_config, set_value

    cfg = packaged_config(DEMO_CONFIG) if path is None else load_config(path)
    if args.backend:
        table = cfg.get("backend")
        if not isinstance(table, dict) or table.get("name", "numba") != args.backend:
            cfg["backend"] = {}  # the file's options belong to the file's backend
        set_value(cfg, "backend.name", args.backend)
    cfg = apply_overrides(cfg, args.set or [])
    if args.output:
        set_value(cfg, "output.dir", args.output)
    if args.overwrite:
        set_value(cfg, "output.overwrite", True)
    return cfg


def _run(args: argparse.Namespace) -> int:
    from ..tasks import run_task

    cfg = load_run_config(args.config, args)
    if not getattr(args, "scheduler", None):
        run_task(cfg, progress=False if args.quiet else None)
        return 0
    from ..sweeps.cluster import connect, use_client

    with connect(args.scheduler) as client, use_client(client):  # chunks run on its workers
        run_task(cfg, progress=False if args.quiet else None)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from ..tasks.demo import run_demo

    args.config = None  # the packaged demo config: works from any folder
    if not args.output:  # its own results folder (results/demo): a rerun replaces it
        args.overwrite = True
    cfg = load_run_config(None, args)
    with ExitStack() as stack:
        if getattr(args, "scheduler", None):  # the classify chunks on a Dask cluster
            from ..sweeps.cluster import connect, use_client

            stack.enter_context(use_client(stack.enter_context(connect(args.scheduler))))
        result = run_demo(cfg, progress=False if args.quiet else None)
    print(result.summary())  # stdout: the command's own output
    return 0


def _probe(args: argparse.Namespace) -> int:
    from ..tasks.probe import probe_config

    folder, args.output = args.output, None  # --output is the probe's folder, not output.dir
    probe_config(load_run_config(args.config, args), samples=args.samples, output=folder)
    return 0


def add_run_options(q: argparse.ArgumentParser) -> None:
    q.add_argument(
        "--backend",
        help="backend name (numba, torch, brian2, lava, crossbar); the config's backend "
        "options are kept only when it names the same backend",
    )
    q.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value, e.g. reservoir.n_neurons=2000",
    )
    q.add_argument("--output", help="results folder (same as --set output.dir=...)")
    q.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier results folder at the output path (never a file, a user's "
        "folder or the data); same as --set output.overwrite=true",
    )
    q.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="encode and simulate the chunks (output.chunk_size samples each) on the workers "
        "of the Dask scheduler at ADDRESS (tcp://HOST:PORT); the states are identical to a "
        "run in this process",
    )


def _add_probe_parser(sub: Any) -> None:
    q = sub.add_parser(
        "probe", help="simulate a few samples of a config: rates, silent/saturated, raster"
    )
    q.add_argument("config", help="a classify experiment config (TOML)")
    q.add_argument("--samples", type=int, default=8, help="samples to simulate (default 8)")
    q.add_argument("--output", help="folder for the report and raster (default <output.dir>_probe)")
    q.add_argument("--backend", help="backend name (as for run)")
    q.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a config value (as for run)"
    )
    q.set_defaults(func=_probe, overwrite=False)


def add_parser(sub: Any) -> None:
    """Register ``run``, ``demo`` and ``probe``."""
    q = sub.add_parser("run", help="run an experiment config (TOML)")
    q.add_argument("config", help="the experiment config (TOML), e.g. examples/nmnist_lsm.toml")
    add_run_options(q)
    q.set_defaults(func=_run)
    q = sub.add_parser(
        "demo",
        help=f"the main job: spikelab/config/packaged/{DEMO_CONFIG} on generated N-MNIST-like data",
    )
    add_run_options(q)
    q.set_defaults(func=_demo)
    _add_probe_parser(sub)
