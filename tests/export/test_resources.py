"""The Loihi 2 resource report (numpy only; runs in both environments)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

import spikelab as sl
from spikelab import LIF, InputPort, Network, Population, Projection
from spikelab.export import resource_report
from spikelab.export.resources import Loihi2Limits


def test_lsm_preset_report() -> None:
    net = sl.reservoirs.lsm_column((10, 10, 10), n_inputs=34 * 34 * 2, seed=0)
    rep = resource_report(net, target="loihi2")
    assert (rep.neurons, rep.inputs, rep.synapses) == (1000, 2312, net.n_synapses)
    assert rep.input_synapses + rep.recurrent_synapses == rep.synapses
    assert rep.max_fan_in >= rep.synapses / rep.neurons
    assert rep.fits and rep.chips == 1 and rep.cores == sum(g.cores for g in rep.groups) >= 2
    assert [g.name for g in rep.groups] == ["exc", "inh"]
    assert rep.quantization["weight_rel_err_of_peak_max"] < 0.01
    text = rep.to_text()
    assert "neuro-cores" in text and "exc" in text
    json.dumps(rep.to_dict())


def test_a_neuron_with_a_huge_fan_in_does_not_fit() -> None:
    n_in = 100_000
    w = sp.csr_matrix(np.full((n_in, 1), 0.01))
    net = Network(
        populations=(Population(name="p", size=1, model=LIF()),),
        inputs=(InputPort(name="in", size=n_in),),
        projections=(Projection(source="in", target="p", weights=w, delays=0),),
    )
    rep = resource_report(net)
    assert not rep.fits and "incoming synapses" in rep.reasons[0]
    assert "does not fit" in rep.to_text()


def test_cores_follow_the_neuron_limit_and_izhikevich_is_noted() -> None:
    net = sl.reservoirs.izhikevich_network(300, 100, p_connect=0.05, seed=0)
    small = Loihi2Limits(neurons_per_core=128)
    rep = resource_report(net, limits=small)
    assert rep.groups[0].cores >= 3  # 300 neurons at most 128 per core
    assert "microcoded" in rep.groups[0].notes[0]
    with pytest.raises(ValueError, match="loihi2"):
        resource_report(net, target="truenorth")
