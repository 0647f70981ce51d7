"""Command line: ``spikelab run | demo | bench | export | predict | probe | datasets |
builders | info``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEMO_CONFIG = "demo.toml"  # spikelab/config/packaged/demo.toml, shipped as package data


def _load_run_config(path: str | Path | None, args: argparse.Namespace) -> dict[str, Any]:
    """The raw config of a file (or the packaged demo) with the command line applied:
    ``--backend`` first (``--set backend.name`` wins), then ``--set``, then ``--output``."""
    from .config import apply_overrides, load_config, packaged_config, set_value

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
    from .tasks import run_task

    run_task(_load_run_config(args.config, args), progress=not args.quiet)
    return 0


def _demo(args: argparse.Namespace) -> int:
    args.config = None  # the packaged demo config: works from any folder
    if not args.output:  # its own results folder (results/demo): a rerun replaces it
        args.overwrite = True
    return _run(args)


def _bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    run_bench(suites=args.suite, json_path=args.json, data_dir=args.data, n_samples=args.samples)
    return 0


def _export(args: argparse.Namespace) -> int:
    from .network import Network

    args.results_folder = Path(args.network).is_dir()  # a results folder: its network.h5
    if args.results_folder:
        args.network = str(Path(args.network) / "network.h5")
    net = Network.load(args.network)
    if args.report:
        from .export.resources import resource_report

        print(resource_report(net, target="loihi2").to_text())
    if args.to == "nir":
        from .export.nir import export_nir

        path = export_nir(net, args.out, dt=args.dt, strict=not args.lenient)
    else:
        from .export.lava import export_lava

        path = export_lava(net, args.out, dt=args.dt, precision=args.precision,
                           **_lava_options(args))  # fmt: skip
    print(f"wrote {path}")
    return 0


def _lava_options(args: argparse.Namespace) -> dict[str, Any]:
    """n_steps (--n-steps, else the results folder's encoding, else the default), the
    readout (--readout, or the results folder's readout.h5) and its bins."""
    folder = Path(args.network).parent
    opts: dict[str, Any] = {"n_steps": args.n_steps}
    if (folder / "config.toml").is_file() and (folder / "states.h5").is_file():
        from .tasks.predict import run_settings

        run = run_settings(folder)
        opts["bin_steps"] = run["bin_steps"]
        if args.n_steps is None:
            opts["n_steps"], opts["n_steps_source"] = run["n_steps"], run["source"]
        if args.readout is None and args.results_folder and (folder / "readout.h5").is_file():
            args.readout = str(folder / "readout.h5")
    if args.readout is not None:
        opts["readout"] = args.readout
    if args.bin_steps is not None:
        opts["bin_steps"] = args.bin_steps or None
    return opts


def _predict(args: argparse.Namespace) -> int:
    from .fileio import write_json_atomic
    from .tasks.predict import predict

    log = (lambda _: None) if args.json == "-" else print
    result = predict(args.results, args.events or None, backend=args.backend,
                     progress=not args.quiet, log=log)  # fmt: skip
    out = result.to_dict()
    if args.json == "-":
        import json

        print(json.dumps(out, indent=2))
        return 0
    for row in out["predictions"]:
        print(f"{row['sample']}\t{row['label']}")
    if "identical_to_run" in out:
        print(f"identical to the run's test predictions: {out['identical_to_run']} of "
              f"{out['n_samples']}")  # fmt: skip
    if args.json:
        print(f"wrote {write_json_atomic(args.json, out)}")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    if args.kind == "nmnist-like":
        from .datasets import generate_nmnist_like

        out = generate_nmnist_like(
            args.out,
            per_class=args.per_class,
            test_per_class=args.test_per_class,
            seed=args.seed,
            overwrite=args.overwrite,
        )
    else:
        from .datasets import generate_ntidigits_like

        out = generate_ntidigits_like(
            args.out,
            per_class=args.per_class,
            seed=args.seed,
            test_per_class=args.test_per_class,
            overwrite=args.overwrite,
        )
    print(f"wrote {out}")
    return 0


def _builders(args: argparse.Namespace) -> int:
    from .reservoirs.catalogue import render_markdown

    print(render_markdown(args.builder or None), end="")
    return 0


def _probe(args: argparse.Namespace) -> int:
    from .tasks.probe import probe_config

    folder, args.output = args.output, None  # --output is the probe's folder, not output.dir
    probe_config(_load_run_config(args.config, args), samples=args.samples, output=folder)
    return 0


def _add_probe_parser(sub: Any) -> None:
    q = sub.add_parser(
        "probe", help="simulate a few samples of a config: rates, silent/saturated, raster"
    )
    q.add_argument("config")
    q.add_argument("--samples", type=int, default=8, help="samples to simulate (default 8)")
    q.add_argument("--output", help="folder for the report and raster (default <output.dir>_probe)")
    q.add_argument("--backend", help="backend name (as for run)")
    q.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config value")
    q.set_defaults(func=_probe, overwrite=False)


def _info(args: argparse.Namespace) -> int:
    import platform

    from . import __version__
    from .backends.base import backend_versions

    print(f"spikelab {__version__}, Python {platform.python_version()}")
    rows = backend_versions()
    print(f"{'backend':10} {'available':10} versions / install")
    for r in rows:
        print(f"{r['backend']:10} {r['available']:10} {r['versions'] or ''} {r['install']}")
    return 0


def _add_run_options(q: argparse.ArgumentParser) -> None:
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
    q.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_run_parsers(sub: Any) -> None:
    q = sub.add_parser("run", help="run an experiment config (TOML)")
    q.add_argument("config")
    _add_run_options(q)
    q.set_defaults(func=_run)
    q = sub.add_parser(
        "demo",
        help=f"the main job: spikelab/config/packaged/{DEMO_CONFIG} on generated N-MNIST-like data",
    )
    _add_run_options(q)
    q.set_defaults(func=_demo)


def _add_bench_parser(sub: Any) -> None:
    q = sub.add_parser(
        "bench", help="throughput benchmarks (suites of spikelab.bench; see benchmarks/README.md)"
    )
    q.add_argument("--suite", action="append", help="suite name(s); default: all")
    q.add_argument("--json", help="write the records to this JSON file")
    q.add_argument(
        "--data",
        help="N-MNIST folder (default: $SPIKELAB_NMNIST, else ../shared/data/nmnist-small from the "
        "current folder or the source checkout)",
    )
    q.add_argument("--samples", type=int, default=None, help="samples per measurement")
    q.set_defaults(func=_bench)


def _add_export_parser(sub: Any) -> None:
    q = sub.add_parser(
        "export", help="export a saved network (network.h5 or a results folder) to NIR or Lava"
    )
    q.add_argument(
        "network",
        help="network.h5, or a classify results folder (Lava: with its readout and steps)",
    )
    q.add_argument("--to", choices=("nir", "lava"), required=True)
    q.add_argument("out")
    q.add_argument("--dt", type=float, default=None, help="step in ms (default: the network's own)")
    q.add_argument("--precision", choices=("floating_pt", "fixed_pt"), default="fixed_pt")
    q.add_argument("--report", action="store_true", help="print the Loihi 2 resource report")
    q.add_argument(
        "--n-steps",
        type=int,
        default=None,
        help="Lava: steps per run (longer inputs raise); default: the results folder's "
        "encoding, else 100",
    )
    q.add_argument("--readout", help="Lava: include this readout.h5 (and a predict function)")
    q.add_argument(
        "--bin-steps",
        type=int,
        default=None,
        help="Lava: the readout's count bins in steps (default: the results folder's "
        "record.bin_steps; 0: one bin)",
    )
    q.add_argument(
        "--lenient",
        action="store_true",
        help="NIR: export features NIR cannot express (e.g. refractoriness) only as "
        "metadata instead of refusing",
    )
    q.set_defaults(func=_export)


def _add_predict_parser(sub: Any) -> None:
    q = sub.add_parser(
        "predict", help="classify event files with a results folder's network and readout"
    )
    q.add_argument("results", help="a classify results folder (config.toml, network.h5, ...)")
    q.add_argument(
        "events",
        nargs="*",
        help="N-MNIST .bin or .npy event files; none: the run's own test split",
    )
    q.add_argument("--backend", help="simulate on this backend (default: the run's)")
    q.add_argument("--json", help="also write the predictions to this JSON file ('-': stdout)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=_predict)


def _add_datasets_parser(sub: Any) -> None:
    q = sub.add_parser("datasets", help="generate the embedded datasets")
    dsub = q.add_subparsers(dest="action", required=True)
    g = dsub.add_parser("generate")
    g.add_argument("kind", choices=("nmnist-like", "ntidigits-like"))
    g.add_argument("out")
    g.add_argument("--per-class", type=int, default=100)
    g.add_argument("--test-per-class", type=int, default=None)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--overwrite", action="store_true")
    g.set_defaults(func=_datasets)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spikelab", description=__doc__)
    p.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error instead of a one-line message",
    )
    sub = p.add_subparsers(dest="command", required=True)
    _add_run_parsers(sub)
    _add_bench_parser(sub)
    _add_export_parser(sub)
    _add_predict_parser(sub)
    _add_probe_parser(sub)
    _add_datasets_parser(sub)
    q = sub.add_parser("info", help="backends, their availability and versions")
    q.set_defaults(func=_info)
    q = sub.add_parser("builders", help="the reservoir builders, their options and units")
    q.add_argument("builder", nargs="*", help="only these builders (default: all)")
    q.set_defaults(func=_builders)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.debug:
        return int(args.func(args) or 0)
    try:
        return int(args.func(args) or 0)
    except (
        FileNotFoundError,
        FileExistsError,
        ValueError,
        TypeError,
        KeyError,
        NotImplementedError,
    ) as e:  # NotImplementedError: UnsupportedFeature
        _error(e)
        return 2
    except ImportError as e:  # BackendUnavailable and missing optional packages
        _error(e)
        return 3


def _error(e: BaseException) -> None:
    print(f"spikelab: error: {e}", file=sys.stderr)
    print(
        "(if this looks like a bug rather than bad input, `spikelab --debug ...` shows the "
        "traceback)",
        file=sys.stderr,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
