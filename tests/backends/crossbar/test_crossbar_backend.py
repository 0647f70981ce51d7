"""The crossbar backend as a backend: ideal preset == numba spike for spike (float64), the
array path with zero noise and a fine ADC within tolerance, determinism, the
device-programmed network, pickling, errors and the registry."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from spikelab import RecordSpec, SpikeBatch, available_backends, get_backend
from spikelab.backends.crossbar import CrossbarBackend
from spikelab.reservoirs import izhikevich_network, lin2025_lsm, lsm_column

REC = RecordSpec(raster=True, bin_steps=10, voltage=(0, 1, 5))


def batch(n_in, *, samples=4, steps=40, p=0.2, seed=1):
    rng = np.random.default_rng(seed)
    x = (rng.random((samples, steps, n_in)) < p) * rng.integers(1, 3, (samples, steps, n_in))
    return SpikeBatch.from_dense(x.astype(np.float32))


NETS = {
    "lin2025": lambda: (lin2025_lsm(seed=0, weight_scale=0.3), batch(256)),
    "lsm_column": lambda: (lsm_column(shape=(5, 4, 3), n_inputs=30, seed=0), batch(30, p=0.1)),
    "izhikevich": lambda: (
        izhikevich_network(40, 10, p_connect=0.3, n_inputs=10, seed=0, delay=2),
        batch(10),
    ),
}


@pytest.fixture(scope="module", params=sorted(NETS))
def case(request):
    net, b = NETS[request.param]()
    ref = net.compile("numba", dt=1.0, record=REC).run(b)
    assert ref.n_spikes > 100, "the test input must make the network fire"
    return net, b, ref


def test_ideal_preset_equals_numba_spike_for_spike(case):
    net, b, ref = case
    rec = net.compile("crossbar", dt=1.0, record=REC, preset="ideal").run(b)
    assert rec.extras["exact_path"]
    assert np.array_equal(rec.counts, ref.counts)
    assert np.array_equal(rec.raster.steps, ref.raster.steps)
    assert np.array_equal(rec.raster.neurons, ref.raster.neurons)
    assert np.array_equal(rec.voltage, ref.voltage)
    assert (rec.n_spikes, rec.n_synaptic_events) == (ref.n_spikes, ref.n_synaptic_events)


def test_array_path_without_noise_matches_within_tolerance(case):
    """Same arithmetic through the arrays (differential pairs, tiles, a 48-bit ADC)."""
    net, b, ref = case
    rec = net.compile(
        "crossbar",
        dt=1.0,
        record=REC,
        preset="ideal",
        ideal_fallback=False,
        adc_bits=48,
        adc_range=200.0,
        array_size=(64, 32),
    ).run(b)
    assert not rec.extras["exact_path"]
    assert np.array_equal(rec.counts, ref.counts)
    assert np.allclose(rec.voltage, ref.voltage, rtol=0, atol=1e-6)


def test_device_network_is_what_the_arrays_compute():
    net, b = NETS["lin2025"]()
    sim = net.compile(
        "crossbar", dt=1.0, record=REC, preset="wan2022", weights="device", read_noise=0.0, seed=3
    )
    rec = sim.run(b)
    ref = sim.programmed_network.compile("numba", dt=1.0, record=REC).run(b)
    assert ref.n_spikes > 100
    assert np.array_equal(rec.counts, ref.counts)
    assert np.allclose(rec.voltage, ref.voltage, atol=1e-9)
    assert not np.allclose(
        sim.programmed_network.projections[0].weights.data, net.projections[0].weights.data
    )


def test_same_seed_same_result_any_threads_any_batching():
    net, b = NETS["lin2025"]()
    opts = dict(dt=1.0, record=REC, preset="taox", adc_bits=8, seed=11)
    r1 = net.compile("crossbar", threads=1, **opts).run(b)
    r2 = net.compile("crossbar", threads=2, **opts).run(b)
    assert np.array_equal(r1.counts, r2.counts) and np.array_equal(r1.voltage, r2.voltage)
    order = [3, 1, 2]
    r3 = net.compile("crossbar", **opts).run(b.subset(order))
    assert np.array_equal(r3.counts, r1.counts[order])
    r4 = net.compile("crossbar", **{**opts, "seed": 12}).run(b)
    assert not np.array_equal(r4.voltage, r1.voltage)


def test_simulation_pickles():
    net, b = NETS["lin2025"]()
    sim = net.compile("crossbar", dt=1.0, record=REC, preset="wan2022")
    again = pickle.loads(pickle.dumps(sim))
    assert np.array_equal(again.run(b).voltage, sim.run(b).voltage)


def test_energy_extras_are_reported():
    net, b = NETS["lin2025"]()
    rec = net.compile("crossbar", dt=1.0, preset="wan2022", weights="device").run(b)
    ex = rec.extras
    for key in (
        "energy_per_sample_j",
        "digital_energy_per_sample_j",
        "energy_per_synaptic_event_j",
        "ops",
        "energy_breakdown_per_sample_j",
    ):
        assert key in ex
    assert 0 < ex["energy_per_sample_j"] < ex["digital_energy_per_sample_j"]
    assert ex["ops"]["synaptic_events"] == rec.n_synaptic_events


def test_registry_and_errors():
    assert "crossbar" in available_backends()
    assert isinstance(get_backend("crossbar"), CrossbarBackend)
    with pytest.raises(ValueError, match="unknown device preset.*wan2022"):
        get_backend("crossbar", preset="hfo2")
    with pytest.raises(ValueError, match="kernel must be one of"):
        get_backend("crossbar", kernel="jax")
    with pytest.raises(ValueError, match="weights must be"):
        get_backend("crossbar", weights="random")
    with pytest.raises(ValueError, match="array_size must be"):
        get_backend("crossbar", array_size=(512,))
    with pytest.raises(TypeError, match="unknown device parameter"):
        get_backend("crossbar", noise=0.1)
    assert get_backend("crossbar", adc_bits=0).config.adc_bits is None  # TOML: 0 = infinite
    with pytest.raises(ValueError, match="adc_bits must be a whole number"):
        get_backend("crossbar", adc_bits="eight")
    net, b = NETS["lin2025"]()
    with pytest.raises(ValueError, match="beyond the relaxation data"):
        net.compile("crossbar", dt=1.0, preset="wan2022", drift_time_s=1e7)
    with pytest.raises(ValueError, match="channels"):
        net.compile("crossbar", dt=1.0).run(batch(10))
