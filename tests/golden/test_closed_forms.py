"""The numba reference against closed forms: LIF exact exponential solutions and the
Izhikevich (2003) firing patterns (regular spiking, fast spiking, chattering) by their ISIs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import LIF, InputPort, Network, Population, Projection, RecordSpec, SpikeBatch

from .cases import izhikevich_patterns


def _lif_run(
    model: LIF,
    n: int,
    n_steps: int,
    dt: float,
    w: np.ndarray | None = None,
    event_step: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Voltage [T, n] and raster [T, n] of ``n`` LIF neurons, optionally one input event."""
    weights = sp.csr_matrix(np.zeros((1, n)) if w is None else w.reshape(1, n))
    net = Network(
        populations=(Population(name="lif", size=n, model=model),),
        inputs=(InputPort(name="in", size=1),),
        projections=(Projection(source="in", target="lif", weights=weights, delays=0),),
    )
    x = np.zeros((1, n_steps, 1), np.float32)
    if event_step is not None:
        x[0, event_step, 0] = 1.0
    rec = net.compile("numba", dt=dt, record=RecordSpec(raster=True, voltage=tuple(range(n)))).run(
        SpikeBatch.from_dense(x, dt=dt)
    )
    return rec.voltage[0], rec.raster.dense(0)


@pytest.mark.parametrize("dt", [0.1, 0.5, 1.0])
def test_lif_relaxation_is_the_exact_exponential(dt: float) -> None:
    """No input, bias below threshold: v(t) = v_rest + bias (1 - exp(-t / tau_mem)) exactly at
    the end of each step, t = (step + 1) dt."""
    tau, bias, v_rest = 20.0, 12.0, -65.0
    v, raster = _lif_run(
        LIF(tau_mem=tau, v_rest=v_rest, v_reset=-70.0, v_th=-50.0, bias=bias), 1, 400, dt
    )
    t = (np.arange(400) + 1) * dt
    np.testing.assert_allclose(
        v[:, 0], v_rest + bias * (1.0 - np.exp(-t / tau)), rtol=0, atol=1e-10
    )
    assert not raster.any()


def test_lif_impulse_responses() -> None:
    """One event of weight w at step s: delta synapse v - v_rest = w alpha^k; exponential
    synapse w (alpha^(k+1) - beta^(k+1)) / (alpha - beta), k = step - s."""
    dt, tau_m, w, s, n_steps = 1.0, 20.0, 0.5, 10, 300
    tau_syn = np.array([0.0, 2.0, 5.0])
    v, _ = _lif_run(
        LIF(tau_mem=tau_m, tau_syn=tau_syn, v_rest=-65.0, v_reset=-70.0, v_th=-50.0),
        3,
        n_steps,
        dt,
        w=np.full(3, w),
        event_step=s,
    )
    alpha = math.exp(-dt / tau_m)
    k = np.arange(n_steps - s)
    np.testing.assert_array_equal(v[:s], -65.0)
    np.testing.assert_allclose(v[s:, 0], -65.0 + w * alpha**k, rtol=0, atol=1e-12)
    for j in (1, 2):
        beta = math.exp(-dt / tau_syn[j])
        expected = -65.0 + w * (alpha ** (k + 1) - beta ** (k + 1)) / (alpha - beta)
        np.testing.assert_allclose(v[s:, j], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("t_ref", "bias"), [(0.0, 20.0), (3.0, 20.0), (5.0, 30.0)])
def test_lif_tonic_firing_times(t_ref: float, bias: float) -> None:
    """Bias above threshold: the first spike is the first step with
    bias (1 - alpha^(t+1)) > v_th - v_rest; then every n_ref + k* steps, k* the first k with
    alpha^k (v_reset - v_rest) + bias (1 - alpha^k) > v_th - v_rest."""
    dt, tau, v_rest, v_reset, v_th, n_steps = 1.0, 20.0, -65.0, -70.0, -50.0, 400
    _, raster = _lif_run(
        LIF(tau_mem=tau, v_rest=v_rest, v_reset=v_reset, v_th=v_th, t_ref=t_ref, bias=bias),
        1,
        n_steps,
        dt,
    )
    alpha = math.exp(-dt / tau)
    gap = v_th - v_rest
    first = next(t for t in range(n_steps) if bias * (1 - alpha ** (t + 1)) > gap)
    k_star = next(
        k for k in range(1, n_steps) if alpha**k * (v_reset - v_rest) + bias * (1 - alpha**k) > gap
    )
    period = round(t_ref / dt) + k_star
    spikes = np.flatnonzero(raster[:, 0])
    np.testing.assert_array_equal(spikes, np.arange(first, n_steps, period))


@pytest.fixture(scope="module")
def izh_spikes() -> dict[str, np.ndarray]:
    case = izhikevich_patterns()
    rec = case.net.compile("numba", dt=case.dt, record=case.record).run(case.batch)
    raster = rec.raster.dense(0)
    return {
        name: np.flatnonzero(raster[:, j])
        for j, name in enumerate(("regular_spiking", "fast_spiking", "chattering"))
    }


def test_izhikevich_regular_spiking_adapts(izh_spikes: dict[str, np.ndarray]) -> None:
    """RS (a=0.02, b=0.2, c=-65, d=8), I = 10: tonic spikes whose ISIs lengthen."""
    isi = np.diff(izh_spikes["regular_spiking"])
    assert 10 <= len(isi) <= 40  # about 10-40 Hz
    assert isi[0] < 0.7 * np.mean(isi[2:])  # spike-frequency adaptation
    assert isi.min() > 10  # no bursts


def test_izhikevich_fast_spiking_is_fast_without_adaptation(
    izh_spikes: dict[str, np.ndarray],
) -> None:
    """FS (a=0.1, b=0.2, c=-65, d=2), I = 10: high rate, no progressive adaptation."""
    fs, rs = izh_spikes["fast_spiking"], izh_spikes["regular_spiking"]
    assert len(fs) > 2.5 * len(rs)
    isi = np.diff(fs)
    third = len(isi) // 3
    middle, last = isi[third : 2 * third].mean(), isi[2 * third :].mean()
    assert abs(last - middle) < 0.25 * middle  # the rate does not keep decaying
    assert isi.max() < 40


def test_izhikevich_chattering_bursts(izh_spikes: dict[str, np.ndarray]) -> None:
    """CH (a=0.02, b=0.2, c=-50, d=2), I = 10: bursts of closely spaced spikes separated by
    long pauses (bimodal ISIs)."""
    isi = np.diff(izh_spikes["chattering"])
    short, long_ = isi[isi <= 6], isi[isi >= 30]
    assert len(short) + len(long_) == len(isi)  # nothing in between: two ISI modes
    assert len(long_) >= 5
    # every burst (between two long pauses) has at least two spikes
    bursts = np.split(isi, np.flatnonzero(isi >= 30))
    assert all(len(b) >= 2 for b in bursts[1:-1])
