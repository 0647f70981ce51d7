"""``spikelab export``: a saved network to NIR or a Lava artifact."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _export(args: argparse.Namespace) -> int:
    from ..network import Network

    args.results_folder = Path(args.network).is_dir()  # a results folder: its network.h5
    if args.results_folder:
        args.network = str(Path(args.network) / "network.h5")
    net = Network.load(args.network)
    if args.report:
        from ..export.resources import resource_report

        print(resource_report(net, target="loihi2").to_text())
    if args.to == "nir":
        from ..export.nir import export_nir

        path = export_nir(net, args.out, dt=args.dt, strict=not args.lenient)
    else:
        from ..export.lava import export_lava

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
        from ..tasks.predict import run_settings

        run = run_settings(folder)
        opts["bin_steps"] = run["bin_steps"]
        if run["raw_events_blocked_by"] is None:
            opts["encoding"] = run["encoding"]  # the artifact then takes raw events
        else:
            opts["encoding_note"] = f"input counts only: {run['raw_events_blocked_by']}"
        if args.n_steps is None:
            opts["n_steps"], opts["n_steps_source"] = run["n_steps"], run["source"]
        if args.readout is None and args.results_folder and (folder / "readout.h5").is_file():
            args.readout = str(folder / "readout.h5")
    if args.readout is not None:
        opts["readout"] = args.readout
    if args.bin_steps is not None:
        opts["bin_steps"] = args.bin_steps or None
    return opts


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "export", help="export a saved network (network.h5 or a results folder) to NIR or Lava"
    )
    q.add_argument(
        "network",
        help="network.h5, or a classify results folder (Lava: with its readout and steps)",
    )
    q.add_argument("--to", choices=("nir", "lava"), required=True, help="the export format")
    q.add_argument("out", help="the file (NIR: .nir HDF5) or folder (Lava artifact) to write")
    q.add_argument("--dt", type=float, default=None, help="step in ms (default: the network's own)")
    q.add_argument(
        "--precision",
        choices=("floating_pt", "fixed_pt"),
        default="fixed_pt",
        help="Lava: the process models' arithmetic (default fixed_pt, as on Loihi 2)",
    )
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
