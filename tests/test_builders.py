"""The builders' neuron choice and unit conversion, the options catalogue (`spikelab
builders`, docs/reservoirs.md) and the config check of a wrong option before any data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from spikelab import LIF, Izhikevich, RecordSpec, SpikeBatch
from spikelab.cli import main
from spikelab.config import load_config
from spikelab.config.schema import ConfigError
from spikelab.config.sections import BUILDERS as CONFIG_BUILDERS
from spikelab.reservoirs import izhikevich_network, lsm_column
from spikelab.reservoirs.catalogue import BUILDERS, OPTION_DOCS, builder_options, render_markdown
from spikelab.reservoirs.models import IZH_RHEOBASE, rheobase
from spikelab.tasks import parse, run_task

REPO = Path(__file__).resolve().parents[1]


# ---- the unit conversion: one neuron of each model fires at the same documented input -----
def steady_counts(neuron: str, amplitude: float, tau_syn: float, n_steps: int = 3000):
    """Spike counts per 1000-step bin of a one-neuron column driven by one input event per
    step through a weight of mean ``amplitude`` (mV of steady drive; CV ~ 0)."""
    net = lsm_column(
        (1, 1, 1), n_inputs=1, neuron=neuron, frac_inh=0.0, input_fraction=1.0,
        input_fan_in=1, input_weight=amplitude, weight_cv=1e-6, bias_range=(0.0, 0.0),
        tau_syn=(tau_syn, tau_syn),
    )  # fmt: skip
    batch = SpikeBatch(
        n_steps=n_steps, n_channels=1, offsets=[0, n_steps], steps=np.arange(n_steps),
        channels=np.zeros(n_steps, int), values=np.ones(n_steps),
    )  # fmt: skip
    sim = net.compile("numba", dt=1.0, record=RecordSpec(bin_steps=1000))
    return sim.run(batch).counts[0, :, 0]


@pytest.mark.parametrize("neuron", ["lif", "izhikevich"])
@pytest.mark.parametrize("tau_syn", [0.0, 3.0])
def test_converted_weights_reach_threshold_at_the_documented_input(neuron, tau_syn):
    """docs/reservoirs.md: one event per step of amplitude A fires a cell (bias 0) for good
    when A / (1 - exp(-dt/tau_syn)) exceeds v_th = 15 mV, for both models."""
    at_threshold = 15.0 * (1.0 - (math.exp(-1.0 / tau_syn) if tau_syn else 0.0))
    below = steady_counts(neuron, 0.95 * at_threshold, tau_syn)
    above = steady_counts(neuron, 1.05 * at_threshold, tau_syn)
    assert below[1:].sum() == 0  # at most an onset transient, then at rest
    assert np.all(above[1:] > 0)  # tonic firing


def test_rheobase_is_where_the_resting_state_loses_stability():
    assert IZH_RHEOBASE == pytest.approx(3.7975, abs=1e-9)  # Hopf: a < b
    assert rheobase(0.1, 0.1) == pytest.approx((5.0 - 0.1) ** 2 / 0.16 - 140.0)  # saddle-node
    for a, b in [(0.02, 0.2), (0.1, 0.2), (0.02, 0.25), (0.1, 0.1)]:
        assert rest_is_stable(a, b, rheobase(a, b) - 1e-3)
        assert not rest_is_stable(a, b, rheobase(a, b) + 1e-3)


def rest_is_stable(a: float, b: float, current: float) -> bool:
    """Whether v' = 0.04 v^2 + 5 v + 140 - u + I, u' = a (b v - u) has a stable rest."""
    disc = (5.0 - b) ** 2 - 0.16 * (140.0 + current)
    if disc < 0:
        return False  # no fixed point: the cell fires
    v = (-(5.0 - b) - math.sqrt(disc)) / 0.08  # the lower fixed point, the rest
    return bool(np.all(np.real(np.linalg.eigvals([[0.08 * v + 5.0, -1.0], [a * b, -a]])) < 0))


def test_izhikevich_column_converts_the_lif_weights():
    lif = lsm_column((5, 4, 3), n_inputs=8, seed=1)
    izh = lsm_column((5, 4, 3), n_inputs=8, seed=1, neuron="izhikevich")
    ratio = IZH_RHEOBASE / 15.0 / (1.0 - math.exp(-1.0 / 30.0))
    for key in ("EE", "EI", "IE", "II"):
        a, b = (next(p for p in n.projections if p.name == key) for n in (lif, izh))
        assert np.array_equal(a.weights.indices, b.weights.indices)
        np.testing.assert_allclose(b.weights.data, a.weights.data * ratio, rtol=1e-12)
    exc, inh = izh.population("exc").model, izh.population("inh").model
    assert isinstance(exc, Izhikevich) and isinstance(inh, Izhikevich)
    r = (exc.c + 65.0) / 15.0  # r^2 of the 2003 draws
    np.testing.assert_allclose(exc.d, 8.0 - 6.0 * r)
    assert np.all((inh.a >= 0.02) & (inh.a <= 0.1)) and np.all(exc.b == 0.2)
    np.testing.assert_allclose(inh.b, 0.25 - 0.05 * (inh.a - 0.02) / 0.08)
    assert np.all((exc.bias >= 13.5 * IZH_RHEOBASE / 15) & (exc.bias <= 14.5 * IZH_RHEOBASE / 15))
    assert float(exc.tau_syn) == 3.0 and float(inh.tau_syn) == 6.0


def test_mixed_populations_and_neuron_params():
    net = lsm_column(
        (4, 4, 4), n_inputs=8, seed=2, neuron={"exc": "izhikevich", "inh": "lif"},
        neuron_params={"exc": {"d": 8.0}, "inh": {"v_reset": 10.0}},
    )  # fmt: skip
    exc, inh = net.population("exc").model, net.population("inh").model
    assert isinstance(exc, Izhikevich) and isinstance(inh, LIF)
    assert np.all(exc.d == 8.0) and np.all(inh.v_reset == 10.0)
    lif = lsm_column((4, 4, 4), n_inputs=8, seed=2)
    ee, ei = (next(p for p in net.projections if p.name == k) for k in ("EE", "EI"))
    ee0, ei0 = (next(p for p in lif.projections if p.name == k) for k in ("EE", "EI"))
    np.testing.assert_allclose(ei.weights.data, ei0.weights.data)  # onto LIF: mV, as before
    to_mv = 1.0 - math.exp(-1.0 / 30.0)
    np.testing.assert_allclose(ee.weights.data, ee0.weights.data / to_mv * IZH_RHEOBASE / 15)
    with pytest.raises(ValueError, match="neuron 'hh' .population 'exc'. is unknown"):
        lsm_column(neuron="hh")
    with pytest.raises(ValueError, match="unknown population 'out'"):
        lsm_column(neuron={"out": "lif"})
    with pytest.raises(ValueError, match="'tau_mem' is not a Izhikevich parameter"):
        lsm_column(neuron="izhikevich", neuron_params={"tau_mem": 5.0})


def test_izhikevich_network_takes_receptive_fields_on_the_sensor():
    kw = dict(n_inputs=16 * 16 * 2, input_shape=(16, 16, 2), input_receptive_field=1.0)
    net = izhikevich_network(80, 20, p_connect=0.1, seed=4, input_fraction=0.5, **kw)
    assert net.inputs[0].shape == (16, 16, 2)
    pos = np.concatenate([net.population(p).positions for p in ("exc", "inh")])
    span = pos.max(axis=0)[:2] + 1
    ins = {p.target: p.weights.tocsc() for p in net.projections if p.source == "in"}
    receivers = 0
    for name, offset in (("exc", 0), ("inh", 80)):
        m = ins[name]
        for j in range(m.shape[1]):
            ch = m.indices[m.indptr[j] : m.indptr[j + 1]]
            if not len(ch):
                continue
            receivers += 1
            x, y = (ch // 2) // 16, (ch // 2) % 16
            cell = pos[offset + j]
            lo, hi = cell[:2] / span * 16 - 1.5, (cell[:2] + 1) / span * 16 + 1.5
            assert np.all((x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]))
    assert receivers == 50
    assert izhikevich_network(80, 20, p_connect=0.1, seed=4, input_fraction=0.5, **kw) == net


# ---- the catalogue, `spikelab builders` and the docs page ----------------------------------
def test_catalogue_documents_exactly_each_builders_signature():
    assert tuple(BUILDERS) == CONFIG_BUILDERS
    for name in BUILDERS:
        names = [o.name for o in builder_options(name)]
        assert sorted(names) == sorted(OPTION_DOCS[name]), name
        assert all(o.unit is not None and o.doc for o in builder_options(name))
    lsm = {o.name: o for o in builder_options("lsm_column")}
    assert lsm["neuron"].default == "lif" and lsm["tau_mem"].unit == "ms"


def test_cli_builders_and_the_docs_page_list_the_same_options(capsys):
    assert main(["builders"]) == 0
    printed = capsys.readouterr().out
    assert printed == render_markdown()
    assert render_markdown() in (REPO / "docs" / "reservoirs.md").read_text(encoding="utf-8")
    for name in BUILDERS:
        assert f"### `{name}`" in printed
    assert main(["builders", "nosuch"]) == 2
    assert "use lsm_column, izhikevich_network, lin2025_lsm" in capsys.readouterr().err


# ---- a wrong option fails before any data is loaded ----------------------------------------
def test_a_wrong_reservoir_option_fails_before_data_loading(monkeypatch):
    import spikelab.tasks.classify as classify
    import spikelab.tasks.stages as stages

    def never(*args, **kwargs):
        raise AssertionError("the data loader was reached")

    monkeypatch.setattr(stages, "load_split", never)
    monkeypatch.setattr(classify, "load_split", never)
    raw = load_config(REPO / "examples" / "nmnist_lsm.toml")
    raw["reservoir"]["builder"] = "izhikevich_network"  # nmnist_lsm.toml's weight_scale ...
    with pytest.raises(ConfigError) as err:
        run_task(raw, progress=False)
    msg = str(err.value)
    assert "'bias_range'" in msg and "izhikevich_network" in msg
    for option in builder_options("izhikevich_network"):
        if option.name not in ("n_inputs",):
            assert option.name in msg


def test_izhikevich_example_passes_the_strict_check():
    cfg = parse(load_config(REPO / "examples" / "nmnist_izhikevich.toml"))
    assert cfg.reservoir.builder == "lsm_column" and cfg.reservoir.params["neuron"] == "izhikevich"


def test_a_run_gives_izhikevich_network_the_sensors_grid():
    from spikelab.encoding import EventEncoding
    from spikelab.tasks.stages import build_reservoir

    enc = EventEncoding(downsample=2)
    section = {"builder": "izhikevich_network", "n_neurons": 50, "p_connect": 0.1}
    plain = build_reservoir(section, enc, seed=0)
    assert plain.inputs[0].shape is None  # no receptive field: as before
    local = build_reservoir({**section, "input_receptive_field": 2.0}, enc, seed=0)
    assert local.inputs[0].shape == enc.input_shape == (17, 17, 2)
    assert local.population("exc").positions is not None


def test_lin2025_takes_the_input_side_options_and_stays_dense_by_default():
    import numpy as np

    from spikelab.reservoirs import lin2025_lsm

    dense = lin2025_lsm(n_inputs=64, n_neurons=30, seed=3)
    assert dense.projections[0].weights.nnz == 64 * 30  # the paper's dense input
    sparse = lin2025_lsm(n_inputs=64, n_neurons=30, seed=3, input_fraction=0.5, input_fan_in=4)
    w = sparse.projections[0].weights.tocsc()
    fan_in = np.diff(w.indptr)
    assert (fan_in > 0).sum() == 15 and fan_in.max() == 4
    local = lin2025_lsm(n_inputs=8 * 8 * 1, n_neurons=16, seed=0, input_fan_in=6,
                        input_shape=(8, 8, 1), input_receptive_field=1.0)  # fmt: skip
    w = local.projections[0].weights.tocsc()
    for j in range(16):  # each neuron's channels lie within a 3x3 patch of the 8x8 sensor
        ch = w.indices[w.indptr[j] : w.indptr[j + 1]]
        xs, ys = ch // 8, ch % 8
        assert xs.max() - xs.min() <= 2 and ys.max() - ys.min() <= 2
