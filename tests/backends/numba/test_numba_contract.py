"""Numba backend: determinism, the Recording contract, errors, pickling and the registry."""

from __future__ import annotations

import logging
import pickle

import numba
import numpy as np
import pytest

import spikelab.backends.base as base
from spikelab import (
    BackendUnavailable,
    RecordSpec,
    SpikeBatch,
    available_backends,
    get_backend,
)
from spikelab.backends import known_backends
from spikelab.reservoirs import izhikevich_network, lsm_column

from .test_numba import run  # the shared dense-input runner

# ---- determinism, precision ----------------------------------------------------------------


@pytest.fixture(scope="module")
def chaotic():
    """A Maass column driven hard enough to be chaotic: one flipped input event changes the
    spike counts of many neurons (asserted below), so bit-identity is a demanding check."""
    net = lsm_column(shape=(5, 5, 5), n_inputs=20, seed=0)
    rng = np.random.default_rng(0)
    x = (rng.random((6, 250, 20)) < 0.05).astype(np.float32)
    return net, x


def test_chaotic_column_is_sensitive(chaotic):
    net, x = chaotic
    y = x.copy()
    y[:, 10, 3] = 1 - y[:, 10, 3]
    a = run(net, x, record=RecordSpec()).counts
    b = run(net, y, record=RecordSpec()).counts
    assert np.mean(a != b) > 0.05


def test_determinism_across_thread_counts(chaotic):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs numba to have at least 2 threads")
    net, x = chaotic
    before = numba.get_num_threads()
    record = RecordSpec(bin_steps=25, raster=True, voltage=(0, 7, 99, 124))
    one = run(net, x, record=record, threads=1)
    two = run(net, x, record=record, threads=2)
    again = run(net, x, record=record, threads=2)
    for r in (two, again):
        assert np.array_equal(one.counts, r.counts)
        assert one.voltage.tobytes() == r.voltage.tobytes()
        assert np.array_equal(one.raster.steps, r.raster.steps)
        assert np.array_equal(one.raster.neurons, r.raster.neurons)
        assert (one.n_spikes, one.n_synaptic_events) == (r.n_spikes, r.n_synaptic_events)
    assert one.n_spikes > 10_000
    assert numba.get_num_threads() == before  # the thread count is restored after run


def test_samples_are_independent_of_their_batch(chaotic):
    net, x = chaotic
    record = RecordSpec(voltage=(3, 50))
    full = run(net, x, record=record)
    for i in (0, 4):
        alone = run(net, x[i], record=record)
        assert np.array_equal(alone.counts[0], full.counts[i])
        assert alone.voltage[0].tobytes() == full.voltage[i].tobytes()
    twice = run(net, np.stack([x[1], x[1]]), record=record)
    assert np.array_equal(twice.counts[0], twice.counts[1])  # each sample starts from rest


def test_float32_close_to_float64(chaotic):
    net, x = chaotic
    r64 = run(net, x, record=RecordSpec(voltage=(0, 1)))
    r32 = run(net, x, record=RecordSpec(voltage=(0, 1)), dtype="float32")
    assert r32.voltage.dtype == np.float32 and r64.voltage.dtype == np.float64
    for pop in ("exc", "inh"):
        np.testing.assert_allclose(r32.rates_hz(pop), r64.rates_hz(pop), rtol=0.05)
    assert r64.rates_hz().min() > 50.0


def test_float32_closed_form(lif_net):
    net = lif_net(1, tau_mem=20.0, bias=10.0, v_th=15.0)
    v = run(net, np.zeros((300, 1)), dtype="float32").voltage[0, :, 0]
    expected = 10.0 * (1 - np.exp(-np.arange(1, 301) / 20.0))
    np.testing.assert_allclose(v, expected, rtol=1e-5)


# ---- the Recording contract -----------------------------------------------------------------


