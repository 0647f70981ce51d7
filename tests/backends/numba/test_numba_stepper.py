"""The closed-loop stepper computes exactly what ``run`` computes, one step at a time."""

import numpy as np
import pytest
import scipy.sparse as sp

import spikelab as sl
from spikelab.network import InputPort, Network, Population, Projection
from spikelab.neurons import LIF, Izhikevich
from spikelab.spikes import RecordSpec


def mixed(seed=0, uniform_lif=False):
    """LIF (with synaptic current and refractoriness) and Izhikevich populations, two input
    ports with delays 0 to 3, recurrent delays 1 to 4. ``uniform_lif``: one membrane time
    constant for every LIF neuron (the kernel's uniform-population path), else drawn."""
    rng = np.random.default_rng(seed)

    def w(n, m, scale, p=0.2):
        mask = rng.random((n, m)) < p
        return sp.csr_matrix(mask * rng.normal(0, scale, (n, m)))

    def delays(m, lo, hi):
        return rng.integers(lo, hi + 1, m.nnz)

    tau_mem = rng.uniform(10, 30, 60)
    lif = LIF(tau_mem=20.0 if uniform_lif else tau_mem, tau_syn=5.0, v_th=1.0, t_ref=2.0, bias=0.02)
    izh = Izhikevich(a=0.02, b=0.2, c=-65.0, d=8.0, bias=rng.uniform(0, 3, 30), v_init=-65.0)
    projections = []
    for src, n_src, dst, n_dst, scale, lo, hi in [
        ("a", 6, "lif", 60, 0.8, 0, 3), ("b", 4, "izh", 30, 8.0, 0, 2),
        ("lif", 60, "lif", 60, 0.3, 1, 4), ("lif", 60, "izh", 30, 3.0, 1, 2),
        ("izh", 30, "lif", 60, 0.3, 1, 3),
    ]:  # fmt: skip
        m = w(n_src, n_dst, scale)
        projections.append(Projection(source=src, target=dst, weights=m,
                                      delays=delays(m, lo, hi)))  # fmt: skip
    return Network(
        populations=(Population(name="lif", size=60, model=lif),
                     Population(name="izh", size=30, model=izh)),
        inputs=(InputPort(name="a", size=6), InputPort(name="b", size=4)),
        projections=tuple(projections),
    )  # fmt: skip


@pytest.mark.parametrize("uniform_lif", [False, True], ids=["per-neuron", "uniform"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stepping_reproduces_run_bit_for_bit(dtype, uniform_lif):
    net = mixed(uniform_lif=uniform_lif)
    steps = 1000
    rng = np.random.default_rng(1)
    x = (rng.random((2, steps, 10)) < 0.05) * rng.normal(1.0, 0.5, (2, steps, 10))  # float64
    record = RecordSpec(raster=True, voltage=tuple(range(net.n_neurons)))
    sim = net.compile("numba", dt=1.0, record=record, dtype=dtype)
    rec = sim.run(sl.SpikeBatch.from_dense(x))
    st = sim.stepper()
    for b in range(len(x)):
        st.reset()
        raster = np.zeros((steps, net.n_neurons), np.uint8)
        volts = np.zeros((steps, net.n_neurons), dtype)
        syn = 0
        for t in range(steps):
            raster[t, st.step(x[b, t])] = 1
            volts[t] = st.v
        assert np.array_equal(raster, rec.raster.dense(b))
        assert np.array_equal(volts, rec.voltage[b])  # bit for bit, not just the spikes
        assert np.array_equal(st.spike_counts, rec.counts[b, 0])
        syn += st.n_synaptic_events
    assert st.n_spikes == rec.raster.dense(1).sum() > 100  # there are spikes to compare
    # the counters add up to run's (its totals are over both samples)
    st.reset()
    total = 0
    for b in range(len(x)):
        st.reset()
        for t in range(steps):
            st.step(x[b, t])
        total += st.n_synaptic_events
    assert total == rec.n_synaptic_events


def test_stepper_state_and_errors():
    net = mixed()
    st = net.compile("numba", dt=1.0, record=RecordSpec()).stepper()
    v0 = st.v.copy()
    assert st.step().size == 0 and st.t == 1
    with pytest.raises(ValueError, match=r"shape \(10,\), got \(3,\)"):
        st.step(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        st.step(np.full(10, np.nan))
    with pytest.raises(ValueError, match="beyond float32"):
        st.step(np.full(10, 1e300))
    with pytest.raises(ValueError, match="real numbers, got dtype <U1"):
        st.step(np.array(list("abcdefghij")))
    st.step(np.full(10, 5.0))
    assert st.n_synaptic_events > 0
    st.reset()
    assert st.t == 0 and st.n_spikes == 0 and not st.spike_counts.any()
    assert np.array_equal(st.v, v0)
