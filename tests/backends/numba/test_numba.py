"""The numba backend against docs/semantics.md: closed forms, a plain-Python reference loop,
delays, refractoriness, Izhikevich (determinism, contract and errors: test_numba_contract.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import (
    LIF,
    InputPort,
    Izhikevich,
    Network,
    Population,
    Projection,
    RecordSpec,
    SpikeBatch,
)
from spikelab.neurons import IZHIKEVICH_PATTERNS


def run(net, x, *, dt=1.0, record=None, **options):
    """Run the dense input ``x`` [samples, steps, channels] (or [steps, channels])."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    batch = SpikeBatch.from_dense(x, dt=dt)
    record = record or RecordSpec(raster=True, voltage=tuple(range(net.n_neurons)))
    return net.compile(backend="numba", dt=dt, record=record, **options).run(batch)


def spike_steps(rec, neuron, sample=0):
    return np.flatnonzero(rec.raster.dense(sample)[:, neuron]).tolist()


# ---- a plain-Python loop of docs/semantics.md --------------------------------------------


def reference(kind, params, w_in, d_in, x, dt, w_rec=None, d_rec=None):
    """docs/semantics.md, written out with Python floats for one population.

    params: per-neuron lists; w_in/d_in: [channels][neurons] weights and delays (a zero
    weight means no synapse); w_rec/d_rec likewise [neurons][neurons]; x: [steps][channels].
    Returns (spike raster [T][N] of 0/1, v after each step [T][N]).
    """
    n_steps, n = len(x), len(params["bias"])
    ring: dict[int, list[float]] = {}

    def add(step, k, value):
        ring.setdefault(step, [0.0] * n)[k] += value

    beta = [math.exp(-dt / ts) if ts > 0 else 0.0 for ts in params["tau_syn"]]
    i_syn = [0.0] * n
    if kind == "LIF":
        alpha = [math.exp(-dt / tm) for tm in params["tau_mem"]]
        bias_term = [(1 - a) * b for a, b in zip(alpha, params["bias"], strict=True)]
        n_ref = [round(tr / dt) for tr in params["t_ref"]]
        v = list(params["v_rest"])
        refr = [0] * n
    else:
        v = list(params["v_init"])
        u = [b * v0 for b, v0 in zip(params["b"], params["v_init"], strict=True)]
    raster, trace = [], []
    for t in range(n_steps):
        for c, value in enumerate(x[t]):  # 1. input events of step t
            if value:
                for k in range(n):
                    if w_in[c][k]:
                        add(t + int(d_in[c][k]), k, w_in[c][k] * value)
        I_in = ring.pop(t, [0.0] * n)
        spikes = [0] * n
        for k in range(n):
            i_syn[k] = beta[k] * i_syn[k] + I_in[k]  # 2. synaptic current
            if kind == "LIF":  # 3. membrane
                p = {name: params[name][k] for name in params}
                if refr[k] > 0:
                    refr[k] -= 1
                    v[k] = p["v_reset"]
                    continue
                v[k] = p["v_rest"] + alpha[k] * (v[k] - p["v_rest"]) + bias_term[k] + i_syn[k]
                if v[k] > p["v_th"]:
                    spikes[k] = 1
                    v[k] = p["v_reset"]
                    refr[k] = n_ref[k]
            else:
                a, b, c_, d = (params[q][k] for q in "abcd")
                current = params["bias"][k] + i_syn[k]
                vk, uk = v[k], u[k]
                vk = vk + dt / 2 * (0.04 * vk * vk + 5 * vk + 140 - uk + current)
                vk = vk + dt / 2 * (0.04 * vk * vk + 5 * vk + 140 - uk + current)
                uk = uk + dt * a * (b * vk - uk)
                if vk >= params["v_peak"][k]:
                    spikes[k] = 1
                    vk, uk = c_, uk + d
                v[k], u[k] = vk, uk
        raster.append(spikes)  # 4. record
        trace.append(list(v))
        if w_rec is not None:  # 5. recurrent propagation
            for j in range(n):
                if spikes[j]:
                    for k in range(n):
                        if w_rec[j][k]:
                            add(t + int(d_rec[j][k]), k, w_rec[j][k])
    return np.array(raster), np.array(trace)


