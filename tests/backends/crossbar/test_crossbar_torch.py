"""The crossbar backend's torch kernel (``kernel="torch"``) against its numba kernel.

Deterministic settings (no read noise) must agree bit for bit on the CPU in float64: the
ideal preset (exact path: the torch backend's CSR additions), the ADC/DAC array path (column
sums in numba's row order), and the operation counters behind the energy estimate. With
read noise the two kernels draw different numbers from the same distribution; the noise
statistics are tested in test_crossbar_physics.py, parametrised over both kernels."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import (
    LIF,
    BackendUnavailable,
    InputPort,
    Izhikevich,
    Network,
    Population,
    Projection,
    RecordSpec,
    SpikeBatch,
    get_backend,
)

pytest.importorskip("torch")
pytest.importorskip("norse")
pytestmark = pytest.mark.needs_torch

REC = RecordSpec(raster=True, bin_steps=10, voltage=(0, 3, 30))
ARRAY = (8, 8)  # small arrays: 4 logical columns, several row and column tiles per layer


def _sparse(rng: np.random.Generator, shape: tuple[int, int], p: float, lo: float, hi: float):
    w = rng.uniform(lo, hi, shape) * (rng.random(shape) < p)
    return sp.csr_matrix(w)


def recurrent_net(seed: int = 0) -> Network:
    """LIF (28, refractory, current synapses) and Izhikevich (6) populations, 12 inputs;
    per-synapse delays 0..2 on the inputs and 1..3 recurrently (several layers each)."""
    rng = np.random.default_rng(seed)
    pops = (
        Population(name="exc", size=28, model=LIF(tau_mem=10.0, tau_syn=3.0, v_th=1.0, t_ref=2.0)),
        Population(name="izh", size=6, model=Izhikevich()),
    )
    projs = []
    for src, tgt, shape, p, lo, hi, dmax in (
        ("in", "exc", (12, 28), 0.4, 0.0, 0.8, 2),
        ("in", "izh", (12, 6), 0.5, 0.0, 12.0, 0),
        ("exc", "exc", (28, 28), 0.2, -0.4, 0.6, 3),
        ("exc", "izh", (28, 6), 0.3, 0.0, 6.0, 2),
        ("izh", "exc", (6, 28), 0.3, -0.5, 0.0, 1),
    ):
        w = _sparse(rng, shape, p, lo, hi)
        d = rng.integers(0 if src == "in" else 1, dmax + 1, w.nnz).astype(np.int32)
        projs.append(Projection(source=src, target=tgt, weights=w, delays=d))
    return Network(populations=pops, inputs=(InputPort(name="in", size=12),), projections=projs)


def event_batch(samples: int = 3, steps: int = 60, seed: int = 1) -> SpikeBatch:
    """Events with counts 1..3 (non-binary rows exercise the DAC and its counters)."""
    rng = np.random.default_rng(seed)
    x = (rng.random((samples, steps, 12)) < 0.25) * rng.integers(1, 4, (samples, steps, 12))
    return SpikeBatch.from_dense(x.astype(np.float32))


def both(net: Network, b: SpikeBatch, *, sum_order: str = "auto", **options):
    """(numba recording, torch recording) of the crossbar backend with ``options``."""
    rec_numba = net.compile("crossbar", dt=1.0, record=REC, **options).run(b)
    rec_torch = net.compile(
        "crossbar", dt=1.0, record=REC, kernel="torch", device="cpu", sum_order=sum_order,
        **options,
    ).run(b)  # fmt: skip
    return rec_numba, rec_torch


def assert_same_run(a, b, *, ops: bool = True) -> None:
    """Identical spikes (counts and raster), voltages and (crossbar runs) counters."""
    assert a.n_spikes > 50, "the test input must make the network fire"
    np.testing.assert_array_equal(b.counts, a.counts)
    np.testing.assert_array_equal(b.raster.steps, a.raster.steps)
    np.testing.assert_array_equal(b.raster.neurons, a.raster.neurons)
    np.testing.assert_array_equal(b.voltage, a.voltage)
    assert (b.n_spikes, b.n_synaptic_events) == (a.n_spikes, a.n_synaptic_events)
    if ops:
        np.testing.assert_array_equal(b.extras["ops_by_sample"], a.extras["ops_by_sample"])


@pytest.fixture(scope="module")
def case():
    return recurrent_net(), event_batch()


def test_ideal_torch_kernel_equals_numba_backend_spike_for_spike(case):
    net, b = case
    ref = net.compile("numba", dt=1.0, record=REC).run(b)
    rec_numba, rec_torch = both(net, b, preset="ideal", array_size=ARRAY)
    assert rec_torch.extras["exact_path"] and rec_torch.extras["kernel"] == "torch"
    assert rec_torch.extras["sum_order"] == "csr"
    assert rec_numba.extras["kernel"] == "numba"
    assert_same_run(ref, rec_torch, ops=False)
    assert_same_run(rec_numba, rec_torch)


def test_operation_counters_identical_with_adc_and_dac(case):
    """Noise off, ADC and DAC on, tiled arrays: every counter is numba's, per sample; the
    cell read energy Σ V²(G+ + G−) agrees to rounding (summed in another order)."""
    net, b = case
    opts = dict(preset="ideal", array_size=ARRAY, adc_bits=6, adc_range=1.0, dac_bits=2)
    rec_numba, rec_torch = both(net, b, dac_range=3.0, **opts)
    ops = rec_numba.extras["ops"]
    for name in ("array_reads", "row_activations", "cell_reads", "adc_conversions"):
        assert ops[name] > 0
    assert ops["adc_clipped"] > 0 and ops["dac_conversions"] > 0
    assert ops["synaptic_events_nonbinary"] > 0
    np.testing.assert_array_equal(
        rec_torch.extras["ops_by_sample"], rec_numba.extras["ops_by_sample"]
    )
    assert rec_torch.extras["ops"] == ops
    e_numba = rec_numba.extras["energy_breakdown_per_sample_j"]
    e_torch = rec_torch.extras["energy_breakdown_per_sample_j"]
    assert e_torch.keys() == e_numba.keys()
    for key, value in e_numba.items():
        assert e_torch[key] == pytest.approx(value, rel=1e-12), key


def test_adc_on_noise_off_spikes_equal_between_kernels(case):
    """Deterministic reads: "auto" adds each array's rows in numba's order on the CPU in
    float64, so ADC codes, spikes and voltages are bit-identical."""
    net, b = case
    rec_numba, rec_torch = both(net, b, preset="ideal", array_size=ARRAY, adc_bits=8, dac_bits=3)
    assert rec_torch.extras["sum_order"] == "sequential"
    assert not rec_torch.extras["exact_path"]
    assert_same_run(rec_numba, rec_torch)


def test_adc_on_noise_off_matmul_order_gives_the_same_codes():
    """With a matrix product the column sums differ from numba's by rounding only (at most
    ~n·2⁻⁵³·Σ|V·ΔG|, about 1e-12 of a 12-bit ADC step here), so an ADC code can move only
    when a sum lies that close to a rounding boundary; with continuous random conductances
    none does, so the codes, and with them the ring additions, spikes and voltages, are
    numba's exactly. Without an ADC the sums reach the neurons: equal to rounding (with 16
    samples MKL's product sums in another order than numba: ~1e-11 mV apart here)."""
    net, b = recurrent_net(), event_batch(samples=16)
    opts = dict(preset="wan2022", weights="device", read_noise=0.0, sum_order="matmul")
    rec_numba, rec_torch = both(net, b, adc_bits=12, **opts)
    assert rec_torch.extras["sum_order"] == "matmul"
    assert_same_run(rec_numba, rec_torch)
    rec_numba, rec_torch = both(net, b, **opts)
    assert np.allclose(rec_torch.voltage, rec_numba.voltage, rtol=0, atol=1e-9)


