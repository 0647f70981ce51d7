"""The input side every builder shares: Gamma weights, input channels per neuron (uniform
or from a receptive field on the sensor grid), the input port's projections."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..network import Projection


def grid_positions(shape: tuple[int, int, int]) -> np.ndarray:
    """Integer grid coordinates [prod(shape), 3] in C order."""
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be three positive ints, got {shape}")
    return np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, 3)


def gamma_weights(rng: np.random.Generator, n: int, mean: float, cv: float) -> np.ndarray:
    """Weights of the given mean (sign kept) and coefficient of variation, Gamma-distributed."""
    if n == 0 or mean == 0:
        return np.zeros(n)
    shape = 1.0 / cv**2
    return math.copysign(1.0, mean) * rng.gamma(shape, abs(mean) / shape, size=n)


def patch_channels(
    rng: np.random.Generator,
    fan_in: int,
    input_shape: tuple[int, ...],
    span: np.ndarray,
    position: np.ndarray,
    receptive_field: float,
) -> np.ndarray:
    """Input channels of one receiving neuron: ``fan_in`` draws within ``receptive_field``
    pixels of the neuron's (x, y) grid position mapped onto the (W, H, C) input image."""
    w_in, h_in = input_shape[0], input_shape[1]
    n_ch = int(np.prod(input_shape[2:])) if len(input_shape) > 2 else 1
    cx = (position[0] + rng.random()) / span[0] * w_in
    cy = (position[1] + rng.random()) / span[1] * h_in
    x = np.clip(np.rint(cx + rng.uniform(-1, 1, fan_in) * receptive_field), 0, w_in - 1)
    y = np.clip(np.rint(cy + rng.uniform(-1, 1, fan_in) * receptive_field), 0, h_in - 1)
    c = rng.integers(0, n_ch, fan_in)
    return np.unique((x.astype(np.int64) * h_in + y.astype(np.int64)) * n_ch + c)


def check_input_args(
    input_fraction: float,
    input_shape: tuple[int, ...] | None,
    receptive_field: float | None,
    n_inputs: int,
) -> None:
    """The input-side options every builder takes, checked the same way."""
    if not 0.0 < input_fraction <= 1.0:
        raise ValueError(f"input_fraction must be in (0, 1], got {input_fraction}")
    if receptive_field is not None and receptive_field <= 0:
        raise ValueError(f"input_receptive_field must be > 0 pixels, got {receptive_field}")
    if receptive_field is not None and input_shape is not None and n_inputs < 1:
        raise ValueError(
            f"input_receptive_field={receptive_field} needs input channels, got n_inputs="
            f"{n_inputs}; give n_inputs = W*H*C of input_shape {tuple(input_shape)}"
        )


def input_weights(
    rng: np.random.Generator,
    n_inputs: int,
    n_neurons: int,
    *,
    fraction: float,
    fan_in: int,
    weight: float,
    cv: float,
    input_shape: tuple[int, ...] | None = None,
    positions: np.ndarray | None = None,
    receptive_field: float | None = None,
) -> sp.csr_matrix:
    """Input CSR [n_inputs, n_neurons]: a random ``fraction`` of neurons each draws
    ``fan_in`` input channels (uniformly, or from a local patch when ``receptive_field`` and
    ``input_shape`` = (W, H, C) are given, see ``patch_channels``)."""
    n_recv = int(round(fraction * n_neurons))
    receivers = np.sort(rng.choice(n_neurons, size=n_recv, replace=False))
    local = receptive_field is not None and input_shape is not None
    span = positions.max(axis=0)[:2] + 1 if local else None
    rows, cols = [], []
    for j in receivers:
        if local:
            ch = patch_channels(rng, fan_in, input_shape, span, positions[j], receptive_field)
        else:
            ch = rng.choice(n_inputs, size=min(fan_in, n_inputs), replace=False)
        rows.append(ch)
        cols.append(np.full(len(ch), j))
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    w = gamma_weights(rng, len(r), weight, cv)
    return sp.csr_matrix((w, (r, c)), shape=(n_inputs, n_neurons))


def input_projections(w_in: sp.csr_matrix, n_exc: int, n_inh: int) -> list[Projection]:
    """The input port "in" onto "exc" (the first ``n_exc`` columns) and "inh" (the rest)."""
    out = [Projection(source="in", target="exc", weights=w_in[:, :n_exc], delays=0)]
    if n_inh:
        out.append(Projection(source="in", target="inh", weights=w_in[:, n_exc:], delays=0))
    return out


def sheet_positions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Positions [n, 3] of ``n`` neurons on a near-square sheet (z = 0), shuffled so that
    excitatory and inhibitory cells both cover it: what a receptive field is placed by."""
    side = math.ceil(math.sqrt(n))
    grid = grid_positions((side, math.ceil(n / side), 1))
    return grid[:n][rng.permutation(n)]
