"""Logging and the command line: the ``spikelab`` logger instead of printed lines, ``-q`` and
``-v`` before or after the command, ``--version``, a help text for every option, and the
one place that decides whether progress bars show (``spikelab.progress``)."""

from __future__ import annotations

import argparse
import io
import logging
import sys
from pathlib import Path

import pytest

import spikelab
from spikelab.cli import build_parser, logging_to_stderr, main
from spikelab.logs import forwarding
from spikelab.progress import bar, progress_bars, show_bars

TINY = """
[dataset]
name = "nmnist"
root = "{root}"
max_per_class = 2
test_fraction = 0.5
[encoding]
dt = 1.0
duration = 30.0
[reservoir]
builder = "lsm_column"
n_neurons = 27
seed = 1
[readout]
kind = "ridge"
alpha = 10.0
[baseline]
n_time_bins = 0
[output]
dir = "{out}"
plots = false
"""


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path) -> Path:
    """A classify config on 2 real N-MNIST recordings per class (train and test)."""
    tmp_path = tmp_path_factory.mktemp("logging_cli")
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.format(root=shared_data_dir, out=tmp_path / "out"))
    return cfg


def overwrite(cfg: Path) -> dict:
    from spikelab.config import load_config

    raw = load_config(cfg)
    raw["output"]["overwrite"] = True
    return raw


def run_args(cfg: Path, *extra: str) -> list[str]:
    return ["run", str(cfg), "--overwrite", *extra]


# ---- the library: a logger, no handler of its own ----------------------------------------------
def test_the_library_adds_no_handler():
    assert spikelab.__version__ and logging.getLogger("spikelab").handlers == []


def test_a_run_logs_its_lines_through_the_spikelab_logger(tiny_config, caplog, capsys):
    from spikelab.tasks import run_task

    with caplog.at_level(logging.INFO, logger="spikelab"):
        run_task(overwrite(tiny_config), progress=False)
    by_name = {r.name for r in caplog.records}
    assert "spikelab.tasks.classify" in by_name and "spikelab.tasks.stages" not in by_name
    assert any(r.getMessage().startswith("test accuracy") for r in caplog.records)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""  # nothing printed: no handler but the program's


def test_a_log_callable_still_receives_the_lines_of_its_own_call(tiny_config):
    from spikelab.tasks import run_task

    lines: list[str] = []
    run_task(overwrite(tiny_config), progress=False, log=lines.append)
    assert any(line.startswith("test accuracy") for line in lines)
    assert any(line.startswith("results: ") for line in lines)
    level = logging.getLogger("spikelab").level
    with forwarding(lines.append):
        logging.getLogger("spikelab.x").warning("careful")
        logging.getLogger("spikelab.x").debug("not forwarded")
    assert lines[-1] == "WARNING: careful" and logging.getLogger("spikelab").level == level


# ---- the command line: -q, -v, --version ------------------------------------------------------
@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_silences_info_lines_and_bars(tiny_config, capsys, where):
    argv = ["-q", *run_args(tiny_config)] if where == "before" else run_args(tiny_config, "-q")
    assert main(argv) == 0
    out = capsys.readouterr()
    assert out.out == ""  # the tiny reservoir is nearly silent: only that warning remains
    assert (
        out.err.startswith("WARNING: the reservoir is nearly silent") and out.err.count("\n") == 1
    )


def test_default_shows_info_lines_on_stderr_and_verbose_adds_debug(tiny_config, capsys):
    assert main(run_args(tiny_config)) == 0
    err = capsys.readouterr().err
    assert "test accuracy" in err and "DEBUG" not in err
    assert main(["-v", *run_args(tiny_config)]) == 0
    err = capsys.readouterr().err
    assert "DEBUG spikelab.tasks.stages: train: chunk 1, " in err
    assert "INFO spikelab.tasks.classify: test accuracy" in err
    assert logging.getLogger("spikelab").level == logging.NOTSET  # restored after the command


