"""A point's config hash is of its config as given: an online readout's seed, filled in at
run time, does not change it, so a rerun of the sweep skips every point that is done."""

from __future__ import annotations

import json

from spikelab import sweep


def test_a_rerun_of_an_online_readout_sweep_skips_every_point(tiny_cfg, tmp_path):
    cfg = {**tiny_cfg, "readout": {"kind": "online", "rule": "three_factor", "epochs": 2}}
    out = tmp_path / "sweep"
    first = sweep(cfg, ["reservoir.weight_scale=0.5,1.0"], "0-1", out=out, dask=False,
                  progress=False)  # fmt: skip
    assert (first.computed, first.skipped, first.failed) == (4, 0, 0)
    for row in first.rows:
        folder = out / "points" / row["point"]
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["seeds"]["readout"] == row["seed"]  # the seed was filled in at run time
        assert "seed = " in (folder / "config.toml").read_text().split("[readout]")[1]
        assert metrics["provenance"]["config_hash"] == row["config_hash"]
    again = sweep(cfg, ["reservoir.weight_scale=0.5,1.0"], "0-1", out=out, dask=False,
                  progress=False)  # fmt: skip
    assert (again.computed, again.skipped, again.failed) == (0, 4, 0)


def test_spikelab_sweep_is_the_sweep_function(tiny_cfg, tmp_path):
    import spikelab
    from spikelab.sweeps import runner

    assert spikelab.sweep is runner.sweep
    result = spikelab.sweep(tiny_cfg, {"reservoir.weight_scale": [0.5]}, [0, 1],
                            out=tmp_path / "api", dask=False, progress=False)  # fmt: skip
    assert (result.computed, result.failed) == (2, 0)
    assert (tmp_path / "api" / "sweep.csv").is_file()
    assert sorted(p.name for p in (tmp_path / "api" / "points").iterdir()) == sorted(
        row["point"] for row in result.rows
    )
