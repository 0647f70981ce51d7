"""Readable objects: one-line reprs that never dump arrays, and Network.summary()'s table."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import (
    LIF,
    InputPort,
    Izhikevich,
    Network,
    Population,
    Projection,
    RecordSpec,
    SpikeBatch,
)
from spikelab.spikes import SpikeTrains

MAX_REPR = 300  # characters: an array dump of these objects is thousands


def net() -> Network:
    """400 heterogeneous LIF and 100 Izhikevich neurons, 64 inputs, per-synapse delays."""
    rng = np.random.default_rng(0)
    w_in = sp.random(64, 400, density=0.1, random_state=rng, format="csr")
    w_rec = sp.random(400, 100, density=0.05, random_state=rng, format="csr")
    w_rec.sum_duplicates()
    w_rec.sort_indices()
    delays = rng.integers(1, 6, size=w_rec.nnz)
    delays[0], delays[1] = 1, 5
    return Network(
        populations=(
            Population(
                name="exc",
                size=400,
                model=LIF(tau_mem=20.0, bias=np.linspace(0.5, 2.0, 400)),
                positions=rng.random((400, 3)),
            ),
            Population(name="izh", size=100, model=Izhikevich(d=np.full(100, 2.0))),
        ),
        inputs=(InputPort(name="in", size=64, shape=(8, 8)),),
        projections=(
            Projection(source="in", target="exc", weights=w_in, delays=0),
            Projection(source="exc", target="izh", weights=w_rec, delays=delays, name="E->I"),
        ),
        metadata={"builder": "test"},
        dt=1.0,
    )


def short(obj: object) -> str:
    text = repr(obj)
    assert "\n" not in text and len(text) < MAX_REPR, text
    assert "array(" not in text and "..." not in text, text
    return text


def test_population_repr_shows_size_model_and_parameter_ranges():
    exc, izh = net().populations
    text = short(exc)
    assert text.startswith("Population('exc', 400 LIF neurons")
    assert "tau_mem 20" in text and "bias 0.5..2" in text and "positions" in text
    assert "d 2" in short(izh) and "Izhikevich" in short(izh)


def test_projection_repr_shows_sizes_synapses_weights_and_delays():
    n = net()
    rec = n.projections[1]
    text = short(rec)
    assert "'E->I'" in text and "exc (400) -> izh (100)" in text
    assert f"{rec.weights.nnz} synapses" in text and "delays 1..5 steps" in text
    lo, hi = rec.weights.data.min(), rec.weights.data.max()
    assert f"weights {lo:.3g}..{hi:.3g}" in text
    assert "delays 0 steps" in short(n.projections[0])


def test_network_repr_counts_neurons_inputs_projections_and_synapses():
    n = net()
    text = short(n)
    assert "500 neurons in 2 populations (exc 400, izh 100)" in text
    assert "64 inputs in 1 port (in 64)" in text
    assert f"2 projections, {n.n_synapses} synapses" in text
    assert "dt=1 ms" in text and "builder 'test'" in text


def test_network_repr_lists_at_most_four_populations():
    pops = tuple(Population(name=f"p{i}", size=2, model=LIF()) for i in range(9))
    text = short(Network(populations=pops))
    assert "9 populations (p0 2, p1 2, p2 2, p3 2, +5 more)" in text and "steps" in text


def test_summary_is_a_table_of_populations_inputs_projections_and_memory():
    n = net()
    table = n.summary()
    assert isinstance(table, str)
    lines = table.splitlines()
    # header, populations (title + 2), inputs (title + 1), projections (title + 2), memory
    assert len(lines) == 1 + 3 + 2 + 3 + 1
    rec = n.projections[1].weights
    fan_in = np.bincount(rec.indices, minlength=100)
    fan_out = np.diff(rec.indptr)
    row = next(line for line in lines if line.strip().startswith("E->I"))
    assert f"{rec.nnz}" in row and "exc -> izh" in row and "1..5" in row
    assert f"{fan_in.mean():.3g}/{fan_in.max()}" in row
    assert f"{fan_out.mean():.3g}/{fan_out.max()}" in row
    assert any("exc" in line and "400" in line and "bias 0.5..2" in line for line in lines)
    assert any("(8, 8)" in line for line in lines)
    weights = sum(p.weights.data.nbytes + p.weights.indices.nbytes + p.weights.indptr.nbytes
                  for p in n.projections) + n.projections[1].delays.nbytes  # fmt: skip
    assert f"weights {weights / 1000:.1f} kB" in lines[-1]
    state = 500 * (3 + 6) * 8  # v, current, u/refractory + a ring of max delay 5 + 1
    assert f"state {state / 1000:.1f} kB per sample" in lines[-1]
    assert "[" not in table  # no array, no list


def test_spike_batch_trains_and_recording_reprs():
    rng = np.random.default_rng(1)
    batch = SpikeBatch.from_dense(
        (rng.random((6, 100, 64)) < 0.05).astype(np.float32), labels=np.arange(6)
    )
    text = short(batch)
    assert f"6 samples x 100 steps x 64 channels, dt=1 ms, {batch.n_events} events" in text
    assert "labels" in text
    rec = net().compile("numba", record=RecordSpec(bin_steps=25, raster=True, voltage=(0, 3)))
    out = rec.run(batch)
    text = short(out)
    assert "6 samples x 100 steps" in text and "500 neurons (exc 400, izh 100)" in text
    assert f"4 bins of 25 steps, {int(out.counts.sum())} spikes" in text
    assert "raster" in text and "voltage of 2 neurons" in text
    trains = short(out.raster)
    assert trains == (
        f"SpikeTrains(6 samples x 100 steps x 500 neurons, {int(out.counts.sum())} spikes)"
    )
    assert isinstance(out.raster, SpikeTrains)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize(
    "backend, needs, option",
    [
        ("numba", "numba", "dtype='float64'"),
        ("torch", "torch", "device='cpu'"),
        ("brian2", "brian2", "mode='runtime'"),
        ("crossbar", "numba", "kernel='numba'"),
        ("lava", "lava", "precision='floating_pt'"),
    ],
)
def test_simulation_reprs_share_one_summary(backend, needs, option):
    if not _available(needs):
        pytest.skip(f"{needs} is not installed here")
    n = net()
    if backend == "crossbar":  # the crossbar maps LIF populations only
        n = Network(populations=n.populations[:1], inputs=n.inputs, projections=n.projections[:1])
    sim = n.compile(backend, record=RecordSpec(bin_steps=10, voltage=(1,)))
    text = short(sim)
    assert text.startswith(type(sim).__name__ + "(")
    assert f"{n.n_neurons} neurons, 64 inputs, {n.n_synapses} synapses, dt=1 ms" in text
    assert "records bins of 10 steps, voltage of 1 neurons" in text and option in text
