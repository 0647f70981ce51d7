"""The closed-loop stepper computes exactly what ``run`` computes, one step at a time."""

import numpy as np
import pytest

import spikelab as sl
from spikelab.backends.base import RecordSpec


def exc_inh(seed=0):
    return sl.reservoirs.lsm_column(
        (5, 5, 4), n_inputs=12, seed=seed, input_fraction=1.0, input_fan_in=4,
        input_weight=40.0, weight_scale=1.0, bias_range=(0.0, 0.0),
    )  # fmt: skip


def dense_inputs(n, steps, channels, seed):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, steps, channels)) < 0.08) * rng.uniform(0.5, 1.5, (n, steps, channels))
    return x.astype(np.float64)


@pytest.mark.parametrize(
    "net",
    [exc_inh(), sl.reservoirs.izhikevich_network(40, 10, n_inputs=12, input_weight=20.0, delay=3)],
    ids=["lif-delays", "izhikevich"],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stepping_reproduces_run_spike_for_spike(net, dtype):
    x = dense_inputs(3, 200, 12, seed=1)
    sim = net.compile("numba", dt=1.0, record=RecordSpec(raster=True), dtype=dtype)
    rec = sim.run(sl.SpikeBatch.from_dense(x))
    st = sim.stepper()
    for b in range(len(x)):
        st.reset()
        raster = np.zeros((200, net.n_neurons), np.uint8)
        for t in range(200):
            raster[t, st.step(x[b, t])] = 1
        assert np.array_equal(raster, rec.raster.dense(b))
        assert st.t == 200 and np.array_equal(st.spike_counts, rec.counts[b, 0])
    assert rec.raster.dense(0).sum() > 50  # the test has spikes to compare


def test_stepper_state_and_errors():
    sim = exc_inh().compile("numba", dt=1.0, record=RecordSpec())
    st = sim.stepper()
    assert st.step().size == 0 and st.t == 1  # no input: nothing happens
    with pytest.raises(ValueError, match=r"shape \(12,\), got \(3,\)"):
        st.step(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        st.step(np.full(12, np.nan))
    st.step(np.full(12, 5.0))
    assert st.n_synaptic_events > 0
    st.reset()
    assert st.t == 0 and st.n_spikes == 0 and not st.spike_counts.any()
