"""The norse peer of ``spikelab bench --suite peers``: the network written as a norse user
writes it, ``norse.torch.LIFRefracRecurrent`` looped over time by norse itself, with the
network's weights as dense matrices, batches of 128 samples, torch on every CPU core.

Our LIF (docs/semantics.md) mapped onto norse's ``LIFParameters`` (per-neuron tensors, so
heterogeneous parameters are kept): norse's step is forward Euler,
``i' = i + W_in x + W_rec z; v' = v + dt*tau_mem_inv*((v_leak - v) + i'); i <- i' -
dt*tau_syn_inv*i'``. With ``tau_mem_inv = (1 - alpha)/dt``, ``tau_syn_inv = (1 - beta)/dt``,
``v_leak = v_rest + bias``, every weight onto neuron k divided by ``1 - alpha_k`` and the
initial state ``v = v_rest`` (passed in, since norse starts at ``v_leak``), it is our update
in real arithmetic; threshold (``v > v_th``), reset to ``v_reset`` and the refractory clamp
(``rho_reset = n_ref`` steps, ``LIFRefracParameters``) are ours exactly. What norse cannot
express is listed by :func:`differences`: its recurrence delivers every spike in the next
step (our delays of 2 steps or more act one or more steps early), inputs act in the step they
arrive (no input delays), the synapses of one pair are one dense entry, and its operations
round differently from ours. So its ``spikes_total`` is reported beside numba's float64 count
on the same samples, not assumed equal.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..ir import ALPHA, BETA, BIAS_TERM, KIND_LIF, V_RESET, V_REST, V_TH, FlatNetwork
from ..spikes import SpikeBatch
from .common import all_cores

__all__ = [
    "BATCH_SIZE",
    "dense_input",
    "dense_weights",
    "differences",
    "norse_module",
    "run_norse",
]

BATCH_SIZE = 128  # samples per norse call, as a norse user would batch


def _check_lif(flat: FlatNetwork) -> None:
    if not (flat.pop_kind == KIND_LIF).all():
        kinds = ", ".join(
            f"{name}" for name, k in zip(flat.pop_names, flat.pop_kind, strict=True) if k
        )
        raise ValueError(
            f"the norse peer maps LIF networks only; populations {kinds} are not LIF "
            "(run the peers bench on a LIF reservoir)"
        )


def _leak_step(flat: FlatNetwork) -> np.ndarray:
    """``dt * tau_mem_inv`` per neuron: ``1 - alpha`` (norse's membrane factor)."""
    k = 1.0 - flat.params[ALPHA]
    if (k <= 0).any():
        raise ValueError("the norse peer needs a finite tau_mem on every neuron (alpha < 1)")
    return k


def dense_weights(flat: FlatNetwork) -> tuple[np.ndarray, np.ndarray]:
    """(input weights [neurons, inputs], recurrent weights [neurons, neurons]) as norse's
    ``F.linear`` takes them, float64: every synapse of a pair summed into one entry, each
    row divided by its neuron's ``1 - alpha`` (norse scales its current by ``dt/tau_mem``)."""
    k = _leak_step(flat)
    out = []
    for csr in (flat.inputs, flat.recurrent):
        w = np.zeros((flat.n_neurons, csr.shape[0]))
        np.add.at(w, (csr.indices, csr.rows()), csr.weights)
        out.append(w / k[:, None])
    return out[0], out[1]


def differences(flat: FlatNetwork) -> list[str]:
    """What the norse model computes differently from ours for ``flat`` (plain sentences)."""
    out = []
    rc, inp = flat.recurrent, flat.inputs
    late = int((rc.delays != 1).sum())
    if late:
        out.append(
            f"recurrent delays: {late} of {rc.nnz} recurrent synapses have delays of "
            f"{', '.join(str(d) for d in np.unique(rc.delays[rc.delays != 1]))} steps; "
            "norse's recurrence delivers every spike in the next step"
        )
    if (inp.delays != 0).any():
        out.append(
            f"input delays: {int((inp.delays != 0).sum())} of {inp.nnz} input synapses have "
            "delays > 0; norse applies an input in the step it arrives"
        )
    pairs = {"input": inp, "recurrent": rc}
    for name, csr in pairs.items():
        n_pairs = len(np.unique(csr.rows() * csr.shape[1] + csr.indices))
        if n_pairs < csr.nnz:
            out.append(f"{name}: {csr.nnz - n_pairs} synapses share a pair: one dense weight")
    out.append(
        "arithmetic: norse's forward-Euler step with tau_mem_inv = (1-alpha)/dt, "
        "tau_syn_inv = (1-beta)/dt, weights / (1-alpha), v_leak = v_rest + bias equals our "
        "update in real arithmetic only (other operations, float32): rounding moves "
        "threshold crossings in a chaotic reservoir"
    )
    return out


def norse_module(flat: FlatNetwork, dtype: torch.dtype = torch.float32) -> Any:
    """``norse.torch.LIFRefracRecurrent`` with ``flat``'s parameters and dense weights."""
    from norse.torch import LIFParameters, LIFRefracParameters, LIFRefracRecurrent

    _check_lif(flat)
    k, dt = _leak_step(flat), flat.dt

    def t(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float64)).to(dtype)

    p = flat.params
    lif = LIFParameters(
        tau_syn_inv=t((1.0 - p[BETA]) / dt),
        tau_mem_inv=t(k / dt),
        v_leak=t(p[V_REST] + p[BIAS_TERM] / k),
        v_th=t(p[V_TH]),
        v_reset=t(p[V_RESET]),
    )
    w_in, w_rec = dense_weights(flat)
    return LIFRefracRecurrent(
        flat.n_inputs,
        flat.n_neurons,
        p=LIFRefracParameters(lif, rho_reset=t(flat.n_ref)),
        input_weights=t(w_in),
        recurrent_weights=t(w_rec),
        autapses=True,  # keep the network's weights as they are
        dt=dt,
    )


