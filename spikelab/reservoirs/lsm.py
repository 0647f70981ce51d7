"""``lsm_column``: the liquid of Maass, Natschläger & Markram (2002), Neural Computation
14:2531, with LIF or Izhikevich (2003) neurons (``neuron``).

Neurons at distance D (grid units) connect with probability C * exp(-(D/lam)^2), C = 0.3
(EE), 0.2 (EI), 0.4 (IE), 0.1 (II) (``c_scale`` overrides). Amplitudes A (nA; R = 1 MOhm,
so mV of steady drive) are Gamma-distributed with CV ``weight_cv`` and means 30 (EE), 60
(EI), -19 (IE, II) times ``weight_scale`` (and ``inh_scale`` if inhibitory), converted to
the target population's units (``models.weight_unit``). Delays 1.5 ms (EE) and 0.8 ms
(others), rounded to whole steps of at least 1. Inputs: a random ``input_fraction`` of
neurons each receives ``input_fan_in`` of the ``n_inputs`` channels, mean ``input_weight``
(converted likewise), from a local patch of the ``input_shape`` (W, H, C) image when
``input_receptive_field`` (pixels) is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..network import InputPort, Network, Population, Projection
from ..neurons import LIF, NeuronModel
from .inputs import (
    check_input_args,
    gamma_weights,
    grid_positions,
    input_projections,
    input_weights,
)
from .models import izhikevich_population_model, neuron_choice, weight_unit, with_params

# Maass et al. 2002, Table/Methods: connection scale C, synaptic amplitude A (nA, with
# R_m = 1 MOhm -> mV), transmission delays. (The synaptic time constants, 3 ms E and 6 ms I,
# are ``lsm_column``'s ``tau_syn`` default.)
MAASS_C = {"EE": 0.3, "EI": 0.2, "IE": 0.4, "II": 0.1}
MAASS_A = {"EE": 30.0, "EI": 60.0, "IE": -19.0, "II": -19.0}
MAASS_DELAY_MS = {"EE": 1.5, "EI": 0.8, "IE": 0.8, "II": 0.8}
POP_OF = {"E": "exc", "I": "inh"}


def connection_probability(dist: np.ndarray, c: float, lam: float) -> np.ndarray:
    """Maass 2002: P(connect) = C * exp(-(D / lambda)^2) for Euclidean distance D."""
    return c * np.exp(-((dist / lam) ** 2))


def _check_lsm_args(frac_inh: float, lam: float) -> None:
    if not 0.0 <= frac_inh < 1.0:
        raise ValueError(f"frac_inh must be in [0, 1), got {frac_inh}")
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
    unit: Mapping[str, float],
    dt: float,
) -> list[Projection]:
    """EE, EI, IE, II (in that order): P(connect) from distance (no autapses), Gamma weights
    of mean A (nA, scaled) times the target population's ``unit``, delays in whole steps of
    at least 1."""
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
        w = gamma_weights(rng, len(r), amp[key], cv) * unit[POP_OF[key[1]]]
        out.append(
            Projection(
                source=POP_OF[key[0]],
                target=POP_OF[key[1]],
                weights=sp.csr_matrix((w, (r, col)), shape=p.shape),
                delays=max(1, int(round(MAASS_DELAY_MS[key] / dt))),
                name=key,
            )
        )
    return out


def _lif_model(rng: np.random.Generator, m: int, t_ref: float, tau_syn: float, **lif: Any) -> LIF:
    """Per neuron, drawn in this order: tau_mem spread uniformly by +-``heterogeneity``
    (relative), bias uniform in ``bias_range`` (mV)."""
    h = lif["heterogeneity"]
    spread = rng.uniform(-h, h, m) if h else 0.0
    return LIF(
        tau_mem=lif["tau_mem"] * (1.0 + spread),
        tau_syn=tau_syn,
        v_rest=0.0,
        v_reset=lif["v_reset"],
        v_th=lif["v_th"],
        t_ref=t_ref,
        bias=rng.uniform(*lif["bias_range"], m),
    )


def _populations(
    rng: np.random.Generator,
    pos: np.ndarray,
    n_exc: int,
    neuron: Mapping[str, str],
    unit: Mapping[str, float],
    neuron_params: Mapping[str, Any] | None,
    **lif: Any,
) -> tuple[Population, ...]:
    """Populations "exc" (the first ``n_exc`` positions) and "inh" (the rest, if any) of
    the chosen models; ``t_ref`` and ``tau_syn`` are (exc, inh). An Izhikevich population
    draws r per neuron, then its bias: ``bias_range`` times ``unit`` (mV -> mV/ms)."""
    t_ref, tau_syn = lif.pop("t_ref"), lif.pop("tau_syn")
    pops = []
    for k, (name, where) in enumerate((("exc", pos[:n_exc]), ("inh", pos[n_exc:]))):
        m = len(where)
        if k and not m:
            break
        model: NeuronModel
        if neuron[name] == "lif":
            model = _lif_model(rng, m, t_ref[k], tau_syn[k], **lif)
        else:
            bias = (lif["bias_range"][0] * unit[name], lif["bias_range"][1] * unit[name])
            model = izhikevich_population_model(rng, name, m, tau_syn=tau_syn[k], bias_range=bias)
        model = with_params(model, neuron_params, name)
        pops.append(Population(name=name, size=m, model=model, positions=where))
    return tuple(pops)


def _lsm_inputs(
    rng: np.random.Generator,
    n_inputs: int,
    pos: np.ndarray,
    n_exc: int,
    unit: Mapping[str, float],
    **kw: Any,
) -> list[Projection]:
    """The input projections: Gamma weights of mean ``weight`` (mV of steady drive) in the
    units of the exc population, the inh columns rescaled when its unit differs."""
    weight = kw.pop("weight") * unit["exc"]
    w_in = input_weights(rng, n_inputs, len(pos), weight=weight, positions=pos, **kw)
    if unit["inh"] != unit["exc"] and n_exc < len(pos):
        w_in = (
            w_in
            @ sp.diags(np.r_[np.ones(n_exc), np.full(len(pos) - n_exc, unit["inh"] / unit["exc"])])
        ).tocsr()
    return input_projections(w_in, n_exc, len(pos) - n_exc)


def lsm_column(
    shape: tuple[int, int, int] = (15, 3, 3),
    n_inputs: int = 1,
    *,
    seed: int = 0,
    neuron: str | Mapping[str, str] = "lif",
    neuron_params: Mapping[str, Any] | None = None,
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
    """A Maass-2002 liquid on a 3-D grid: P(connect) = C exp(-(D/lam)^2), Gamma weights of
    mean A (mV of steady drive: Maass's nA through 1 MOhm), delays 1.5 / 0.8 ms. ``neuron``:
    "lif", "izhikevich" or one per population; a weight is A (1 - exp(-dt/tau_mem)) mV onto
    LIF, A * 3.7975 / v_th mV/ms onto Izhikevich (the same firing onset, see ``models``).
    Every option with its unit: ``catalogue``, ``spikelab builders``, docs/reservoirs.md."""
    rng = np.random.default_rng(seed)
    choice = neuron_choice(neuron)
    _check_lsm_args(frac_inh, lam)
    check_input_args(input_fraction, input_shape, input_receptive_field, n_inputs)
    pos, n_exc, _ = _exc_then_inh(rng, grid_positions(shape), frac_inh)
    unit = {p: weight_unit(m, dt=dt, tau_mem=tau_mem, v_th=v_th) for p, m in choice.items()}
    recurrent = _maass_projections(
        rng, pos, n_exc, c_scale=c_scale, weight_scale=weight_scale, inh_scale=inh_scale,
        lam=lam, cv=weight_cv, unit=unit, dt=dt,
    )  # fmt: skip
    pops = _populations(
        rng, pos, n_exc, choice, unit, neuron_params, t_ref=t_ref, tau_syn=tau_syn,
        heterogeneity=heterogeneity, tau_mem=tau_mem, v_reset=v_reset, v_th=v_th,
        bias_range=bias_range,
    )  # fmt: skip
    inputs = _lsm_inputs(
        rng, n_inputs, pos, n_exc, unit, fraction=input_fraction, fan_in=input_fan_in,
        weight=input_weight, cv=weight_cv, input_shape=input_shape,
        receptive_field=input_receptive_field,
    )  # fmt: skip
    port = InputPort(name="in", size=n_inputs, shape=input_shape)
    meta = {"builder": "lsm_column", "seed": seed, "shape": list(shape), "lam": lam}
    meta |= {} if neuron == "lif" else {"neuron": choice}
    projections = tuple(inputs + recurrent)
    return Network(populations=pops, inputs=(port,), projections=projections, metadata=meta, dt=dt)