def test_device_weights_without_noise_equal_between_kernels(case):
    """Programming errors come from the same numpy streams, so with read noise off the
    wan2022 arrays read the same conductances in both kernels."""
    net, b = case
    opts = dict(preset="wan2022", weights="device", read_noise=0.0, adc_bits=8, seed=4)
    assert_same_run(*both(net, b, **opts))


def test_ir_drop_equal_to_rounding(case):
    """The IR-drop path sums with prefix sums (another order): equal to rounding."""
    net, b = case
    opts = dict(preset="ideal", array_size=ARRAY, ir_drop=True, wire_r_ohm=2.0)
    rec_numba, rec_torch = both(net, b, **opts)
    np.testing.assert_array_equal(rec_torch.counts, rec_numba.counts)
    assert np.allclose(rec_torch.voltage, rec_numba.voltage, rtol=0, atol=1e-9)


def test_same_seed_same_result_any_threads(case):
    """Read noise on: the same seed and batch (and batch_size) give the same result for any
    thread count; another seed gives other draws."""
    net, b = case
    opts = dict(dt=1.0, record=REC, preset="taox", adc_bits=8, kernel="torch", batch_size=1)
    r1 = net.compile("crossbar", seed=11, threads=1, **opts).run(b)
    r2 = net.compile("crossbar", seed=11, threads=2, **opts).run(b)
    np.testing.assert_array_equal(r1.counts, r2.counts)
    np.testing.assert_array_equal(r1.voltage, r2.voltage)
    r3 = net.compile("crossbar", seed=12, threads=1, **opts).run(b)
    assert not np.array_equal(r3.voltage, r1.voltage)


