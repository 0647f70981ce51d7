"""Reservoir builders: seeded functions returning a ``Network``.

* ``lsm_column``        Maass, Natschläger & Markram (2002), Neural Computation 14:2531.
* ``izhikevich_network`` Izhikevich (2003), IEEE Trans. Neural Networks 14:1569.
* ``lin2025_lsm``       the N-MNIST preset of Lin et al. (2025), Nat. Comput. Sci.

All randomness comes from ``numpy.random.default_rng(seed)``; the same arguments give a
bit-identical network.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from .network import InputPort, Network, Population, Projection
from .neurons import LIF, Izhikevich

# Maass et al. 2002, Table/Methods: connection scale C, synaptic amplitude A (nA, with
# R_m = 1 MOhm -> mV), transmission delays. (The synaptic time constants, 3 ms E and 6 ms I,
# are ``lsm_column``'s ``tau_syn`` default.)
MAASS_C = {"EE": 0.3, "EI": 0.2, "IE": 0.4, "II": 0.1}
MAASS_A = {"EE": 30.0, "EI": 60.0, "IE": -19.0, "II": -19.0}
MAASS_DELAY_MS = {"EE": 1.5, "EI": 0.8, "IE": 0.8, "II": 0.8}
_POP = {"E": "exc", "I": "inh"}


def grid_positions(shape: tuple[int, int, int]) -> np.ndarray:
    """Integer grid coordinates [prod(shape), 3] in C order."""
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be three positive ints, got {shape}")
    return np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, 3)


def connection_probability(dist: np.ndarray, c: float, lam: float) -> np.ndarray:
    """Maass 2002: P(connect) = C * exp(-(D / lambda)^2) for Euclidean distance D."""
    return c * np.exp(-((dist / lam) ** 2))


def _gamma_weights(rng: np.random.Generator, n: int, mean: float, cv: float) -> np.ndarray:
    """Weights of the given mean (sign kept) and coefficient of variation, Gamma-distributed."""
    if n == 0 or mean == 0:
        return np.zeros(n)
    shape = 1.0 / cv**2
    return math.copysign(1.0, mean) * rng.gamma(shape, abs(mean) / shape, size=n)


def _patch_channels(
    rng: np.random.Generator,
    j: int,
    fan_in: int,
    input_shape: tuple[int, ...],
    span: np.ndarray,
    position: np.ndarray,
    receptive_field: float,
) -> np.ndarray:
    """Input channels of receiving neuron ``j``: ``fan_in`` draws within ``receptive_field``
    pixels of the neuron's (x, y) grid position mapped onto the (W, H, C) input image."""
    w_in, h_in = input_shape[0], input_shape[1]
    n_ch = int(np.prod(input_shape[2:])) if len(input_shape) > 2 else 1
    cx = (position[0] + rng.random()) / span[0] * w_in
    cy = (position[1] + rng.random()) / span[1] * h_in
    x = np.clip(np.rint(cx + rng.uniform(-1, 1, fan_in) * receptive_field), 0, w_in - 1)
    y = np.clip(np.rint(cy + rng.uniform(-1, 1, fan_in) * receptive_field), 0, h_in - 1)
    c = rng.integers(0, n_ch, fan_in)
    return np.unique((x.astype(np.int64) * h_in + y.astype(np.int64)) * n_ch + c)


