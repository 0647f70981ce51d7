"""``spikelab report``: redraw results folders' figures, compare their metrics."""

from __future__ import annotations

import argparse
import logging
from typing import Any

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Compare the metrics of one or more results folders in one table (printed; with --out
also report.csv, report.md and the plot report.png) and draw each run's figures again
from its saved files (with --out, under figures/<run>/). A results folder is one that
`spikelab run` wrote: it holds .spikelab-results.json. Nothing in it is changed."""


def _report(args: argparse.Namespace) -> int:
    from ..report import DEFAULT_METRICS, format_text, load_runs, metrics_table, write_report

    runs = load_runs(args.results)  # every folder checked before anything is drawn
    table = metrics_table(runs, args.metric or DEFAULT_METRICS)
    print(format_text(table), end="")
    if args.out:
        written = write_report(runs, table, args.out, figures=not args.no_figures)
        for path in written:
            logger.debug("wrote %s", path)
        print(f"wrote {len(written)} files to {args.out}")
    elif args.no_figures:
        logger.warning("--no-figures has no effect without --out")
    return 0


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "report",
        help="compare results folders' metrics in one table and plot; redraw their figures",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS_DIR",
        help="a results folder written by `spikelab run` (holding .spikelab-results.json); "
        "give several to compare them, one column each",
    )
    q.add_argument(
        "--out",
        metavar="DIR",
        help="write report.csv (one row per run), report.md, report.png (the comparison "
        "plot) and figures/<run>/ (each run's figures redrawn) into DIR, a new or empty "
        "folder or an earlier report; without it only the table is printed",
    )
    q.add_argument(
        "--metric",
        action="append",
        metavar="PATTERN",
        help="a row of the table: a dotted path into metrics.json, wildcards allowed (e.g. "
        "'neurobench.*Sparsity', 'spikes.rate_hz'); repeat for several; default: accuracy, "
        "the NeuroBench metrics, energy, size and speed",
    )
    q.add_argument(
        "--no-figures",
        action="store_true",
        help="with --out: write the table and the plot only, do not redraw each run's figures",
    )
    q.set_defaults(func=_report)
