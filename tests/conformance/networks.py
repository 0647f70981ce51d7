"""The shared test networks of the conformance suite (one builder a case, all seeded).

Non-chaotic cases cover every feature of docs/semantics.md: feed-forward and weakly recurrent
LIF and Izhikevich populations, heterogeneous parameters, per-synapse delays of 1 to 5 steps,
input delays 0 and > 0, refractoriness, bias, tau_syn 0 and > 0, input values > 1. Their
weights (but one case) are multiples of 2**-10, so that a sum of weights is exact in float64
whatever the summation order: backends then agree bit for bit, and the test checks the update
arithmetic, not the order of a sum. ``ff_lif_real_weights`` keeps full-precision weights.

Chaotic cases are the reservoir presets (LSM and Izhikevich 2003) driven by random input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from spikelab import LIF, InputPort, Izhikevich, Network, Population, Projection, SpikeBatch
from spikelab.reservoirs import izhikevich_network, lsm_column

DT = 1.0  # ms
N_STEPS = 1000  # steps of every non-chaotic and chaotic run


@dataclass(frozen=True)
class Case:
    net: Network
    batch: SpikeBatch
    dt: float = DT


def quantise(w: np.ndarray, bits: int = 10) -> np.ndarray:
    """Round to multiples of 2**-bits (sums of such numbers are exact in float64)."""
    return np.round(np.asarray(w) * 2.0**bits) / 2.0**bits


def random_csr(
    rng: np.random.Generator,
    shape: tuple[int, int],
    p: float,
    mean: float,
    spread: float,
    *,
    exact: bool = True,
    no_diagonal: bool = False,
) -> sp.csr_matrix:
    mask = rng.random(shape) < p
    if no_diagonal:
        np.fill_diagonal(mask, False)
    r, c = np.nonzero(mask)
    w = mean + spread * rng.standard_normal(len(r))
    if exact:
        w = quantise(w)
    return sp.csr_matrix((w, (r, c)), shape=shape)


def random_delays(rng: np.random.Generator, w: sp.csr_matrix, lo: int, hi: int) -> np.ndarray:
    """Per-synapse delays in [lo, hi] steps, aligned with ``w.data`` (canonical CSR)."""
    w.sum_duplicates()
    w.sort_indices()
    return rng.integers(lo, hi + 1, size=w.nnz).astype(np.int32)


def poisson_batch(
    rng: np.random.Generator,
    n_samples: int,
    n_steps: int,
    n_channels: int,
    p: float,
    max_value: int = 1,
) -> SpikeBatch:
    """Random input: each (step, channel) carries an event with probability p, of value
    1..max_value."""
    x = (rng.random((n_samples, n_steps, n_channels)) < p).astype(np.float32)
    if max_value > 1:
        x *= rng.integers(1, max_value + 1, size=x.shape).astype(np.float32)
    return SpikeBatch.from_dense(x, dt=DT)


def _net(pops: list[Population], n_in: int, projs: list[Projection]) -> Network:
    return Network(
        populations=tuple(pops), inputs=(InputPort(name="in", size=n_in),), projections=tuple(projs)
    )


def exc_inh_net(
    rng: np.random.Generator,
    n_in: int,
    exc: Population,
    inh: Population,
    projs: list[Projection],
    means: tuple[float, float, float, float],
    sd: float,
) -> Network:
    """``exc`` and ``inh`` with the input projections ``projs`` and weak all-pairs
    recurrence (exc→exc, exc→inh, inh→exc, inh→inh with the given mean weights, density
    0.2, no self-connections) at per-synapse delays 1..5."""
    ne, ni = exc.size, inh.size
    for (src, tgt, shape), mean in zip(
        (("exc", "exc", (ne, ne)), ("exc", "inh", (ne, ni)), ("inh", "exc", (ni, ne)),
         ("inh", "inh", (ni, ni))),
        means,
        strict=True,
    ):  # fmt: skip
        w = random_csr(rng, shape, 0.2, mean, sd, no_diagonal=src == tgt)
        projs.append(
            Projection(source=src, target=tgt, weights=w, delays=random_delays(rng, w, 1, 5))
        )
    return _net([exc, inh], n_in, projs)


def ff_lif_delta(seed: int = 0) -> Case:
    """Feed-forward LIF, delta synapses (tau_syn = 0), input delay 0, no refractoriness."""
    rng = np.random.default_rng(seed)
    n_in, n = 30, 40
    model = LIF(tau_mem=20.0, tau_syn=0.0, v_rest=0.0, v_reset=0.0, v_th=1.0)
    w = random_csr(rng, (n_in, n), 0.3, 0.45, 0.2)
    net = _net(
        [Population(name="pop", size=n, model=model)],
        n_in,
        [Projection(source="in", target="pop", weights=w, delays=0)],
    )
    return Case(net, poisson_batch(rng, 2, N_STEPS, n_in, 0.05))


def ff_lif_syn_input_delays(seed: int = 1) -> Case:
    """Feed-forward LIF with tau_syn > 0, per-synapse input delays 0..3, refractoriness, bias."""
    rng = np.random.default_rng(seed)
    n_in, n = 30, 40
    model = LIF(
        tau_mem=15.0, tau_syn=5.0, v_rest=-65.0, v_reset=-70.0, v_th=-50.0, t_ref=3.0, bias=10.0
    )
    w = random_csr(rng, (n_in, n), 0.3, 1.5, 0.5)
    net = _net(
        [Population(name="pop", size=n, model=model)],
        n_in,
        [Projection(source="in", target="pop", weights=w, delays=random_delays(rng, w, 0, 3))],
    )
    return Case(net, poisson_batch(rng, 2, N_STEPS, n_in, 0.05))


def lif_recurrent_hetero(seed: int = 2) -> Case:
    """Two LIF populations (exc, inh), heterogeneous parameters, weak recurrence with
    per-synapse delays 1..5, tau_syn 0 (exc) and 4 ms (inh), refractoriness, bias."""
    rng = np.random.default_rng(seed)
    n_in, ne, ni = 20, 40, 10
    exc = LIF(
        tau_mem=rng.uniform(10, 30, ne),
        tau_syn=0.0,
        v_rest=0.0,
        v_reset=rng.uniform(0, 2, ne),
        v_th=rng.uniform(14, 16, ne),
        t_ref=rng.choice([0.0, 1.0, 2.0, 4.0], ne),
        bias=quantise(rng.uniform(10, 14, ne)),
    )
    inh = LIF(
        tau_mem=rng.uniform(5, 15, ni),
        tau_syn=4.0,
        v_rest=0.0,
        v_reset=0.0,
        v_th=15.0,
        t_ref=2.0,
        bias=12.0,
    )
    projs = [
        Projection(
            source="in", target="exc", weights=random_csr(rng, (n_in, ne), 0.3, 4.0, 1.0), delays=0
        ),
        Projection(
            source="in", target="inh", weights=random_csr(rng, (n_in, ni), 0.3, 4.0, 1.0), delays=1
        ),
    ]
    pops = Population(name="exc", size=ne, model=exc), Population(name="inh", size=ni, model=inh)
    net = exc_inh_net(rng, n_in, *pops, projs, (0.4, 0.6, -0.8, -0.3), 0.1)
    return Case(net, poisson_batch(rng, 2, N_STEPS, n_in, 0.04))


def izh_feedforward(seed: int = 3) -> Case:
    """Feed-forward Izhikevich, heterogeneous (a, b, c, d), delta synapses, input delay 0."""
    rng = np.random.default_rng(seed)
    n_in, n = 20, 30
    r = rng.random(n)
    model = Izhikevich(
        a=0.02 + 0.08 * r,
        b=0.2 + 0.05 * rng.random(n),
        c=-65.0 + 15 * r**2,
        d=8.0 - 6.0 * r**2,
        bias=quantise(rng.uniform(0, 4, n)),
    )
    w = random_csr(rng, (n_in, n), 0.4, 12.0, 3.0)
    net = _net(
        [Population(name="pop", size=n, model=model)],
        n_in,
        [Projection(source="in", target="pop", weights=w, delays=0)],
    )
    return Case(net, poisson_batch(rng, 2, N_STEPS, n_in, 0.05))


def izh_recurrent_delays(seed: int = 4) -> Case:
    """Izhikevich exc/inh with weak recurrence, per-synapse delays 1..5, tau_syn 2 ms, input
    delays 0..2."""
    rng = np.random.default_rng(seed)
    n_in, ne, ni = 20, 40, 10
    exc = Izhikevich(
        a=0.02, b=0.2, c=-65.0 + 15 * rng.random(ne) ** 2, d=8.0, tau_syn=2.0, bias=3.0
    )
    inh = Izhikevich(a=0.1, b=0.2, c=-65.0, d=2.0, tau_syn=2.0, bias=2.0)
    w_in = random_csr(rng, (n_in, ne + ni), 0.3, 8.0, 2.0)
    projs = [
        Projection(
            source="in",
            target="exc",
            weights=w_in[:, :ne],
            delays=random_delays(rng, sp.csr_matrix(w_in[:, :ne]), 0, 2),
        ),
        Projection(source="in", target="inh", weights=w_in[:, ne:], delays=0),
    ]
    pops = Population(name="exc", size=ne, model=exc), Population(name="inh", size=ni, model=inh)
    net = exc_inh_net(rng, n_in, *pops, projs, (0.5, 0.8, -1.0, -0.5), 0.2)
    return Case(net, poisson_batch(rng, 2, N_STEPS, n_in, 0.04))


def mixed_lif_izh(seed: int = 5) -> Case:
    """A LIF and an Izhikevich population driving each other (delays 2 and 3 steps), input
    values 1..3 (event counts), bias on both."""
    rng = np.random.default_rng(seed)
    n_in, nl, nz = 16, 30, 20
    lif = LIF(tau_mem=20.0, tau_syn=3.0, v_rest=0.0, v_reset=0.0, v_th=10.0, t_ref=2.0, bias=6.0)
    izh = Izhikevich(a=0.02, b=0.25, c=-60.0, d=4.0, bias=1.0)
    projs = [
        Projection(
            source="in", target="lif", weights=random_csr(rng, (n_in, nl), 0.4, 2.0, 0.5), delays=0
        ),
        Projection(
            source="in", target="izh", weights=random_csr(rng, (n_in, nz), 0.4, 5.0, 1.0), delays=1
        ),
        Projection(
            source="lif", target="izh", weights=random_csr(rng, (nl, nz), 0.2, 3.0, 0.5), delays=2
        ),
        Projection(
            source="izh", target="lif", weights=random_csr(rng, (nz, nl), 0.2, 1.0, 0.3), delays=3
        ),
    ]
    net = _net(
        [Population(name="lif", size=nl, model=lif), Population(name="izh", size=nz, model=izh)],
        n_in,
        projs,
    )
    return Case(net, poisson_batch(rng, 2, N_STEPS, n_in, 0.03, max_value=3))


def ff_lif_real_weights(seed: int = 6) -> Case:
    """Feed-forward LIF with full-precision Gaussian weights, tau_syn > 0 (sums may round
    differently across backends: only a threshold tie could flip a spike)."""
    rng = np.random.default_rng(seed)
    n_in, n = 30, 40
    model = LIF(tau_mem=20.0, tau_syn=2.0, v_rest=0.0, v_reset=0.0, v_th=1.0, t_ref=1.0)
    w = random_csr(rng, (n_in, n), 0.3, 0.3, 0.15, exact=False)
    net = _net(
        [Population(name="pop", size=n, model=model)],
        n_in,
        [Projection(source="in", target="pop", weights=w, delays=0)],
    )
    return Case(net, poisson_batch(rng, 2, N_STEPS, n_in, 0.05))


NON_CHAOTIC: dict[str, Callable[[], Case]] = {
    "ff_lif_delta": ff_lif_delta,
    "ff_lif_syn_input_delays": ff_lif_syn_input_delays,
    "lif_recurrent_hetero": lif_recurrent_hetero,
    "izh_feedforward": izh_feedforward,
    "izh_recurrent_delays": izh_recurrent_delays,
    "mixed_lif_izh": mixed_lif_izh,
    "ff_lif_real_weights": ff_lif_real_weights,
}


def lsm_preset(seed: int = 7) -> Case:
    """The Maass-2002 LSM preset (lsm_column) driven by random input."""
    rng = np.random.default_rng(seed)
    n_in = 40
    net = lsm_column((6, 6, 5), n_inputs=n_in, seed=seed)
    return Case(net, poisson_batch(rng, 2, N_STEPS, n_in, 0.05))


def izhikevich_preset(seed: int = 8) -> Case:
    """The Izhikevich-2003 network preset (exc/inh, all-to-all, random weights) driven by
    random input (in place of the paper's random thalamic current)."""
    rng = np.random.default_rng(seed)
    n_in = 40
    net = izhikevich_network(200, 50, n_inputs=n_in, seed=seed, input_fan_in=5, input_weight=12.0)
    return Case(net, poisson_batch(rng, 2, N_STEPS, n_in, 0.05))


CHAOTIC: dict[str, Callable[[], Case]] = {"lsm": lsm_preset, "izhikevich": izhikevich_preset}