def expanded(model, n):
    return {k: v.tolist() for k, v in model.expand(n).items()}


def as_network(model, n, w_in, d_in, w_rec=None, d_rec=None):
    """The network the reference loop describes (per-synapse delays from the dense arrays)."""

    def projection(source, w, d):
        w = sp.csr_matrix(np.asarray(w, dtype=np.float64))
        rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
        return Projection(
            source=source, target="pop", weights=w, delays=np.asarray(d)[rows, w.indices]
        )

    projs = [projection("in", w_in, d_in)]
    if w_rec is not None:
        projs.append(projection("pop", w_rec, d_rec))
    return Network(
        populations=(Population(name="pop", size=n, model=model),),
        inputs=(InputPort(name="in", size=len(w_in)),),
        projections=tuple(projs),
    )


# ---- LIF against closed forms ---------------------------------------------------------------


@pytest.mark.parametrize("dt", [1.0, 0.5])
def test_lif_constant_bias_closed_form(lif_net, dt):
    tau = np.array([20.0, 5.0, 13.0, 40.0])
    bias = np.array([10.0, 3.0, 0.5, -7.0])
    v_rest = np.array([-70.0, 0.0, 2.0, -65.0])
    net = lif_net(
        4, n_inputs=1, tau_mem=tau, v_rest=v_rest, v_reset=v_rest - 1, v_th=v_rest + 15.0, bias=bias
    )
    rec = run(net, np.zeros((400, 1)), dt=dt)
    t = np.arange(400)[:, None] + 1  # after step t the membrane has been updated t + 1 times
    alpha = np.exp(-dt / tau)
    expected = v_rest + bias * (1.0 - alpha**t)
    np.testing.assert_allclose(rec.voltage[0], expected, rtol=1e-13, atol=1e-12)
    assert rec.counts.sum() == 0


def test_lif_spike_times_under_suprathreshold_bias(lif_net):
    # v_rest = v_reset = 0, no refractoriness: v(t) = bias (1 - alpha^(t+1)) until it first
    # exceeds v_th at step s, then the same ramp restarts: spikes every s + 1 steps.
    tau, bias, th = 10.0, 3.0, 2.0
    net = lif_net(1, tau_mem=tau, bias=bias, v_th=th)
    rec = run(net, np.zeros((100, 1)))
    alpha = math.exp(-1.0 / tau)
    s = next(t for t in range(100) if bias * (1 - alpha ** (t + 1)) > th)
    assert s == 10  # 3 (1 - e^-1.1) = 2.001 > 2 > 3 (1 - e^-1.0)
    assert spike_steps(rec, 0) == list(range(s, 100, s + 1))


@pytest.mark.parametrize("tau_syn", [3.0, 0.0])
def test_lif_impulse_response(lif_net, tau_syn):
    tau, w, value, t0 = 10.0, 0.75, 3.0, 5
    net = lif_net(1, n_inputs=1, w_in=[[w]], tau_mem=tau, tau_syn=tau_syn, v_th=100.0)
    x = np.zeros((60, 1))
    x[t0, 0] = value  # three events in one step: the input's value is 3
    v = run(net, x).voltage[0, :, 0]
    alpha = math.exp(-1.0 / tau)
    beta = math.exp(-1.0 / tau_syn) if tau_syn else 0.0
    # v[t0 + n] = sum_{k=0..n} alpha^(n-k) * (w value beta^k)   (the discrete convolution)
    expected = np.zeros(60)
    for t in range(t0, 60):
        n = t - t0
        expected[t] = w * value * sum(alpha ** (n - k) * beta**k for k in range(n + 1))
    np.testing.assert_allclose(v, expected, rtol=1e-12, atol=1e-15)
    if tau_syn:
        n = np.arange(55)
        closed = w * value * (alpha ** (n + 1) - beta ** (n + 1)) / (alpha - beta)
        np.testing.assert_allclose(v[t0:], closed, rtol=1e-12)
    else:
        assert v[t0] == w * value  # a delta synapse raises v by exactly w in its step