def test_warnings_pass_quiet(capsys):
    with logging_to_stderr(quiet=True):
        logging.getLogger("spikelab.tasks.classify").info("hidden")
        logging.getLogger("spikelab.tasks.classify").warning("the reservoir is nearly silent")
    assert capsys.readouterr().err == "WARNING: the reservoir is nearly silent\n"


def test_quiet_and_verbose_together_is_an_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["-q", "info", "-v"])
    assert e.value.code == 2 and "contradict" in capsys.readouterr().err


def test_version_prints_the_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out == f"spikelab {spikelab.__version__}\n"


# ---- every option has a help text, commands added later included -------------------------------
def _parsers(p: argparse.ArgumentParser, path: str = "spikelab"):
    yield path, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def test_every_command_argument_and_option_has_help():
    missing = []
    for path, p in _parsers(build_parser()):
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{path}: {'/'.join(action.option_strings) or action.dest}")
            if isinstance(action, argparse._SubParsersAction):
                helped = {a.dest for a in action._choices_actions if (a.help or "").strip()}
                missing += [f"{path} {n}: no help" for n in action.choices if n not in helped]
    assert not missing, "no help text for:\n" + "\n".join(missing)


def test_every_command_takes_quiet_and_verbose():
    for path, p in _parsers(build_parser()):
        assert {"-q", "--quiet", "-v", "--verbose"} <= set(p._option_string_actions), path


# ---- progress bars: one place decides ---------------------------------------------------------
def test_show_bars_explicit_then_block_then_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    assert show_bars(True) and not show_bars(False) and not show_bars()
    with progress_bars(True):
        assert show_bars() and not show_bars(False)
        with progress_bars(None):  # None keeps the enclosing choice
            assert show_bars()
        with progress_bars(False):
            assert not show_bars()
    assert not show_bars()


def test_bar_writes_only_when_shown():
    for show, written in ((True, True), (False, False)):
        out = io.StringIO()
        for _ in bar(range(3), progress=show, file=out, desc="x"):
            pass
        assert bool(out.getvalue()) is written


def test_feast_fit_shows_a_bar_inside_a_progress_block(capsys):
    import numpy as np

    from spikelab.datasets import EVENT_DTYPE
    from spikelab.features import FEAST

    ev = np.zeros(50, EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"] = np.arange(50) % 8, np.arange(50) % 5, np.arange(50) * 100
    with progress_bars(True):
        FEAST(n_neurons=4, radius=1, seed=0).fit([ev, ev], sensor_size=(8, 5, 2))
    assert "FEAST fit" in capsys.readouterr().err
    FEAST(n_neurons=4, radius=1, seed=0).fit([ev, ev], sensor_size=(8, 5, 2))
    assert "FEAST fit" not in capsys.readouterr().err  # not a terminal, no block: no bar


def test_brian2_reports_its_run_as_a_bar_inside_a_progress_block(capsys):
    import numpy as np
    import scipy.sparse as sp

    from spikelab.backends.base import BackendUnavailable

    net = spikelab.Network(
        populations=(spikelab.Population(name="pop", size=3, model=spikelab.LIF(tau_mem=10.0)),),
        inputs=(spikelab.InputPort(name="in", size=2),),
        projections=(
            spikelab.Projection(source="in", target="pop", weights=sp.csr_matrix(np.ones((2, 3)))),
        ),
    )
    batch = spikelab.SpikeBatch.from_dense(np.ones((1, 20, 2), np.float32), dt=0.5)
    try:
        sim = net.compile("brian2", dt=0.5)
    except BackendUnavailable as exc:
        pytest.skip(f"brian2 unavailable: {exc}")
    with progress_bars(True):
        shown = sim.run(batch)
    assert "brian2: " in capsys.readouterr().err  # the bar Brian2's report= drives
    hidden = sim.run(batch)  # no block, stderr not a terminal: no bar
    assert "brian2: " not in capsys.readouterr().err
    np.testing.assert_array_equal(shown.counts, hidden.counts)
