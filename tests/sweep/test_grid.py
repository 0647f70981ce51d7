"""spikelab.sweeps.grid: grid values read as --set reads them, seeds, points checked by the
task's config class before anything runs; the provenance block's keys and the config hash."""

from __future__ import annotations

import pytest

from spikelab.provenance import PROVENANCE_KEYS, config_hash, package_versions, provenance
from spikelab.sweeps import make_points, parse_grid, parse_seeds
from spikelab.sweeps.grid import split_values


def test_grid_values_are_read_as_set_reads_them():
    grid = parse_grid(["reservoir.weight_scale=0.05,0.1", "backend.dtype=float32,'float64'"])
    assert grid == {"reservoir.weight_scale": [0.05, 0.1], "backend.dtype": ["float32", "float64"]}
    assert split_values("[1,2],[3,4]") == ["[1,2]", "[3,4]"]
    assert parse_grid(["reservoir.shape=[2,2,2],[1,2,4]"])["reservoir.shape"] == [
        [2, 2, 2],
        [1, 2, 4],
    ]


@pytest.mark.parametrize(
    "items, match",
    [
        (["reservoir.weight_scale"], "KEY=V1,V2"),
        (["reservoir.weight_scale=0.1,"], "empty value"),
        (["seed=0,1"], "--seeds"),
        (["a.b=1", "a.b=2"], "given twice"),
    ],
)
def test_bad_grid_items_are_refused(items, match):
    with pytest.raises(ValueError, match=match):
        parse_grid(items)


def test_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,3,7") == [0, 3, 7]
    assert parse_seeds("2") == [2]
    for bad in ("4-0", "a", "-1", "0-"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


def test_points_are_checked_before_anything_runs(tiny_cfg, tmp_path):
    points = make_points(
        tiny_cfg, parse_grid(["reservoir.weight_scale=0.05,0.1"]), [0, 1], tmp_path
    )
    assert len(points) == 4 and len({p.name for p in points}) == 4
    assert len({p.config_hash for p in points}) == 4
    assert {p.config["seed"] for p in points} == {0, 1}
    with pytest.raises(ValueError, match="weight_scal.*reservoir|reservoir.*weight_scal"):
        make_points(tiny_cfg, parse_grid(["reservoir.weight_scal=0.1"]), [0], tmp_path)
    with pytest.raises(ValueError, match="sweep point"):
        make_points(tiny_cfg, parse_grid(["readout.kind=ridge,nonsense"]), [0], tmp_path)


def test_config_hash_ignores_where_a_run_writes_only():
    cfg = {"seed": 0, "output": {"dir": "a", "overwrite": True, "plots": False}}
    same = {"seed": 0, "output": {"dir": "b", "plots": False}}
    assert config_hash(cfg) == config_hash(same)
    assert config_hash(cfg) != config_hash({**same, "seed": 1})
    assert config_hash(cfg) != config_hash({"seed": 0, "output": {"plots": True}})


def test_provenance_block_without_importing_heavy_packages():
    import sys

    heavy_before = {m for m in ("torch", "brian2", "lava") if m in sys.modules}
    block = provenance({"seed": 0}, started=0.0, ended=60.0)
    assert tuple(block) == PROVENANCE_KEYS
    assert block["started"] == "1970-01-01T00:00:00Z" and block["ended"] == "1970-01-01T00:01:00Z"
    versions = package_versions()
    for name in ("python", "numpy", "numba", "torch", "norse", "brian2", "lava-nc", "tonic"):
        assert name in versions
    assert versions["numpy"] == __import__("numpy").__version__
    assert block["machine"]["cores"] >= 1 and block["machine"]["memory_bytes"] > 0
    assert {m for m in ("torch", "brian2", "lava") if m in sys.modules} == heavy_before


def test_the_command_refuses_a_bad_grid_before_anything_runs(tiny_cfg, tmp_path, capsys):
    from spikelab.cli import main
    from spikelab.config import to_toml

    config = tmp_path / "tiny.toml"
    config.write_text(to_toml(tiny_cfg))
    out = tmp_path / "sweep"
    argv = ["sweep", str(config), "--out", str(out), "--no-dask", "-q"]
    assert main([*argv, "--grid", "reservoir.weight_scal=0.1"]) == 2
    assert "weight_scal" in capsys.readouterr().err and not out.exists()
    assert main([*argv, "--grid", "reservoir.weight_scale=0.1", "--workers", "2"]) == 2
    assert "--no-dask" in capsys.readouterr().err and not out.exists()
    assert main(argv) == 2
    assert "--grid" in capsys.readouterr().err


def test_list_valued_points_are_summarised_and_plotted(tmp_path):
    """``--grid 'dataset.test_speakers=["george"],["theo"]'``: a list per point (one
    speaker held out per point) groups and plots like any value (it raised
    "unhashable type: 'list'" after the points had run)."""
    from spikelab.sweeps.plots import plot_sweep
    from spikelab.sweeps.table import summarise

    key = "dataset.test_speakers"
    rows = [
        {key: [s], "seed": seed, "status": "ok", "test_accuracy": acc}
        for s, seed, acc in [("george", 0, 0.5), ("george", 1, 0.7), ("theo", 0, 0.9)]
    ]
    summary = summarise(rows, [key])
    assert [(s[key], s["n"]) for s in summary] == [(["george"], 2), (["theo"], 1)]
    assert summary[0]["test_accuracy_mean"] == pytest.approx(0.6)
    assert [p.name for p in plot_sweep(summary, [key], tmp_path)] == ["sweep_test_accuracy.png"]