@pytest.mark.parametrize(
    ("t_ref", "dt", "n_ref"),
    [(0.0, 1.0, 0), (2.0, 1.0, 2), (0.7, 1.0, 1), (2.3, 1.0, 2), (2.4, 0.5, 5), (1.2, 0.5, 2)],
)
def test_lif_refractory_period_in_steps(lif_net, t_ref, dt, n_ref):
    # A bias this strong fires the neuron in the first step it is allowed to.
    net = lif_net(1, tau_mem=20.0, bias=500.0, v_th=1.0, v_reset=-0.5, t_ref=t_ref)
    rec = run(net, np.zeros((50, 1)), dt=dt)
    assert spike_steps(rec, 0) == list(range(0, 50, n_ref + 1))
    v = rec.voltage[0, :, 0]
    refractory = [t for t in range(50) if t % (n_ref + 1) != 0]
    assert np.all(v[refractory] == -0.5)  # clamped at v_reset while refractory
    assert np.all(v[:: n_ref + 1] == -0.5)  # recorded after reset on spike steps


def test_lif_threshold_is_strictly_greater(lif_net):
    # Delta synapse from rest at 0: v equals the weight exactly in the step it arrives.
    w = [1.0, np.nextafter(1.0, 2.0), np.nextafter(1.0, 0.0)]
    net = lif_net(3, n_inputs=3, w_in=np.diag(w), tau_mem=10.0, v_th=1.0)
    x = np.zeros((4, 3))
    x[1] = 1.0
    rec = run(net, x)
    assert rec.voltage[0, 1].tolist() == [1.0, 0.0, np.nextafter(1.0, 0.0)]
    assert rec.counts[0, 0].tolist() == [0, 1, 0]


def test_izhikevich_threshold_is_greater_or_equal(izh_net):
    # Start at v = v_peak = 30 with u = b v = 0 and the bias that cancels the right-hand side
    # exactly as docs/semantics.md writes it (0.04 v^2 + 5 v + 140 - u + I): v stays at 30.0.
    rhs = 0.04 * 30.0 * 30.0 + 5.0 * 30.0 + 140.0 - 0.0
    net = izh_net(2, n_inputs=2, b=0.0, v_init=30.0, bias=-rhs, c=-65.0)
    x = np.zeros((1, 2))
    x[0, 1] = 1e-3  # the second neuron is pushed above: it fires either way
    rec = run(net, x)
    assert rec.counts[0, 0].tolist() == [1, 1]
    # Without the spike test v would have stayed at 30; after it, v is reset to c.
    assert rec.voltage[0, 0].tolist() == [-65.0, -65.0]


@pytest.mark.parametrize("tau_syn", [0.0, 4.0])
def test_input_during_refractoriness(lif_net, tau_syn):
    """Input arriving while refractory is lost for a delta synapse and kept in i otherwise."""
    net = lif_net(1, n_inputs=1, w_in=[[1.0]], tau_mem=10.0, tau_syn=tau_syn, v_th=1.0, t_ref=3.0)
    x = np.zeros((20, 1))
    x[0, 0] = 2.0  # spike at step 0, refractory at steps 1-3
    x[2, 0] = 0.9
    rec = run(net, x)
    assert spike_steps(rec, 0)[0] == 0
    x32 = x.astype(np.float32).astype(float).tolist()  # event values are float32
    ref_raster, ref_v = reference(
        "LIF", expanded(net.populations[0].model, 1), [[1.0]], [[0]], x32, 1.0
    )
    np.testing.assert_array_equal(rec.raster.dense(0).astype(int), ref_raster)
    np.testing.assert_allclose(rec.voltage[0], ref_v, rtol=1e-12, atol=1e-12)
    x[2, 0] = 0.0
    control = run(net, x)
    if tau_syn == 0.0:
        assert spike_steps(rec, 0) == spike_steps(control, 0) == [0]
        np.testing.assert_array_equal(rec.voltage, control.voltage)  # the 0.9 left no trace
    else:
        # i at step 4 is 2 beta^4 + 0.9 beta^2 = 1.28 > v_th: the input kept in i during
        # refractoriness fires the neuron in its first free step. Without it i(4) = 0.74
        # and the neuron needs one more step: v(5) = 0.74 alpha + 2 beta^5 = 1.24.
        assert spike_steps(rec, 0)[:2] == [0, 4]
        assert spike_steps(control, 0) == [0, 5]


