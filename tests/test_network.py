"""Network spec: validation errors (one per bad input), indexing, HDF5 save/load."""

from __future__ import annotations

import os
import pickle

import h5py
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
from spikelab.network_io import FORMAT_VERSION
from spikelab.reservoirs import lsm_column


def pop(name="a", size=3, model=None, **kw):
    return Population(name=name, size=size, model=model or LIF(), **kw)


def proj(source, target, shape, delays=1, density=1.0, seed=0, **kw):
    w = sp.random(*shape, density=density, format="csr", random_state=seed) + 0.0
    return Projection(source=source, target=target, weights=w, delays=delays, **kw)


def two_pop_net(delays=1):
    return Network(
        populations=(pop("a", 3), pop("b", 2)),
        inputs=(InputPort(name="in", size=4),),
        projections=(proj("in", "a", (4, 3), delays=0), proj("a", "b", (3, 2), delays=delays)),
    )


# ---- validation: every bad input gets its message ---------------------------------------


def test_shape_mismatch_names_projection_and_expected_shape():
    with pytest.raises(ValueError, match=r"'a->b': weights have shape \(2, 2\), expected \(3, 2\)"):
        Network(populations=(pop("a", 3), pop("b", 2)), projections=(proj("a", "b", (2, 2)),))
    with pytest.raises(ValueError, match=r"weights have shape \(4, 2\), expected \(4, 3\)"):
        Network(
            populations=(pop("a", 3),),
            inputs=(InputPort(name="in", size=4),),
            projections=(proj("in", "a", (4, 2), delays=0),),
        )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("as_sparse", [True, False])
def test_nan_or_inf_weights(bad, as_sparse):
    w = np.ones((3, 2))
    w[1, 1] = bad
    weights = sp.csr_matrix(w) if as_sparse else w
    with pytest.raises(ValueError, match="'x': weights contain NaN or inf"):
        Projection(source="a", target="b", weights=weights, name="x")


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (lambda: LIF(tau_mem=0.0), "tau_mem must be > 0"),
        (lambda: LIF(tau_mem=np.array([20.0, -3.0])), r"tau_mem must be > 0, got -3\.0"),
        (lambda: LIF(tau_syn=-1.0), "tau_syn must be >= 0"),
        (lambda: Izhikevich(a=-0.02), "a must be > 0"),
    ],
)
def test_tau_not_positive(model, match):
    with pytest.raises(ValueError, match=match):
        model()


@pytest.mark.parametrize(
    ("model", "dt", "match"),
    [
        (LIF(tau_mem=5.0), 6.0, r"dt=6\.0 ms is not small .* population 'a' \(smallest 5 ms\)"),
        (LIF(tau_mem=20.0, tau_syn=2.0), 2.5, r"smallest 2 ms\); use dt <= 2 ms"),
        (Izhikevich(a=0.1), 11.0, r"smallest 10 ms"),
        (Izhikevich(a=0.02), 2.0, r"too large for the Izhikevich population 'a'.*dt <= 1 ms"),
    ],
)
def test_dt_not_small_against_tau(model, dt, match):
    net = Network(populations=(pop("a", 2, model),))
    with pytest.raises(ValueError, match=match):
        net.check_dt(dt)
    with pytest.raises(ValueError, match=match):
        net.compile(backend="numba", dt=dt)


def test_dt_accepted_up_to_the_smallest_time_constant():
    Network(populations=(pop("a", 2, LIF(tau_mem=5.0, tau_syn=2.0)),)).check_dt(2.0)
    Network(populations=(pop("a", 2, Izhikevich()),)).check_dt(1.0)


@pytest.mark.parametrize("dt", [0.0, -1.0, float("nan"), float("inf"), "1.0", None])
def test_dt_must_be_a_positive_number(dt):
    net = Network(populations=(pop("a", 2),))
    with pytest.raises(ValueError, match="dt must be a positive number of ms"):
        net.check_dt(dt)


