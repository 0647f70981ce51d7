"""The vectorised kernels: the same bits at any thread count (float32 and float64), float32
close to the float64 reference, and the float64 step equal to the scalar update of
docs/semantics.md written out here in numpy."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp

import spikelab as sl
from spikelab.spikes import RecordSpec

from .test_numba_stepper import mixed

RECORD = RecordSpec(bin_steps=100, raster=True, voltage=(0, 59, 60, 89))


@pytest.fixture(scope="module")
def batch() -> sl.SpikeBatch:
    rng = np.random.default_rng(3)
    x = (rng.random((4, 300, 10)) < 0.05) * rng.normal(1.0, 0.5, (4, 300, 10))
    return sl.SpikeBatch.from_dense(x)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_bits_at_any_thread_count(batch, dtype):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    net = mixed()
    recs = [
        net.compile("numba", dt=1.0, record=RECORD, dtype=dtype, threads=k).run(batch)
        for k in (1, 2)
    ]
    assert recs[0].n_spikes > 100
    assert np.array_equal(recs[0].counts, recs[1].counts)
    assert np.array_equal(recs[0].voltage, recs[1].voltage)  # bit for bit
    assert recs[0].voltage.dtype == np.dtype(dtype)


def test_float32_within_the_documented_tolerance(batch):
    """docs/semantics.md: float32 per-population spike counts within 5 % of float64."""
    net = mixed()
    ref = net.compile("numba", dt=1.0, record=RECORD).run(batch)
    out = net.compile("numba", dt=1.0, record=RECORD, dtype="float32").run(batch)
    for name, lo, hi in ref.populations:
        a, b = int(ref.counts[:, :, lo:hi].sum()), int(out.counts[:, :, lo:hi].sum())
        assert abs(a - b) <= 0.05 * max(a, 20), (name, a, b)


def scalar_reference(flat, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """docs/semantics.md step by step for one sample (float64 numpy, flat CSR with delays):
    the raster [T, N] and the voltages after reset [T, N]."""
    from spikelab.ir import (
        ALPHA,
        BETA,
        BIAS,
        BIAS_TERM,
        KIND_LIF,
        V_INIT,
        V_PEAK,
        V_RESET,
        V_REST,
        V_TH,
        A,
        B,
        C,
        D,
    )

    P, N, T, L = flat.params, flat.n_neurons, x.shape[0], flat.ring_len
    lif = np.zeros(N, bool)
    for k, lo, hi in zip(flat.pop_kind, flat.pop_start, flat.pop_stop, strict=True):
        lif[lo:hi] = k == KIND_LIF
    v = np.where(lif, P[V_REST], P[V_INIT])
    u = np.where(lif, 0.0, P[B] * P[V_INIT])
    i_syn, refr, ring = np.zeros(N), np.zeros(N, int), np.zeros((L, N))
    raster, volts = np.zeros((T, N), np.uint8), np.zeros((T, N))
    rows_in, rows_rc = flat.inputs.rows(), flat.recurrent.rows()
    for t in range(T):
        xt = x[t].astype(np.float32).astype(np.float64)
        for k in range(flat.inputs.nnz):
            if xt[rows_in[k]] != 0:
                slot = (t + flat.inputs.delays[k]) % L
                ring[slot, flat.inputs.indices[k]] += flat.inputs.weights[k] * xt[rows_in[k]]
        i_syn = P[BETA] * i_syn + ring[t % L]
        ring[t % L] = 0.0
        vl = P[V_REST] + P[ALPHA] * (v - P[V_REST]) + P[BIAS_TERM] + i_syn
        cur = P[BIAS] + i_syn
        vi = v + 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + cur)
        vi = vi + 0.5 * (0.04 * vi * vi + 5.0 * vi + 140.0 - u + cur)
        ui = u + 1.0 * P[A] * (P[B] * vi - u)
        quiet = lif & (refr > 0)
        spike = np.where(lif, (vl > P[V_TH]) & ~quiet, vi >= P[V_PEAK])
        v = np.where(lif, np.where(quiet | spike, P[V_RESET], vl), np.where(spike, P[C], vi))
        u = np.where(lif, u, np.where(spike, ui + P[D], ui))
        refr = np.where(lif, np.where(spike, flat.n_ref, np.maximum(refr - 1, 0)), 0)
        raster[t], volts[t] = spike, v
        for k in range(flat.recurrent.nnz):
            if spike[rows_rc[k]]:
                slot = (t + flat.recurrent.delays[k]) % L
                ring[slot, flat.recurrent.indices[k]] += flat.recurrent.weights[k]
    return raster, volts


@pytest.mark.parametrize("uniform_lif", [False, True], ids=["per-neuron", "uniform"])
def test_float64_equals_the_scalar_semantics(uniform_lif):
    """Over 300 steps: the sliding window of the batch kernel slides about 20 times (delays
    up to 4: window of 18 rows), and a uniform LIF population runs the scalar-parameter
    update; both give the reference's bits."""
    net = mixed(uniform_lif=uniform_lif)
    rng = np.random.default_rng(5)
    x = (rng.random((300, 10)) < 0.05) * rng.normal(1.0, 0.5, (300, 10))
    record = RecordSpec(raster=True, voltage=tuple(range(net.n_neurons)))
    sim = net.compile("numba", dt=1.0, record=record)
    rec = sim.run(sl.SpikeBatch.from_dense(x[None]))
    raster, volts = scalar_reference(sim.flat, x)
    assert raster.sum() > 20
    assert np.array_equal(rec.raster.dense(0), raster)
    np.testing.assert_array_equal(rec.voltage[0], volts)