def test_lif_random_network_matches_reference_loop():
    rng = np.random.default_rng(12)
    n, c, T = 6, 4, 120
    model = LIF(
        tau_mem=rng.uniform(5, 30, n),
        tau_syn=np.where(rng.random(n) < 0.5, 0.0, 4.0),
        v_rest=rng.uniform(-1, 1, n),
        v_reset=-1.0,
        v_th=rng.uniform(1.5, 2.5, n),
        t_ref=rng.choice([0.0, 1.0, 3.0], n),
        bias=rng.uniform(0, 3, n),
    )
    w_in = rng.uniform(0.2, 1.5, (c, n)) * (rng.random((c, n)) < 0.6)
    d_in = rng.integers(0, 4, (c, n))
    w_rec = rng.uniform(-1.0, 1.2, (n, n)) * (rng.random((n, n)) < 0.5)
    d_rec = rng.integers(1, 6, (n, n))
    x = (rng.random((T, c)) < 0.15) * rng.integers(1, 3, (T, c))
    net = as_network(model, n, w_in, d_in, w_rec, d_rec)
    rec = run(net, x)
    ref_raster, ref_v = reference(
        "LIF", expanded(model, n), w_in.tolist(), d_in, x.tolist(), 1.0, w_rec.tolist(), d_rec
    )
    assert ref_raster.sum() > 30
    np.testing.assert_array_equal(rec.raster.dense(0).astype(int), ref_raster)
    np.testing.assert_allclose(rec.voltage[0], ref_v, rtol=1e-12, atol=1e-12)


# ---- delays ---------------------------------------------------------------------------------


def delay_net(delays, in_delay_direct=4):
    """src (1 neuron, fired by input channel 0 with delay 0) -> dst[k] with delay delays[k];
    channel 1 reaches dst[-1] directly with delay ``in_delay_direct``."""
    m = len(delays)
    relay = LIF(tau_mem=10.0, v_th=1.0)
    w_in_src = sp.csr_matrix(np.array([[2.0], [0.0]]))
    w_in_dst = np.zeros((2, m))
    w_in_dst[1, -1] = 2.0
    return Network(
        populations=(
            Population(name="src", size=1, model=relay),
            Population(name="dst", size=m, model=relay),
        ),
        inputs=(InputPort(name="in", size=2),),
        projections=(
            Projection(source="in", target="src", weights=w_in_src, delays=0),
            Projection(
                source="in", target="dst", weights=sp.csr_matrix(w_in_dst), delays=in_delay_direct
            ),
            Projection(
                source="src",
                target="dst",
                weights=sp.csr_matrix(np.full((1, m), 2.0)),
                delays=np.asarray(delays),
            ),
        ),
    )


def test_spike_at_step_t_arrives_at_t_plus_d():
    delays = [1, 2, 3, 5, 8]
    net = delay_net(delays)
    x = np.zeros((30, 2))
    x[7, 0] = 1.0
    rec = run(net, x)
    assert spike_steps(rec, 0) == [7]  # input delay 0: acts in the same step
    for k, d in enumerate(delays):
        assert spike_steps(rec, 1 + k) == [7 + d], f"delay {d}"


def test_input_delay_and_arrivals_after_the_run_are_dropped():
    net = delay_net([1, 2, 3, 5, 8], in_delay_direct=4)
    x = np.zeros((12, 2))
    x[2, 1] = 1.0  # direct input to dst[-1] with delay 4: arrives at step 6
    x[6, 0] = 1.0  # src fires at 6: dst[k] at 7, 8, 9, 11, (14 is beyond the run)
    rec = run(net, x)
    assert spike_steps(rec, 0) == [6]
    assert [spike_steps(rec, 1 + k) for k in range(5)] == [[7], [8], [9], [11], [6]]