def test_recording_has_the_numba_kernels_fields_and_extras(case):
    net, b = case
    rec_numba, rec_torch = both(net, b, preset="wan2022")
    assert rec_torch.counts.dtype == rec_numba.counts.dtype == np.int32
    assert rec_torch.counts.shape == rec_numba.counts.shape
    assert rec_torch.voltage.shape == rec_numba.voltage.shape
    assert rec_torch.populations == rec_numba.populations
    torch_only = {"device", "dtype", "sum_order"}
    assert set(rec_torch.extras) == set(rec_numba.extras) | torch_only
    assert rec_torch.extras["device"] == "cpu" and rec_torch.extras["dtype"] == "float64"
    assert rec_torch.extras["sum_order"] == "matmul"  # read noise on: no exact order to keep
    # same conductances, other read-noise draws (1 %): spikes, hence energies, differ a little
    for key in ("energy_per_sample_j", "digital_energy_per_sample_j"):
        assert rec_torch.extras[key] == pytest.approx(rec_numba.extras[key], rel=0.02), key


def test_float32_runs_close_to_float64(case):
    net, b = case
    rec = RecordSpec(bin_steps=10)
    opts = dict(dt=1.0, record=rec, preset="ideal", kernel="torch", ideal_fallback=False)
    r64 = net.compile("crossbar", **opts).run(b)
    r32 = net.compile("crossbar", dtype="float32", **opts).run(b)
    assert r32.extras["dtype"] == "float32" and r32.extras["sum_order"] == "matmul"
    assert abs(r32.n_spikes - r64.n_spikes) <= 0.05 * r64.n_spikes


def test_simulation_pickles(case):
    net, b = case
    sim = net.compile("crossbar", dt=1.0, record=REC, preset="wan2022", kernel="torch")
    again = pickle.loads(pickle.dumps(sim))
    np.testing.assert_array_equal(again.run(b).voltage, sim.run(b).voltage)


def test_bad_kernel_and_torch_options_are_clear_errors():
    with pytest.raises(ValueError, match=r"kernel must be one of \['numba', 'torch'\].*'jax'"):
        get_backend("crossbar", kernel="jax")
    with pytest.raises(ValueError, match="options of kernel='torch'.*'device': 'cuda'"):
        get_backend("crossbar", device="cuda")
    with pytest.raises(ValueError, match="dtype must be one of"):
        get_backend("crossbar", kernel="torch", dtype="float16")
    with pytest.raises(ValueError, match="sum_order must be one of"):
        get_backend("crossbar", kernel="torch", sum_order="pairwise")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        get_backend("crossbar", kernel="torch", batch_size=0)
    assert get_backend("crossbar", kernel="torch", device="cpu").torch_options["batch_size"] > 0


def test_missing_torch_is_backend_unavailable(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "norse" else real(name, *a)
    )
    with pytest.raises(BackendUnavailable, match="needs norse.*pip install"):
        get_backend("crossbar", kernel="torch")
