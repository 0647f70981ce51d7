"""Reservoir builders: connection statistics against the papers' formulas, parameter ranges,
weight signs, determinism by seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from spikelab import LIF, Izhikevich
from spikelab.reservoirs import izhikevich_network, lin2025_lsm, lsm_column

# Maass, Natschlaeger & Markram 2002: C per (pre, post) type.
C_MAASS = {"EE": 0.3, "EI": 0.2, "IE": 0.4, "II": 0.1}
POP = {"E": "exc", "I": "inh"}


def projection(net, name):
    (p,) = [p for p in net.projections if p.name == name]
    return p


@pytest.fixture(scope="module")
def column():
    return lsm_column(shape=(10, 10, 10), n_inputs=50, seed=3)


def connection_table(net, key, lam, c):
    """Per distance bin: (observed connections, expected, variance), expected from
    C * exp(-(D / lam)^2) evaluated pair by pair (self pairs excluded)."""
    pre, post = net.population(POP[key[0]]), net.population(POP[key[1]])
    d = np.linalg.norm(pre.positions[:, None, :] - post.positions[None, :, :], axis=-1)
    p = c * np.exp(-((d / lam) ** 2))
    valid = np.ones_like(d, dtype=bool)
    if key[0] == key[1]:
        np.fill_diagonal(valid, False)
    w = projection(net, key).weights.tocoo()
    connected = np.zeros_like(valid)
    connected[w.row, w.col] = True
    assert not np.any(connected & ~valid), "autapse present"
    edges = [0.0, 1.01, 1.5, 2.01, 2.5, 3.01, 4.01, np.inf]
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = valid & (d > lo) & (d <= hi) if lo else valid & (d <= hi)
        rows.append((int(connected[m].sum()), float(p[m].sum()), float((p * (1 - p))[m].sum())))
    rows.append(tuple(sum(col) for col in zip(*rows, strict=True)))  # all distances
    return rows


@pytest.mark.parametrize("key", ["EE", "EI", "IE", "II"])
def test_lsm_connection_probability_matches_maass_formula(column, key):
    rows = connection_table(column, key, lam=2.0, c=C_MAASS[key])
    for obs, exp, var in rows:
        # 32 rows in all: a 4.5-sigma binomial band is essentially never crossed by chance.
        assert abs(obs - exp) <= 4.5 * math.sqrt(var) + 1, (key, obs, exp, var)
    # The test has power: a C twice too large is rejected by the same data.
    wrong = connection_table(column, key, lam=2.0, c=2.0 * C_MAASS[key])
    assert any(abs(o - e) > 4.5 * math.sqrt(v) + 1 for o, e, v in wrong)


def test_lsm_lambda_and_c_override():
    net = lsm_column(shape=(7, 7, 7), n_inputs=4, seed=11, lam=3.0, c_scale={"EE": 0.6})
    for key, c in (("EE", 0.6), ("II", 0.1)):
        for obs, exp, var in connection_table(net, key, lam=3.0, c=c):
            assert abs(obs - exp) <= 4.5 * math.sqrt(var) + 1, (key, obs, exp)
    # The same data are inconsistent with the default lambda = 2 (the test has power).
    rows = connection_table(net, "EE", lam=2.0, c=0.6)
    assert any(abs(o - e) > 6 * math.sqrt(v) + 1 for o, e, v in rows)


def test_lsm_ei_split_and_grid(column):
    exc, inh = column.population("exc"), column.population("inh")
    assert (exc.size, inh.size) == (800, 200)
    grid = {(x, y, z) for x in range(10) for y in range(10) for z in range(10)}
    placed = [tuple(p) for p in np.vstack([exc.positions, inh.positions]).astype(int)]
    assert len(placed) == 1000 and set(placed) == grid
    # Inhibitory neurons are scattered over the column, not a block of it.
    assert np.ptp(inh.positions, axis=0).tolist() == [9, 9, 9]
    net = lsm_column(shape=(15, 3, 3), seed=0)
    assert net.population("inh").size == round(0.2 * 135) == 27
    assert lsm_column(shape=(4, 4, 4), seed=0, frac_inh=0.5).population("inh").size == 32


def test_lsm_weight_signs_means_and_delays(column):
    to_mv = 1.0 - math.exp(-1.0 / 30.0)  # per-step increment of A nA at R = 1 MOhm
    means = {"EE": 30.0, "EI": 60.0, "IE": -19.0, "II": -19.0}
    delays = {"EE": 2, "EI": 1, "IE": 1, "II": 1}  # 1.5 ms and 0.8 ms rounded at dt = 1 ms
    for key, mean in means.items():
        pr = projection(column, key)
        assert (pr.source, pr.target) == (POP[key[0]], POP[key[1]])
        w = pr.weights.data
        assert np.all(np.sign(w) == np.sign(mean))
        se = 0.7 * abs(mean) * to_mv / math.sqrt(len(w))  # CV 0.7
        assert abs(w.mean() - mean * to_mv) < 5 * se, key
        assert pr.delays == delays[key]
    fine = lsm_column(shape=(4, 4, 4), seed=0, dt=0.5, tau_mem=30.0)
    assert projection(fine, "EE").delays == 3 and projection(fine, "IE").delays == 2


def test_lsm_neuron_parameters(column):
    e, i = column.population("exc").model, column.population("inh").model
    assert isinstance(e, LIF) and isinstance(i, LIF)
    for m in (e, i):
        assert float(m.tau_mem) == 30.0 and float(m.v_th) == 15.0
        assert float(m.v_reset) == 13.5 and float(m.v_rest) == 0.0
        assert np.all((m.bias >= 13.5) & (m.bias <= 14.5)) and np.ptp(m.bias) > 0.5
    assert (float(e.t_ref), float(i.t_ref)) == (3.0, 2.0)
    assert (float(e.tau_syn), float(i.tau_syn)) == (3.0, 6.0)
    het = lsm_column(shape=(4, 4, 4), seed=0, heterogeneity=0.2).population("exc").model
    assert het.tau_mem.shape == (het.bias.shape[0],)
    assert np.all((het.tau_mem >= 24.0) & (het.tau_mem <= 36.0)) and np.ptp(het.tau_mem) > 5


def test_lsm_input_goes_to_30_percent_of_neurons(column):
    ins = [p for p in column.projections if p.source == "in"]
    assert {p.target for p in ins} == {"exc", "inh"}
    fan_in = np.concatenate([np.diff(p.weights.tocsc().indptr) for p in ins])
    assert fan_in.shape == (1000,)
    assert np.count_nonzero(fan_in) == 300
    assert set(np.unique(fan_in)) == {0, 32}  # each receiving neuron gets 32 channels
    assert all(np.count_nonzero(np.diff(p.weights.tocsc().indptr)) > 0 for p in ins)
    for p in ins:
        assert p.delays == 0 and np.all(p.weights.data > 0)
    small = lsm_column(shape=(5, 5, 4), n_inputs=10, seed=1, input_fraction=0.5)
    fan = np.concatenate(
        [np.diff(p.weights.tocsc().indptr) for p in small.projections if p.source == "in"]
    )
    assert np.count_nonzero(fan) == 50 and set(np.unique(fan)) == {0, 10}


def test_lsm_receptive_fields_stay_inside_the_image():
    net = lsm_column(
        shape=(6, 6, 2),
        n_inputs=34 * 34 * 2,
        seed=2,
        input_shape=(34, 34, 2),
        input_receptive_field=3.0,
    )
    assert net.inputs[0].shape == (34, 34, 2)
    ins = [p for p in net.projections if p.source == "in"]
    assert sum(np.count_nonzero(np.diff(p.weights.tocsc().indptr)) for p in ins) == round(0.3 * 72)


def test_lsm_determinism_by_seed(assert_same_network):
    a = lsm_column(shape=(5, 4, 3), n_inputs=8, seed=5)
    assert_same_network(a, lsm_column(shape=(5, 4, 3), n_inputs=8, seed=5))
    b = lsm_column(shape=(5, 4, 3), n_inputs=8, seed=6)
    assert a != b


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(frac_inh=1.0), r"frac_inh must be in \[0, 1\)"),
        (dict(input_fraction=0.0), r"input_fraction must be in \(0, 1\]"),
        (dict(lam=0.0), "lam .lambda. must be > 0"),
        (dict(shape=(3, 0, 2)), "shape must be three positive ints"),
    ],
)
def test_lsm_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lsm_column(**kwargs)


# ---- Izhikevich 2003 ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def izh():
    return izhikevich_network(seed=4)


def test_izhikevich_parameters_follow_the_2003_formulas(izh):
    e, i = izh.population("exc").model, izh.population("inh").model
    assert isinstance(e, Izhikevich) and (izh.population("exc").size, e.c.shape) == (800, (800,))
    assert izh.population("inh").size == 200
    # exc: a = 0.02, b = 0.2, c = -65 + 15 r^2, d = 8 - 6 r^2
    assert np.all(e.a == 0.02) and np.all(e.b == 0.2)
    r2 = (e.c + 65.0) / 15.0
    assert np.all((r2 >= 0) & (r2 < 1))
    np.testing.assert_allclose(e.d, 8.0 - 6.0 * r2, rtol=0, atol=1e-12)
    assert stats.kstest(np.sqrt(r2), "uniform").pvalue > 1e-3
    # inh: a = 0.02 + 0.08 r, b = 0.25 - 0.05 r, c = -65, d = 2
    r = (i.a - 0.02) / 0.08
    assert np.all((r >= 0) & (r < 1 + 1e-12))
    np.testing.assert_allclose(i.b, 0.25 - 0.05 * r, rtol=0, atol=1e-12)
    assert np.all(i.c == -65.0) and np.all(i.d == 2.0)
    assert stats.kstest(r, "uniform").pvalue > 1e-3
    assert np.all(e.v_peak == 30.0) and np.all(i.v_peak == 30.0)


def test_izhikevich_weights_ranges_signs_and_density(izh):
    for pr in izh.projections:
        w = pr.weights
        n_pairs = w.shape[0] * (w.shape[1] - (1 if pr.source == pr.target else 0))
        assert w.nnz == n_pairs, pr.name  # p_connect = 1: every pair (no autapses)
        if pr.source == pr.target:
            assert np.all(w.diagonal() == 0)
        if pr.source == "exc":
            assert np.all((w.data >= 0) & (w.data < 0.5))
            assert abs(w.data.mean() - 0.25) < 0.01
        else:
            assert np.all((w.data <= 0) & (w.data > -1.0))
            assert abs(w.data.mean() + 0.5) < 0.01
        assert pr.delays == 1
    sparse = izhikevich_network(
        200, 50, p_connect=0.1, seed=1, delay=3, exc_weight=2.0, inh_weight=4.0
    )
    ee = projection(sparse, "exc->exc")
    n = 200 * 199
    assert abs(ee.weights.nnz - 0.1 * n) < 5 * math.sqrt(n * 0.1 * 0.9)
    assert ee.delays == 3 and ee.weights.data.max() < 2.0
    assert projection(sparse, "inh->exc").weights.data.min() > -4.0


def test_izhikevich_inputs_and_determinism(assert_same_network):
    net = izhikevich_network(40, 10, seed=2, n_inputs=30, input_fan_in=5, bias=(5.0, 2.0))
    assert net.n_inputs == 30
    ins = [p for p in net.projections if p.source == "in"]
    fan = np.concatenate([np.diff(p.weights.tocsc().indptr) for p in ins])
    assert fan.tolist() == [5] * 50 and all(p.delays == 0 for p in ins)
    assert np.all(net.population("exc").model.bias == 5.0)
    assert np.all(net.population("inh").model.bias == 2.0)
    assert_same_network(
        net, izhikevich_network(40, 10, seed=2, n_inputs=30, input_fan_in=5, bias=(5.0, 2.0))
    )
    assert net != izhikevich_network(40, 10, seed=3, n_inputs=30, input_fan_in=5, bias=(5.0, 2.0))
    with pytest.raises(ValueError, match="need n_exc >= 1 and n_inh >= 1"):
        izhikevich_network(0, 10)
    with pytest.raises(ValueError, match=r"p_connect must be in \(0, 1\]"):
        izhikevich_network(10, 10, p_connect=0.0)


# ---- Lin et al. 2025 ------------------------------------------------------------------------


def test_lin2025_shapes_scale_and_neuron():
    net = lin2025_lsm(seed=0)
    assert (net.n_inputs, net.n_neurons) == (256, 200)
    w_in, w_rec = (p.weights for p in net.projections)
    assert w_in.shape == (256, 200) and w_in.nnz == 256 * 200  # dense Gaussian
    assert w_rec.shape == (200, 200) and w_rec.nnz == 200 * 200
    for w in (w_in.data, w_rec.data):
        n = len(w)
        assert abs(w.std() - 0.07) < 5 * 0.07 / math.sqrt(2 * n)
        assert abs(w.mean()) < 5 * 0.07 / math.sqrt(n)
        assert stats.kstest(w / 0.07, "norm").pvalue > 1e-3
    assert [p.delays for p in net.projections] == [0, 1]
    m = net.population("lsm").model
    assert math.isclose(math.exp(-1.0 / float(m.tau_mem)), 0.9, rel_tol=1e-14)
    assert float(m.v_th) == 5.0 and float(m.tau_syn) == 0.0
    assert float(m.v_reset) == 0.0 and float(m.t_ref) == 0.0 and float(m.bias) == 0.0
    scaled = lin2025_lsm(n_inputs=64, n_neurons=50, input_scale=0.5, seed=1)
    assert abs(scaled.projections[0].weights.data.std() - 0.5) < 0.05
    assert abs(scaled.projections[1].weights.data.std() - 0.07) < 0.01


def test_lin2025_determinism(assert_same_network):
    assert_same_network(lin2025_lsm(32, 20, seed=9), lin2025_lsm(32, 20, seed=9))
    assert lin2025_lsm(32, 20, seed=9) != lin2025_lsm(32, 20, seed=10)
