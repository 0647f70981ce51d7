"""``spikelab bench``: the throughput suites of :mod:`spikelab.bench`."""

from __future__ import annotations

import argparse
from typing import Any


def _bench(args: argparse.Namespace) -> int:
    from ..bench import run_bench

    run_bench(suites=args.suite, json_path=args.json, data_dir=args.data, n_samples=args.samples)
    return 0


def add_parser(sub: Any) -> None:
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
