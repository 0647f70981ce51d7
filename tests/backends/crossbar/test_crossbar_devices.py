"""RRAM device models and the mapping onto crossbar cells: presets, the aihwkit
polynomial, stuck-at rates, relaxation, and device-generated weight distributions.

Statistical tests use fixed seeds and compare to theory within a few standard errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from spikelab import InputPort, Network, Population, Projection
from spikelab.backends.crossbar import PRESETS, RRAMDevice, get_device
from spikelab.backends.crossbar.mapping import CrossbarConfig, build_layers
from spikelab.neurons import LIF
from spikelab.reservoirs import lin2025_lsm


def dense_net(w: np.ndarray) -> Network:
    n_in, n = w.shape
    return Network(
        populations=(Population(name="pop", size=n, model=LIF(v_th=1e9)),),
        inputs=(InputPort(name="in", size=n_in),),
        projections=(Projection(source="in", target="pop", weights=sp.csr_matrix(w), delays=0),),
    )


def test_presets_and_overrides():
    assert {"ideal", "wan2022", "taox"} <= set(PRESETS)
    assert PRESETS["ideal"].is_ideal
    assert not PRESETS["wan2022"].is_ideal and not PRESETS["taox"].is_ideal
    dev = get_device("wan2022", read_noise=0.05)
    assert dev.read_noise == 0.05 and dev.g_max_us == 40.0
    with pytest.raises(ValueError, match="unknown device preset 'nope'.*taox"):
        get_device("nope")
    with pytest.raises(TypeError, match="unknown device parameter.*read_nois"):
        get_device("wan2022", read_nois=0.1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"g_min_us": 50.0}, "g_min_us < g_max_us"),
        ({"p_stuck_min": 1.5}, "probability"),
        ({"p_stuck_min": 0.6, "p_stuck_max": 0.6}, "must be <= 1"),
        ({"levels": 1}, "levels must be >= 2"),
        ({"read_noise": -0.1}, "read_noise must be finite and >= 0"),
        ({"relax_times_s": (1.0,)}, "one relaxation polynomial"),
    ],
)
def test_device_validation(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(PRESETS["wan2022"], **change)


def test_wan2022_polynomial_matches_aihwkit_fit():
    """σ_prog(g) = Σ c_i (g/40 µS)^i with aihwkit's ReRamWan2022NoiseModel 1 s coefficients."""
    dev = PRESETS["wan2022"]
    c = [0.348, 16.030, -43.853, 45.393, -16.815]
    for g in (0.0, 10.0, 20.0, 40.0):
        x = g / 40.0
        assert dev.prog_sigma_us(np.array([g]))[0] == pytest.approx(
            sum(ci * x**i for i, ci in enumerate(c)), rel=1e-12
        )
    one_day = [0.701, 22.086, -50.773, 47.095, -16.458]
    assert dev.total_sigma_us(np.array([40.0]), 86400.0)[0] == pytest.approx(sum(one_day))
    mid = dev.total_sigma_us(np.array([20.0]), 3600.0)[0]  # between 1 s and 1 day
    lo, hi = (
        dev.prog_sigma_us(np.array([20.0]))[0],
        dev.total_sigma_us(np.array([20.0]), 86400.0)[0],
    )
    assert lo < mid < hi
    with pytest.raises(ValueError, match="beyond the relaxation data"):
        dev.total_sigma_us(np.array([20.0]), 10 * 86400.0)


def test_programming_error_and_relaxation_statistics():
    dev = PRESETS["wan2022"]
    rng = np.random.default_rng(3)
    target = np.full(40000, 20.0)
    g = dev.program(target, rng)
    sd = dev.prog_sigma_us(np.array([20.0]))[0]
    n = target.size
    assert abs((g - 20.0).mean()) < 4 * sd / np.sqrt(n)
    assert abs((g - 20.0).std() / sd - 1) < 4 / np.sqrt(2 * n)
    g1 = dev.relax(g, target, 86400.0, rng)
    sd1 = dev.total_sigma_us(np.array([20.0]), 86400.0)[0]
    assert abs((g1 - 20.0).std() / sd1 - 1) < 4 / np.sqrt(2 * n)


def test_levels_quantise_targets():
    dev = get_device("taox", prog_poly_us=(0.0,), d2d_sigma=0.0, p_stuck_min=0.0, p_stuck_max=0.0)
    g = dev.program(np.linspace(5.0, 100.0, 1000), np.random.default_rng(0))
    grid = 5.0 + np.arange(32) * 95.0 / 31
    assert np.allclose(np.min(np.abs(g[:, None] - grid[None]), axis=1), 0.0, atol=1e-9)


