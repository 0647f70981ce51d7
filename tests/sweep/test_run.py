"""Every run's metrics.json carries the provenance block; an existing results folder is
not replaced without --overwrite; ``spikelab run --scheduler`` gives the in-process states
bit for bit."""

from __future__ import annotations

import json

import pytest

from spikelab.cli import main
from spikelab.config import to_toml
from spikelab.provenance import PROVENANCE_KEYS, config_hash
from spikelab.tasks import resolve, run_task

from .common import assert_same_states


def test_metrics_json_has_the_provenance_block(tiny_cfg):
    out = run_task(tiny_cfg, progress=False)
    metrics = json.loads((out / "metrics.json").read_text())
    block = metrics["provenance"]
    assert tuple(block) == PROVENANCE_KEYS
    assert block["config_hash"] == config_hash(resolve(tiny_cfg))
    assert block["packages"]["numpy"] and block["packages"]["numba"]
    assert block["started"] <= block["ended"]
    assert block["spikelab_version"] == __import__("spikelab").__version__


def test_run_refuses_an_existing_results_folder_without_overwrite(tiny_cfg, tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(to_toml(tiny_cfg))
    assert main(["run", str(config), "-q"]) == 0
    before = (tmp_path / "run" / "metrics.json").read_text()
    assert main(["run", str(config), "-q"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "run" / "metrics.json").read_text() == before
    assert main(["run", str(config), "-q", "--overwrite"]) == 0


def test_run_on_a_scheduler_gives_the_same_states(tiny_cfg, tmp_path, cluster):
    config = tmp_path / "tiny.toml"
    config.write_text(to_toml({**tiny_cfg, "output": {**tiny_cfg["output"], "chunk_size": 4}}))
    address = cluster.scheduler.address
    here, there = tmp_path / "here", tmp_path / "there"
    assert main(["run", str(config), "-q", "--output", str(here)]) == 0
    assert main(["run", str(config), "-q", "--output", str(there), "--scheduler", address]) == 0
    assert_same_states(here / "states.h5", there / "states.h5")
    a = json.loads((here / "metrics.json").read_text())
    b = json.loads((there / "metrics.json").read_text())
    assert a["test_accuracy"] == b["test_accuracy"]
    assert a["provenance"]["config_hash"] == b["provenance"]["config_hash"]


def test_chunks_on_workers_are_bounded_and_in_order(cluster):
    from spikelab.sweeps.cluster import ordered_map

    def square(offset, x):
        return offset + x * x

    out = list(ordered_map(cluster, square, range(10), shared=(100,), in_flight=2))
    assert out == [100 + x * x for x in range(10)]


def test_no_scheduler_answers():
    pytest.importorskip("distributed", reason="Dask is installed in .venv only")
    from spikelab.sweeps.cluster import connect

    with pytest.raises(ValueError, match="no Dask scheduler answers"):
        with connect("tcp://127.0.0.1:1", timeout="2s"):
            pass


def test_the_transformer_maps_its_chunks_over_the_cluster(tiny_cfg, cluster):
    import numpy as np

    from spikelab.config import ClassifyConfig
    from spikelab.sweeps.cluster import use_client
    from spikelab.tasks.stages import build_reservoir, load_split
    from spikelab.transformer import LSMTransformer

    cfg = ClassifyConfig.coerce(tiny_cfg)
    split = load_split(cfg.dataset, 0, lambda line: None)
    enc = cfg.encoding.make(split.sensor_size)
    lsm = LSMTransformer(build_reservoir(cfg.reservoir, enc, 0), encoding=enc, chunk_size=4)
    events = list(split.train_events[:10])
    here = lsm.fit_transform(events)
    with use_client(cluster):
        there = lsm.transform(events)
    assert here.dtype == there.dtype and np.array_equal(here, there)
    assert here.sum() > 0


def test_a_run_on_a_scheduler_holds_a_few_chunks_on_the_client(
    tiny_cfg, tmp_path, cluster, monkeypatch
):
    """The recordings come back a few at a time and go into states.h5 as they arrive: the
    client never holds the 15 train chunks (chunk_size 2) at once."""
    import weakref

    from spikelab.sweeps.cluster import use_client
    from spikelab.tasks import stages

    refs, most, inner = [], [0], stages._recordings

    def recordings(*args):
        for rec in inner(*args):
            refs.append(weakref.ref(rec.counts))
            most[0] = max(most[0], sum(r() is not None for r in refs))
            yield rec

    monkeypatch.setattr(stages, "_recordings", recordings)
    cfg = {**tiny_cfg, "output": {**tiny_cfg["output"], "chunk_size": 2}}
    here = run_task({**cfg, "output": {**cfg["output"], "dir": str(tmp_path / "here")}})
    with use_client(cluster):
        there = run_task({**cfg, "output": {**cfg["output"], "dir": str(tmp_path / "there")}})
    assert len(refs) == 2 * (15 + 5)
    assert most[0] <= 4  # each split's first chunk, the last one and the next one
    assert_same_states(here / "states.h5", there / "states.h5")