def test_delay_between_populations_must_be_at_least_one_step():
    with pytest.raises(ValueError, match=r"'a->b': a delay between populations must be >= 1 step"):
        two_pop_net(delays=0)
    n = proj("a", "b", (3, 2)).weights.nnz
    per_syn = np.ones(n, dtype=int)
    per_syn[-1] = 0
    with pytest.raises(ValueError, match=r"must be >= 1 step .*got 0"):
        two_pop_net(delays=per_syn)
    # Input ports may act in the same step; an empty projection carries no delay.
    two_pop_net(delays=1)
    Network(
        populations=(pop("a", 3), pop("b", 2)),
        projections=(Projection(source="a", target="b", weights=sp.csr_matrix((3, 2)), delays=0),),
    )


def test_negative_and_fractional_delays():
    w = sp.csr_matrix(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"delays must be >= 0, got -1"):
        Projection(source="in", target="a", weights=w, delays=-1)
    with pytest.raises(ValueError, match="delays are whole steps"):
        Projection(source="in", target="a", weights=w, delays=1.5)
    with pytest.raises(ValueError, match="delays are whole steps"):
        Projection(source="in", target="a", weights=w, delays=np.array([1, 2, 2.5, 1]))
    p = Projection(source="in", target="a", weights=w, delays=np.array([1.0, 2.0, 3.0, 4.0]))
    assert p.delays.dtype == np.int32 and p.delays.tolist() == [1, 2, 3, 4]