def test_recording_contract():
    net = lsm_column(shape=(4, 3, 3), n_inputs=6, seed=2, input_fan_in=4)
    rng = np.random.default_rng(1)
    x = (rng.random((3, 25, 6)) < 0.3) * rng.integers(1, 3, (3, 25, 6))
    rec = run(net, x, record=RecordSpec(bin_steps=10, raster=True, voltage=(5, 0)))
    B, T, N = 3, 25, net.n_neurons
    assert len(rec) == B and rec.counts.shape == (B, 3, N) and rec.counts.dtype == np.int32
    assert (rec.bin_steps, rec.n_steps, rec.dt) == (10, T, 1.0)
    assert rec.populations == (("exc", 0, 29), ("inh", 29, 36))
    assert rec.population("inh") == slice(29, 36)
    with pytest.raises(KeyError, match="no population 'zz' in this recording"):
        rec.population("zz")
    # Counts per bin (the last bin covers steps 20-24) agree with the raster.
    for b in range(B):
        r = rec.raster.dense(b)
        assert r.shape == (T, N)
        sums = [r[0:10].sum(0), r[10:20].sum(0), r[20:25].sum(0)]
        np.testing.assert_array_equal(rec.counts[b], np.stack(sums))
    assert rec.n_spikes == rec.counts.sum() > 0
    # Voltage: [batch, steps, chosen neurons] in the order asked for, v_reset on spike steps.
    assert rec.voltage.shape == (B, T, 2) and rec.voltage_neurons == (5, 0)
    r0 = rec.raster.dense(0)
    for q, j in enumerate((5, 0)):
        assert np.all(rec.voltage[0, r0[:, j], q] == 13.5)
    # Synaptic events: fan-out of every input event and of every spike.
    fan_in = np.zeros(6, int)
    fan_rec = np.zeros(N, int)
    starts = {p: s for p, s, _ in net.pop_table()}
    for pr in net.projections:
        rows = np.diff(pr.weights.indptr)
        if pr.source == "in":
            fan_in += rows
        else:
            fan_rec[starts[pr.source] : starts[pr.source] + len(rows)] += rows
    expected = sum(int((x[b] > 0).sum(axis=0) @ fan_in) for b in range(B))
    expected += int(rec.counts.sum(axis=(0, 1)) @ fan_rec)
    assert rec.n_synaptic_events == expected
    # Rates in Hz: spikes / neurons / seconds.
    np.testing.assert_allclose(rec.rates_hz(), rec.counts.sum(axis=(1, 2)) / N / 0.025)
    np.testing.assert_allclose(
        rec.rates_hz("exc"), rec.counts[:, :, :29].sum(axis=(1, 2)) / 29 / 0.025
    )
    assert rec.wall_time_s > 0


def test_recording_defaults_one_bin_no_raster_no_voltage(lif_net):
    net = lif_net(2, n_inputs=2, bias=5.0, tau_mem=10.0, v_th=1.0)
    rec = net.compile(backend="numba", dt=1.0).run(SpikeBatch.from_dense(np.zeros((2, 17, 2))))
    assert rec.counts.shape == (2, 1, 2) and rec.bin_steps == 17
    assert rec.raster is None and rec.voltage is None and rec.voltage_neurons == ()
    assert rec.counts.sum() > 0


def test_empty_batch(lif_net):
    net = lif_net(3, n_inputs=3)
    empty = SpikeBatch(n_steps=5, n_channels=3, offsets=[0], steps=[], channels=[], values=[])
    rec = net.compile(backend="numba", dt=1.0, record=RecordSpec(raster=True)).run(empty)
    assert rec.counts.shape == (0, 1, 3) and rec.n_spikes == 0 and len(rec.raster) == 0


def test_network_without_inputs_runs():
    net = izhikevich_network(8, 2, seed=0, bias=(10.0, 10.0))
    batch = SpikeBatch(n_steps=50, n_channels=0, offsets=[0, 0], steps=[], channels=[], values=[])
    rec = net.compile(backend="numba", dt=1.0).run(batch)
    assert rec.counts.sum() > 0


