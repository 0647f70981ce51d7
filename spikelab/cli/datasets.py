"""``spikelab datasets``: generate the embedded datasets."""

from __future__ import annotations

import argparse
from typing import Any


def _datasets(args: argparse.Namespace) -> int:
    if args.kind == "nmnist-like":
        from ..datasets import generate_nmnist_like

        out = generate_nmnist_like(
            args.out,
            per_class=args.per_class,
            test_per_class=args.test_per_class,
            seed=args.seed,
            overwrite=args.overwrite,
        )
    else:
        from ..datasets import generate_ntidigits_like

        out = generate_ntidigits_like(
            args.out,
            per_class=args.per_class,
            seed=args.seed,
            test_per_class=args.test_per_class,
            overwrite=args.overwrite,
        )
    print(f"wrote {out}")
    return 0


def add_parser(sub: Any) -> None:
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
