"""``lin2025_lsm``: the N-MNIST reservoir of Lin et al. (2025), Nat. Comput. Sci."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..network import InputPort, Network, Population, Projection
from ..neurons import LIF
from .inputs import check_input_args, input_weights, sheet_positions


def lin2025_lsm(
    n_inputs: int = 256,
    n_neurons: int = 200,
    *,
    decay: float = 0.9,
    v_th: float = 5.0,
    weight_scale: float = 0.07,
    input_scale: float | None = None,
    dt: float = 1.0,
    seed: int = 0,
    input_fraction: float = 1.0,
    input_fan_in: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    input_receptive_field: float | None = None,
) -> Network:
    """The LSM of Lin et al. (2025) for N-MNIST: ``n_inputs`` (16x16 crop, one polarity)
    densely onto ``n_neurons`` LIF neurons with per-step decay ``decay`` and threshold
    ``v_th``, reset to 0, no refractoriness; input and recurrent weights Gaussian N(0, 1)
    times ``weight_scale`` (``input_scale`` for the input if given), recurrent delay 1 step.

    The neuron is ``v[t] = decay * v[t-1] + W_in x[t] + W_rec s[t-1]``, spike when v > v_th.
    The paper's software LSM reached 89.11 % on full N-MNIST (readout on spike counts).

    Input side (the options every builder takes; the defaults give the paper's dense input):
    a random ``input_fraction`` of the neurons each receives ``input_fan_in`` channels
    (None: all), from a local patch of ``input_receptive_field`` pixels of the
    ``input_shape`` (W, H, C) sensor when both are given (neurons on a near-square sheet);
    the weights stay Gaussian N(0, 1) times the input scale.
    """
    rng = np.random.default_rng(seed)
    in_scale = weight_scale if input_scale is None else input_scale
    check_input_args(input_fraction, input_shape, input_receptive_field, n_inputs)
    sparse_input = (
        input_fraction < 1.0
        or input_fan_in is not None
        or (input_receptive_field is not None and input_shape is not None)
    )
    if sparse_input:
        w_in = _sparse_input(rng, n_inputs, n_neurons, in_scale, input_fraction,
                             input_fan_in, input_shape, input_receptive_field)  # fmt: skip
    else:  # the paper's dense input, drawn first as it always was
        w_in = rng.standard_normal((n_inputs, n_neurons)) * in_scale
    w_rec = rng.standard_normal((n_neurons, n_neurons)) * weight_scale
    model = LIF.from_decay(decay, dt=dt, v_th=v_th)
    meta = dict(builder="lin2025_lsm", seed=seed, decay=decay, v_th=v_th, weight_scale=weight_scale)
    return Network(
        populations=(Population(name="lsm", size=n_neurons, model=model),),
        inputs=(InputPort(name="in", size=n_inputs),),
        projections=(
            Projection(source="in", target="lsm", weights=sp.csr_matrix(w_in), delays=0),
            Projection(source="lsm", target="lsm", weights=sp.csr_matrix(w_rec), delays=1),
        ),
        metadata=meta,
        dt=dt,
    )


def _sparse_input(
    rng: np.random.Generator,
    n_inputs: int,
    n_neurons: int,
    scale: float,
    fraction: float,
    fan_in: int | None,
    input_shape: tuple[int, ...] | None,
    receptive_field: float | None,
) -> sp.csr_matrix:
    """Input synapses chosen by the shared input helper, Gaussian weights of std ``scale``."""
    local = receptive_field is not None and input_shape is not None
    w = input_weights(
        rng, n_inputs, n_neurons, fraction=fraction,
        fan_in=n_inputs if fan_in is None else int(fan_in), weight=1.0, cv=0.5,
        input_shape=input_shape, positions=sheet_positions(rng, n_neurons) if local else None,
        receptive_field=receptive_field,
    )  # fmt: skip
    w.data = rng.standard_normal(w.nnz) * scale
    return w
