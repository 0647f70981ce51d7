"""NIR export and import: exact round trip, graphs from other tools, norse execution."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

nir = pytest.importorskip("nir", reason="NIR export needs the nir package (pip install nir)")

import spikelab as sl  # noqa: E402
from spikelab import (  # noqa: E402
    LIF,
    InputPort,
    Network,
    Population,
    Projection,
    RecordSpec,
    SpikeBatch,
    UnsupportedFeature,
)
from spikelab.export import export_nir, import_nir  # noqa: E402
from spikelab.export.nir import from_nir, to_nir  # noqa: E402

T = 400


def _q(x: np.ndarray) -> np.ndarray:
    return np.round(x * 256) / 256


def norse_net(seed: int = 0) -> Network:
    """One LIF population in the subset norse's importer runs exactly (v_rest = v_reset =
    bias = 0, no refractoriness): input delay 0, weak recurrence with delay 1."""
    rng = np.random.default_rng(seed)
    n_in, n = 20, 30
    w_in = sp.random(
        n_in, n, density=0.3, random_state=rng, data_rvs=lambda k: _q(rng.uniform(0.1, 0.5, k))
    ).tocsr()
    w_rec = sp.random(
        n, n, density=0.1, random_state=rng, data_rvs=lambda k: _q(rng.uniform(-0.2, 0.2, k))
    ).tocsr()
    return Network(
        populations=(
            Population(name="lif", size=n, model=LIF(tau_mem=20.0, tau_syn=5.0, v_th=1.0)),
        ),
        inputs=(InputPort(name="in", size=n_in),),
        projections=(
            Projection(source="in", target="lif", weights=w_in, delays=0),
            Projection(source="lif", target="lif", weights=w_rec, delays=1),
        ),
    )


def delayed_net(bias: float = 0.8) -> Network:
    """Two populations, bias, v_reset != v_rest, delta synapses, input delay 1, recurrent
    per-synapse delays 1..3: everything the exporter writes as Delay nodes."""
    rng = np.random.default_rng(4)
    n_in, na, nb = 10, 12, 6
    a = LIF(
        tau_mem=rng.uniform(10, 20, na), tau_syn=3.0, v_rest=-1.0, v_reset=-1.5, v_th=0.0, bias=bias
    )
    b = LIF(tau_mem=8.0, tau_syn=0.0, v_th=1.0, bias=bias / 4)
    w_ab = sp.random(na, nb, density=0.4, random_state=rng).tocsr()
    w_ab.sort_indices()
    return Network(
        populations=(
            Population(name="a", size=na, model=a),
            Population(name="b", size=nb, model=b),
        ),
        inputs=(InputPort(name="cam", size=n_in, shape=(5, 2)),),
        projections=(
            Projection(
                source="cam",
                target="a",
                weights=sp.random(n_in, na, density=0.5, random_state=rng),
                delays=1,
            ),
            Projection(
                source="a",
                target="b",
                weights=w_ab,
                delays=rng.integers(1, 4, w_ab.nnz).astype(np.int32),
                name="ab",
            ),
            Projection(
                source="b",
                target="a",
                weights=-sp.random(nb, na, density=0.3, random_state=rng),
                delays=1,
            ),
        ),
        metadata={"builder": "test", "tags": ["x", 1]},
    )


def random_batch(n_in: int, seed: int = 1) -> SpikeBatch:
    rng = np.random.default_rng(seed)
    return SpikeBatch.from_dense((rng.random((1, T, n_in)) < 0.05).astype(np.float32))


def test_round_trip_through_a_file_is_exact(tmp_path: Path) -> None:
    for net in (delayed_net(), norse_net()):
        path = export_nir(net, tmp_path / "net.nir")
        back = from_nir(nir.read(str(path)))
        assert back == net
        assert import_nir(path) == net


def test_delays_become_delay_nodes_in_seconds() -> None:
    g = to_nir(delayed_net(), dt=0.5)
    delays = {
        name: float(np.unique(node.delay)[0])
        for name, node in g.nodes.items()
        if isinstance(node, nir.Delay)
    }
    # input delay 1 step; recurrent delays 2 and 3 steps are 1 and 2 steps beyond the latency
    assert delays == {"proj0_delay": 0.5e-3, "proj1_d2_delay": 0.5e-3, "proj1_d3_delay": 1e-3}
    assert isinstance(g.nodes["a"], nir.CubaLIF) and isinstance(g.nodes["a_output"], nir.Output)


def test_lsm_preset_needs_strict_false_for_refractoriness(tmp_path: Path) -> None:
    net = sl.reservoirs.lsm_column((3, 3, 3), n_inputs=8, seed=0)
    with pytest.raises(UnsupportedFeature, match="refractory"):
        to_nir(net)
    back = import_nir(export_nir(net, tmp_path / "lsm.nir", strict=False))
    assert back == net


def test_izhikevich_has_no_nir_node() -> None:
    net = sl.reservoirs.izhikevich_network(8, 2, seed=0)
    with pytest.raises(UnsupportedFeature, match="no node"):
        to_nir(net)


def test_foreign_graph_without_spikelab_metadata_gives_the_same_spikes() -> None:
    """A graph stripped of spikelab's metadata is read through the inverse Euler mapping:
    a different parametrisation of the same dynamics, so the same spikes. (Without bias: NIR
    leaves the initial potential open, and a foreign graph starts at v_leak = v_rest + bias.)"""
    net = delayed_net(bias=0.0)
    g = to_nir(net)
    for node in g.nodes.values():
        node.metadata = {}
    g.metadata = {}
    with pytest.raises(ValueError, match="dt"):
        from_nir(g)
    foreign = from_nir(g, dt=1.0)
    assert foreign != net
    record = RecordSpec(bin_steps=50, raster=True)
    bt = random_batch(net.n_inputs)
    ref = net.compile("numba", dt=1.0, record=record).run(bt)
    got = foreign.compile("numba", dt=1.0, record=record).run(bt)
    assert ref.n_spikes > 20
    assert np.array_equal(ref.raster.dense(0), got.raster.dense(0))
    pop = foreign.population("a").model
    np.testing.assert_allclose(pop.tau_mem, net.population("a").model.tau_mem, rtol=1e-12)


def test_unsupported_nir_nodes_are_named() -> None:
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([2])}),
            "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2)),
            "out": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "if"), ("if", "out")],
    )
    with pytest.raises(UnsupportedFeature, match="'if' is a IF"):
        from_nir(g, dt=1.0)


def test_norse_runs_the_exported_graph_spike_for_spike(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="norse runs in .venv (torch)")
    norse = pytest.importorskip("norse.torch", reason="norse runs in .venv (torch)")
    net = norse_net()
    bt = random_batch(net.n_inputs)
    ref = net.compile("numba", dt=1.0, record=RecordSpec(bin_steps=1, raster=True)).run(bt)
    graph = nir.read(str(export_nir(net, tmp_path / "net.nir")))
    with warnings.catch_warnings():  # norse 1.1 calls nirtorch.load, deprecated in nirtorch 2
        warnings.simplefilter("ignore", DeprecationWarning)
        model = norse.from_nir(graph, dt=1e-3)
    x = torch.from_numpy(bt.dense(0))
    state, spikes = None, []
    with torch.no_grad():
        for t in range(T):
            _, state = model(x[t : t + 1], state)
            spikes.append(state.cache["lif"][0].numpy().astype(bool))
    raster = np.array(spikes)
    assert 0.01 < raster.mean() < 0.5, "the test network should be moderately active"
    assert np.array_equal(raster, ref.raster.dense(0))
