"""``spikelab datasets``: generate the embedded datasets."""

from __future__ import annotations

import argparse
from typing import Any


def _datasets(args: argparse.Namespace) -> int:
    from ..progress import show_bars

    if args.kind == "nmnist-like":
        from ..datasets import generate_nmnist_like

        out = generate_nmnist_like(
            args.out,
            per_class=args.per_class,
            test_per_class=args.test_per_class,
            seed=args.seed,
            overwrite=args.overwrite,
            progress=show_bars(),  # off under -q; else on a terminal (spikelab.progress)
        )
    else:
        from ..datasets import generate_ntidigits_like

        out = generate_ntidigits_like(
            args.out,
            per_class=args.per_class,
            seed=args.seed,
            test_per_class=args.test_per_class,
            overwrite=args.overwrite,
            progress=show_bars(),
        )
    print(f"wrote {out}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    """``spikelab datasets convert fsdd ROOT OUT``: FSDD as an N-TIDIGITS HDF5 file."""
    from ..datasets.cochlea import fsdd_cochlea
    from ..datasets.fsdd_hdf5 import convert_fsdd
    from ..progress import show_bars

    out = convert_fsdd(
        args.root,
        args.out,
        cochlea=fsdd_cochlea(),
        cache_dir=args.cache_dir or None,
        overwrite=args.overwrite,
        progress=show_bars(),  # off under -q; else on a terminal (spikelab.progress)
        split=args.split,
        test_fraction=args.test_fraction,
        seed=args.seed,
        test_speakers=tuple(args.test_speakers),
        on_error=args.on_error,
    )
    print(f"wrote {out}")
    return 0


def _add_convert(dsub: Any) -> None:
    c = dsub.add_parser(
        "convert",
        help="turn real recordings into cochlea events in N-TIDIGITS' HDF5 layout (tonic's "
        "NTIDIGITS18 reads it)",
    )
    c.add_argument("kind", choices=("fsdd",), help="the dataset to convert: fsdd (FSDD WAVs)")
    c.add_argument("root", help="the FSDD folder (holding recordings/{digit}_{speaker}_{i}.wav)")
    c.add_argument("out", help="the HDF5 file to write (*.hdf5/*.h5), or a folder: "
                   "OUT/NTIDIGITS18/n-tidigits.hdf5")  # fmt: skip
    c.add_argument("--split", default="auto", choices=("auto", "fsdd", "stratified", "speakers"),
                   help="train/test partitions: auto (FSDD's indices 0-4 as test when present, "
                   "else stratified), fsdd, stratified, speakers")  # fmt: skip
    c.add_argument("--test-fraction", type=float, default=0.2,
                   help="test share per digit, --split stratified (default 0.2)")  # fmt: skip
    c.add_argument("--test-speakers", nargs="+", default=[], metavar="NAME",
                   help="held-out speakers for --split speakers, e.g. george")  # fmt: skip
    c.add_argument("--seed", type=int, default=0, help="seed of the stratified split (default 0)")
    c.add_argument("--cache-dir", default="results/cache/cochlea",
                   help="folder of the cochlea-event cache ('' : none; default "
                   "results/cache/cochlea)")  # fmt: skip
    c.add_argument("--on-error", default="raise", choices=("raise", "skip"),
                   help="an unreadable WAV: stop naming it, or warn and skip it")  # fmt: skip
    c.add_argument("--overwrite", action="store_true",
                   help="replace an earlier output of this command (only those)")  # fmt: skip
    c.set_defaults(func=_convert)


def add_parser(sub: Any) -> None:
    q = sub.add_parser("datasets", help="generate the embedded datasets")
    dsub = q.add_subparsers(dest="action", required=True, help="what to do (generate, convert)")
    g = dsub.add_parser("generate", help="write a generated dataset in its real file format")
    g.add_argument("kind", choices=("nmnist-like", "ntidigits-like"), help="the dataset to write")
    g.add_argument("out", help="the folder (N-MNIST layout) or HDF5 file to write")
    g.add_argument("--per-class", type=int, default=100, help="training samples per class")
    g.add_argument("--test-per-class", type=int, default=None,
                   help="test samples per class (default: the generator's own)")  # fmt: skip
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--overwrite", action="store_true", help="replace an earlier output")
    g.set_defaults(func=_datasets)
    _add_convert(dsub)
