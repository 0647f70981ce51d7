"""The client's log level travels with every task: ``-q`` silences the lines of the points
and chunks run on the workers (and in-process) as it does the client's; INFO shows them."""

from __future__ import annotations

import logging

from spikelab.cli import main
from spikelab.config import to_toml


def test_quiet_silences_the_points_lines_in_process(tiny_cfg, tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(to_toml(tiny_cfg))
    argv = ["sweep", str(config), "--grid", "reservoir.weight_scale=0.5", "--no-dask"]
    assert main([*argv, "--out", str(tmp_path / "quiet"), "-q"]) == 0
    quiet = capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "loud")]) == 0
    loud = capsys.readouterr().err
    assert "reservoir: lsm_column" in loud and "test accuracy" in loud  # the point's lines
    assert "reservoir: lsm_column" not in quiet and "test accuracy" not in quiet, quiet


def test_the_client_level_travels_to_the_workers(cluster):
    from spikelab.sweeps.cluster import ordered_map

    def lines_on_the_worker(item):
        """Log a line at INFO and one at WARNING on the worker; what its stderr got."""
        import io
        import logging
        import os
        import sys

        stderr, sys.stderr = sys.stderr, io.StringIO()
        try:
            logging.getLogger("spikelab.tasks").info("info line %d", item)
            logging.getLogger("spikelab.tasks").warning("warning line %d", item)
            return os.getpid(), sys.stderr.getvalue()
        finally:
            sys.stderr = stderr

    logger = logging.getLogger("spikelab")
    before = logger.level
    seen = {}
    try:
        for level in (logging.WARNING, logging.INFO):  # -q, then the default
            logger.setLevel(level)
            seen[level] = list(ordered_map(cluster, lines_on_the_worker, range(2)))
    finally:
        logger.setLevel(before)
    pids = {pid for pid, _ in seen[logging.WARNING]}
    assert pids and pids.isdisjoint({__import__("os").getpid()})  # ran on worker processes
    for _, text in seen[logging.WARNING]:
        assert "warning line" in text and "info line" not in text, text
    for pid, text in seen[logging.INFO]:
        assert "info line" in text and "warning line" in text, text
        assert f"pid {pid}]" in text  # prefixed with the worker's host and process
