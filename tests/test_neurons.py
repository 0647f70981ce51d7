"""Neuron models: plain-data validation, per-neuron parameters, equality, the registry."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from spikelab import LIF, Izhikevich
from spikelab.neurons import IZHIKEVICH_PATTERNS, model_from_dict


def test_lif_defaults_and_units_are_plain_float_arrays():
    m = LIF()
    assert m.kind == "LIF"
    for name in ("tau_mem", "tau_syn", "v_rest", "v_reset", "v_th", "t_ref", "bias"):
        v = getattr(m, name)
        assert isinstance(v, np.ndarray) and v.dtype == np.float64 and v.ndim == 0
    assert float(m.tau_mem) == 20.0 and float(m.tau_syn) == 0.0 and float(m.v_th) == 1.0


def test_parameters_are_read_only_and_model_is_frozen():
    m = LIF(tau_mem=np.array([10.0, 20.0]))
    with pytest.raises(ValueError, match="read-only"):
        m.tau_mem[0] = 5.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.tau_mem = 3.0  # type: ignore[misc]


def test_parameters_are_copied_from_the_callers_array():
    taus = np.array([10.0, 20.0])
    m = LIF(tau_mem=taus)
    taus[0] = 99.0
    assert m.tau_mem[0] == 10.0


def test_keyword_only():
    with pytest.raises(TypeError):
        LIF(20.0)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(tau_mem=0.0), r"tau_mem must be > 0, got 0\.0"),
        (dict(tau_mem=-5.0), r"tau_mem must be > 0, got -5\.0"),
        (dict(tau_mem=np.array([10.0, -1.0, 3.0])), r"tau_mem must be > 0, got -1\.0"),
        (dict(tau_syn=-1.0), r"tau_syn must be >= 0, got -1\.0"),
        (dict(t_ref=-0.5), r"t_ref must be >= 0"),
        (dict(v_th=1.0, v_reset=1.0), "v_th must exceed v_reset"),
        (dict(v_th=np.array([1.0, 0.5]), v_reset=0.6), "v_th must exceed v_reset"),
        (dict(bias=float("nan")), "bias must be finite"),
        (dict(v_th=np.array([1.0, np.inf])), "v_th must be finite"),
        (dict(tau_mem=np.ones((2, 2))), r"scalar or a 1-D per-neuron array, got shape \(2, 2\)"),
    ],
)
def test_lif_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LIF(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(a=0.0), "a must be > 0"),
        (dict(a=np.array([0.02, -0.1])), "a must be > 0"),
        (dict(tau_syn=-2.0), "tau_syn must be >= 0"),
        (dict(c=30.0), "c .reset. must be below v_peak"),
        (dict(c=-50.0, v_peak=-60.0), "c .reset. must be below v_peak"),
        (dict(d=float("inf")), "d must be finite"),
    ],
)
def test_izhikevich_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Izhikevich(**kwargs)


def test_expand_broadcasts_scalars_and_checks_lengths():
    m = LIF(tau_mem=np.array([10.0, 20.0, 30.0]), v_th=2.0)
    e = m.expand(3)
    assert e["tau_mem"].tolist() == [10.0, 20.0, 30.0]
    assert e["v_th"].tolist() == [2.0, 2.0, 2.0]
    assert all(v.dtype == np.float64 and v.shape == (3,) for v in e.values())
    e["v_th"][0] = 7.0  # expanded arrays are writable copies, not views of the model
    assert float(m.v_th) == 2.0
    assert m.sizes() == {3}
    assert LIF().sizes() == set()
    with pytest.raises(ValueError, match="tau_mem has 3 values but the population has 4"):
        m.expand(4)


def test_equality_and_hash():
    a = LIF(tau_mem=np.array([10.0, 20.0]), bias=0.5)
    b = LIF(tau_mem=np.array([10.0, 20.0]), bias=0.5)
    c = LIF(tau_mem=np.array([10.0, 20.0 + 1e-12]), bias=0.5)
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert LIF() != Izhikevich()
    assert LIF(tau_mem=20.0) != LIF(tau_mem=np.array([20.0]))  # homogeneous vs per-neuron
    assert len({a, b, c}) == 2


def test_from_decay_gives_the_per_step_decay():
    for decay, dt in ((0.9, 1.0), (0.5, 0.25), (0.99, 2.0)):
        m = LIF.from_decay(decay, dt=dt, v_th=5.0)
        assert math.isclose(math.exp(-dt / float(m.tau_mem)), decay, rel_tol=1e-14)
        assert float(m.tau_syn) == 0.0 and float(m.v_rest) == 0.0 and float(m.v_reset) == 0.0
        assert float(m.v_th) == 5.0
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"decay must be in \(0, 1\)"):
            LIF.from_decay(bad)


def test_smallest_time_constant():
    assert LIF(tau_mem=20.0, tau_syn=0.0).smallest_time_constant() == 20.0
    assert LIF(tau_mem=20.0, tau_syn=5.0).smallest_time_constant() == 5.0
    m = LIF(tau_mem=np.array([30.0, 8.0]), tau_syn=np.array([0.0, 12.0]))
    assert m.smallest_time_constant() == 8.0  # the zero tau_syn (delta synapse) is ignored
    assert Izhikevich(a=np.array([0.02, 0.1])).smallest_time_constant() == pytest.approx(10.0)
    assert Izhikevich(a=0.02, tau_syn=4.0).smallest_time_constant() == 4.0


def test_model_registry_round_trip_and_unknown_kind():
    for m in (LIF(tau_mem=np.array([5.0, 6.0]), bias=1.5), Izhikevich(a=0.1, d=2.0)):
        again = model_from_dict(m.kind, m.to_dict())
        assert type(again) is type(m) and again == m
    with pytest.raises(ValueError, match=r"unknown neuron model 'AdEx'; known models: \["):
        model_from_dict("AdEx", {})


def test_izhikevich_patterns_are_the_2003_values():
    # Izhikevich 2003, Fig. 2 (a, b, c, d).
    expected = {
        "regular_spiking": (0.02, 0.2, -65, 8),
        "intrinsically_bursting": (0.02, 0.2, -55, 4),
        "chattering": (0.02, 0.2, -50, 2),
        "fast_spiking": (0.1, 0.2, -65, 2),
        "low_threshold_spiking": (0.02, 0.25, -65, 2),
    }
    for name, abcd in expected.items():
        p = IZHIKEVICH_PATTERNS[name]
        assert (p["a"], p["b"], p["c"], p["d"]) == abcd
        Izhikevich(**p)  # valid
    assert Izhikevich().v_peak == 30.0