def _input_weights(
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
    ``input_shape`` = (W, H, C) are given, see ``_patch_channels``)."""
    n_recv = int(round(fraction * n_neurons))
    receivers = np.sort(rng.choice(n_neurons, size=n_recv, replace=False))
    local = receptive_field is not None and input_shape is not None
    span = positions.max(axis=0)[:2] + 1 if local else None
    rows, cols = [], []
    for j in receivers:
        if local:
            ch = _patch_channels(rng, j, fan_in, input_shape, span, positions[j], receptive_field)
        else:
            ch = rng.choice(n_inputs, size=min(fan_in, n_inputs), replace=False)
        rows.append(ch)
        cols.append(np.full(len(ch), j))
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    w = _gamma_weights(rng, len(r), weight, cv)
    return sp.csr_matrix((w, (r, c)), shape=(n_inputs, n_neurons))


def _input_projections(w_in: sp.csr_matrix, n_exc: int, n_inh: int) -> list[Projection]:
    """The input port "in" onto "exc" (the first ``n_exc`` columns) and "inh" (the rest)."""
    out = [Projection(source="in", target="exc", weights=w_in[:, :n_exc], delays=0)]
    if n_inh:
        out.append(Projection(source="in", target="inh", weights=w_in[:, n_exc:], delays=0))
    return out


def _check_lsm_args(frac_inh: float, input_fraction: float, lam: float) -> None:
    if not 0.0 <= frac_inh < 1.0:
        raise ValueError(f"frac_inh must be in [0, 1), got {frac_inh}")
    if not 0.0 < input_fraction <= 1.0:
        raise ValueError(f"input_fraction must be in (0, 1], got {input_fraction}")
    if lam <= 0:
        raise ValueError(f"lam (lambda) must be > 0 grid units, got {lam}")


def _exc_then_inh(
    rng: np.random.Generator, pos: np.ndarray, frac_inh: float
) -> tuple[np.ndarray, int, int]:
    """A random ``frac_inh`` of the grid becomes inhibitory; positions reordered excitatory
    first, then inhibitory (each population contiguous). Returns (positions, n_exc, n_inh)."""
    n = len(pos)
    n_inh = int(round(frac_inh * n))
    is_inh = np.zeros(n, dtype=bool)
    is_inh[rng.choice(n, size=n_inh, replace=False)] = True
    order = np.concatenate([np.flatnonzero(~is_inh), np.flatnonzero(is_inh)])
    return pos[order], n - n_inh, n_inh


def _maass_projections(
    rng: np.random.Generator,
    pos: np.ndarray,
    n_exc: int,
    *,
    c_scale: Mapping[str, float] | None,
    weight_scale: float,
    inh_scale: float,
    lam: float,
    cv: float,
    to_mv: float,
    dt: float,
) -> list[Projection]:
    """EE, EI, IE, II (in that order): P(connect) from distance (no autapses), Gamma weights
    of mean A (nA, scaled) times ``to_mv``, delays in whole steps of at least 1."""
    c = dict(MAASS_C, **(c_scale or {}))
    amp = {k: a * (weight_scale * (inh_scale if k[0] == "I" else 1.0)) for k, a in MAASS_A.items()}
    kinds = np.array(["E"] * n_exc + ["I"] * (len(pos) - n_exc))
    dist = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1))
    out = []
    for key in ("EE", "EI", "IE", "II"):
        pre_idx = np.flatnonzero(kinds == key[0])
        post_idx = np.flatnonzero(kinds == key[1])
        if not len(pre_idx) or not len(post_idx):
            continue
        p = connection_probability(dist[np.ix_(pre_idx, post_idx)], c[key], lam)
        if key[0] == key[1]:
            np.fill_diagonal(p, 0.0)  # no autapses
        r, col = np.nonzero(rng.random(p.shape) < p)
        w = _gamma_weights(rng, len(r), amp[key], cv) * to_mv
        out.append(
            Projection(
                source=_POP[key[0]],
                target=_POP[key[1]],
                weights=sp.csr_matrix((w, (r, col)), shape=p.shape),
                delays=max(1, int(round(MAASS_DELAY_MS[key] / dt))),
                name=key,
            )
        )
    return out


def _lif_populations(
    rng: np.random.Generator,
    pos: np.ndarray,
    n_exc: int,
    t_ref: tuple[float, float],
    tau_syn: tuple[float, float],
    *,
    tau_mem: float,
    v_reset: float,
    v_th: float,
    bias_range: tuple[float, float],
    heterogeneity: float,
) -> tuple[Population, ...]:
    """LIF populations "exc" (the first ``n_exc`` positions) and "inh" (the rest, if any);
    ``t_ref`` and ``tau_syn`` are (exc, inh). Per neuron, drawn in this order: tau_mem
    spread uniformly by +-``heterogeneity`` (relative), bias uniform in ``bias_range``."""
    pops = []
    for k, (name, where) in enumerate((("exc", pos[:n_exc]), ("inh", pos[n_exc:]))):
        m = len(where)
        if k and not m:
            break
        spread = rng.uniform(-heterogeneity, heterogeneity, m) if heterogeneity else 0.0
        model = LIF(
            tau_mem=tau_mem * (1.0 + spread),
            tau_syn=tau_syn[k],
            v_rest=0.0,
            v_reset=v_reset,
            v_th=v_th,
            t_ref=t_ref[k],
            bias=rng.uniform(*bias_range, m),
        )
        pops.append(Population(name=name, size=m, model=model, positions=where))
    return tuple(pops)


def lsm_column(
    shape: tuple[int, int, int] = (15, 3, 3),
    n_inputs: int = 1,
    *,
    seed: int = 0,
    frac_inh: float = 0.2,
    lam: float = 2.0,
    c_scale: Mapping[str, float] | None = None,
    weight_scale: float = 1.0,
    inh_scale: float = 1.0,
    weight_cv: float = 0.7,
    tau_mem: float = 30.0,
    v_th: float = 15.0,
    v_reset: float = 13.5,
    bias_range: tuple[float, float] = (13.5, 14.5),
    t_ref: tuple[float, float] = (3.0, 2.0),
    tau_syn: tuple[float, float] = (3.0, 6.0),
    dt: float = 1.0,
    input_fraction: float = 0.3,
    input_fan_in: int = 32,
    input_weight: float = 18.0,
    input_shape: tuple[int, ...] | None = None,
    input_receptive_field: float | None = None,
    heterogeneity: float = 0.0,
) -> Network:
    """A Maass-2002 liquid: LIF neurons on a 3-D grid with distance-dependent connectivity.

    Neurons at distance D (grid units) connect with probability C * exp(-(D/lam)^2),
    C = 0.3 (EE), 0.2 (EI), 0.4 (IE), 0.1 (II) (``c_scale`` overrides). Amplitudes A (nA;
    R = 1 MOhm, so mV of steady drive) are Gamma-distributed with CV ``weight_cv`` and means
    30 (EE), 60 (EI), -19 (IE, II) times ``weight_scale`` (and ``inh_scale`` if inhibitory);
    a weight is the per-step increment ``A * (1 - exp(-dt/tau_mem))`` mV. Delays 1.5 ms (EE)
    and 0.8 ms (others), rounded to whole steps of at least 1. ``t_ref`` and ``tau_syn`` are
    (E, I) in ms; biases are uniform in ``bias_range`` mV; ``heterogeneity`` is the relative
    spread (uniform +-) of tau_mem across neurons.

    Inputs: a random ``input_fraction`` of neurons each receives ``input_fan_in`` of the
    ``n_inputs`` channels, Gamma weights of mean ``input_weight`` nA (converted like the
    recurrent ones); with ``input_shape`` (W, H, C) and ``input_receptive_field`` (pixels),
    drawn from a local patch of the image.
    """
    rng = np.random.default_rng(seed)
    _check_lsm_args(frac_inh, input_fraction, lam)
    pos, n_exc, n_inh = _exc_then_inh(rng, grid_positions(shape), frac_inh)
    to_mv = 1.0 - math.exp(-dt / tau_mem)
    recurrent = _maass_projections(
        rng, pos, n_exc, c_scale=c_scale, weight_scale=weight_scale, inh_scale=inh_scale,
        lam=lam, cv=weight_cv, to_mv=to_mv, dt=dt,
    )  # fmt: skip
    lif = dict(tau_mem=tau_mem, v_reset=v_reset, v_th=v_th, bias_range=bias_range)
    pops = _lif_populations(rng, pos, n_exc, t_ref, tau_syn, heterogeneity=heterogeneity, **lif)
    w_in = _input_weights(
        rng, n_inputs, len(pos), fraction=input_fraction, fan_in=input_fan_in,
        weight=input_weight * to_mv, cv=weight_cv, input_shape=input_shape, positions=pos,
        receptive_field=input_receptive_field,
    )  # fmt: skip
    ports = (InputPort(name="in", size=n_inputs, shape=input_shape),)
    projections = tuple(_input_projections(w_in, n_exc, n_inh) + recurrent)
    meta = {"builder": "lsm_column", "seed": seed, "shape": list(shape), "lam": lam}
    return Network(populations=pops, inputs=ports, projections=projections, metadata=meta, dt=dt)


def _izhikevich_models(
    rng: np.random.Generator, n_exc: int, n_inh: int, bias: tuple[float, float]
) -> tuple[Izhikevich, Izhikevich]:
    """Izhikevich (2003): r ~ U(0, 1) per neuron, drawn for exc then inh."""
    re, ri = rng.random(n_exc), rng.random(n_inh)
    exc = Izhikevich(
        a=0.02, b=0.2, c=-65.0 + 15.0 * re**2, d=8.0 - 6.0 * re**2, bias=bias[0], v_init=-65.0
    )
    inh = Izhikevich(
        a=0.02 + 0.08 * ri, b=0.25 - 0.05 * ri, c=-65.0, d=2.0, bias=bias[1], v_init=-65.0
    )
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
    2 N(0,1) inh per ms) is not part of the network: drive it through the input port
    (``n_inputs`` channels, ``input_fan_in`` per neuron, weight ``input_weight``) or
    ``bias`` (mV/ms, exc and inh).
    """
    rng = np.random.default_rng(seed)
    if n_exc < 1 or n_inh < 1:
        raise ValueError(f"need n_exc >= 1 and n_inh >= 1, got {n_exc}, {n_inh}")
    if not 0.0 < p_connect <= 1.0:
        raise ValueError(f"p_connect must be in (0, 1], got {p_connect}")
    exc, inh = _izhikevich_models(rng, n_exc, n_inh, bias)
    sizes, magnitude = {"exc": n_exc, "inh": n_inh}, {"exc": exc_weight, "inh": -inh_weight}
    projections = _uniform_projections(rng, sizes, p_connect, magnitude, delay)
    inputs = ()
    if n_inputs:
        w_in = _input_weights(
            rng, n_inputs, n_exc + n_inh, fraction=input_fraction, fan_in=input_fan_in,
            weight=input_weight, cv=0.5,
        )  # fmt: skip
        inputs = (InputPort(name="in", size=n_inputs),)
        projections = _input_projections(w_in, n_exc, n_inh) + projections
    pops = (
        Population(name="exc", size=n_exc, model=exc),
        Population(name="inh", size=n_inh, model=inh),
    )
    meta = {"builder": "izhikevich_network", "seed": seed, "p_connect": p_connect}
    return Network(populations=pops, inputs=inputs, projections=tuple(projections), metadata=meta)


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