def dense_input(batch: SpikeBatch, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The batch as norse takes input: a dense tensor [steps, samples, channels]."""
    x = np.zeros((batch.n_steps, len(batch), batch.n_channels), np.float32)
    sample = np.repeat(np.arange(len(batch)), np.diff(batch.offsets))
    np.add.at(x, (batch.steps, sample, batch.channels), batch.values)
    return torch.from_numpy(x).to(dtype)


def _initial_state(module: Any, flat: FlatNetwork, n: int, dtype: torch.dtype) -> Any:
    """Our initial state (v = v_rest, i = 0, not refractory) in norse's state tuple."""
    from norse.torch.functional.lif import LIFState
    from norse.torch.functional.lif_refrac import LIFRefracState

    zeros = torch.zeros(n, flat.n_neurons, dtype=dtype)
    v = torch.as_tensor(flat.params[V_REST]).to(dtype).expand(n, -1).clone()
    return LIFRefracState(LIFState(z=zeros, v=v, i=zeros.clone()), rho=zeros.clone())


def run_norse(
    flat: FlatNetwork,
    batch: SpikeBatch,
    *,
    batch_size: int = BATCH_SIZE,
    dtype: torch.dtype = torch.float32,
    threads: int | None = None,
) -> dict[str, Any]:
    """Run ``batch`` through the norse module in chunks of ``batch_size`` samples, torch on
    ``threads`` threads (default: every core this process may use). Returns the spike count
    per sample, ``sim_s`` (norse's forward calls) and ``input_s`` (building the dense input
    tensors), in seconds."""
    module = norse_module(flat, dtype)
    threads = threads or all_cores()
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    per_sample, sim_s, input_s = [], 0.0, 0.0
    try:
        with torch.inference_mode():
            for chunk in batch.chunks(batch_size):
                t0 = time.perf_counter()
                x = dense_input(chunk, dtype)
                state = _initial_state(module, flat, len(chunk), dtype)
                t1 = time.perf_counter()
                z, _ = module(x, state)
                per_sample += z.sum(dim=(0, 2)).to(torch.int64).tolist()
                t2 = time.perf_counter()
                input_s, sim_s = input_s + (t1 - t0), sim_s + (t2 - t1)
    finally:
        torch.set_num_threads(old)
    return {"per_sample": per_sample, "sim_s": sim_s, "input_s": input_s, "threads": threads}
