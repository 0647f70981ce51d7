"""Command line: ``spikelab run | demo | bench | export | predict | probe | datasets |
builders | info``.

One module per command family; each has ``add_parser(sub)``. A new command is a new
module listed in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("run", "bench", "export", "predict", "datasets", "info")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spikelab", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error instead of a one-line message",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
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