# ---- errors, options, pickling -----------------------------------------------------------


def test_batch_with_wrong_channels_or_dt(lif_net):
    sim = lif_net(2, n_inputs=3).compile(backend="numba", dt=0.5)
    with pytest.raises(ValueError, match="the batch has 4 channels but the network has 3 input"):
        sim.run(SpikeBatch.from_dense(np.zeros((1, 5, 4)), dt=0.5))
    with pytest.raises(ValueError, match=r"binned with dt=1\.0 ms but .* compiled with dt=0\.5"):
        sim.run(SpikeBatch.from_dense(np.zeros((1, 5, 3)), dt=1.0))
    with pytest.raises(TypeError, match="run\\(\\) takes a SpikeBatch, got ndarray"):
        sim.run(np.zeros((1, 5, 3)))


def test_backend_options_are_checked(lif_net):
    with pytest.raises(ValueError, match=r"dtype must be one of \['float32', 'float64'\]"):
        get_backend("numba", dtype="float16")
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
        lif_net(1).compile(backend="numba", threads=0)


def test_compiled_simulation_and_network_pickle(chaotic):
    net, x = chaotic
    record = RecordSpec(bin_steps=50, voltage=(1, 2))
    sim = net.compile(backend="numba", dt=1.0, record=record)
    batch = SpikeBatch.from_dense(x[:3])
    expected = sim.run(batch)
    sim2 = pickle.loads(pickle.dumps(sim))
    net2 = pickle.loads(pickle.dumps(net))
    for r in (sim2.run(batch), net2.compile(backend="numba", dt=1.0, record=record).run(batch)):
        assert np.array_equal(r.counts, expected.counts)
        assert r.voltage.tobytes() == expected.voltage.tobytes()
        assert r.n_synaptic_events == expected.n_synaptic_events


# ---- the registry -----------------------------------------------------------------------------


def test_get_backend_by_name_and_alias():
    for name in ("numba", "NUMBA", "cpu"):
        b = get_backend(name)
        assert b.name == "numba"
        assert isinstance(b, base.Backend)
    assert "numba" in available_backends() and "numba" in known_backends()


def test_unknown_backend_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown backend 'nope'.*; known backends: .*numba") as e:
        get_backend("nope")
    for name in known_backends():
        assert name in str(e.value)
    with pytest.raises(TypeError, match="backend must be a name"):
        get_backend(3)  # type: ignore[arg-type]


def test_backend_unavailable_names_the_install_command(monkeypatch):
    entry = base._Entry(
        "spikelab.backends.numba.backend:NumbaBackend",
        ("spikelab_missing_dependency_xyz",),
        "pip install spikelab-missing-dependency-xyz",
    )
    monkeypatch.setitem(base._BUILTIN, "fancy", entry)
    with pytest.raises(BackendUnavailable, match="needs spikelab_missing_dependency_xyz") as e:
        get_backend("fancy")
    assert "Install it with: pip install spikelab-missing-dependency-xyz" in str(e.value)
    assert isinstance(e.value, ImportError)
    assert "fancy" in known_backends() and "fancy" not in available_backends()


def test_auto_backend_says_what_it_chose(monkeypatch, caplog):
    monkeypatch.setattr(base, "available_backends", lambda: ["numba"])
    with caplog.at_level(logging.WARNING, logger="spikelab"):
        b = get_backend("auto")
    assert b.name == "numba"
    assert "chose 'numba'" in caplog.text
    monkeypatch.setattr(base, "available_backends", lambda: [])
    with pytest.raises(BackendUnavailable, match="pip install numba"):
        get_backend("auto")


def test_unknown_backend_suggests_the_closest_name_and_backend_class_does_not_instantiate():
    with pytest.raises(ValueError, match=r"unknown backend 'numab' \(did you mean 'numba'\?\)"):
        get_backend("numab")
    assert base.backend_class("CPU") is base.backend_class("numba")
    assert base.canonical_name("Norse") == "torch"
