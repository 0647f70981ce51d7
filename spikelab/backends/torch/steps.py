"""Neuron step functions of the torch backend: one pure step body per model (norse style).

``step(I_in, state, params) -> (spikes, state)`` with NamedTuple state and parameters, the
time loop kept separate (in ``torch.py``). Tensors are neuron-major: state ``[n, batch]``,
parameters ``[n, 1]`` columns (heterogeneous per-neuron values broadcast over the batch).
The arithmetic repeats ``spikelab/backends/_kernels.py`` operation for operation, in the same
order, so that float64 results are those of the numba reference (docs/semantics.md).

Where norse is used: the LIF integrate-threshold-reset stage is norse's
``iaf_feed_forward_step`` (``v = v + x``; ``z = heaviside(v - v_th)``;
``v = (1 - z) v + z v_reset``), which computes our ``v = leak + i``, ``v > v_th``,
``v <- v_reset`` exactly (``v - v_th > 0`` iff ``v > v_th`` in IEEE arithmetic, and with
z in {0, 1} the blend is exact), and the refractory clamp and counter are norse's
``compute_refractory_update`` (from ``lif_refrac``) with ``rho_reset = n_ref``. The exact
exponential leak and the synaptic current are plain torch. Izhikevich is plain torch:
norse's ``izhikevich_feed_forward_step`` is a single Euler step (see the ``torch`` module
docstring).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import torch

from ... import ir as K

with warnings.catch_warnings():  # norse's import triggers torch.jit.script deprecation notes
    warnings.simplefilter("ignore")
    from norse.torch.functional.iaf import (
        IAFFeedForwardState,
        IAFParameters,
        iaf_feed_forward_step,
    )
    from norse.torch.functional.lif import LIFFeedForwardState, LIFParameters
    from norse.torch.functional.lif_refrac import (
        LIFRefracFeedForwardState,
        LIFRefracParameters,
        compute_refractory_update,
    )

# The LIF state is norse's refractory feed-forward state: lif.v (mV), lif.i (synaptic
# current, mV per step), rho (refractory steps left), each [n, batch].
LIFState = LIFRefracFeedForwardState


class LIFParams(NamedTuple):
    """Per-neuron LIF parameters as [n, 1] tensors (precomputed from dt, docs/semantics.md).

    beta : synaptic decay per step (0 for a delta synapse). alpha : exp(-dt/tau_mem).
    v_rest : mV. bias_term : (1 - alpha) * bias, mV.
    iaf : norse's IAFParameters holding v_th and v_reset (mV), method "heaviside".
    refrac : norse's LIFRefracParameters; rho_reset = n_ref = round(t_ref/dt) steps.
    """

    beta: torch.Tensor
    alpha: torch.Tensor
    v_rest: torch.Tensor
    bias_term: torch.Tensor
    iaf: IAFParameters
    refrac: LIFRefracParameters


class IzhParams(NamedTuple):
    """Per-neuron Izhikevich parameters as [n, 1] tensors; v_init (mV) sets the start."""

    beta: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    d: torch.Tensor
    v_peak: torch.Tensor
    bias: torch.Tensor
    v_init: torch.Tensor


class IzhState(NamedTuple):
    """Izhikevich state [n, batch]: v (mV), u (recovery), i (synaptic current, mV/ms)."""

    v: torch.Tensor
    u: torch.Tensor
    i: torch.Tensor


def lif_step(i_in: torch.Tensor, s: LIFState, p: LIFParams) -> tuple[torch.Tensor, LIFState]:
    """One LIF step (docs/semantics.md): synaptic current and exact exponential leak (torch),
    then norse's integrate-threshold-reset and norse's refractory clamp.

    norse's clamp holds v at its previous value while rho > 0, which is v_reset (the value
    the spike that started the refractory period left), and counts rho down to 0.
    """
    v_prev = s.lif.v
    i = p.beta * s.lif.i + i_in
    leak = p.v_rest + p.alpha * (v_prev - p.v_rest) + p.bias_term
    z, fired = iaf_feed_forward_step(i, IAFFeedForwardState(v=leak), p.iaf)
    state = LIFState(LIFFeedForwardState(v_prev, i), s.rho)
    v, z, rho = compute_refractory_update(state, z, fired.v, p.refrac)
    return z, LIFState(LIFFeedForwardState(v, i), rho)


def izh_step(
    i_in: torch.Tensor, s: IzhState, p: IzhParams, dt: float
) -> tuple[torch.Tensor, IzhState]:
    """One Izhikevich (2003) step of ``dt`` ms: two dt/2 half-steps of v, one step of u."""
    i = p.beta * s.i + i_in
    current = p.bias + i
    half = 0.5 * dt
    v, u = s.v, s.u
    v = v + half * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
    v = v + half * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
    u = u + dt * p.a * (p.b * v - u)
    spiked = v >= p.v_peak
    v = torch.where(spiked, p.c, v)
    u = torch.where(spiked, u + p.d, u)
    return spiked.to(v.dtype), IzhState(v, u, i)


def _col(P: np.ndarray, row: int, lo: int, hi: int, **kw: object) -> torch.Tensor:
    return torch.as_tensor(P[row, lo:hi, None], **kw)  # type: ignore[arg-type]


def lif_params(
    P: np.ndarray,
    n_ref: np.ndarray,
    lo: int,
    hi: int,
    **kw: object,
) -> LIFParams:
    """LIF parameters of neurons [lo, hi) from the packed float64 matrix of ``flatten``."""
    v_th, v_reset = _col(P, K.V_TH, lo, hi, **kw), _col(P, K.V_RESET, lo, hi, **kw)
    return LIFParams(
        beta=_col(P, K.BETA, lo, hi, **kw),
        alpha=_col(P, K.ALPHA, lo, hi, **kw),
        v_rest=_col(P, K.V_REST, lo, hi, **kw),
        bias_term=_col(P, K.BIAS_TERM, lo, hi, **kw),
        iaf=IAFParameters(v_th=v_th, v_reset=v_reset, method="heaviside"),
        refrac=LIFRefracParameters(
            lif=LIFParameters(v_th=v_th, v_reset=v_reset, method="heaviside"),
            rho_reset=torch.as_tensor(n_ref[lo:hi, None].astype(np.float64), **kw),  # type: ignore[arg-type]
        ),
    )


def izh_params(P: np.ndarray, lo: int, hi: int, **kw: object) -> IzhParams:
    """Izhikevich parameters of neurons [lo, hi) from the packed float64 matrix."""
    rows = (K.BETA, K.A, K.B, K.C, K.D, K.V_PEAK, K.BIAS, K.V_INIT)
    return IzhParams(*(_col(P, r, lo, hi, **kw) for r in rows))


def lif_init(p: LIFParams, batch: int) -> LIFState:
    """Initial LIF state: v = v_rest, i = 0, not refractory."""
    v = p.v_rest.expand(-1, batch).clone()
    return LIFState(LIFFeedForwardState(v, torch.zeros_like(v)), torch.zeros_like(v))


def izh_init(p: IzhParams, batch: int) -> IzhState:
    """Initial Izhikevich state: v = v_init, u = b * v_init, i = 0."""
    v = p.v_init.expand(-1, batch).clone()
    return IzhState(v, (p.b * p.v_init).expand(-1, batch).clone(), torch.zeros_like(v))
