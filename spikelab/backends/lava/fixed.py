"""Quantisation of a ``LavaPlan`` to Loihi 2's fixed-point formats (numpy only).

The arithmetic is that of Lava's bit-accurate models (``lava.proc.lif.models.
PyLifModelBitAcc``, ``lava.proc.sparse.models.PySparseModelBitAcc``), whose bit widths are
the hardware's:

* u, v: signed 24 bit. Synaptic input ``a_in`` (16 bit) and the threshold are left-shifted
  by 6 bits before they meet v; the bias is added unshifted.
* du, dv: unsigned 12 bit; u decays by (4095 - du)/4096, v by (4096 - dv)/4096, each product
  truncated towards zero.
* vth: unsigned 17 bit (compared as vth << 6). bias = bias_mant << bias_exp with a signed
  13-bit mantissa and a 3-bit exponent (0..7), per neuron.
* weights: an 8-bit mantissa with one shared exponent per projection (``weight_exp``);
  purely excitatory or inhibitory blocks use 8 magnitude bits (0..255), mixed-sign blocks
  8 signed bits scaled by 2 (-256..254 in steps of 2). The exponent's range on Loihi is
  -8..7 (Davies et al. 2018, IEEE Micro 38(1), "weight exponent"); a negative exponent
  right-shifts the accumulated input, flooring it.
* delays: 6 bits per synapse (0..63 steps; Lava's ``PyDelaySparseModelBitAcc``).

Scales. All neurons of a LIF group share one integer threshold ``vth`` (Lava holds it per
process), as large as possible: up to 2^13, which leaves v 16x headroom in both directions,
and small enough that the largest possible synaptic input in one step (every positive
synapse onto a neuron active at once) still fits the 16-bit ``a_in`` and u does not wrap at
24 bits. Each neuron's scale (integer units of v per mV) is then
``S = vth * 64 / (v_th - v_reset)``, so every threshold is exact. Each block takes the
smallest weight exponent whose mantissa range holds its largest weight (in its target
neurons' units), which uses the 8 bits fully.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..base import UnsupportedFeature
from .plan import Block, LavaPlan, LifGroup

A_IN_MAX = 2**15 - 1  # 16-bit signed synaptic input per step
UV_MAX = 2**23 - 1  # 24-bit signed u and v
VTH_MAX = 2**17 - 1  # 17-bit unsigned threshold mantissa
VTH_TARGET = 2**13  # default threshold in a_in units: v keeps 16x headroom
VTH_MIN = 64
SHIFT = 6  # a_in and vth are MSB-aligned by 6 bits
BIAS_MANT = (-(2**12), 2**12 - 1)  # signed 13 bit
BIAS_EXP_MAX = 7  # unsigned 3 bit
WEIGHT_EXP = (-8, 7)
MAX_DELAY = 63  # 6-bit synaptic delay


@dataclass(frozen=True, eq=False)
class FixedGroup:
    """Integer parameters of one LIF group; ``scale`` is units of v per mV, per neuron (one
    shared integer threshold ``vth``, so the scale differs where v_th - v_reset does)."""

    name: str
    scale: np.ndarray
    du: np.ndarray
    dv: np.ndarray
    vth: int
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    v_pre: np.ndarray


@dataclass(frozen=True, eq=False)
class FixedBlock:
    """Integer weights (as Lava's Sparse expects them) and the shared exponent of one block."""

    name: str
    weights: sp.csr_matrix  # int64 values, [n_target, n_source]; zeros left out
    delays: sp.csr_matrix | None  # Lava delays aligned with ``weights`` (None: all 0)
    weight_exp: int
    sign_mode: str  # "excitatory", "inhibitory" or "mixed"


@dataclass(frozen=True, eq=False)
class FixedPlan:
    groups: dict[str, FixedGroup]
    blocks: dict[str, FixedBlock]
    report: dict[str, Any] = field(default_factory=dict)


def decay_v(v: np.ndarray, dv: np.ndarray | int) -> np.ndarray:
    """Lava's fixed-point voltage decay: sign(v) * ((|v| * (4096 - dv)) >> 12)."""
    prod = np.asarray(v, dtype=np.int64) * (4096 - dv)
    return np.sign(prod) * np.right_shift(np.abs(prod), 12)


def _max_input(plan: LavaPlan, group: LifGroup) -> np.ndarray:
    """Largest total positive synaptic input (mV) each neuron of ``group`` can get in one
    step, counting each input channel once (event count 1)."""
    total = np.zeros(group.size)
    for b in plan.blocks:
        if b.target == group.name and b.weights.nnz:
            pos = b.weights.copy()
            pos.data = np.clip(pos.data, 0.0, None)
            total += np.asarray(pos.sum(axis=1)).ravel()
    return total


def _threshold_int(g: LifGroup, max_in: np.ndarray, vth_target: int) -> int:
    """The shared integer threshold (in a_in units): as large as allowed, see module doc."""
    limits = [float(vth_target), float(VTH_MAX)]
    active = max_in > 0
    if np.any(active):
        leak_u = np.maximum(1.0 - g.beta[active], 1.0 / 4096)
        ratio = g.vth[active] / max_in[active]  # threshold over worst step input
        limits.append(float(np.min(A_IN_MAX * ratio)))  # a_in fits 16 bits
        limits.append(float(np.min(UV_MAX * leak_u * ratio / 2**SHIFT)))  # u fits 24 bits
    return int(max(VTH_MIN, math.floor(min(limits))))


def _bias(b_units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mantissa (13 bit signed) and exponent (0..7) closest to ``b_units`` per neuron."""
    exp = np.zeros(b_units.shape, dtype=np.int64)
    for _ in range(BIAS_EXP_MAX):
        big = np.abs(np.rint(b_units / 2.0**exp)) > BIAS_MANT[1]
        exp = np.where(big & (exp < BIAS_EXP_MAX), exp + 1, exp)
    mant = np.clip(np.rint(b_units / 2.0**exp), *BIAS_MANT).astype(np.int64)
    return mant, exp


def _group(plan: LavaPlan, g: LifGroup, vth_target: int) -> tuple[FixedGroup, dict[str, Any]]:
    max_in = _max_input(plan, g)
    vth_int = _threshold_int(g, max_in, vth_target)
    scale = vth_int * 2**SHIFT / g.vth  # per neuron: threshold exact
    du = np.clip(np.rint(4095.0 - 4096.0 * g.beta), 0, 4095).astype(np.int64)
    dv = np.clip(np.rint(4096.0 * (1.0 - g.alpha)), 0, 4095).astype(np.int64)
    b_units = g.bias * scale
    mant, exp = _bias(b_units)
    bias_eff = mant * 2**exp
    target = np.clip(np.rint(g.v_start * scale), -UV_MAX, UV_MAX).astype(np.int64)
    v_pre = _prestep_int(target, bias_eff, dv)
    fg = FixedGroup(g.name, scale, du, dv, vth_int, mant, exp, v_pre)
    alpha_q, beta_q = (4096 - dv) / 4096, (4095 - du) / 4096
    berr = np.abs(bias_eff - b_units)
    rep = {
        "vth_int": vth_int,
        "scale_units_per_mV": [float(scale.min()), float(scale.max())],
        "du": [int(du.min()), int(du.max())],
        "dv": [int(dv.min()), int(dv.max())],
        "alpha_abs_err_max": float(np.max(np.abs(alpha_q - g.alpha))),
        "leak_rel_err_max": float(
            np.max(np.abs(alpha_q - g.alpha) / np.maximum(1 - g.alpha, 1e-300))
        ),
        "beta_abs_err_max": float(np.max(np.abs(beta_q - g.beta))),
        "threshold_abs_err_mV_max": 0.0,  # exact: the scale is chosen per neuron for it
        "bias_abs_err_mV_max": float(np.max(berr / scale, initial=0.0)),
        "bias_rel_err_max": float(np.max(berr / np.maximum(np.abs(b_units), 1e-300), initial=0.0)),
        "v_start_abs_err_mV_max": float(np.max(np.abs(target / scale - g.v_start), initial=0.0)),
        "max_step_input_mV": float(max_in.max(initial=0.0)),
        "a_in_headroom_min": float(
            np.min(A_IN_MAX / np.maximum(max_in * scale / 2**SHIFT, 1e-300))
        ),
        "per_neuron_decays": bool(len(np.unique(du)) > 1 or len(np.unique(dv)) > 1),
    }
    return fg, rep


def _prestep_int(target: np.ndarray, bias_eff: np.ndarray, dv: np.ndarray) -> np.ndarray:
    """Integer v_pre with decay_v(v_pre) + bias_eff == target (exists: decay has slope <= 1)."""
    y = target - bias_eff
    v = np.rint(y * 4096.0 / np.maximum(4096 - dv, 1)).astype(np.int64)
    for _ in range(64):
        f = decay_v(v, dv)
        if np.all(f == y):
            break
        v = v + np.sign(y - f)
    return np.clip(v, -UV_MAX, UV_MAX)


def _sign_mode(units: np.ndarray) -> tuple[str, float]:
    """Lava's sign mode for weights ``units`` and the largest mantissa magnitude it holds."""
    if units.size == 0 or np.all(units >= 0):
        return "excitatory", 255.0
    if np.all(units <= 0):
        return "inhibitory", 255.0
    return "mixed", 254.0


def _mantissas(units: np.ndarray, mode: str, lim: float) -> tuple[int, np.ndarray]:
    """Shared weight exponent and the int64 mantissas (even in mixed mode) for ``units``."""
    peak = float(np.max(np.abs(units), initial=0.0))
    e = 0 if peak == 0 else int(np.clip(math.ceil(math.log2(peak / lim)), *WEIGHT_EXP))
    if mode == "mixed":
        q = 2 * np.clip(np.rint(units / 2.0 ** (e + 1)), -128, 127)
    else:
        q = np.clip(np.rint(units / 2.0**e), -255, 255)
    return e, q.astype(np.int64)


def _quantized_matrices(b: Block, q: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
    """Weights ``q`` (and the block's delays) as CSR on the float sparsity, zeros dropped."""
    w = b.weights
    wq = sp.csr_matrix((q, w.indices.copy(), w.indptr.copy()), shape=w.shape)
    dq = None
    if b.delays is not None:  # same sparsity as the float weights (lava_plan guarantees it)
        dq = sp.csr_matrix((b.delays.data.copy(), w.indices.copy(), w.indptr.copy()), shape=w.shape)
    if np.any(q == 0):  # Lava's bit-accurate Sparse drops zero weights: drop them here too
        mask = sp.csr_matrix(((q != 0).astype(np.int64), w.indices, w.indptr), shape=w.shape)
        wq = wq.multiply(mask).tocsr()
        wq.eliminate_zeros()
        if dq is not None:
            dq = sp.csr_matrix(_aligned(dq, wq), shape=w.shape)
    return wq, dq


def _block_report(
    w: sp.csr_matrix, q: np.ndarray, e: int, mode: str, row_scale: np.ndarray, scale: np.ndarray
) -> dict[str, Any]:
    """Quantisation errors of one block's weights ``w`` (mV) given mantissas ``q``."""
    back = q * 2.0**e * 2**SHIFT / row_scale
    err = np.abs(back - w.data)
    peak_mv = float(np.max(np.abs(w.data), initial=0.0))
    return {
        "sign_mode": mode,
        "weight_exp": e,
        "weight_step_mV_max": float(
            (2.0 if mode == "mixed" else 1.0) * 2.0**e * 2**SHIFT / scale.min()
        ),
        "abs_err_mV_max": float(err.max(initial=0.0)),
        "rel_err_of_peak_max": float(err.max(initial=0.0) / peak_mv) if peak_mv else 0.0,
        "rel_err_rms": float(np.sqrt(np.mean((err / np.maximum(np.abs(w.data), 1e-300)) ** 2)))
        if err.size
        else 0.0,
        "n_synapses": int(w.nnz),
        "n_zeroed": int(np.sum((q == 0) & (w.data != 0))),
    }


def _block(b: Block, scale: np.ndarray) -> tuple[FixedBlock, dict[str, Any]]:
    """Quantise one block; ``scale`` holds the units of v per mV of each target neuron."""
    w = b.weights
    row_scale = np.repeat(scale, np.diff(w.indptr))  # the target neuron of each synapse
    units = w.data * row_scale / 2**SHIFT
    mode, lim = _sign_mode(units)
    e, q = _mantissas(units, mode, lim)
    wq, dq = _quantized_matrices(b, q)
    fb = FixedBlock(b.name, wq, dq, e, mode)
    return fb, _block_report(w, q, e, mode, row_scale, scale)


def _aligned(dq: sp.csr_matrix, wq: sp.csr_matrix) -> tuple:
    """(data, indices, indptr) of ``dq`` restricted to the sparsity of ``wq``."""
    dense_rows = []
    for i in range(wq.shape[0]):
        lo, hi = dq.indptr[i], dq.indptr[i + 1]
        lookup = dict(zip(dq.indices[lo:hi].tolist(), dq.data[lo:hi].tolist(), strict=True))
        dense_rows.extend(lookup[j] for j in wq.indices[wq.indptr[i] : wq.indptr[i + 1]])
    return np.asarray(dense_rows, dtype=int), wq.indices.copy(), wq.indptr.copy()


def quantize(plan: LavaPlan, *, vth_target: int = VTH_TARGET) -> FixedPlan:
    """Integer parameters for Loihi's fixed-point LIF and synapses, with an error report."""
    for b in plan.blocks:
        if b.max_delay > MAX_DELAY:
            raise UnsupportedFeature(
                f"block {b.name!r} needs a synaptic delay of {b.max_delay} Lava steps; Loihi 2 "
                f"synapses hold 6-bit delays (at most {MAX_DELAY}); shorten the delays"
            )
    groups, greps = {}, {}
    for g in plan.groups:
        if not isinstance(g, LifGroup):
            raise UnsupportedFeature(f"group {g.name!r} ({g.kind}) has no fixed-point model")
        groups[g.name], greps[g.name] = _group(plan, g, vth_target)
    blocks, breps = {}, {}
    for b in plan.blocks:
        blocks[b.name], breps[b.name] = _block(b, groups[b.target].scale)
    summary = {
        "weight_rel_err_of_peak_max": max(
            (r["rel_err_of_peak_max"] for r in breps.values()), default=0.0
        ),
        "weights_zeroed": sum(r["n_zeroed"] for r in breps.values()),
        "leak_rel_err_max": max((r["leak_rel_err_max"] for r in greps.values()), default=0.0),
        "beta_abs_err_max": max((r["beta_abs_err_max"] for r in greps.values()), default=0.0),
        "bias_abs_err_mV_max": max((r["bias_abs_err_mV_max"] for r in greps.values()), default=0.0),
        "threshold_abs_err_mV_max": 0.0,  # exact by construction of the scale
    }
    return FixedPlan(groups, blocks, {"summary": summary, "groups": greps, "blocks": breps})