def test_stuck_at_rates_through_the_mapping():
    p_min, p_max = 0.03, 0.02
    w = np.random.default_rng(0).uniform(0.1, 0.9, (200, 150))  # G+ inside the window
    inside = w < w.max()  # the largest weight maps to g_max itself
    dev = get_device("ideal", p_stuck_min=p_min, p_stuck_max=p_max)
    (layer,), _ = build_layers(dense_net(w), CrossbarConfig(device=dev, seed=5))
    n = int(inside.sum())
    for frac, p in (
        (np.mean(layer.gp[inside] == dev.g_min_us), p_min),
        (np.mean(layer.gp[inside] == dev.g_max_us), p_max),
        (np.mean(layer.gm[inside] == dev.g_max_us), p_max),
    ):
        assert abs(frac - p) < 4 * np.sqrt(p * (1 - p) / n), (frac, p)


def test_network_mode_stores_weights_on_differential_pairs():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((30, 20))
    cfg = CrossbarConfig(device=PRESETS["ideal"])
    (layer,), programmed = build_layers(dense_net(w), cfg)
    dev = cfg.device
    assert layer.scale == pytest.approx(np.abs(w).max() / (dev.g_max_us - dev.g_min_us))
    assert np.all((layer.gp == dev.g_min_us) | (layer.gm == dev.g_min_us))
    assert np.allclose(layer.scale * (layer.gp - layer.gm), w, atol=1e-12)
    assert np.allclose(programmed.projections[0].weights.toarray(), w, atol=1e-12)


def test_device_generated_weights_have_the_preset_distribution():
    """weights="device" on the Lin et al. preset: every cell gets the same pulse; G± follow
    the preset's pulse distribution and the weights keep the network's std and sparsity."""
    net = lin2025_lsm(seed=0)
    dev = PRESETS["wan2022"]
    layers, programmed = build_layers(net, CrossbarConfig(device=dev, weights="device", seed=1))
    ref = np.clip(
        np.random.default_rng(99).normal(dev.pulse_mean_us, dev.pulse_std_us, 200000),
        dev.g_min_us,
        dev.g_max_us,
    )
    for layer, orig, prog in zip(layers, net.projections, programmed.projections, strict=True):
        g = np.concatenate([layer.gp_programmed.ravel(), layer.gm_programmed.ravel()])
        assert stats.ks_2samp(g, ref).pvalue > 1e-3
        dg = (layer.gp_programmed - layer.gm_programmed).ravel()
        n = dg.size
        assert abs(dg.std() / (np.sqrt(2) * ref.std()) - 1) < 4 / np.sqrt(2 * n)
        assert abs(dg.mean()) < 4 * dg.std() / np.sqrt(n)
        w_dev, w_net = prog.weights, orig.weights
        assert np.array_equal(w_dev.indptr, w_net.indptr)
        assert np.array_equal(w_dev.indices, w_net.indices)
        assert w_dev.data.std() == pytest.approx(w_net.data.std(), rel=1e-9)
        assert np.allclose(w_dev.data, layer.scale * dg, atol=1e-12)


def test_device_mode_keeps_sign_of_single_signed_projections():
    w = np.abs(np.random.default_rng(0).standard_normal((50, 40))) * 0.3
    (layer,), programmed = build_layers(
        dense_net(w), CrossbarConfig(device=PRESETS["wan2022"], weights="device", seed=0)
    )
    wd = programmed.projections[0].weights.data
    assert np.all(wd >= 0)
    assert wd.mean() == pytest.approx(w.mean(), rel=1e-9)
    assert np.all(layer.gm_programmed == PRESETS["wan2022"].g_min_us)


def test_device_mode_needs_a_pulse_spread():
    w = np.random.default_rng(0).standard_normal((5, 4))
    dev = get_device("ideal", pulse_std_us=0.0)
    with pytest.raises(ValueError, match="no conductance spread"):
        build_layers(dense_net(w), CrossbarConfig(device=dev, weights="device"))


def test_config_validation():
    dev = PRESETS["ideal"]
    with pytest.raises(ValueError, match="weights must be 'network' or 'device'"):
        CrossbarConfig(device=dev, weights="random")
    with pytest.raises(ValueError, match="at least \\(1, 2\\) cells"):
        CrossbarConfig(device=dev, array_cols=1)
    with pytest.raises(ValueError, match="adc_bits must be in"):
        CrossbarConfig(device=dev, adc_bits=1)
    assert isinstance(PRESETS["taox"], RRAMDevice)
