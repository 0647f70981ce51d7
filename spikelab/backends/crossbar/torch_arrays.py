"""Crossbar reads in torch (``kernel="torch"``): the twin of arrays.py and of
``kernel.read_layer``, for a batch of samples at once.

Currents in µA, conductances in µS, voltages in V. Sources are ``[rows, B]`` (neuron-major,
like the torch backend's state): input amplitudes or spikes ``x`` and a boolean ``act``
(the row is driven at this step: an input channel with an event, a neuron that spiked).
Per array (row tile × column tile) and sample the arithmetic is kernel.py's:

    V_r = V_read · DAC(x_r)                                     (V)
    I_col = Σ_r V_r (G+ − G−) + σ·sqrt(Σ_r V_r² (G+² + G−²))·ξ  (µA; IR drop: arrays.py)
    ring[t + delay][target] += ADC(I_col) · scale / V_read      (row tiles in order)

Summation order of Σ_r V_r (G+ − G−): ``sequential`` adds the driven rows in ascending order
from 0.0, one in-place addition per row (numba's order: bit-identical float64 sums);
``matmul`` uses a matrix product (BLAS/cuBLAS order: equal to rounding, ~8x faster on the
CPU). The IR-drop path and the noise variance use prefix sums and products in their own
order (equal to rounding).

Read noise: one ``torch.randn`` per column read from the ``torch.Generator`` passed in, so
the noise has kernel.py's distribution but not its draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import kernel as XK
from .arrays import (
    G_ADC_K,
    G_ADC_STEP,
    G_DAC_K,
    G_DAC_STEP,
    G_NOISE,
    G_VREAD,
    G_WIRE_R,
    I_IR,
    I_TCOLS,
    I_TROWS,
)
from .mapping import Layer


@dataclass(frozen=True, kw_only=True)
class ReadSettings:
    """The read settings of ``backend.read_settings`` (same numbers as the numba kernel's)."""

    v_read: float  # V
    sigma: float  # relative read noise per cell read
    adc_step: float  # µA; 0 = infinite precision
    adc_k: float  # largest ADC code
    dac_step: float  # input-value units; 0 = exact amplitudes
    dac_k: float  # largest DAC code
    wire_r: float  # Ω per wire segment
    tile_rows: int  # array rows
    tile_cols: int  # logical columns per array
    ir_drop: bool
    sequential: bool  # numba's row order for the column sums (else a matrix product)

    @classmethod
    def from_globals(cls, gf: np.ndarray, gi: np.ndarray, *, sequential: bool) -> ReadSettings:
        return cls(
            v_read=float(gf[G_VREAD]),
            sigma=float(gf[G_NOISE]),
            adc_step=float(gf[G_ADC_STEP]),
            adc_k=float(gf[G_ADC_K]),
            dac_step=float(gf[G_DAC_STEP]),
            dac_k=float(gf[G_DAC_K]),
            wire_r=float(gf[G_WIRE_R]),
            tile_rows=int(gi[I_TROWS]),
            tile_cols=int(gi[I_TCOLS]),
            ir_drop=bool(gi[I_IR]),
            sequential=sequential,
        )


@dataclass(frozen=True, eq=False)
class DeviceLayer:
    """One layer's arrays on the device, cut into row tiles (lists indexed by row tile).

    diff : G+ − G− [rows_rt, cols]; diff_t its transpose (contiguous, for the product).
    gsq_t : (G+² + G−²)ᵀ [cols, rows_rt] (read noise variance), empty without noise.
    gp, gm : G+ and G− [rows_rt, column tiles · logical columns per array], zero-padded
        (IR drop only, else empty).
    g_row : Σ_cols (G+ + G−) per row [rows] (cell read energy V²·G).
    to_weight : scale / V_read, weight units (mV) per µA.
    """

    src_lo: int
    rows: int
    tgt_lo: int
    cols: int
    delay: int
    is_input: bool
    to_weight: float
    row_tiles: tuple[tuple[int, int], ...]
    col_tiles: tuple[tuple[int, int], ...]
    diff: tuple[torch.Tensor, ...]
    diff_t: tuple[torch.Tensor, ...]
    gsq_t: tuple[torch.Tensor, ...]
    gp: tuple[torch.Tensor, ...]
    gm: tuple[torch.Tensor, ...]
    g_row: torch.Tensor


def device_layer(
    ly: Layer, s: ReadSettings, *, dtype: torch.dtype, device: torch.device
) -> DeviceLayer:
    """``ly``'s conductances as device tensors (differences taken in float64, then cast)."""
    rows, cols = ly.shape
    rt = tuple((a, min(a + s.tile_rows, rows)) for a in range(0, rows, s.tile_rows))
    ct = tuple((a, min(a + s.tile_cols, cols)) for a in range(0, cols, s.tile_cols))

    def put(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)

    diff = ly.gp - ly.gm  # the numba kernel's G+ − G−, in float64
    gsq = ly.gp * ly.gp + ly.gm * ly.gm
    pad = ((0, 0), (0, len(ct) * s.tile_cols - cols))  # whole arrays for the IR-drop reshape
    return DeviceLayer(
        src_lo=ly.src_lo,
        rows=rows,
        tgt_lo=ly.tgt_lo,
        cols=cols,
        delay=ly.delay,
        is_input=ly.source_is_input,
        to_weight=ly.scale / s.v_read,
        row_tiles=rt,
        col_tiles=ct,
        diff=tuple(put(diff[a:b]) for a, b in rt) if s.sequential and not s.ir_drop else (),
        diff_t=tuple(put(diff[a:b].T) for a, b in rt) if not (s.sequential or s.ir_drop) else (),
        gsq_t=tuple(put(gsq[a:b].T) for a, b in rt) if s.sigma > 0 else (),
        gp=tuple(put(np.pad(ly.gp[a:b], pad)) for a, b in rt) if s.ir_drop else (),
        gm=tuple(put(np.pad(ly.gm[a:b], pad)) for a, b in rt) if s.ir_drop else (),
        g_row=put((ly.gp + ly.gm).sum(axis=1)),
    )


class LayerCounts:
    """Per-sample operation counts of one layer, accumulated over steps (int64 tensors)."""

    def __init__(self, ly: DeviceLayer, batch: int, device: torch.device) -> None:
        z = {"dtype": torch.int64, "device": device}
        n_rt = len(ly.row_tiles)
        self.layer = ly
        self.rows = torch.zeros(n_rt, batch, **z)  # driven rows per row tile
        self.tiles = torch.zeros(n_rt, batch, **z)  # steps with >= 1 driven row per row tile
        self.nonbin = torch.zeros(n_rt, batch, **z)  # driven rows with a value other than 1
        self.used = torch.zeros(batch, **z)  # steps with >= 1 driven row in the layer
        self.clipped = torch.zeros(batch, **z)  # ADC conversions clipped at full scale

    def add_step(self, act: torch.Tensor, nonbin: torch.Tensor | None) -> None:
        """Count one step's driven rows: ``act`` [rows, B] of this layer's sources;
        ``nonbin`` [all sources, B], the driven rows whose value is not 1 (None: all 1)."""
        ly = self.layer
        n_any = torch.zeros_like(self.used)
        for k, (r0, r1) in enumerate(ly.row_tiles):
            n = act[r0:r1].sum(0)
            self.rows[k] += n
            self.tiles[k] += n > 0
            n_any += n
            if nonbin is not None:
                self.nonbin[k] += nonbin[ly.src_lo + r0 : ly.src_lo + r1].sum(0)
        self.used += n_any > 0

    def to_counters(self) -> np.ndarray:
        """kernel.py's counters of this layer, int64 [B, N_COUNTERS] (N_COUNTERS order)."""
        ly = self.layer
        nct, cols = len(ly.col_tiles), ly.cols
        rows, tiles = self.rows.sum(0).cpu().numpy(), self.tiles.sum(0).cpu().numpy()
        out = np.zeros((len(rows), XK.N_COUNTERS), np.int64)
        out[:, XK.C_TILE_READS] = nct * tiles
        out[:, XK.C_ROWS] = nct * rows
        out[:, XK.C_CELLS] = 2 * cols * rows
        out[:, XK.C_ADC] = cols * tiles
        out[:, XK.C_PSUM_ADDS] = cols * tiles
        out[:, XK.C_DAC] = nct * self.nonbin.sum(0).cpu().numpy()
        out[:, XK.C_SCALE_MULTS] = cols * self.used.cpu().numpy()
        out[:, XK.C_ADC_CLIPPED] = self.clipped.cpu().numpy()
        return out


def read_layer(
    c: LayerCounts,
    x: torch.Tensor,
    act: torch.Tensor,
    nonbin: torch.Tensor | None,
    s: ReadSettings,
    ring: torch.Tensor,
    t: int,
    ecell: torch.Tensor,
    gen: torch.Generator | None,
    *,
    do_read: bool,
) -> None:
    """Read layer ``c.layer`` for the sources ``x``/``act`` [n_sources, B] of step t: count
    the operations, add Σ V²(G+ + G−) to ``ecell`` [B] (V²·µS) and, with ``do_read``, add the
    converted column currents to ``ring`` [L, N, B] at slot t + delay.

    nonbin : driven rows whose value is not 1 (None: spikes, all 1)."""
    ly = c.layer
    xs, a = x[ly.src_lo : ly.src_lo + ly.rows], act[ly.src_lo : ly.src_lo + ly.rows]
    c.add_step(a, nonbin)
    if s.dac_step > 0.0:
        xs = torch.clamp(torch.round(xs / s.dac_step), 0.0, s.dac_k) * s.dac_step
    v = s.v_read * xs  # V
    ecell += ly.g_row @ (v * v)
    if not do_read:
        return
    out = ring[(t + ly.delay) % ring.shape[0], ly.tgt_lo : ly.tgt_lo + ly.cols]
    for k, (r0, r1) in enumerate(ly.row_tiles):
        out += _row_tile_currents(c, k, v[r0:r1], a[r0:r1], s, gen) * ly.to_weight


def _row_tile_currents(
    c: LayerCounts,
    k: int,
    v: torch.Tensor,
    act: torch.Tensor,
    s: ReadSettings,
    gen: torch.Generator | None,
) -> torch.Tensor:
    """Column currents [cols, B] (µA) of row tile k after read noise and the ADC (clipped
    conversions counted in ``c``)."""
    ly = c.layer
    if s.ir_drop:
        acc = _ir_arrays(ly, k, v, act, s)
    elif s.sequential:
        acc = _sequential_sum(ly.diff[k], v, act)
    else:
        acc = ly.diff_t[k] @ v
    if s.sigma > 0.0:
        std = s.sigma * torch.sqrt(ly.gsq_t[k] @ (v * v))
        xi = torch.randn(acc.shape, generator=gen, dtype=acc.dtype, device=acc.device)
        acc = acc + std * xi
    if s.adc_step > 0.0:
        q = torch.round(acc / s.adc_step)
        c.clipped += (q.abs() > s.adc_k).sum(0)
        acc = torch.clamp(q, -s.adc_k, s.adc_k) * s.adc_step
    return acc


def _sequential_sum(diff: torch.Tensor, v: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
    """Σ_r v_r (G+ − G−)_r [cols, B], adding rows in ascending order from 0.0 as kernel.py
    does: one in-place addition of ``v_r · (G+ − G−)_r`` per row (rows driven in no sample are
    skipped; elsewhere their zero terms change nothing). ~8x slower than a product on the CPU,
    ~15x faster than ``cumsum`` (a strided scalar loop)."""
    acc = v.new_zeros(diff.shape[1], v.shape[1])
    term = torch.empty_like(acc)
    d, x = diff.unsqueeze(2), v.unsqueeze(1)
    for r in act.any(1).nonzero().squeeze(1).tolist():
        torch.mul(d[r], x[r], out=term)
        acc.add_(term)
    return acc


def _ir_arrays(
    ly: DeviceLayer, k: int, v: torch.Tensor, act: torch.Tensor, s: ReadSettings
) -> torch.Tensor:
    """First-order IR drop in the arrays of row tile k (all column tiles at once), arrays.py's
    ``_ir_currents`` with prefix sums: differential column currents [cols, B] in µA.

    Word line of each array (drivers at its column 0): drop at bit line k = r·Σ_{k'' <= k}
    Σ_{k' >= k''} I_k'. Bit line (sense amplifiers below the last row) at a driven row x:
    drop = r·[(T − x)·Σ_{x' <= x} I_x' + Σ_{x' > x} (T − x')·I_x'], T = array rows."""
    rows = act.any(1).nonzero().squeeze(1)  # positions in the array, ascending
    if rows.numel() == 0:
        return v.new_zeros(ly.cols, v.shape[1])
    n, nct = rows.numel(), len(ly.col_tiles)
    g = torch.stack((ly.gp[k][rows], ly.gm[k][rows]), dim=2).view(n, nct, -1)  # G+, G− lines
    vr = v[rows][:, None, None, :]  # [n, 1, 1, B]
    cur = g.unsqueeze(3) * vr  # [n, arrays, bit lines, B]: cell currents, ideal solution
    rw = s.wire_r * 1e-6  # Ω · µA -> V
    word = cur.flip(2).cumsum(2).flip(2).cumsum(2)
    below = (s.tile_rows - rows).to(v.dtype)[:, None, None, None]  # segments to the amps
    weighted = cur * below
    tail = weighted.flip(0).cumsum(0).flip(0) - weighted
    drop = rw * word + rw * (below * cur.cumsum(0) + tail)
    left = vr - drop  # voltage left across each cell
    left = torch.where(left * vr < 0.0, torch.zeros_like(left), left)  # never reversed
    i = g.unsqueeze(3) * left
    i = (i[:, :, 0::2] - i[:, :, 1::2]) * act[rows][:, None, None, :]
    return i.sum(0).flatten(0, 1)[: ly.cols]
