"""Property tests (hypothesis): silence without input, LIF monotonicity, save/load identity,
readers on arbitrary bytes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

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

SETTINGS = dict(
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_counter = itertools.count()


def floats(lo, hi):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def per_neuron(draw, n, lo, hi):
    """A scalar or one value per neuron."""
    if draw(st.booleans()):
        return draw(floats(lo, hi))
    return np.array(draw(st.lists(floats(lo, hi), min_size=n, max_size=n)))


def run(net, x, dt=1.0, record=None):
    batch = SpikeBatch.from_dense(x, dt=dt)
    return net.compile(backend="numba", dt=dt, record=record or RecordSpec()).run(batch)


# ---- no input gives no spikes ---------------------------------------------------------------


@st.composite
def subthreshold_lif_networks(draw):
    n = draw(st.integers(1, 8))
    tau_mem = per_neuron(draw, n, 1.0, 100.0)
    v_rest = per_neuron(draw, n, -80.0, 10.0)
    gap = per_neuron(draw, n, 0.5, 30.0)  # v_th - v_rest
    frac = per_neuron(draw, n, -2.0, 0.95)  # bias as a fraction of the gap (below 1)
    model = LIF(
        tau_mem=tau_mem,
        tau_syn=draw(st.sampled_from([0.0, 1.0, 5.0])),
        v_rest=v_rest,
        v_reset=np.asarray(v_rest) - draw(floats(0.0, 5.0)),
        v_th=np.asarray(v_rest) + gap,
        t_ref=draw(st.sampled_from([0.0, 1.0, 2.0])),
        bias=np.asarray(frac) * gap,
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w_rec = sp.random(n, n, density=0.5, random_state=rng, format="csr") * 50.0
    c = draw(st.integers(1, 4))
    w_in = sp.random(c, n, density=0.7, random_state=rng, format="csr") * 50.0
    net = Network(
        populations=(Population(name="p", size=n, model=model),),
        inputs=(InputPort(name="in", size=c),),
        projections=(
            Projection(source="in", target="p", weights=w_in, delays=0),
            Projection(source="p", target="p", weights=w_rec, delays=draw(st.integers(1, 3))),
        ),
    )
    return net, c


@given(
    case=subthreshold_lif_networks(), n_steps=st.integers(1, 300), dt=st.sampled_from([0.5, 1.0])
)
@settings(**SETTINGS)
def test_no_input_gives_no_spikes(case, n_steps, dt):
    """With v_rest + bias < v_th the membrane relaxes towards v_rest + bias from v_rest and
    never crosses threshold; without input no spike ever happens, recurrence or not."""
    net, c = case
    assume(dt <= net.populations[0].model.smallest_time_constant())
    rec = run(net, np.zeros((2, n_steps, c)), dt=dt, record=RecordSpec(raster=True))
    assert rec.n_spikes == 0 and rec.counts.sum() == 0 and rec.raster.steps.size == 0
    assert rec.n_synaptic_events == 0


# ---- more input never gives fewer spikes (LIF) ----------------------------------------------


@st.composite
def monotone_cases(draw):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(1, 4))
    T = draw(st.integers(5, 80))
    v_rest = draw(floats(-70.0, 5.0))
    model = LIF(
        tau_mem=per_neuron(draw, n, 1.0, 50.0),
        tau_syn=draw(st.sampled_from([0.0, 0.0, 2.0, 8.0])),
        v_rest=v_rest,
        v_reset=v_rest,  # the class where the property provably holds (see the test)
        v_th=v_rest + draw(floats(0.5, 5.0)),
        t_ref=per_neuron(draw, n, 0.0, 4.0),
        bias=per_neuron(draw, n, 0.0, 8.0),
    )
    w_in = np.array(draw(st.lists(floats(0.0, 3.0), min_size=c * n, max_size=c * n)))
    w_in = w_in.reshape(c, n) * (np.arange(c * n).reshape(c, n) % 3 != 1)
    w = sp.csr_matrix(w_in)
    per_syn = draw(st.booleans())
    delays = (
        np.array(draw(st.lists(st.integers(0, 5), min_size=w.nnz, max_size=w.nnz)), dtype=int)
        if per_syn
        else draw(st.integers(0, 5))
    )
    net = Network(
        populations=(Population(name="p", size=n, model=model),),
        inputs=(InputPort(name="in", size=c),),
        projections=(Projection(source="in", target="p", weights=w, delays=delays),),
    )
    events = st.lists(
        st.tuples(st.integers(0, T - 1), st.integers(0, c - 1), st.integers(1, 3)), max_size=40
    )
    x = np.zeros((T, c))
    for t, ch, k in draw(events):
        x[t, ch] += k
    extra = np.zeros((T, c))
    for t, ch, k in draw(events.filter(len)):
        extra[t, ch] += k
    return net, x, x + extra


@given(case=monotone_cases())
@settings(**SETTINGS)
def test_more_input_never_gives_fewer_lif_spikes(case):
    """Adding input events never lowers any neuron's spike count (cumulative, at every step).

    Class: no recurrence, non-negative input weights and event values, bias >= 0 and
    v_reset = v_rest; any tau_mem, any t_ref (refractoriness), any input delays, and delta
    or exponential synapses (i is a linear filter of the input that a spike does not reset,
    so more input means a larger i at every step).

    Why it holds: the step v -> v_rest + alpha (v - v_rest) + bias_term + i is monotone in
    v and i (also in floating point: every operation is monotone and all terms added to
    I_in are >= 0), and v never drops below v_reset = v_rest (it starts there, bias_term
    and i are >= 0). Compare run B (more input) with run A step by step. Invariant: B has
    at least as many spikes as A so far, and when the counts are equal, B is refractory
    for no more steps than A and v_B >= v_A. If A fires while B is free, B fires too
    (v_B >= v_A and i_B >= i_A). If A catches up from one spike behind, A has just reset
    to v_reset <= v_B with the longest possible refractory count. So A never overtakes.

    Outside this class the property is false: with v_reset above v_rest + bias and
    refractoriness, an extra input can fire B early; B then sits out A's next input while
    refractory and afterwards decays below v_reset, where A, freshly reset, is ahead (see
    ``test_more_input_can_give_fewer_spikes_outside_that_class``).
    """
    net, x_a, x_b = case
    rec = RecordSpec(raster=True)
    a = run(net, x_a[None], record=rec).raster.dense(0).astype(int)
    b = run(net, x_b[None], record=rec).raster.dense(0).astype(int)
    cum_a, cum_b = np.cumsum(a, axis=0), np.cumsum(b, axis=0)
    assert np.all(cum_b >= cum_a), (cum_a[-1], cum_b[-1])


def test_more_input_can_give_fewer_spikes_outside_that_class():
    """v_rest = 0, bias = 0, v_reset = 0.6, v_th = 1, alpha = 1/2, one refractory step.

    A: inputs 0.9, 0.7, 0, 0.8 -> v = 0.9; 1.15 spike (reset 0.6); refractory; 0.3 + 0.8 =
    1.1 spike: two spikes. B: 1.1 at step 0 -> spike; refractory (loses the 0.7); 0.3;
    0.15 + 0.8 = 0.95: one spike."""
    model = LIF(tau_mem=1.0 / np.log(2.0), v_reset=0.6, v_th=1.0, t_ref=1.0)
    net = Network(
        populations=(Population(name="p", size=1, model=model),),
        inputs=(InputPort(name="in", size=1),),
        projections=(Projection(source="in", target="p", weights=np.ones((1, 1)), delays=0),),
    )
    rec = RecordSpec(raster=True)
    a = run(net, np.array([[[0.9], [0.7], [0.0], [0.8]]]), record=rec).raster.dense(0)[:, 0]
    b = run(net, np.array([[[1.1], [0.7], [0.0], [0.8]]]), record=rec).raster.dense(0)[:, 0]
    assert a.tolist() == [False, True, False, True]
    assert b.tolist() == [True, False, False, False]


# ---- save/load is identity ----------------------------------------------------------------

bits = st.floats(allow_nan=False, allow_infinity=False, width=64)  # any finite double


@st.composite
def models(draw, n):
    if draw(st.booleans()):
        tau_mem = per_neuron(draw, n, 1e-3, 1e3)
        v_reset = per_neuron(draw, n, -1e3, 1e3)
        return LIF(
            tau_mem=tau_mem,
            tau_syn=per_neuron(draw, n, 0.0, 1e3),
            v_rest=per_neuron(draw, n, -1e3, 1e3),
            v_reset=v_reset,
            v_th=np.asarray(v_reset) + per_neuron(draw, n, 1e-9, 1e3),
            t_ref=per_neuron(draw, n, 0.0, 10.0),
            bias=draw(bits) if draw(st.booleans()) else per_neuron(draw, n, -1e3, 1e3),
        )
    c = per_neuron(draw, n, -100.0, 20.0)
    return Izhikevich(
        a=per_neuron(draw, n, 1e-4, 1.0),
        b=per_neuron(draw, n, -1.0, 1.0),
        c=c,
        d=per_neuron(draw, n, -10.0, 10.0),
        v_peak=np.asarray(c) + per_neuron(draw, n, 1e-6, 100.0),
        bias=per_neuron(draw, n, -20.0, 20.0),
        tau_syn=per_neuron(draw, n, 0.0, 50.0),
        v_init=per_neuron(draw, n, -90.0, 30.0),
    )


names = st.text(
    alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=8,
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), bits, st.text(max_size=10)
)
metadata = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        json_scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    ),
    max_size=4,
)


@st.composite
def networks(draw):
    all_names = draw(st.lists(names, min_size=2, max_size=5, unique=True))
    n_pops = draw(st.integers(1, len(all_names) - 1))
    pop_names, in_names = all_names[:n_pops], all_names[n_pops:]
    pops = []
    for name in pop_names:
        n = draw(st.integers(1, 5))
        pos = None
        if draw(st.booleans()):
            pos = np.array(draw(st.lists(bits, min_size=3 * n, max_size=3 * n))).reshape(n, 3)
        pops.append(Population(name=name, size=n, model=draw(models(n)), positions=pos))
    ins = []
    for name in in_names[: draw(st.integers(0, len(in_names)))]:
        size = draw(st.integers(1, 6))
        shape = draw(st.sampled_from([None, (size,), (1, size)]))
        ins.append(InputPort(name=name, size=size, shape=shape))
    sizes = {p.name: p.size for p in pops} | {i.name: i.size for i in ins}
    projs = []
    for _ in range(draw(st.integers(0, 4))):
        src = draw(st.sampled_from(sorted(sizes)))
        dst = draw(st.sampled_from(pop_names))
        shape = (sizes[src], sizes[dst])
        cells = draw(
            st.lists(
                st.tuples(st.integers(0, shape[0] - 1), st.integers(0, shape[1] - 1)),
                unique=True,
                max_size=shape[0] * shape[1],
            )
        )
        data = np.array(draw(st.lists(bits, min_size=len(cells), max_size=len(cells))))
        rows = np.array([r for r, _ in cells], dtype=int)
        cols = np.array([c for _, c in cells], dtype=int)
        w = sp.csr_matrix((data, (rows, cols)), shape=shape)
        w.sort_indices()
        lo = 0 if src in in_names else 1
        if draw(st.booleans()):
            delays = draw(st.integers(lo, 50))
        else:
            delays = np.array(
                draw(st.lists(st.integers(lo, 50), min_size=w.nnz, max_size=w.nnz)), dtype=int
            )
        name = draw(st.one_of(st.just(""), names))
        projs.append(Projection(source=src, target=dst, weights=w, delays=delays, name=name))
    return Network(
        populations=tuple(pops),
        inputs=tuple(ins),
        projections=tuple(projs),
        metadata=draw(metadata),
    )


@given(net=networks())
@settings(**{**SETTINGS, "max_examples": 40})
def test_save_load_is_identity(net, tmp_path_factory, assert_same_network):
    path = tmp_path_factory.getbasetemp() / f"prop-{next(_counter)}.h5"
    loaded = Network.load(net.save(path))
    assert_same_network(net, loaded)
    assert loaded == net
    path.unlink()


@given(data=st.binary(max_size=400))
@settings(**SETTINGS)
def test_reader_on_arbitrary_bytes_raises_a_clear_error(data, tmp_path_factory):
    # Bytes carrying the HDF5 signature are excluded: the HDF5 C library itself may crash
    # on a damaged file, which no Python reader can catch.
    assume(b"\x89HDF" not in data)
    path = tmp_path_factory.getbasetemp() / f"bytes-{next(_counter)}.h5"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="is not an HDF5 file"):
        Network.load(path)
    path.unlink()
