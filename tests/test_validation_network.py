"""Issue 17, memory safety: a network file (or a Projection) whose CSR structure, delays or
parameters are damaged is refused with our ValueError naming the file and the field, before
any kernel sees it. Each case loaded silently (or crashed inside scipy/numba) before."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from spikelab import LIF, InputPort, Network, Population, Projection, SpikeBatch
from spikelab.network import MAX_DELAY_STEPS


def small_net() -> Network:
    w_in = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
    w_rec = sp.csr_matrix(np.array([[0.0, 0.5, 0.0], [0.0, 0.0, 0.5], [0.5, 0.0, 0.0]]))
    return Network(
        populations=(Population(name="a", size=3, model=LIF(v_th=0.5)),),
        inputs=(InputPort(name="in", size=2),),
        projections=(
            Projection(source="in", target="a", weights=w_in, delays=0),
            Projection(source="a", target="a", weights=w_rec, delays=1),
        ),
    )


def saved(tmp_path, mutate) -> str:
    path = small_net().save(tmp_path / "net.h5")
    with h5py.File(path, "r+") as f:
        mutate(f)
    return path


def replace_ds(group, name, data):
    del group[name]
    group.create_dataset(name, data=data)


@pytest.mark.parametrize("bad", [3, 7, 10**9, -1, -(10**9)])
def test_out_of_range_column_index_in_file_is_refused(tmp_path, bad):
    def mutate(f):
        ind = f["projections/1/indices"][()]
        ind[0] = bad
        replace_ds(f["projections/1"], "indices", ind)

    path = saved(tmp_path, mutate)
    with pytest.raises(ValueError, match=r"net\.h5.*column indices outside \[0, 3\)"):
        Network.load(path)


def test_non_monotonic_indptr_in_file_is_refused(tmp_path):
    path = saved(tmp_path, lambda f: replace_ds(f["projections/1"], "indptr", [0, 2, 1, 3]))
    with pytest.raises(ValueError, match=r"net\.h5.*indptr decreases at row 1"):
        Network.load(path)


@pytest.mark.parametrize("indptr", [[0, 1, 2, 2], [1, 1, 2, 3], [0, 1, 2]])
def test_indptr_that_does_not_end_at_nnz_is_refused(tmp_path, indptr):
    # scipy silently prunes the synapses past indptr[-1]; a short indptr is its traceback
    path = saved(tmp_path, lambda f: replace_ds(f["projections/1"], "indptr", indptr))
    with pytest.raises(ValueError, match=r"net\.h5.*damaged CSR weights"):
        Network.load(path)


@pytest.mark.parametrize("delay", [1e9, 2**40, 1.5, -3, np.nan])
def test_bad_delays_in_file_are_refused(tmp_path, delay):
    path = saved(tmp_path, lambda f: replace_ds(f["projections/1"], "delays", delay))
    with pytest.raises(ValueError, match=r"net\.h5.*delays"):
        Network.load(path)


def test_delay_bound_names_the_limit():
    w = sp.csr_matrix(np.ones((2, 2)))
    with pytest.raises(ValueError, match=f"at most {MAX_DELAY_STEPS} steps, got 1e"):
        Projection(source="in", target="a", weights=w, delays=10**9)
    with pytest.raises(ValueError, match="at most"):
        Projection(source="in", target="a", weights=w, delays=np.array([1, 2, 3, 10**7]))
    with pytest.raises(TypeError, match="delays must be numbers"):
        Projection(source="in", target="a", weights=w, delays="3")


@pytest.mark.parametrize(
    ("group", "name", "value"),
    [
        ("populations/0", "tau_mem", np.bytes_(b"20.0")),
        ("populations/0", "v_th", "0.5"),
        ("projections/1", "data", np.array([b"1", b"2", b"3"])),
        ("projections/1", "indices", np.array([0.0, 1.0, 2.0])),
    ],
)
def test_fields_of_the_wrong_dtype_are_refused(tmp_path, group, name, value):
    path = saved(tmp_path, lambda f: replace_ds(f[group], name, value))
    with pytest.raises(ValueError, match=rf"net\.h5: /{group}/{name} must hold"):
        Network.load(path)


@pytest.mark.parametrize("version", ["one", b"2", 2.5, True])
def test_format_version_that_is_not_an_integer(tmp_path, version):
    def mutate(f):
        f.attrs["format_version"] = version

    path = saved(tmp_path, mutate)
    with pytest.raises(ValueError, match=r"net\.h5: format_version must be an integer"):
        Network.load(path)


def test_a_valid_file_still_loads_bit_identically(tmp_path):
    path = small_net().save(tmp_path / "net.h5")
    assert Network.load(path) == small_net()


@pytest.mark.parametrize(
    ("indices", "indptr", "match"),
    [
        ([0, 5], [0, 1, 2], r"1 column indices outside \[0, 3\)"),
        ([0, -1], [0, 1, 2], r"outside \[0, 3\) \(the target's size\), e\.g\. -1"),
        ([0, 1], [0, 2, 1], "indptr decreases"),
    ],
)
def test_projection_checks_csr_structure_on_construction(indices, indptr, match):
    w = sp.csr_matrix((np.ones(2), np.array(indices), np.array(indptr)), shape=(2, 3))
    with pytest.raises(ValueError, match=match):
        Projection(source="in", target="a", weights=w)


def test_damaged_file_never_reaches_the_kernel(tmp_path):
    """In a subprocess: a file with a huge index used to crash numba with SIGSEGV (or
    reroute synapses silently); now load raises and the process exits normally."""

    def mutate(f):
        replace_ds(f["projections/0"], "indices", [0, 2, 10**8])

    path = saved(tmp_path, mutate)
    code = textwrap.dedent(
        f"""
        import sys
        from spikelab import Network
        try:
            Network.load({str(path)!r})
        except ValueError as e:
            print("refused:", e)
            sys.exit(0)
        sys.exit(3)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "column indices outside" in out.stdout


def test_valid_network_runs_after_load(tmp_path):
    net = Network.load(small_net().save(tmp_path / "net.h5"))
    batch = SpikeBatch(
        n_steps=5, n_channels=2, offsets=[0, 2], steps=[0, 1], channels=[0, 1], values=[1, 1]
    )
    assert net.compile("numba").run(batch).counts.sum() >= 1
