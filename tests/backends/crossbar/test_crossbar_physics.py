"""Crossbar read physics through the whole backend: read noise statistics, ADC
quantisation, first-order IR drop, and the operation counts behind the energy estimate.

The per-step synaptic input is recovered from recorded voltages of delta-synapse LIF
neurons that never fire: v[t] = α·v[t-1] + I_in[t], so I_in[t] = v[t] − α·v[t-1].
The tests that go through the backend run on both kernels (``kernel`` fixture)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import LIF, InputPort, Network, Population, Projection, RecordSpec, SpikeBatch
from spikelab import ir as K
from spikelab.backends.crossbar import kernel as XK

DECAY = 0.5
_HAS_TORCH = all(importlib.util.find_spec(m) is not None for m in ("torch", "norse"))


@pytest.fixture(
    params=[
        "numba",
        pytest.param(
            "torch",
            marks=[
                pytest.mark.needs_torch,
                pytest.mark.skipif(not _HAS_TORCH, reason="kernel='torch' needs torch and norse"),
            ],
        ),
    ]
)
def kernel(request):
    """The crossbar kernel under test."""
    return request.param


def dense_net(w: np.ndarray) -> Network:
    n_in, n = w.shape
    return Network(
        populations=(Population(name="pop", size=n, model=LIF.from_decay(DECAY, v_th=1e9)),),
        inputs=(InputPort(name="in", size=n_in),),
        projections=(Projection(source="in", target="pop", weights=sp.csr_matrix(w), delays=0),),
    )


def synaptic_input(net, x, **options):
    """(I_in [samples, steps, neurons] recovered from voltages, the simulation)."""
    rec = RecordSpec(voltage=tuple(range(net.n_neurons)))
    sim = net.compile("crossbar", dt=1.0, record=rec, **options)
    v = sim.run(SpikeBatch.from_dense(x)).voltage
    alpha = sim.flat.params[K.ALPHA, 0]
    prev = np.concatenate([np.zeros_like(v[:, :1]), v[:, :-1]], axis=1)
    return v - alpha * prev, sim


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(7)
    w = rng.uniform(-1.0, 1.0, (12, 5))
    x = (rng.random((300, 16, 12)) < 0.3).astype(np.float64)
    return w, x


def test_read_noise_is_zero_mean_with_std_sigma_sqrt_sum_g2(setup, kernel):
    """Only read noise σ on: column-current error ~ N(0, (σ·sqrt(Σ g²) of active rows)²)."""
    w, x = setup
    sigma = 0.02
    i_in, sim = synaptic_input(dense_net(w), x, preset="ideal", read_noise=sigma, kernel=kernel)
    layer = sim.layers[0]
    err = i_in - x @ (layer.scale * (layer.gp - layer.gm))  # weight units (mV)
    # std in weight units: σ · scale · sqrt(Σ_active (G+² + G−²)) (V_read cancels)
    pred = sigma * layer.scale * np.sqrt(x @ (layer.gp**2 + layer.gm**2))
    active = pred > 0
    z = err[active] / pred[active]
    n = z.size
    assert n > 20000
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    assert np.all(err[~active] == 0)


def test_no_read_noise_means_no_error(setup, kernel):
    w, x = setup
    i_in, sim = synaptic_input(
        dense_net(w), x[:20], preset="ideal", ideal_fallback=False, kernel=kernel
    )
    assert np.allclose(i_in, x[:20] @ w, atol=1e-12)


def test_adc_error_is_bounded_by_half_a_step(setup, kernel):
    w, x = setup
    bits, rng_cells = 5, 1.5
    i_in, sim = synaptic_input(
        dense_net(w), x[:50], preset="ideal", adc_bits=bits, adc_range=rng_cells, kernel=kernel
    )
    cfg, layer = sim.config, sim.layers[0]
    to_w = layer.scale / cfg.device.v_read_v
    step, fs = cfg.adc_step_ua() * to_w, cfg.adc_full_scale_ua() * to_w
    ideal = x[:50] @ w
    inside = np.abs(ideal) <= fs - step / 2
    assert inside.mean() > 0.5 and (~inside).any()
    assert np.all(np.abs(i_in - ideal)[inside] <= step / 2 * (1 + 1e-9))
    codes = i_in / step
    assert np.allclose(codes, np.rint(codes), atol=1e-6)
    assert np.all(np.abs(i_in) <= fs * (1 + 1e-12))
    clipped = np.abs(ideal) > fs + step / 2
    assert np.allclose(np.abs(i_in[clipped]), fs)


def test_adc_convert_unit():
    step, kmax = 0.25, 7.0
    i = np.linspace(-2.5, 2.5, 1001)
    out = np.array([XK.adc_convert(v, step, kmax)[0] for v in i])
    inside = np.abs(i) <= kmax * step
    assert np.all(np.abs(out - i)[inside] <= step / 2 + 1e-15)
    assert np.all(np.abs(out[~inside]) == kmax * step)
    assert XK.adc_convert(0.3, 0.0, 0.0) == (0.3, False)


def _read_one(gp, gm, rows, volts, ir, wire_r, tile_rows=8):
    ncols = gp.shape[1]
    gf = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, wire_r])
    gi = np.array([tile_rows, ncols, int(ir), 0], dtype=np.int64)
    acc, var = np.zeros(ncols), np.zeros(ncols)
    XK.read_tile(
        gp.ravel(),
        gm.ravel(),
        0,
        ncols,
        np.asarray(rows, np.int64),
        np.asarray(volts, np.float64),
        len(rows),
        0,
        ncols,
        0,
        gf,
        gi,
        np.uint64(1),
        np.uint64(0),
        acc,
        var,
    )
    return acc


def test_ir_drop_single_cell_matches_first_order_formula():
    """One driven row ρ of an R-row array, one logical column (G+ at bit line 0, G− at 1)."""
    gp, gm = np.zeros((8, 1)), np.zeros((8, 1))
    rho, v, r = 3, 0.2, 2.0
    gp[rho, 0], gm[rho, 0] = 30.0, 10.0
    got = _read_one(gp, gm, [rho], [v], True, r)[0]
    ip, im = v * 30.0, v * 10.0  # µA
    rw = r * 1e-6
    drop_p = rw * (ip + im) + rw * ip * (8 - rho)  # word line + bit line
    drop_m = rw * ((ip + im) + im) + rw * im * (8 - rho)
    assert got == pytest.approx(30.0 * (v - drop_p) - 10.0 * (v - drop_m), rel=1e-12)


def test_ir_drop_is_first_order_in_wire_resistance():
    rng = np.random.default_rng(0)
    gp, gm = rng.uniform(1, 40, (8, 6)), rng.uniform(1, 40, (8, 6))
    rows, volts = [0, 2, 5, 7], [0.2, 0.2, 0.1, 0.2]
    ideal = _read_one(gp, gm, rows, volts, False, 0.0)
    d1 = _read_one(gp, gm, rows, volts, True, 0.5) - ideal
    d2 = _read_one(gp, gm, rows, volts, True, 1.0) - ideal
    assert np.all(np.abs(d1) > 0)
    assert np.allclose(d2, 2 * d1, rtol=1e-9, atol=1e-12)
    assert np.allclose(_read_one(gp, gm, rows, volts, True, 0.0), ideal, atol=1e-12)


def test_operation_counts_and_energy_terms(kernel):
    """3 inputs x 4 neurons on 2x4-cell arrays: 2 row tiles x 2 column tiles (2 logical
    columns each). Events on channels 0 and 2 at step 0 touch both row tiles."""
    w = np.arange(1, 13, dtype=np.float64).reshape(3, 4) / 12
    x = np.zeros((1, 3, 3))
    x[0, 0, [0, 2]] = 1.0
    sim = dense_net(w).compile("crossbar", dt=1.0, preset="ideal", array_size=(2, 4), kernel=kernel)
    rec = sim.run(SpikeBatch.from_dense(x))
    ops = rec.extras["ops"]
    assert ops["array_reads"] == 4
    assert ops["row_activations"] == 4
    assert ops["cell_reads"] == 16  # 2 rows x 4 logical columns x 2 devices
    assert ops["adc_conversions"] == 8 and ops["partial_sum_adds"] == 8
    assert ops["scale_mults"] == 4
    assert ops["neuron_updates"] == 12 and ops["synaptic_events"] == 8
    assert ops["dac_conversions"] == 0 and ops["synaptic_events_nonbinary"] == 0
    layer = sim.layers[0]
    dev, em = sim.device, sim.energy_model
    e_cells = (
        dev.v_read_v**2 * (layer.gp[[0, 2]] + layer.gm[[0, 2]]).sum() * 1e-6 * dev.t_read_ns * 1e-9
    )
    br = rec.extras["energy_breakdown_per_sample_j"]
    assert br["cells"] == pytest.approx(e_cells, rel=1e-12)
    assert br["adc"] == pytest.approx(8 * em.adc_fom_j * 2**em.adc_bits_nominal)
    assert br["rows"] == pytest.approx(4 * em.row_drive_j)
    assert br["digital_weight_reads"] == pytest.approx(8 * em.sram_64b_j[0][1] / 2)
    dig = rec.extras["digital_synaptic_energy_per_sample_j"]
    assert dig == pytest.approx(8 * (em.sram_64b_j[0][1] / 2 + em.fp_add_j))
    assert rec.extras["energy_per_sample_j"] == pytest.approx(
        rec.extras["crossbar_synaptic_energy_per_sample_j"] + br["neurons"]
    )
    assert br["neurons"] == pytest.approx(12 * em.neuron_update_j(0))


def test_dac_quantises_and_clips_input_amplitudes(kernel):
    w = np.random.default_rng(1).uniform(-1, 1, (4, 3))
    x = np.zeros((1, 4, 4))
    x[0, 0] = [1, 2, 3, 4]  # event counts; a 2-bit DAC over [0, 3] has steps of 1
    x[0, 1] = [0.4, 0.6, 1.4, 2.6]
    i_in, sim = synaptic_input(
        dense_net(w), x, preset="ideal", dac_bits=2, dac_range=3.0, kernel=kernel
    )
    xq = np.clip(np.rint(x), 0, 3)
    assert np.allclose(i_in, xq @ w, atol=1e-12)
    rec = sim.run(SpikeBatch.from_dense(x))
    assert rec.extras["ops"]["dac_conversions"] == 7  # rows driven with a value other than 1


def test_ir_drop_through_the_backend_lowers_the_input_and_vanishes_with_the_wires(setup, kernel):
    w, x = setup
    w = np.abs(w)  # all-positive weights: the drop can only shrink the input
    x = x[:10]
    ideal = x @ w
    opts = dict(preset="ideal", ir_drop=True, kernel=kernel)
    small, _ = synaptic_input(dense_net(w), x, wire_r_ohm=1e-6, **opts)
    assert np.allclose(small, ideal, rtol=1e-6, atol=1e-9)
    big, _ = synaptic_input(dense_net(w), x, wire_r_ohm=5.0, **opts)
    on = ideal > 0
    assert np.all(big[on] < ideal[on]) and np.all(big[on] > 0)
