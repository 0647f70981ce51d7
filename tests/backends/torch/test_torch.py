"""The torch / norse backend: options and their errors, the Recording it returns, tensor
output, chunking and threads, pickling, and that it loops over time steps only.

Equality with the numba reference on many networks is the job of tests/conformance/; the
comparisons here check the torch-specific paths (dense vs CSR weights, chunked batches,
bit-identical float64 voltages, which rely on the CSR product's summation order).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import (
    LIF,
    BackendUnavailable,
    InputPort,
    Izhikevich,
    Network,
    Population,
    Projection,
    RecordSpec,
    SpikeBatch,
    get_backend,
)
from spikelab.reservoirs import lsm_column

torch = pytest.importorskip("torch")
pytest.importorskip("norse")

from spikelab.backends.torch import backend as tb  # noqa: E402
from spikelab.backends.torch import steps as torch_steps  # noqa: E402

pytestmark = pytest.mark.needs_torch

RECORD = RecordSpec(bin_steps=25, raster=True, voltage=(0, 3, 59))


def _proj(rng, src, tgt, ns, nt, p, scale, delays):
    r, c = np.nonzero(rng.random((ns, nt)) < p)
    w = sp.csr_matrix((scale * rng.random(len(r)), (r, c)), shape=(ns, nt))
    w.sort_indices()
    d = rng.integers(delays[0], delays[1] + 1, w.nnz)
    return Projection(source=src, target=tgt, weights=w, delays=d)


def mixed_net(seed: int = 0) -> Network:
    """40 Izhikevich + 20 LIF neurons, heterogeneous, delays 1-4, several projections onto
    each target (so that arrivals are sums of several terms)."""
    rng = np.random.default_rng(seed)
    izh = Izhikevich(
        a=0.02,
        b=0.2,
        c=-65 + 15 * rng.random(40) ** 2,
        d=8.0,
        tau_syn=2.0,
        bias=rng.uniform(0, 4, 40),
    )
    lif = LIF(
        tau_mem=rng.uniform(10, 20, 20),
        tau_syn=3.0,
        v_th=5.0,
        v_reset=-1.0,
        t_ref=2.0,
        bias=rng.uniform(0, 4, 20),
    )
    return Network(
        populations=(
            Population(name="izh", size=40, model=izh),
            Population(name="lif", size=20, model=lif),
        ),
        inputs=(InputPort(name="in", size=12),),
        projections=(
            _proj(rng, "in", "izh", 12, 40, 0.3, 8.0, (0, 2)),
            _proj(rng, "in", "lif", 12, 20, 0.3, 3.0, (0, 3)),
            _proj(rng, "izh", "izh", 40, 40, 0.1, 4.0, (1, 4)),
            _proj(rng, "izh", "lif", 40, 20, 0.2, 1.5, (1, 4)),
            _proj(rng, "lif", "izh", 20, 40, 0.2, -3.0, (1, 3)),
            _proj(rng, "lif", "lif", 20, 20, 0.2, 1.0, (1, 2)),
        ),
    )


def poisson(n_samples: int = 5, n_steps: int = 300, n_channels: int = 12, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = (rng.random((n_samples, n_steps, n_channels)) < 0.05) * rng.integers(1, 3, (1, 1, 1))
    return SpikeBatch.from_dense(x.astype(np.float32))


@pytest.fixture(scope="module")
def net() -> Network:
    return mixed_net()


@pytest.fixture(scope="module")
def batch() -> SpikeBatch:
    return poisson()


@pytest.fixture(scope="module")
def ref(net, batch):
    return net.compile("numba", dt=1.0, record=RECORD).run(batch)


def run(net, batch, record=RECORD, **options):
    return net.compile("torch", dt=1.0, record=record, **options).run(batch)


# ---- registry and options ----------------------------------------------------------------


def test_registered_as_torch_and_norse():
    assert isinstance(get_backend("torch"), tb.TorchBackend)
    assert isinstance(get_backend("norse"), tb.TorchBackend)
    assert get_backend("torch").name == "torch"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"dtype": "float16"}, "dtype must be one of"),
        ({"sparse": "coo"}, "sparse must be one of"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"threads": 0}, "threads must be >= 1"),
        ({"device": "gpu0"}, "device must be a torch device string"),
    ],
)
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        get_backend("torch", **options)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_cuda_without_gpu_names_the_fix():
    with pytest.raises(BackendUnavailable, match="device='cpu'") as info:
        get_backend("torch", device="cuda")
    assert "CUDA build of torch" in str(info.value)


def test_torch_dtype_objects_are_accepted():
    assert get_backend("torch", dtype=torch.float32).dtype == "float32"


def test_batch_that_does_not_fit_is_refused(net):
    wrong = SpikeBatch.from_dense(np.ones((1, 5, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="12 input channels"):
        net.compile("torch", dt=1.0).run(wrong)


# ---- results ------------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", ["csr", "dense"])
def test_float64_matches_numba(net, batch, ref, sparse):
    out = run(net, batch, sparse=sparse)
    for b in range(len(batch)):
        np.testing.assert_array_equal(out.raster.dense(b), ref.raster.dense(b))
    np.testing.assert_array_equal(out.counts, ref.counts)
    assert (out.n_spikes, out.n_synaptic_events) == (ref.n_spikes, ref.n_synaptic_events)
    assert out.extras["sparse"] == sparse
    if sparse == "csr":  # the CSR product adds in the reference's order: bit-identical v
        np.testing.assert_array_equal(out.voltage, ref.voltage)
    else:
        np.testing.assert_allclose(out.voltage, ref.voltage, rtol=0, atol=1e-9)


def test_recording_contract(net, batch, ref):
    out = run(net, batch, dtype="float32")
    assert out.counts.dtype == np.int32 and out.counts.shape == ref.counts.shape
    assert out.voltage.dtype == np.float32
    assert out.voltage.shape == (len(batch), batch.n_steps, 3)
    assert out.voltage_neurons == (0, 3, 59)
    assert (out.bin_steps, out.n_steps, out.dt) == (25, 300, 1.0)
    assert out.populations == ref.populations
    assert out.wall_time_s > 0
    assert abs(out.n_spikes - ref.n_spikes) <= 0.05 * ref.n_spikes
    assert run(net, batch, dtype="float64").voltage.dtype == np.float64


def test_return_tensors(net, batch):
    out = run(net, batch, record=RecordSpec(bin_steps=50), return_tensors=True)
    t = out.extras["counts_tensor"]
    assert isinstance(t, torch.Tensor) and t.dtype == torch.int32
    assert t.device == torch.device("cpu")
    np.testing.assert_array_equal(t.numpy(), out.counts)
    assert "counts_tensor" not in run(net, batch, record=RecordSpec()).extras


def test_chunks_and_threads_do_not_change_results(net, batch, ref):
    for options in ({"batch_size": 2}, {"batch_size": 2, "threads": 2}, {"threads": 1}):
        out = run(net, batch, **options)
        np.testing.assert_array_equal(out.counts, ref.counts)
        np.testing.assert_array_equal(out.voltage, ref.voltage)
        assert out.n_synaptic_events == ref.n_synaptic_events


def test_input_schedule_in_windows(monkeypatch, net, batch, ref):
    from spikelab.backends.torch import synapses as torch_synapses

    windows = []
    expand = torch_synapses.InputSchedule._expand

    def counting_expand(self, window):
        windows.append(window)
        return expand(self, window)

    monkeypatch.setattr(torch_synapses, "SCHEDULE_BUDGET", 50)  # a few steps per window
    monkeypatch.setattr(torch_synapses.InputSchedule, "_expand", counting_expand)
    out = run(net, batch, threads=1)
    assert len(windows) > 10 and windows[-1][1] == batch.n_steps
    np.testing.assert_array_equal(out.voltage, ref.voltage)
    assert out.n_synaptic_events == ref.n_synaptic_events


def test_threads_setting_is_restored(net, batch):
    before = torch.get_num_threads()
    run(net, batch, threads=1)
    assert torch.get_num_threads() == before


def test_pickled_simulation_runs(net, batch, ref):
    sim = net.compile("torch", dt=1.0, record=RECORD)
    sim.run(batch.subset([0]))  # builds the tensors, which must not be pickled
    clone = pickle.loads(pickle.dumps(sim))
    np.testing.assert_array_equal(clone.run(batch).counts, ref.counts)


def test_lsm_preset_auto_uses_csr_and_matches():
    net = lsm_column((4, 4, 3), n_inputs=20, seed=0, input_fan_in=8)
    batch = poisson(3, 200, 20, seed=2)
    rec = RecordSpec(bin_steps=20, raster=True)
    ref = net.compile("numba", dt=1.0, record=rec).run(batch)
    out = run(net, batch, record=rec)
    assert out.extras["sparse"] == "csr"
    np.testing.assert_array_equal(out.counts, ref.counts)


def test_no_input_no_recurrence():
    net = Network(
        populations=(Population(name="p", size=4, model=LIF(bias=2.0, v_th=1.0)),),
        inputs=(InputPort(name="in", size=2),),
        projections=(),
    )
    batch = SpikeBatch.from_dense(np.zeros((2, 30, 2), dtype=np.float32))
    ref = net.compile("numba", dt=1.0).run(batch)
    out = run(net, batch, record=RecordSpec())
    np.testing.assert_array_equal(out.counts, ref.counts)
    assert out.n_synaptic_events == 0


def test_one_python_iteration_per_step_not_per_neuron(monkeypatch, net, batch):
    calls = {"lif": 0, "izh": 0}
    lif, izh = torch_steps.lif_step, torch_steps.izh_step

    def count_lif(*a):
        calls["lif"] += 1
        return lif(*a)

    def count_izh(*a):
        calls["izh"] += 1
        return izh(*a)

    monkeypatch.setattr(torch_steps, "lif_step", count_lif)
    monkeypatch.setattr(torch_steps, "izh_step", count_izh)
    run(net, batch, record=RecordSpec(), threads=1)  # one chunk: the whole batch at once
    assert calls == {"lif": batch.n_steps, "izh": batch.n_steps}


def test_consecutive_populations_of_one_model_share_one_step():
    net = lsm_column((3, 3, 3), n_inputs=4, seed=0)  # "exc" and "inh", both LIF
    sim = net.compile("torch", dt=1.0)
    runs, _ = sim._build()
    assert [(r.lo, r.hi) for r in runs] == [(0, net.n_neurons)]
