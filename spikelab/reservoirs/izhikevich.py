"""``izhikevich_network``: the network of Izhikevich (2003), IEEE Trans. Neural Networks
14:1569, with the input side of ``lsm_column`` (fraction, fan-in, receptive fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..network import InputPort, Network, Population, Projection
from ..neurons import Izhikevich
from .inputs import check_input_args, input_projections, input_weights, sheet_positions
from .models import izhikevich_params

INPUT_CV = 0.5  # coefficient of variation of the input weights


def _izhikevich_models(
    rng: np.random.Generator, n_exc: int, n_inh: int, bias: tuple[float, float]
) -> tuple[Izhikevich, Izhikevich]:
    """Izhikevich (2003): r ~ U(0, 1) per neuron, drawn for exc then inh."""
    re, ri = rng.random(n_exc), rng.random(n_inh)
    exc = Izhikevich(**izhikevich_params("exc", re), bias=bias[0], v_init=-65.0)
    inh = Izhikevich(**izhikevich_params("inh", ri), bias=bias[1], v_init=-65.0)
    return exc, inh


def _uniform_projections(
    rng: np.random.Generator,
    sizes: Mapping[str, int],
    p_connect: float,
    magnitude: Mapping[str, float],
    delay: int,
) -> list[Projection]:
    """Every (source, target) pair of populations in order: each pair of neurons connects
    with probability ``p_connect`` (no autapses), weight ``magnitude[source]`` * U(0, 1)."""
    out = []
    for src, ns in sizes.items():
        for dst, nd in sizes.items():
            mask = rng.random((ns, nd)) < p_connect
            if src == dst:
                np.fill_diagonal(mask, False)
            r, c = np.nonzero(mask)
            w = magnitude[src] * rng.random(len(r))
            out.append(
                Projection(
                    source=src,
                    target=dst,
                    delays=delay,
                    name=f"{src}->{dst}",
                    weights=sp.csr_matrix((w, (r, c)), shape=(ns, nd)),
                )
            )
    return out


def _izh_inputs(
    rng: np.random.Generator,
    n_inputs: int,
    n_exc: int,
    n_inh: int,
    input_shape: tuple[int, ...] | None,
    receptive_field: float | None,
    **kw: Any,
) -> tuple[tuple[InputPort, ...], list[Projection], np.ndarray | None]:
    """The input port and its projections (none when ``n_inputs`` is 0), and the neurons'
    sheet positions when a receptive field places them."""
    if not n_inputs:
        return (), [], None
    n = n_exc + n_inh
    local = receptive_field is not None and input_shape is not None
    pos = sheet_positions(rng, n) if local else None
    w_in = input_weights(
        rng, n_inputs, n, **kw, cv=INPUT_CV, input_shape=input_shape, positions=pos,
        receptive_field=receptive_field,
    )  # fmt: skip
    port = InputPort(name="in", size=n_inputs, shape=input_shape)
    return (port,), input_projections(w_in, n_exc, n_inh), pos


def izhikevich_network(
    n_exc: int = 800,
    n_inh: int = 200,
    *,
    p_connect: float = 1.0,
    seed: int = 0,
    n_inputs: int = 0,
    input_fraction: float = 1.0,
    input_fan_in: int = 10,
    input_weight: float = 10.0,
    input_shape: tuple[int, ...] | None = None,
    input_receptive_field: float | None = None,
    exc_weight: float = 0.5,
    inh_weight: float = 1.0,
    bias: tuple[float, float] = (0.0, 0.0),
    delay: int = 1,
) -> Network:
    """Izhikevich (2003) network: regular-spiking-like excitatory and fast-spiking-like
    inhibitory neurons, parameters drawn as in the paper with r ~ U(0, 1) per neuron:

    exc: a = 0.02, b = 0.2, c = -65 + 15 r^2, d = 8 - 6 r^2
    inh: a = 0.02 + 0.08 r, b = 0.25 - 0.05 r, c = -65, d = 2

    Each pair connects with probability ``p_connect`` (1 in the paper); weights are
    ``exc_weight`` * U(0, 1) from excitatory and -``inh_weight`` * U(0, 1) from inhibitory
    neurons (mV/ms), delay ``delay`` steps. The paper's random thalamic input (5 N(0,1) exc,
    2 N(0,1) inh per ms) is not part of the network: drive it through the input port or
    ``bias`` (mV/ms, exc and inh). Input port (as ``lsm_column``'s): a random
    ``input_fraction`` of the neurons each receives ``input_fan_in`` of the ``n_inputs``
    channels, Gamma weights (CV 0.5) of mean ``input_weight`` mV/ms; with ``input_shape``
    (W, H, C) and ``input_receptive_field`` (pixels) from a local patch of the image, the
    neurons then laid on a near-square sheet (shuffled exc and inh) mapped onto the image.
    """
    rng = np.random.default_rng(seed)
    if n_exc < 1 or n_inh < 1:
        raise ValueError(f"need n_exc >= 1 and n_inh >= 1, got {n_exc}, {n_inh}")
    if not 0.0 < p_connect <= 1.0:
        raise ValueError(f"p_connect must be in (0, 1], got {p_connect}")
    check_input_args(input_fraction, input_shape, input_receptive_field, n_inputs)
    exc, inh = _izhikevich_models(rng, n_exc, n_inh, bias)
    sizes, magnitude = {"exc": n_exc, "inh": n_inh}, {"exc": exc_weight, "inh": -inh_weight}
    projections = _uniform_projections(rng, sizes, p_connect, magnitude, delay)
    inputs, in_proj, pos = _izh_inputs(
        rng, n_inputs, n_exc, n_inh, input_shape, input_receptive_field,
        fraction=input_fraction, fan_in=input_fan_in, weight=input_weight,
    )  # fmt: skip
    pops = (
        Population(
            name="exc", size=n_exc, model=exc, positions=None if pos is None else pos[:n_exc]
        ),
        Population(
            name="inh", size=n_inh, model=inh, positions=None if pos is None else pos[n_exc:]
        ),
    )
    meta = {"builder": "izhikevich_network", "seed": seed, "p_connect": p_connect}
    return Network(
        populations=pops, inputs=inputs, projections=tuple(in_proj + projections), metadata=meta
    )