def test_per_synapse_delays_must_align_with_weights():
    w = sp.csr_matrix(np.array([[1.0, 0.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"one entry per stored weight \(3\), got shape \(2,\)"):
        Projection(source="in", target="a", weights=w, delays=np.array([1, 2]))
    unsorted = sp.csr_matrix(
        (np.array([1.0, 2.0]), np.array([1, 0]), np.array([0, 2, 2])), shape=(2, 2)
    )
    with pytest.raises(ValueError, match="canonical CSR form"):
        Projection(source="in", target="a", weights=unsorted, delays=np.array([1, 2]))


def test_unknown_population_or_input():
    a = pop("a", 3)
    with pytest.raises(ValueError, match=r"unknown source 'zz'; populations and inputs are \['a'"):
        Network(populations=(a,), projections=(proj("zz", "a", (3, 3)),))
    with pytest.raises(
        ValueError, match=r"unknown target population 'zz'; populations are \['a'\]"
    ):
        Network(populations=(a,), projections=(proj("a", "zz", (3, 3)),))
    # An input port is not a valid target.
    with pytest.raises(ValueError, match="unknown target population 'in'"):
        Network(
            populations=(a,),
            inputs=(InputPort(name="in", size=3),),
            projections=(proj("a", "in", (3, 3)),),
        )


def test_duplicate_names():
    with pytest.raises(ValueError, match=r"names must be unique; repeated: \['a'\]"):
        Network(populations=(pop("a", 2), pop("a", 3)))
    with pytest.raises(ValueError, match=r"repeated: \['x'\]"):
        Network(populations=(pop("x", 2),), inputs=(InputPort(name="x", size=1),))


@pytest.mark.parametrize("positions", [np.zeros((3, 2)), np.zeros((4, 3)), np.zeros(9)])
def test_bad_positions(positions):
    with pytest.raises(ValueError, match=r"population 'a': positions must have shape \(3, 3\)"):
        pop("a", 3, positions=positions)


def test_non_finite_positions_rejected():
    positions = np.zeros((3, 3))
    positions[1, 2] = np.nan
    with pytest.raises(ValueError, match="positions"):
        pop("a", 3, positions=positions)


def test_positions_are_stored_read_only_float64():
    p = pop("a", 2, positions=[[0, 0, 0], [1, 2, 3]])
    assert p.positions.dtype == np.float64 and not p.positions.flags.writeable


def test_other_population_and_port_errors():
    with pytest.raises(ValueError, match="must have size >= 1, got 0"):
        pop("a", 0)
    with pytest.raises(ValueError, match=r"has 3 neurons but a model parameter has 2 values"):
        pop("a", 3, LIF(bias=np.array([1.0, 2.0])))
    with pytest.raises(TypeError, match="model must be a neuron model"):
        Population(name="a", size=2, model="LIF")  # type: ignore[arg-type]
    for bad in ("", "a/b", 3):
        with pytest.raises(ValueError, match="name must be a non-empty string without '/'"):
            pop(bad, 2)
    with pytest.raises(ValueError, match=r"shape \(34, 34, 2\) holds 2312 channels, but size is 2"):
        InputPort(name="in", size=2, shape=(34, 34, 2))
    with pytest.raises(ValueError, match="at least one population"):
        Network(populations=())


# ---- structure and indexing ---------------------------------------------------------------


def test_sizes_slices_and_lookup():
    net = two_pop_net()
    assert (net.n_neurons, net.n_inputs) == (5, 4)
    assert net.n_synapses == 4 * 3 + 3 * 2
    assert net.population_slices() == {"a": slice(0, 3), "b": slice(3, 5)}
    assert net.input_slices() == {"in": slice(0, 4)}
    assert net.pop_table() == (("a", 0, 3), ("b", 3, 5))
    assert net.population("b").size == 2 and net.is_input("in") and not net.is_input("a")
    with pytest.raises(KeyError, match=r"no population 'zz'; populations: \['a', 'b'\]"):
        net.population("zz")
    assert net.with_projections(()).n_synapses == 0


def test_projection_canonicalises_and_copies_weights():
    dup = sp.csr_matrix(
        (np.array([1.0, 2.0, 4.0]), np.array([1, 1, 0]), np.array([0, 3, 3])), shape=(2, 2)
    )
    p = Projection(source="in", target="a", weights=dup, delays=2)
    assert p.weights.has_canonical_format
    assert p.weights.toarray().tolist() == [[4.0, 3.0], [0.0, 0.0]]
    assert p.name == "in->a" and p.delays == 2 and (p.min_delay, p.max_delay) == (2, 2)
    assert p.delay_array().tolist() == [2, 2]
    src = sp.csr_matrix(np.array([[1.0, 2.0]]))
    q = Projection(source="in", target="a", weights=src, delays=np.array([3, 5]))
    src.data[0] = 99.0
    assert q.weights.data[0] == 1.0
    assert not q.weights.data.flags.writeable
    assert (q.min_delay, q.max_delay) == (3, 5)
    dense = Projection(source="in", target="a", weights=np.array([[0.0, 1.5]]))
    assert sp.issparse(dense.weights) and dense.weights.nnz == 1


def test_compile_checks_record_spec():
    net = two_pop_net()
    with pytest.raises(ValueError, match="record.voltage index 5 out of range for 5 neurons"):
        net.compile(backend="numba", dt=1.0, record=RecordSpec(voltage=(5,)))
    with pytest.raises(TypeError, match="record must be a RecordSpec"):
        net.compile(backend="numba", dt=1.0, record={"raster": True})


def test_network_pickles(assert_same_network):
    net = two_pop_net(delays=np.arange(1, 7))
    again = pickle.loads(pickle.dumps(net))
    assert_same_network(net, again)
    assert again == net


# ---- HDF5 round trip -----------------------------------------------------------------------


def _hetero_lif_net() -> Network:
    rng = np.random.default_rng(7)
    n_e, n_i, n_in = 6, 3, 5
    exc = LIF(
        tau_mem=rng.uniform(10, 30, n_e),
        tau_syn=np.where(rng.random(n_e) < 0.5, 0.0, rng.uniform(1, 5, n_e)),
        v_rest=-70.0 + rng.standard_normal(n_e),
        v_reset=-75.0,
        v_th=rng.uniform(-55, -50, n_e),
        t_ref=rng.uniform(0, 3, n_e),
        bias=rng.standard_normal(n_e) / 3.0,  # values with full 53-bit mantissas
    )
    inh = LIF(tau_mem=10.0, tau_syn=2.0 / 3.0, v_th=0.1 + 1e-17, t_ref=2.0)

    def rand_csr(shape, density, seed):
        return sp.random(*shape, density=density, format="csr", random_state=seed) * np.pi

    ee = rand_csr((n_e, n_e), 0.5, 1)
    return Network(
        populations=(
            Population(name="exc", size=n_e, model=exc, positions=rng.random((n_e, 3))),
            Population(name="inh", size=n_i, model=inh),
        ),
        inputs=(InputPort(name="in", size=n_in, shape=(5, 1)), InputPort(name="aux", size=2)),
        projections=(
            Projection(source="in", target="exc", weights=rand_csr((n_in, n_e), 0.6, 2), delays=0),
            Projection(
                source="in",
                target="inh",
                weights=rand_csr((n_in, n_i), 0.6, 3),
                delays=rng.integers(0, 4, rand_csr((n_in, n_i), 0.6, 3).nnz),
            ),
            Projection(
                source="exc",
                target="exc",
                weights=ee,
                delays=rng.integers(1, 9, ee.nnz),
                name="recurrent EE",
            ),
            Projection(source="exc", target="inh", weights=-rand_csr((n_e, n_i), 0.4, 4), delays=3),
            Projection(source="inh", target="exc", weights=sp.csr_matrix((n_i, n_e)), delays=2),
        ),
        metadata={
            "builder": "test",
            "seed": 7,
            "shape": [6, 3],
            "lam": 2.5,
            "nested": {"ok": True, "none": None},
        },
    )


def _hetero_izh_net() -> Network:
    rng = np.random.default_rng(3)
    n, m = 7, 4
    r = rng.random(n)
    model = Izhikevich(
        a=0.02 + 0.08 * r,
        b=0.25 - 0.05 * r,
        c=-65.0 + 15 * r**2,
        d=8.0 - 6 * r**2,
        bias=rng.standard_normal(n),
        tau_syn=np.where(r < 0.5, 0.0, 5.0),
        v_init=-70.0 + r,
    )
    w = sp.random(n, n, density=0.5, format="csr", random_state=5) - 0.5 * sp.random(
        n, n, density=0.3, format="csr", random_state=6
    )
    w = sp.csr_matrix(w)
    w.sort_indices()
    return Network(
        populations=(Population(name="izh", size=n, model=model),),
        inputs=(InputPort(name="in", size=m),),
        projections=(
            Projection(
                source="in",
                target="izh",
                weights=sp.random(m, n, density=0.7, format="csr", random_state=8),
                delays=0,
            ),
            Projection(source="izh", target="izh", weights=w, delays=rng.integers(1, 20, w.nnz)),
        ),
        metadata={"what": "izhikevich"},
    )


@pytest.mark.parametrize("make", [_hetero_lif_net, _hetero_izh_net], ids=["lif", "izhikevich"])
def test_hdf5_round_trip_is_bit_identical(tmp_path, make, assert_same_network):
    net = make()
    path = tmp_path / "net.h5"
    assert net.save(path) == path
    loaded = Network.load(path)
    assert_same_network(net, loaded)
    assert loaded == net
    # Saving the loaded network again gives the same arrays in the file.
    path2 = loaded.save(tmp_path / "again.h5")
    with h5py.File(path, "r") as f, h5py.File(path2, "r") as g:
        for grp in ("populations", "projections"):
            for k in f[grp]:
                for ds in f[grp][k]:
                    assert np.array_equal(f[grp][k][ds][()], g[grp][k][ds][()])


def test_hdf5_file_layout_and_metadata(tmp_path):
    net = _hetero_lif_net()
    path = net.save(tmp_path / "net.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "spikelab.network"
        assert int(f.attrs["format_version"]) == FORMAT_VERSION == 2
        assert sorted(f) == ["inputs", "populations", "projections"]
    assert Network.load(path).metadata == {
        "builder": "test",
        "seed": 7,
        "shape": [6, 3],
        "lam": 2.5,
        "nested": {"ok": True, "none": None},
    }


def test_loaded_network_simulates_identically(tmp_path):
    net = _hetero_lif_net()
    loaded = Network.load(net.save(tmp_path / "n.h5"))
    rng = np.random.default_rng(0)
    batch = SpikeBatch.from_dense((rng.random((3, 40, 7)) < 0.2) * 20.0, dt=0.5)
    rec = RecordSpec(bin_steps=10, voltage=(0, 4, 8))
    a = net.compile(backend="numba", dt=0.5, record=rec).run(batch)
    b = loaded.compile(backend="numba", dt=0.5, record=rec).run(batch)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.voltage, b.voltage)
    assert a.counts.sum() > 0


def test_network_equality_sees_one_ulp(tmp_path):
    net = _hetero_lif_net()
    projs = list(net.projections)
    w = projs[2].weights.copy()
    w.data = w.data.copy()
    w.data[0] = np.nextafter(w.data[0], np.inf)
    projs[2] = Projection(
        source="exc", target="exc", weights=w, delays=projs[2].delays, name=projs[2].name
    )
    changed = net.with_projections(projs)
    assert changed != net
    d = projs[2].delays.copy()
    d[0] += 1
    projs[2] = Projection(
        source="exc", target="exc", weights=net.projections[2].weights, delays=d, name=projs[2].name
    )
    assert net.with_projections(projs) != net
    other_meta = Network(
        populations=net.populations,
        inputs=net.inputs,
        projections=net.projections,
        metadata={"seed": 8},
    )
    assert other_meta != net


def test_round_trip_with_tuple_metadata(tmp_path):
    net = Network(populations=(pop("a", 2),), metadata={"shape": (10, 10, 10)})
    assert Network.load(net.save(tmp_path / "n.h5")) == net


def test_unserialisable_metadata_is_refused_at_construction():
    with pytest.raises(TypeError, match="metadata value of type object is not JSON-serialisable"):
        Network(populations=(pop("a", 3),), metadata={"v": object()})


def test_failed_save_leaves_nothing_and_keeps_the_old_file(tmp_path, monkeypatch):
    import h5py

    path = tmp_path / "n.h5"
    good = Network(populations=(pop("a", 2),), metadata={"v": 1})
    good.save(path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", disk_full)
    with pytest.raises(OSError, match="disk full"):
        Network(populations=(pop("a", 3),), metadata={"v": 2}).save(path)
    assert sorted(os.listdir(tmp_path)) == ["n.h5"], "a temporary file was left behind"
    assert path.read_bytes() == before, "a failed save damaged the existing file"
    monkeypatch.undo()
    assert Network.load(path).metadata == {"v": 1}


def test_save_is_atomic_and_overwrites(tmp_path):
    path = tmp_path / "n.h5"
    _hetero_izh_net().save(path)
    _hetero_lif_net().save(path)
    assert sorted(os.listdir(tmp_path)) == ["n.h5"]
    assert Network.load(path) == _hetero_lif_net()


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _hetero_izh_net().save(tmp_path / "nope" / "n.h5")


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no network file at"):
        Network.load(tmp_path / "missing.h5")


def test_version_check(tmp_path):
    path = _hetero_izh_net().save(tmp_path / "n.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 3
    with pytest.raises(
        ValueError, match=r"network format version 3; this spikelab reads versions 1, 2"
    ):
        Network.load(path)
    with h5py.File(path, "r+") as f:
        del f.attrs["format_version"]
    with pytest.raises(ValueError, match="network format version -1"):
        Network.load(path)


def test_foreign_hdf5_file(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(3))
        f.attrs["format"] = "something.else"
    with pytest.raises(ValueError, match="is not a spikelab network file"):
        Network.load(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"not an hdf5 file at all\n" * 10, b"\x89HDF\r\n\x1a\n" + bytes(range(256))],
    ids=["empty", "text", "bad-superblock"],
)
def test_corrupt_file(tmp_path, content):
    path = tmp_path / "bad.h5"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not an HDF5 file"):
        Network.load(path)


def test_truncated_file(tmp_path):
    data = _hetero_lif_net().save(tmp_path / "n.h5").read_bytes()
    for frac in (0.25, 0.75, 0.99):
        path = tmp_path / f"cut{frac}.h5"
        path.write_bytes(data[: int(len(data) * frac)])
        with pytest.raises(ValueError, match=str(path.name)):
            Network.load(path)


def test_unknown_neuron_type_in_file(tmp_path):
    path = _hetero_izh_net().save(tmp_path / "n.h5")
    with h5py.File(path, "r+") as f:
        f["populations"]["0"].attrs["type"] = "AdEx"
    with pytest.raises(ValueError, match="unknown neuron model 'AdEx'"):
        Network.load(path)


def test_damaged_file_missing_group(tmp_path):
    path = _hetero_izh_net().save(tmp_path / "n.h5")
    with h5py.File(path, "r+") as f:
        del f["projections"]
    with pytest.raises(ValueError, match="n.h5"):
        Network.load(path)


# ---- dt: one owner ------------------------------------------------------------------------
def test_builders_own_their_dt_and_other_steps_are_errors():
    net = lsm_column(shape=(3, 3, 3), n_inputs=4, seed=0, dt=0.5)
    assert net.dt == 0.5 and "dt" not in net.metadata
    assert net.resolve_dt(None) == 0.5
    with pytest.raises(ValueError, match=r"dt=1.0 ms differs from the step this network was built"):
        net.compile("numba", dt=1.0)
    sim = net.compile("numba")  # the network's own step
    assert sim.flat.dt == 0.5


def test_a_network_in_steps_compiles_at_any_dt():
    net = _hetero_lif_net()
    assert net.dt is None
    for dt in (0.5, 0.25):
        assert net.compile("numba", dt=dt).flat.dt == dt


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), True, "1"])
def test_network_dt_is_checked(bad):
    net = _hetero_lif_net()
    with pytest.raises(ValueError, match="Network.dt must be a positive number of ms"):
        Network(populations=net.populations, inputs=net.inputs, dt=bad)


def test_dt_survives_save_and_load_and_version_1_files_migrate(tmp_path):
    net = lsm_column(shape=(3, 3, 3), n_inputs=4, seed=0, dt=0.5)
    back = Network.load(net.save(tmp_path / "n.h5"))
    assert back == net and back.dt == 0.5
    with h5py.File(tmp_path / "n.h5", "r+") as f:  # as version 1 wrote it: dt in metadata
        f.attrs["format_version"] = 1
        del f.attrs["dt"]
        f.attrs["metadata"] = '{"builder": "lsm_column", "dt": 0.5}'
    old = Network.load(tmp_path / "n.h5")
    assert old.dt == 0.5 and "dt" not in old.metadata


@pytest.mark.parametrize("size", [2.5, True, "3", float("nan")])
def test_sizes_are_whole_numbers_not_truncated(size):
    with pytest.raises(ValueError, match="must have a whole size >= 1"):
        InputPort(name="in", size=size)
    with pytest.raises(ValueError, match="must have a whole size >= 1"):
        Population(name="p", size=size, model=LIF())
    assert (
        InputPort(name="in", size=np.int64(4)).size == 4
        and Population(name="p", size=3.0, model=LIF()).size == 3
    )
