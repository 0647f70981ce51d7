"""``lin2025_lsm``: the N-MNIST reservoir of Lin et al. (2025), Nat. Comput. Sci."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..network import InputPort, Network, Population, Projection
from ..neurons import LIF


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
) -> Network:
    """The LSM of Lin et al. (2025) for N-MNIST: ``n_inputs`` (16x16 crop, one polarity)
    densely onto ``n_neurons`` LIF neurons with per-step decay ``decay`` and threshold
    ``v_th``, reset to 0, no refractoriness; input and recurrent weights Gaussian N(0, 1)
    times ``weight_scale`` (``input_scale`` for the input if given), recurrent delay 1 step.

    The neuron is ``v[t] = decay * v[t-1] + W_in x[t] + W_rec s[t-1]``, spike when v > v_th.
    The paper's software LSM reached 89.11 % on full N-MNIST (readout on spike counts).
    """
    rng = np.random.default_rng(seed)
    in_scale = weight_scale if input_scale is None else input_scale
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