def test_uniform_populations_are_detected():
    from spikelab.backends.numba.kernels import uniform_populations

    for uniform_lif, expected in [(False, [False, False]), (True, [True, False])]:
        f = mixed(uniform_lif=uniform_lif).compile("numba", dt=1.0).flat
        got = uniform_populations(f.params, f.n_ref, f.pop_start, f.pop_stop, f.pop_kind)
        assert got.tolist() == expected  # Izhikevich: never (its own update)
    P = f.params.copy()
    P[:, 7] = np.nan  # a NaN parameter is not "one value"
    got = uniform_populations(P, f.n_ref, f.pop_start, f.pop_stop, f.pop_kind)
    assert got.tolist() == [False, False]


@pytest.mark.parametrize("n", [1, 7, 8, 9, 63, 64, 65, 130, 1003])
@pytest.mark.parametrize("rate", [0.0, 0.05, 0.5, 1.0])
def test_collect_spikes_lists_counts_and_rasters_every_flag(n, rate):
    """The spike list through 64-bit masks: every set flag once, ascending, at sizes that
    end inside a word and inside a 64-neuron group, from no spike to every neuron."""
    from spikelab.backends.numba.kernels import collect_spikes

    rng = np.random.default_rng(n)
    flags = np.zeros(8 * ((n + 7) // 8), np.uint8)  # padded as the kernel allocates it
    flags[:n] = rng.random(n) < rate
    spk = np.full(flags.shape[0], -1, np.int64)
    counts = np.full(n, 3, np.int32)
    raster = np.zeros(n, np.uint8)
    got = collect_spikes(flags, flags.view(np.uint64), spk, counts, raster, True)
    expected = np.flatnonzero(flags[:n])
    assert got == expected.size
    assert np.array_equal(spk[:got], expected)
    assert np.array_equal(counts, 3 + flags[:n])
    assert np.array_equal(raster, flags[:n])


def test_long_delays_use_wide_window_offsets_with_the_same_bits(lif_net):
    """Offsets ``delay * N + column`` past 65,535 are stored as uint32 (uint16 below): a
    recurrent delay of up to 1,700 steps in a 40-neuron network still gives the reference's
    bits (a window of 3,410 rows, which slides once)."""
    from spikelab.backends.numba.delivery import windowed_csr

    rng = np.random.default_rng(7)
    n = 40
    w_rec = sp.csr_matrix((rng.random((n, n)) < 0.3) * rng.normal(0.4, 0.2, (n, n)))
    net = lif_net(
        n,
        tau_mem=10.0,
        tau_syn=5.0,
        v_th=1.0,
        t_ref=2.0,
        n_inputs=n,
        w_in=np.eye(n) * 1.5,
        w_rec=w_rec,
        rec_delays=rng.integers(1, 1701, w_rec.nnz),
    )
    record = RecordSpec(raster=True, voltage=tuple(range(n)))
    sim = net.compile("numba", dt=1.0, record=record)
    short = windowed_csr(sim.flat.inputs, n)[1]
    wide = windowed_csr(sim.flat.recurrent, n)[1]
    assert short.dtype == np.uint16 and wide.dtype == np.uint32 and wide.max() >= 2**16
    x = (rng.random((1900, n)) < 0.02).astype(float)
    rec = sim.run(sl.SpikeBatch.from_dense(x[None]))
    raster, volts = scalar_reference(sim.flat, x)
    assert raster[1700:].sum() > 20  # late spikes: the long delays have arrived
    assert np.array_equal(rec.raster.dense(0), raster)
    np.testing.assert_array_equal(rec.voltage[0], volts)
