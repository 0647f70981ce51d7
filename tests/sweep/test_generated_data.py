"""A sweep whose config generates its dataset: generated once on the client, quietly under
-q (its log line had been forwarded back into the logger that emitted it: endless
recursion, RecursionError, when the sweep ran from the command line)."""

from __future__ import annotations

from spikelab.cli import main


def test_a_sweep_generates_its_dataset_once_and_stays_quiet(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(
        'name = "tiny"\n'
        '[dataset]\nname = "nmnist"\nroot = "data/gen"\ngenerate = "nmnist-like"\n'
        "per_class = 2\n"
        "[encoding]\ndt = 1.0\nduration = 40.0\n"
        '[reservoir]\nbuilder = "lsm_column"\nn_neurons = 8\n'
        '[readout]\nkind = "ridge"\nalpha = [1.0]\n'
        "[baseline]\nn_time_bins = 0\n"
        "[output]\nplots = false\n"
    )
    argv = ["-q", "sweep", "tiny.toml", "--grid", "readout.alpha=[1.0],[10.0,100.0]"]
    assert main([*argv, "--no-dask", "--out", "sw"]) == 0
    assert (tmp_path / "data" / "gen").is_dir()
    summary = (tmp_path / "sw" / "sweep_summary.csv").read_text().splitlines()
    assert len(summary) == 3  # header + one row per list value
    err = capsys.readouterr().err
    assert "generating" not in err and "Traceback" not in err, err
