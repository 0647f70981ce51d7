"""``spikelab info`` and ``builders``: backends and reservoir builders."""

from __future__ import annotations

import argparse
from typing import Any


def _info(args: argparse.Namespace) -> int:
    import platform

    from .. import __version__
    from ..backends.base import backend_versions

    print(f"spikelab {__version__}, Python {platform.python_version()}")
    rows = backend_versions()
    print(f"{'backend':10} {'available':10} versions / install")
    for r in rows:
        print(f"{r['backend']:10} {r['available']:10} {r['versions'] or ''} {r['install']}")
    return 0


def _builders(args: argparse.Namespace) -> int:
    from ..reservoirs.catalogue import render_markdown

    print(render_markdown(args.builder or None), end="")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``info`` and ``builders``."""
    q = sub.add_parser("info", help="backends, their availability and versions")
    q.set_defaults(func=_info)
    q = sub.add_parser("builders", help="the reservoir builders, their options and units")
    q.add_argument("builder", nargs="*", help="only these builders (default: all)")
    q.set_defaults(func=_builders)
