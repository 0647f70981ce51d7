"""Fixtures of the sweep tests: tiny generated N-MNIST-like data, a tiny classify config,
and one real ``dask.distributed.LocalCluster`` of 2 worker processes for the session."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from spikelab.datasets import generate_nmnist_like

TINY = {
    "name": "tiny",
    "encoding": {"dt": 1.0, "duration": 60.0},
    "reservoir": {"builder": "lsm_column", "n_neurons": 8, "input_fraction": 1.0},
    "record": {"bin_steps": 30},
    "baseline": {"n_time_bins": 0},
    "output": {"plots": False, "chunk_size": 8},
}


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sweepdata") / "nmnist-like"
    generate_nmnist_like(root, per_class=3, test_per_class=1, seed=0, progress=False)
    return root


@pytest.fixture
def tiny_cfg(tiny_root, tmp_path) -> dict:
    cfg = copy.deepcopy(TINY)
    cfg["dataset"] = {"root": str(tiny_root)}
    cfg["output"]["dir"] = str(tmp_path / "run")
    return cfg


def _warm() -> int:
    import spikelab.tasks  # noqa: F401  (imports once, before timing-sensitive steps)

    return os.getpid()


@pytest.fixture(scope="session")
def cluster():
    """A LocalCluster of 2 single-threaded worker processes (as the sweep's default),
    spikelab imported on each; its client."""
    pytest.importorskip("distributed")
    from spikelab.sweeps.cluster import local_cluster

    with local_cluster(2) as client:
        client.wait_for_workers(2, timeout=120)
        client.run(_warm)
        yield client
