"""Shared fixtures for the spikelab test suite.

* ``shared_data_dir``: ../shared/data/nmnist-small (real N-MNIST files), or a skip.
* ``lif_net`` / ``izh_net``: factories of small networks (one population, one input port,
  optional recurrence), the building block of the kernel tests.
* ``assert_same_network``: bitwise comparison of two networks written independently of
  ``spikelab.network_io.networks_equal`` (the code under test).
* ``load_example``: import a script of examples/ as a module, to call its ``main(argv)``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import LIF, InputPort, Izhikevich, Network, Population, Projection

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
EXAMPLES = REPO_ROOT / "examples"


@pytest.fixture
def load_example(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """``load_example("what_when")`` imports examples/what_when.py as a module; examples/
    is on sys.path meanwhile, as when a script runs, so examples may import each other."""
    monkeypatch.syspath_prepend(str(EXAMPLES))

    def load(name: str) -> Any:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """../shared/data/nmnist-small relative to the repository root; skip when absent."""
    path = SHARED_DATA / "nmnist-small"
    if not (path / "Train").is_dir():
        pytest.skip(
            f"shared data not found: expected real N-MNIST files in {path}/Train/<label>/*.bin "
            "(../shared/data/nmnist-small relative to the repository root)"
        )
    return path


def _csr(w: Any, shape: tuple[int, int]) -> sp.csr_matrix:
    m = w if sp.issparse(w) else sp.csr_matrix(np.asarray(w, dtype=np.float64).reshape(shape))
    return sp.csr_matrix(m, shape=shape)


def make_single_population(
    model: Any,
    n: int,
    *,
    n_inputs: int = 1,
    w_in: Any = None,
    in_delays: Any = 0,
    w_rec: Any = None,
    rec_delays: Any = 1,
) -> Network:
    """One population ``pop`` of ``n`` neurons fed by the input port ``in``.

    ``w_in`` defaults to the identity-like map channel k -> neuron k (weight 1) when
    n_inputs == n, else all-zero; ``w_rec`` (None: no recurrent projection).
    """
    if w_in is None:
        w_in = np.eye(n_inputs, n) if n_inputs == n else np.zeros((n_inputs, n))
    projs = [
        Projection(source="in", target="pop", weights=_csr(w_in, (n_inputs, n)), delays=in_delays)
    ]
    if w_rec is not None:
        projs.append(
            Projection(source="pop", target="pop", weights=_csr(w_rec, (n, n)), delays=rec_delays)
        )
    return Network(
        populations=(Population(name="pop", size=n, model=model),),
        inputs=(InputPort(name="in", size=n_inputs),),
        projections=tuple(projs),
    )


@pytest.fixture(scope="session")
def lif_net() -> Callable[..., Network]:
    """Factory: ``lif_net(n, n_inputs=..., w_in=..., w_rec=..., **lif_params)``."""

    def factory(n: int = 1, **kwargs: Any) -> Network:
        net_keys = {"n_inputs", "w_in", "in_delays", "w_rec", "rec_delays"}
        net_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in net_keys}
        return make_single_population(LIF(**kwargs), n, **net_kw)

    return factory


@pytest.fixture(scope="session")
def izh_net() -> Callable[..., Network]:
    """Factory: ``izh_net(n, n_inputs=..., w_in=..., w_rec=..., **izhikevich_params)``."""

    def factory(n: int = 1, **kwargs: Any) -> Network:
        net_keys = {"n_inputs", "w_in", "in_delays", "w_rec", "rec_delays"}
        net_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in net_keys}
        return make_single_population(Izhikevich(**kwargs), n, **net_kw)

    return factory


def same_network(a: Network, b: Network) -> list[str]:
    """Differences between two networks, compared bit for bit (empty list: identical)."""
    diffs: list[str] = []

    def arr_same(x: Any, y: Any) -> bool:
        x, y = np.asarray(x), np.asarray(y)
        return x.shape == y.shape and x.dtype.kind == y.dtype.kind and x.tobytes() == y.tobytes()

    if len(a.populations) != len(b.populations):
        return ["number of populations"]
    for p, q in zip(a.populations, b.populations, strict=True):
        if (p.name, p.size, type(p.model)) != (q.name, q.size, type(q.model)):
            diffs.append(f"population {p.name}: name/size/model type")
            continue
        for name in p.model.param_names():
            x, y = getattr(p.model, name), getattr(q.model, name)
            if not arr_same(np.asarray(x, np.float64), np.asarray(y, np.float64)) or (
                np.ndim(x) != np.ndim(y)
            ):
                diffs.append(f"population {p.name}: parameter {name}")
        if (p.positions is None) != (q.positions is None) or (
            p.positions is not None and not arr_same(p.positions, q.positions)
        ):
            diffs.append(f"population {p.name}: positions")
    if [(i.name, i.size, i.shape) for i in a.inputs] != [
        (i.name, i.size, i.shape) for i in b.inputs
    ]:
        diffs.append("inputs")
    if len(a.projections) != len(b.projections):
        return [*diffs, "number of projections"]
    for p, q in zip(a.projections, b.projections, strict=True):
        if (p.name, p.source, p.target, p.weights.shape) != (
            q.name,
            q.source,
            q.target,
            q.weights.shape,
        ):
            diffs.append(f"projection {p.name}: header")
            continue
        wp, wq = p.weights, q.weights
        if not (np.array_equal(wp.indptr, wq.indptr) and np.array_equal(wp.indices, wq.indices)):
            diffs.append(f"projection {p.name}: sparsity pattern")
        if not arr_same(wp.data, wq.data):
            diffs.append(f"projection {p.name}: weight bits")
        dp, dq = np.broadcast_to(p.delays, wp.nnz), np.broadcast_to(q.delays, wq.nnz)
        if not np.array_equal(dp, dq) or np.ndim(p.delays) != np.ndim(q.delays):
            diffs.append(f"projection {p.name}: delays")
    if dict(a.metadata) != dict(b.metadata):
        diffs.append("metadata")
    return diffs


@pytest.fixture(scope="session")
def assert_same_network() -> Callable[[Network, Network], None]:
    def check(a: Network, b: Network) -> None:
        diffs = same_network(a, b)
        assert not diffs, f"networks differ: {diffs}"

    return check