def test_delayed_raster_is_the_shifted_source_raster():
    # src fires irregularly for a long run (the ring buffer wraps many times); each dst
    # neuron has a single synapse, so its raster is src's shifted by its delay.
    delays = [1, 4, 9, 16]
    net = delay_net(delays)
    rng = np.random.default_rng(3)
    T = 400
    x = np.zeros((2, T, 2))
    x[:, :, 0] = rng.random((2, T)) < 0.3
    rec = run(net, x)
    for b in range(2):
        r = rec.raster.dense(b)
        assert r[:, 0].sum() > 50
        for k, d in enumerate(delays):
            np.testing.assert_array_equal(r[d:, 1 + k], r[:-d, 0])
            assert not r[:d, 1 + k].any()


# ---- Izhikevich -----------------------------------------------------------------------------


@pytest.mark.parametrize("dt", [1.0, 0.5])
def test_izhikevich_matches_reference_loop(dt):
    names = ["regular_spiking", "fast_spiking", "chattering", "low_threshold_spiking"]
    pats = [IZHIKEVICH_PATTERNS[p] for p in names]
    n, c, T = 5, 3, int(250 / dt)
    model = Izhikevich(
        a=[p["a"] for p in pats] + [0.02],
        b=[p["b"] for p in pats] + [0.2],
        c=[p["c"] for p in pats] + [-65.0],
        d=[p["d"] for p in pats] + [8.0],
        bias=[10.0, 10.0, 10.0, 4.0, 0.0],
        tau_syn=[0.0, 0.0, 0.0, 5.0, 2.0],
        v_init=[-65.0, -70.0, -60.0, -65.0, -64.0],
    )
    rng = np.random.default_rng(5)
    w_in = rng.uniform(0, 8, (c, n))
    d_in = rng.integers(0, 3, (c, n))
    w_rec = np.zeros((n, n))
    w_rec[0, 4] = 15.0  # the regular-spiking neuron drives the last, bias-free one
    d_rec = np.full((n, n), 2)
    x = (rng.random((T, c)) < 0.05).astype(float)
    net = as_network(model, n, w_in, d_in, w_rec, d_rec)
    rec = run(net, x, dt=dt)
    ref_raster, ref_v = reference(
        "Izhikevich", expanded(model, n), w_in.tolist(), d_in, x.tolist(), dt, w_rec.tolist(), d_rec
    )
    assert ref_raster[:, :4].sum(axis=0).min() >= 3 and ref_raster[:, 4].sum() >= 1
    np.testing.assert_array_equal(rec.raster.dense(0).astype(int), ref_raster)
    np.testing.assert_allclose(rec.voltage[0], ref_v, rtol=1e-11, atol=1e-9)


def test_izhikevich_first_steps_by_hand(izh_net):
    # Regular spiking from rest with I = 10, dt = 1: two half-steps of v with u fixed.
    net = izh_net(1, bias=10.0)
    v = run(net, np.zeros((3, 1))).voltage[0, :, 0]
    v0, u0 = -65.0, 0.2 * -65.0
    v1 = v0 + 0.5 * (0.04 * v0**2 + 5 * v0 + 140 - u0 + 10)
    v1 = v1 + 0.5 * (0.04 * v1**2 + 5 * v1 + 140 - u0 + 10)
    assert v[0] == pytest.approx(v1, rel=1e-14)
    # By hand: -65 + 0.5 (169 - 325 + 140 + 13 + 10) = -61.5, then
    # -61.5 + 0.5 (151.29 - 307.5 + 140 + 13 + 10) = -58.105.
    assert v[0] == pytest.approx(-58.105, rel=1e-14)
    u1 = u0 + 0.02 * (0.2 * v[0] - u0)  # u after step 0 (a = 0.02, b = 0.2, dt = 1)
    v2 = v[0] + 0.5 * (0.04 * v[0] ** 2 + 5 * v[0] + 140 - u1 + 10)
    v2 = v2 + 0.5 * (0.04 * v2**2 + 5 * v2 + 140 - u1 + 10)
    assert v[1] == pytest.approx(v2, rel=1e-13)


def test_izhikevich_spike_resets_to_c(izh_net):
    net = izh_net(1, bias=15.0, c=-50.0, d=2.0)
    rec = run(net, np.zeros((200, 1)))
    steps = spike_steps(rec, 0)
    assert len(steps) > 3
    assert np.all(rec.voltage[0, steps, 0] == -50.0)
