"""Command line: ``spikelab run | demo | bench | export | predict | probe | datasets |
builders | info``.

One module per command family; each has ``add_parser(sub)``. A new command is a new
module listed in :data:`COMMANDS`. Every command (and sub-command) gets ``-v/--verbose``
and ``-q/--quiet`` from :class:`CommandParser`, so they work before or after the command
name; a command module must not define them itself (argparse refuses the duplicate).
Log lines go to stderr through the ``spikelab`` logger (:func:`logging_to_stderr`);
stdout carries a command's own output (predictions, tables, JSON).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .. import __version__
from ..logs import LOGGER, LevelFormatter
from ..progress import progress_bars

COMMANDS = ("run", "sweep", "bench", "export", "predict", "datasets", "info", "report")


QUIET_HELP = "warnings and errors only, no progress bars"
VERBOSE_HELP = "debug lines too, each with its logger's name"


def add_verbosity(p: argparse.ArgumentParser, default: object) -> None:
    """``-q/--quiet`` and ``-v/--verbose`` (``args.quiet``, ``args.verbose``)."""
    p.add_argument("-q", "--quiet", action="store_true", default=default, help=QUIET_HELP)
    p.add_argument("-v", "--verbose", action="store_true", default=default, help=VERBOSE_HELP)


class CommandParser(argparse.ArgumentParser):
    """The parser of a command: takes ``-q`` and ``-v`` too, leaving the values given
    before the command name alone unless given again (their default is SUPPRESS)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        add_verbosity(self, argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spikelab",
        description="spiking reservoirs (LSM, LIF, Izhikevich) on pluggable backends; "
        "`spikelab COMMAND -h` shows a command's arguments and options (docs/cli.md)",
    )
    p.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error instead of a one-line message",
    )
    p.add_argument("--version", action="version", version=f"spikelab {__version__}",
                   help="print spikelab's version and exit")  # fmt: skip
    add_verbosity(p, False)
    sub = p.add_subparsers(
        dest="command",
        required=True,
        parser_class=CommandParser,
        help="the command (spikelab COMMAND -h: its arguments and options)",
    )
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return p


@contextmanager
def logging_to_stderr(quiet: bool = False, verbose: bool = False) -> Iterator[None]:
    """Within the block, the ``spikelab`` logger writes to stderr: INFO and up (the
    message alone; warnings as ``WARNING: ...``), WARNING and up when ``quiet``, DEBUG and
    up with the logger's name when ``verbose``. The logger is restored afterwards."""
    logger = logging.getLogger(LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt) if verbose else LevelFormatter())
    level = logger.level
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    logger.addHandler(handler)
    # A module-level logging.debug() (norse's __init__ has one) configures the root logger
    # with a stderr handler when it has none: every line would then print twice.
    root, guard = logging.getLogger(), logging.NullHandler()
    root.addHandler(guard)
    try:
        yield
    finally:
        root.removeHandler(guard)
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quiet and args.verbose:
        parser.error("-q/--quiet and -v/--verbose contradict each other; give one")
    # quiet: no bars; else a bar wherever stderr is a terminal (spikelab.progress)
    with logging_to_stderr(args.quiet, args.verbose), progress_bars(False if args.quiet else None):
        logging.getLogger(__name__).debug("spikelab %s: %s", __version__, vars(args))
        return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """The parsed command, our errors as one line and an exit code (2: bad input, 3: a
    missing package) unless ``--debug``."""
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
