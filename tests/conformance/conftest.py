"""The backends of the conformance suite: one list, filtered by what this environment has.

Every test of this folder is parametrised by the ``config`` fixture over ``CONFIGS`` (those
whose backend is in ``spikelab.available_backends()``) and compares the configuration with
the reference, the numba backend in float64. A backend joins the suite by being registered
and listed here; no backend gets its own copy of these tests.

``exact=True``: identical spike rasters (float64 backends). ``exact=False``: per-population
firing rates within ``rate_tolerance`` plus a loose per-neuron correlation (float32, fixed
point). A backend that cannot compute a network raises ``UnsupportedFeature`` at compile time
and the test is skipped with the backend's reason (visible in ``pytest -ra``).

Where Lava cannot be imported (.venv), lava runs through its worker process
(.venv-lava/bin/python, ``spikelab.backends.lava.remote``) as ``lava-worker-floating``: the
exact configuration only (the worker runs the same code as .venv-lava's in-process
``lava-floating`` and ``lava-fixed``; tests/backends/lava/test_worker.py compares the two bit
for bit), one worker per test session (``lava_worker``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

import spikelab

from .compare import Config

CONFIGS = [  # (id, backend name, options, exact)
    ("brian2-runtime", "brian2", {"mode": "runtime"}, True),
    ("torch-f64", "torch", {"dtype": "float64"}, True),
    ("torch-f32", "torch", {"dtype": "float32"}, False),
    ("lava-floating", "lava", {"precision": "floating_pt"}, True),
    ("lava-fixed", "lava", {"precision": "fixed_pt"}, False),
    ("crossbar-ideal", "crossbar", {"preset": "ideal"}, True),
    ("crossbar-torch", "crossbar", {"preset": "ideal", "kernel": "torch", "device": "cpu"}, True),
    ("numba-f32", "numba", {"dtype": "float32"}, False),
]

# without Lava here, these configurations run through the Lava worker, under these ids
WORKER_IDS = {"lava-floating": "lava-worker-floating"}

# marker of a backend, or of a backend option ``kernel`` (crossbar's kernel="torch")
_MARKS = {"brian2": "needs_brian2", "torch": "needs_torch", "lava": "needs_lava"}


def _params() -> list[Any]:
    available = set(spikelab.available_backends())
    worker = importlib.util.find_spec("lava") is None
    out = []
    for cid, name, options, exact in CONFIGS:
        if name not in available:
            continue
        if name == "lava" and worker:
            if cid not in WORKER_IDS:
                continue
            cid = WORKER_IDS[cid]
        needs = {_MARKS.get(name), _MARKS.get(options.get("kernel", ""))} - {None}
        marks = [getattr(pytest.mark, m) for m in sorted(needs)]
        out.append(pytest.param(Config(cid, name, dict(options), exact), id=cid, marks=marks))
    return out


@pytest.fixture(scope="session")
def lava_worker() -> Iterator[Any]:
    """One Lava worker process for the session's lava-worker-* configurations."""
    from spikelab.backends.lava.remote import LavaWorker

    with LavaWorker() as worker:
        yield worker


@pytest.fixture(params=_params())
def config(request: pytest.FixtureRequest) -> Config:
    """A backend configuration available in this environment."""
    cfg = request.param
    if cfg.id in WORKER_IDS.values():  # share the session's worker
        options = {**cfg.options, "worker": request.getfixturevalue("lava_worker")}
        return dataclasses.replace(cfg, options=options)
    return cfg
