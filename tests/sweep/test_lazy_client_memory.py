"""``spikelab run --scheduler`` on a big dataset: the chunks travel as file references and
the workers read the events, so the client's memory stays bounded by a few chunks, not by
the dataset (issue 15); read up front, the client held every event."""

from __future__ import annotations

import tracemalloc

import pytest

from spikelab.datasets import generate_nmnist_like, nmnist
from spikelab.tasks import run_task, stages

from .conftest import TINY


@pytest.fixture(scope="module")
def many_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("many") / "nmnist-like"
    generate_nmnist_like(root, per_class=6, test_per_class=1, seed=0, progress=False)
    return root


def client_peak(cfg: dict, client) -> int:
    """tracemalloc's peak in this process (the client) during the run on ``client``."""
    from spikelab.sweeps.cluster import use_client

    tracemalloc.start()
    try:
        with use_client(client):
            run_task(cfg, progress=False)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_client_holds_a_few_chunks_not_the_events(many_root, tmp_path, cluster, monkeypatch):
    events = [s[0] for s in nmnist(many_root, train=True)] + [
        s[0] for s in nmnist(many_root, train=False)
    ]
    total = sum(e.nbytes for e in events)  # 70 samples, about 9 MB of events
    chunk = max(e.nbytes for e in events) * 4  # the largest chunk of 4 samples
    del events
    cfg = {**TINY, "dataset": {"root": str(many_root)}}
    cfg["output"] = {**TINY["output"], "chunk_size": 4, "dir": str(tmp_path / "lazy")}
    inner = stages.read_samples
    with monkeypatch.context() as patch:  # the events read up front on the client, as before
        patch.setattr(stages, "read_samples", lambda ds, desc, lazy=False: inner(ds, desc))
        eager = client_peak({**cfg, "output": {**cfg["output"], "dir": str(tmp_path / "e")}},
                            cluster)  # fmt: skip
    lazy = client_peak(cfg, cluster)  # second: the modules the run imports are loaded
    assert eager > total, (lazy, eager, total)  # the measure sees the events when held
    # lazy: the client reads a chunk of 4 samples at a time (the encoding checks, the
    # NeuroBench inputs); the simulation's chunks are read by the workers
    assert lazy < total / 4, (lazy, eager, total, chunk)
