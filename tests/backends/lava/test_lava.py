"""The Lava backend (Loihi 2 path): exact floating_pt, fixed_pt quantisation, Izhikevich.

Runs in .venv-lava only (lava-nc needs Python 3.10 and numpy < 2); the cross-backend
comparisons live in tests/conformance. Lava starts one OS process per Lava process, so the
networks here are small and the runs short.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("lava", reason="lava-nc is installed only in .venv-lava (Python 3.10)")

from spikelab import (  # noqa: E402
    LIF,
    InputPort,
    Izhikevich,
    Network,
    Population,
    Projection,
    RecordSpec,
    SpikeBatch,
    UnsupportedFeature,
)
from spikelab.backends.lava.fixed import decay_v, quantize  # noqa: E402
from spikelab.backends.lava.plan import build_plan  # noqa: E402
from spikelab.ir import flatten  # noqa: E402

pytestmark = [
    pytest.mark.needs_lava,
    # networkx (Lava's compiler) warns that pandas is missing
    pytest.mark.filterwarnings("ignore:pandas not found:ImportWarning"),
]


def _csr(rng: np.random.Generator, shape: tuple[int, int], p: float, lo: float,
         hi: float) -> sp.csr_matrix:  # fmt: skip
    mask = rng.random(shape) < p
    r, c = np.nonzero(mask)
    w = np.round(rng.uniform(lo, hi, len(r)) * 1024) / 1024
    return sp.csr_matrix((w, (r, c)), shape=shape)


def lif_net(seed: int = 0) -> Network:
    """Two LIF populations: refractoriness, bias, v_reset != v_rest, delta and exponential
    synapses, per-neuron tau_mem, input delays 0..2, recurrent delays 1..3."""
    rng = np.random.default_rng(seed)
    n_in, na, nb = 12, 16, 8
    a = LIF(
        tau_mem=rng.uniform(15, 25, na),
        tau_syn=4.0,
        v_rest=0.0,
        v_reset=-0.25,
        v_th=1.0,
        t_ref=2.0,
        bias=0.6,
    )
    b = LIF(tau_mem=10.0, tau_syn=0.0, v_rest=0.1, v_reset=0.1, v_th=1.1, t_ref=0.0, bias=0.3)
    w_in = _csr(rng, (n_in, na + nb), 0.3, 0.2, 0.6)
    projs = [
        Projection(source="in", target="a", weights=w_in[:, :na], delays=0),
        Projection(source="in", target="b", weights=w_in[:, na:], delays=2),
    ]
    for src, tgt, shape, lo, hi in (
        ("a", "a", (na, na), -0.1, 0.3),
        ("a", "b", (na, nb), 0.1, 0.4),
        ("b", "a", (nb, na), -0.4, -0.1),
    ):
        w = _csr(rng, shape, 0.25, lo, hi)
        w.sort_indices()
        projs.append(
            Projection(
                source=src, target=tgt, weights=w, delays=rng.integers(1, 4, w.nnz).astype(np.int32)
            )
        )
    return Network(
        populations=(
            Population(name="a", size=na, model=a),
            Population(name="b", size=nb, model=b),
        ),
        inputs=(InputPort(name="in", size=n_in),),
        projections=tuple(projs),
    )


def batch(n_in: int, n_steps: int, n_samples: int = 2, seed: int = 1) -> SpikeBatch:
    rng = np.random.default_rng(seed)
    x = (rng.random((n_samples, n_steps, n_in)) < 0.08).astype(np.float32)
    x *= rng.integers(1, 3, size=x.shape)  # event counts 1 and 2
    return SpikeBatch.from_dense(x)


RECORD = RecordSpec(bin_steps=25, raster=True, voltage=(0, 5, 20))


def test_floating_pt_is_spike_for_spike_numba() -> None:
    net = lif_net()
    bt = batch(net.n_inputs, 200, n_samples=3)
    ref = net.compile("numba", dt=1.0, record=RECORD).run(bt)
    # chunk=2: two Lava runs (2 + 1 samples), the state resetting itself between samples
    with net.compile("lava", dt=1.0, record=RECORD, precision="floating_pt", chunk=2) as sim:
        out = sim.run(bt)
        alone = sim.run(bt.subset([1]))  # same compiled graph, ring buffers not aligned
    assert ref.n_spikes > 100
    np.testing.assert_array_equal(out.counts, ref.counts)
    for b in range(len(bt)):
        assert np.array_equal(out.raster.dense(b), ref.raster.dense(b))
    np.testing.assert_allclose(out.voltage, ref.voltage, rtol=0, atol=1e-12)
    assert out.n_synaptic_events == ref.n_synaptic_events
    assert np.array_equal(alone.raster.dense(0), ref.raster.dense(1))
    assert out.extras["seconds_per_sample"] > 0 and out.extras["precision"] == "floating_pt"


def test_fixed_pt_rates_and_quantisation_report() -> None:
    net = lif_net()
    bt = batch(net.n_inputs, 200)
    ref = net.compile("numba", dt=1.0, record=RECORD).run(bt)
    sim = net.compile("lava", dt=1.0, record=RECORD, precision="fixed_pt")
    out = sim.run(bt)
    sim.close()
    for name, lo, hi in ref.populations:
        n_ref, n_out = ref.counts[:, :, lo:hi].sum(), out.counts[:, :, lo:hi].sum()
        assert abs(int(n_out) - int(n_ref)) <= 0.10 * max(int(n_ref), 20), name
    rep = out.extras["quantization"]
    assert rep == sim.quantization_report
    assert set(rep) == {"summary", "groups", "blocks"}
    assert rep["summary"]["weight_rel_err_of_peak_max"] < 0.01  # 8-bit mantissa
    assert rep["summary"]["threshold_abs_err_mV_max"] == 0.0
    for g in rep["groups"].values():
        assert g["v_start_abs_err_mV_max"] < 1e-4 and g["leak_rel_err_max"] < 0.01
    # recorded voltages are converted back to mV (compare before spike times can diverge)
    np.testing.assert_allclose(out.voltage[:, :5], ref.voltage[:, :5], rtol=0, atol=0.01)


def test_izhikevich_floating_pt_exact_and_fixed_pt_unsupported() -> None:
    rng = np.random.default_rng(3)
    n_in, n = 8, 12
    model = Izhikevich(a=0.02 + 0.08 * rng.random(n), b=0.2, c=-65.0, d=6.0, bias=4.0, tau_syn=2.0)
    w = _csr(rng, (n_in, n), 0.4, 5.0, 10.0)
    rec = _csr(rng, (n, n), 0.2, -2.0, 2.0)
    rec.sort_indices()
    net = Network(
        populations=(Population(name="izh", size=n, model=model),),
        inputs=(InputPort(name="in", size=n_in),),
        projections=(
            Projection(source="in", target="izh", weights=w, delays=1),
            Projection(source="izh", target="izh", weights=rec, delays=2),
        ),
    )
    bt = batch(n_in, 150, n_samples=1)
    record = RecordSpec(bin_steps=50, raster=True, voltage=(0, 3))
    ref = net.compile("numba", dt=1.0, record=record).run(bt)
    with net.compile("lava", dt=1.0, record=record) as sim:
        out = sim.run(bt)
    assert ref.n_spikes > 5
    assert np.array_equal(out.raster.dense(0), ref.raster.dense(0))
    np.testing.assert_allclose(out.voltage, ref.voltage, rtol=0, atol=1e-9)
    with pytest.raises(UnsupportedFeature, match="Izhikevich"):
        net.compile("lava", dt=1.0, precision="fixed_pt")


def test_unsupported_and_bad_options_are_clear() -> None:
    net = Network(populations=(Population(name="p", size=2, model=LIF(v_rest=2.0, v_th=1.0)),))
    with pytest.raises(UnsupportedFeature, match="v_rest"):
        net.compile("lava", dt=1.0)
    with pytest.raises(ValueError, match="precision"):
        net.compile("lava", dt=1.0, precision="bfloat16")


def test_plan_maps_delays_and_groups() -> None:
    """Lava delivers a spike one step late: recurrent delay d is Lava delay d - 1, input
    delay d is Lava delay d (after the pre-step). By default all LIF neurons share one Lava
    process; merge=False gives one per population (and refractory period)."""
    net = lif_net()
    flat = flatten(net, 1.0)
    merged = build_plan(flat)
    assert [g.name for g in merged.groups] == ["lif"]
    assert sorted(b.name for b in merged.blocks) == ["input->lif", "lif->lif"]
    assert sum(b.n_synapses for b in merged.blocks) == net.n_synapses
    plan = build_plan(flat, merge=False)
    assert [g.name for g in plan.groups] == ["a", "b"]
    for pr in net.projections:
        source = "input" if pr.source == "in" else pr.source
        blocks = [b for b in plan.blocks if (b.source, b.target) == (source, pr.target)]
        shift = 0 if pr.source == "in" else 1
        lava = np.concatenate([b.delays.data if b.delays is not None else
                               np.zeros(b.n_synapses, int) for b in blocks])  # fmt: skip
        assert sorted(lava) == sorted(pr.delay_array() - shift)
    for g in merged.groups:
        assert np.all(1.0 - g.dv == g.alpha) and np.all(1.0 - g.du == g.beta)
        assert np.all(g.v_pre * (1.0 - g.dv) + g.bias == g.v_start)  # the pre-step is exact
        assert sorted(set(g.n_ref.tolist())) == [0, 2]


@pytest.mark.parametrize("merge", [True, False])
def test_fixed_point_formats(merge: bool) -> None:
    plan = build_plan(flatten(lif_net(), 1.0), merge=merge)
    fixed = quantize(plan)
    for b in plan.blocks:
        q = fixed.blocks[b.name]
        assert -8 <= q.weight_exp <= 7
        data = q.weights.data
        if q.sign_mode == "mixed":
            assert np.all(data % 2 == 0) and data.min() >= -256 and data.max() <= 254
        else:
            assert np.abs(data).max() <= 255
    for g in plan.groups:
        q = fixed.groups[g.name]
        assert 0 < q.vth < 2**17
        np.testing.assert_allclose(q.vth * 64 / q.scale, g.vth, rtol=1e-12)  # exact threshold
        assert np.all((q.bias_mant >= -4096) & (q.bias_mant <= 4095))
        assert np.all((q.bias_exp >= 0) & (q.bias_exp <= 7))
        bias = q.bias_mant * 2**q.bias_exp
        target = np.rint(g.v_start * q.scale)
        assert np.array_equal(decay_v(q.v_pre, q.dv) + bias, target)


def test_simulation_pickles_without_its_runtime() -> None:
    sim = lif_net().compile("lava", dt=1.0, precision="fixed_pt")
    clone = pickle.loads(pickle.dumps(sim))
    assert clone.precision == "fixed_pt" and clone.quantization_report == sim.quantization_report


def test_cli_run_on_fixed_pt_reports_the_quantisation(tmp_path) -> None:
    import json

    from spikelab.cli import main
    from spikelab.datasets import generate_nmnist_like

    data = tmp_path / "nmnist-like"
    generate_nmnist_like(data, per_class=2, test_per_class=1, seed=0, progress=False)
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(
        f'[dataset]\nroot = "{data}"\n[encoding]\nduration = 60.0\n'
        "[reservoir]\nbuilder = 'lsm_column'\nn_neurons = 27\ninput_fraction = 1.0\n"
        f'input_weight = 60.0\n[record]\nbin_steps = 30\n[output]\ndir = "{tmp_path / "out"}"\n'
    )
    argv = ["run", str(cfg), "--quiet", "--backend", "lava", "--set", "backend.precision=fixed_pt"]
    assert main(argv) == 0
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    q = m["quantization"]  # the summary of sim.quantization_report
    assert q["threshold_abs_err_mV_max"] == 0.0
    assert 0 < q["weight_rel_err_of_peak_max"] < 0.01
    assert m["backend"] == "lava" and 0 <= m["test_accuracy"] <= 1
