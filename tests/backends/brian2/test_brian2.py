"""Brian2-specific tests: options and errors, the input layout, cpp_standalone reuse, and that
Brian2's global state (preferences, device) is left as it was. The cross-backend behaviour
is in tests/conformance."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import spikelab as sl
from spikelab import BackendUnavailable, RecordSpec, SpikeBatch
from spikelab.backends.brian2 import inputs as brian2_inputs
from spikelab.backends.brian2 import model as brian2_model
from spikelab.backends.brian2.inputs import input_arrays, make_layout, plan_inputs

needs_brian2 = pytest.mark.needs_brian2


@pytest.fixture(scope="module")
def b2() -> object:
    """The brian2 module, or a skip saying why it cannot be used here."""
    from spikelab.backends.brian2.backend import _import_brian2

    try:
        return _import_brian2()
    except BackendUnavailable as exc:
        pytest.skip(f"brian2 unavailable: {exc}")


def _net(n_in: int = 4, n: int = 6, seed: int = 0, recurrent: bool = True) -> sl.Network:
    rng = np.random.default_rng(seed)
    w_in = sp.csr_matrix(np.round(rng.uniform(0.2, 1.5, (n_in, n)) * 64) / 64)
    projs = [sl.Projection(source="in", target="pop", weights=w_in, delays=0)]
    if recurrent:
        w = sp.csr_matrix(np.round(rng.uniform(-0.3, 0.3, (n, n)) * 64) / 64)
        projs.append(sl.Projection(source="pop", target="pop", weights=w, delays=2))
    return sl.Network(
        populations=(
            sl.Population(
                name="pop",
                size=n,
                model=sl.LIF(tau_mem=10.0, tau_syn=2.0, v_th=1.0, t_ref=1.0, bias=0.5),
            ),
        ),
        inputs=(sl.InputPort(name="in", size=n_in),),
        projections=tuple(projs),
    )


def _batch(n_in: int = 4, n_samples: int = 2, n_steps: int = 120, seed: int = 1) -> SpikeBatch:
    x = np.random.default_rng(seed).random((n_samples, n_steps, n_in)) < 0.1
    return SpikeBatch.from_dense(x.astype(np.float32))


# ---- options and errors (no working brian2 needed) --------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "gpu"}, "mode must be one of"),
        ({"target": "cuda"}, "target must be one of"),
        ({"mode": "cpp_standalone", "target": "cython"}, "applies to mode='runtime' only"),
        ({"threads": 0}, "threads must be an integer >= 1"),
        ({"threads": 1.5}, "threads must be an integer >= 1"),
    ],
)
def test_bad_options(options: dict, message: str) -> None:
    from spikelab.backends.brian2 import Brian2Backend

    with pytest.raises(ValueError, match=message):
        Brian2Backend(**options)


def test_missing_brian2_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from spikelab.backends.brian2 import Brian2Backend

    monkeypatch.setitem(sys.modules, "brian2", None)  # "import brian2" now raises ImportError
    with pytest.raises(BackendUnavailable, match=r"pip install"):
        Brian2Backend()


# ---- the input layout (pure numpy) --------------------------------------------------------
def _replay(plan: brian2_inputs.InputPlan, n_inputs: int) -> list[tuple[int, int, float]]:
    """Events the input group emits for ``plan``, replaying its pointer rule in Python:
    neuron k fires at step table[ptr[k]] and then advances ptr[k]."""
    layout = make_layout(plan)
    arrays = input_arrays(plan, layout, n_inputs)
    table, ptr = arrays["table"], arrays["ptr"].copy()
    out = []
    for step in range(plan.n_samples * plan.period):
        fire = np.flatnonzero(table[np.minimum(ptr, len(table) - 1)] == step)
        for k in fire:
            out.append((step, int(k % n_inputs), float(arrays["slot_values"][k // n_inputs])))
        ptr[fire] += 1
    return sorted(out)


def test_input_plan_replays_every_event_with_its_value() -> None:
    """Duplicates of a (step, channel) and analogue values all come out, once each."""
    batch = SpikeBatch(
        n_steps=10,
        n_channels=3,
        offsets=np.array([0, 5, 7]),
        steps=np.array([0, 0, 4, 9, 9, 1, 9]),
        channels=np.array([1, 1, 0, 2, 2, 0, 2]),
        values=np.array([1.0, 2.5, 1.0, 1.0, 1.0, 0.5, 3.0], np.float32),
    )
    plan = plan_inputs(batch, n_inputs=3, gap=2)
    assert plan.period == 12 and plan.n_samples == 2
    expected = sorted(
        (b * 12 + s, c, float(v))
        for b in range(2)
        for s, c, v in zip(*batch.sample(b), strict=True)
    )
    assert _replay(plan, 3) == expected
    assert plan.n_slots == len(
        {(v, r) for v, r in [(1.0, 0), (2.5, 1), (1.0, 1), (0.5, 0), (3.0, 0)]}
    )


def test_input_plan_of_an_empty_batch() -> None:
    batch = SpikeBatch.from_dense(np.zeros((2, 5, 3), np.float32))
    plan = plan_inputs(batch, n_inputs=3, gap=1)
    assert _replay(plan, 3) == []
    assert make_layout(plan).fits(plan)


# ---- runs (brian2 needed) -------------------------------------------------------------------
@needs_brian2
def test_batch_errors(b2: object) -> None:
    sim = _net().compile("brian2", dt=1.0)
    with pytest.raises(TypeError, match="SpikeBatch"):
        sim.run(np.zeros((1, 10, 4)))
    with pytest.raises(ValueError, match="channels"):
        sim.run(_batch(n_in=5))
    with pytest.raises(ValueError, match="dt="):
        sim.run(SpikeBatch.from_dense(np.zeros((1, 10, 4), np.float32), dt=0.5))


@needs_brian2
def test_duplicate_and_analogue_inputs_match_numba(b2: object) -> None:
    net = _net()
    rng = np.random.default_rng(3)
    n = 300
    steps = np.sort(rng.integers(0, 100, n))
    batch = SpikeBatch(
        n_steps=100,
        n_channels=4,
        offsets=np.array([0, 180, n]),
        steps=steps,
        channels=rng.integers(0, 4, n),
        values=rng.choice([0.5, 1.0, 1.75, 3.0], n).astype(np.float32),
    )
    record = RecordSpec(bin_steps=25, raster=True, voltage=(0, 5))
    ref = net.compile("numba", dt=1.0, record=record).run(batch)
    out = net.compile("brian2", dt=1.0, record=record).run(batch)
    np.testing.assert_array_equal(out.counts, ref.counts)
    np.testing.assert_allclose(out.voltage, ref.voltage, rtol=0, atol=1e-12)
    assert out.n_synaptic_events == ref.n_synaptic_events
    assert ref.n_spikes > 10


@needs_brian2
def test_too_many_input_slots_is_a_clear_error(b2: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(brian2_model, "MAX_INPUT_SYNAPSES", 10)
    with pytest.raises(ValueError, match="Binarise or round the input values"):
        _net().compile("brian2", dt=1.0).run(_batch())


@needs_brian2
def test_empty_batch_and_network_without_recurrence(b2: object) -> None:
    record = RecordSpec(voltage=(1,))
    sim = _net(recurrent=False).compile("brian2", dt=1.0, record=record)
    empty = sim.run(_batch().subset([]))
    assert empty.counts.shape == (0, 1, 6) and empty.voltage.shape == (0, 120, 1)
    ref = _net(recurrent=False).compile("numba", dt=1.0, record=record).run(_batch())
    out = sim.run(_batch())
    np.testing.assert_array_equal(out.counts, ref.counts)


@needs_brian2
def test_runtime_leaves_brian2_state_as_it_was(b2: object) -> None:
    from brian2.devices.device import get_device

    prefs = b2.prefs
    before = {
        k: prefs[k]
        for k in (
            "codegen.target",
            "codegen.loop_invariant_optimisations",
            "codegen.cpp.extra_compile_args_gcc",
        )
    }
    device, dt = get_device(), b2.defaultclock.dt
    sim = _net().compile("brian2", dt=0.5)
    rec = sim.run(SpikeBatch.from_dense(np.ones((1, 20, 4), np.float32), dt=0.5))
    assert rec.extras["mode"] == "runtime" and rec.extras["loop_s"] >= 0
    assert {k: prefs[k] for k in before} == before
    assert get_device() is device and b2.defaultclock.dt == dt
    clone = pickle.loads(pickle.dumps(sim))
    np.testing.assert_array_equal(
        clone.run(SpikeBatch.from_dense(np.ones((1, 20, 4), np.float32), dt=0.5)).counts, rec.counts
    )


@needs_brian2
@pytest.mark.slow
def test_cpp_standalone_builds_once_and_matches_numba(b2: object, tmp_path: object) -> None:
    """One C++ build; later batches (smaller, larger in chunks) rerun the same binary and
    give numba's rasters; the runtime device is active again afterwards."""
    from brian2.devices.device import RuntimeDevice, get_device

    net = sl.Network(
        populations=(
            sl.Population(
                name="lif",
                size=5,
                model=sl.LIF(tau_mem=10.0, tau_syn=2.0, v_th=1.0, t_ref=2.0, bias=0.3),
            ),
            sl.Population(name="izh", size=3, model=sl.Izhikevich(bias=4.0)),
        ),
        inputs=(sl.InputPort(name="in", size=4),),
        projections=(
            sl.Projection(
                source="in", target="lif", weights=sp.csr_matrix(np.full((4, 5), 0.5)), delays=1
            ),
            sl.Projection(
                source="in", target="izh", weights=sp.csr_matrix(np.full((4, 3), 8.0)), delays=0
            ),
            sl.Projection(
                source="lif", target="izh", weights=sp.csr_matrix(np.full((5, 3), 2.0)), delays=3
            ),
            sl.Projection(
                source="izh", target="lif", weights=sp.csr_matrix(np.full((3, 5), 0.25)), delays=1
            ),
        ),
    )
    record = RecordSpec(bin_steps=40, raster=True, voltage=(0, 6))
    batch = _batch(n_samples=4, seed=5)
    batch = SpikeBatch(
        n_steps=batch.n_steps,
        n_channels=4,
        offsets=batch.offsets,
        steps=batch.steps,
        channels=batch.channels,
        values=np.where(np.arange(batch.n_events) % 7 == 0, 2.0, 1.0),
    )
    ref = net.compile("numba", dt=1.0, record=record).run(batch)
    sim = net.compile(
        "brian2", dt=1.0, record=record, mode="cpp_standalone", directory=str(tmp_path / "b2")
    )
    first = sim.run(batch.subset([0, 1]))
    project = sim._project
    assert isinstance(get_device(), RuntimeDevice)
    np.testing.assert_array_equal(first.counts, ref.counts[:2])
    np.testing.assert_allclose(first.voltage, ref.voltage[:2], rtol=0, atol=1e-12)
    assert first.extras["build_s"] > first.extras["loop_s"]
    again = sim.run(batch.subset([3, 2, 1]))  # 3 samples: two chunks of the built size 2
    assert sim._project is project, "a batch that fits must not rebuild"
    np.testing.assert_array_equal(again.counts, ref.counts[[3, 2, 1]])
    for b, r in enumerate([3, 2, 1]):
        assert np.array_equal(again.raster.dense(b), ref.raster.dense(r))
    ref_again = net.compile("numba", dt=1.0, record=record).run(batch.subset([3, 2, 1]))
    assert again.n_synaptic_events == ref_again.n_synaptic_events
    assert again.n_spikes == ref_again.n_spikes > 0
