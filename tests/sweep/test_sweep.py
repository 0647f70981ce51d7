"""spikelab sweep on a real LocalCluster of 2 worker processes: the same results as the
points run one by one in-process (bit for bit in states.h5, and in accuracy); a failing
point is recorded and the rest complete; an interrupted sweep resumes with only the missing
points (counted); a point folder holding other results is not replaced without
--overwrite; a worker killed by its PID mid-sweep, and the sweep completes."""

from __future__ import annotations

import csv
import json
import os
import signal

import pytest

from spikelab.results import OutputError
from spikelab.sweeps import sweep
from spikelab.sweeps.cluster import worker_pids
from spikelab.tasks import run_task

from .common import assert_same_states

GRID = ["reservoir.weight_scale=0.05,0.1"]


def rows(out):
    with open(out / "sweep.csv") as f:
        return list(csv.DictReader(f))


def test_sweep_equals_the_points_run_in_process(tiny_cfg, tmp_path, cluster):
    result = sweep(tiny_cfg, GRID, "0-1", out=tmp_path / "sw", client=cluster, progress=False)
    assert (result.computed, result.skipped, result.failed) == (4, 0, 0)
    table = rows(tmp_path / "sw")
    assert [r["status"] for r in table] == ["ok"] * 4
    for row in table:
        cfg = json.loads(json.dumps(tiny_cfg))
        cfg["reservoir"]["weight_scale"] = float(row["reservoir.weight_scale"])
        cfg["seed"] = int(row["seed"])
        cfg["output"]["dir"] = str(tmp_path / "alone" / row["point"])
        alone = run_task(cfg, progress=False)
        point = tmp_path / "sw" / "points" / row["point"]
        assert_same_states(alone / "states.h5", point / "states.h5")
        metrics = json.loads((alone / "metrics.json").read_text())
        assert float(row["test_accuracy"]) == metrics["test_accuracy"]
        assert (
            json.loads((point / "metrics.json").read_text())["test_accuracy"]
            == (metrics["test_accuracy"])
        )
        assert f'dir = "{point}"' in (point / "config.toml").read_text()
    assert (tmp_path / "sw" / "sweep_summary.csv").is_file()
    assert (tmp_path / "sw" / "sweep_test_accuracy.png").is_file()
    again = sweep(tiny_cfg, GRID, "0-1", out=tmp_path / "sw", client=cluster, progress=False)
    assert (again.computed, again.skipped) == (0, 4)


def test_a_failing_point_is_recorded_and_the_rest_complete(tiny_cfg, tmp_path, cluster):
    grid = [f"dataset.root={tiny_cfg['dataset']['root']},'{tmp_path / 'missing'}'"]
    result = sweep(tiny_cfg, grid, "0", out=tmp_path / "sw", client=cluster, progress=False)
    assert (result.computed, result.failed) == (1, 1)
    table = {r["status"]: r for r in rows(tmp_path / "sw")}
    assert "missing" in table["failed"]["error"] and table["failed"]["test_accuracy"] == ""
    assert float(table["ok"]["test_accuracy"]) >= 0.0
    assert not (tmp_path / "sw" / "points" / table["failed"]["point"]).exists()


def test_an_interrupted_sweep_resumes_with_the_missing_points(tiny_cfg, tmp_path, cluster):
    written = []

    def interrupt(line):
        if line.startswith("point "):
            written.append(line)
            raise KeyboardInterrupt  # the client stops after its first point

    with pytest.raises(KeyboardInterrupt):
        sweep(
            tiny_cfg,
            GRID,
            "0-2",
            out=tmp_path / "sw",
            client=cluster,
            progress=False,
            log=interrupt,
        )
    done = [p for p in (tmp_path / "sw" / "points").iterdir() if not p.name.startswith(".")]
    assert len(done) == 1 and len(written) == 1
    result = sweep(tiny_cfg, GRID, "0-2", out=tmp_path / "sw", client=cluster, progress=False)
    assert (result.computed, result.skipped, result.failed) == (5, 1, 0)
    assert sorted(r["how"] for r in rows(tmp_path / "sw")) == ["computed"] * 5 + ["skipped"]


def test_other_results_are_not_replaced_without_overwrite(tiny_cfg, tmp_path):
    out = tmp_path / "sw"
    sweep(tiny_cfg, GRID[:1], "0", out=out, dask=False, progress=False)
    changed = {**tiny_cfg, "encoding": {**tiny_cfg["encoding"], "duration": 30.0}}
    before = {p.name: (p / "metrics.json").read_text() for p in (out / "points").iterdir()}
    with pytest.raises(OutputError, match="--overwrite"):
        sweep(changed, GRID[:1], "0", out=out, dask=False, progress=False)
    assert {p.name: (p / "metrics.json").read_text() for p in (out / "points").iterdir()} == before
    result = sweep(changed, GRID[:1], "0", out=out, dask=False, overwrite=True, progress=False)
    assert result.computed == 2
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "notes.txt").write_text("precious")
    with pytest.raises(OutputError, match="not a spikelab sweep"):
        sweep(tiny_cfg, GRID, "0", out=user, dask=False, progress=False)


def test_a_killed_worker_is_replaced_and_the_sweep_completes(tiny_cfg, tmp_path, cluster):
    killed, lost = [], []

    def kill_a_busy_worker(line):
        if killed or not line.startswith("point "):
            return
        busy = {w: keys for w, keys in cluster.processing().items() if keys}
        worker = next(iter(busy))
        pid = worker_pids(cluster)[worker]
        os.kill(pid, signal.SIGKILL)  # mid-task: the point it runs is lost with it
        killed.append(pid)
        lost.extend(str(k) for k in busy[worker])

    result = sweep(
        tiny_cfg, GRID, "0-3", out=tmp_path / "sw", client=cluster, progress=False,
        log=kill_a_busy_worker,
    )  # fmt: skip
    assert killed and (result.computed, result.failed) == (8, 0)
    assert all(r["status"] == "ok" for r in rows(tmp_path / "sw"))
    rerun = [r for r in rows(tmp_path / "sw") if any(r["point"] in key for key in lost)]
    assert rerun and all(int(r["pid"]) != killed[0] for r in rerun)  # computed elsewhere
    assert killed[0] not in worker_pids(cluster).values()  # the nanny starts a new process
