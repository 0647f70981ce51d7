"""``spikelab predict``: classify events with a results folder's network and readout."""

from __future__ import annotations

import argparse
from typing import Any


def _predict(args: argparse.Namespace) -> int:
    from ..fileio import write_json_atomic
    from ..tasks.predict import predict

    result = predict(args.results, args.events or None, backend=args.backend,
                     progress=False if args.quiet else None)  # fmt: skip
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


def add_parser(sub: Any) -> None:
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
    q.set_defaults(func=_predict)
