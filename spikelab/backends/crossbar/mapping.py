"""Mapping a network onto crossbar arrays: differential pairs, per-projection scale, tiles.

Every projection (and, with per-synapse delays, every delay value of it) becomes one
*layer*: a dense matrix of differential cell pairs, rows = source (input channel or
neuron), logical columns = target neurons. A weight w is stored as

    w = scale · (G+ − G−)        scale in mV/µS (weight units per µS)

* ``weights="network"``: scale = max|w| / (g_max − g_min) of the projection; w >= 0 is
  programmed as G+ = g_min + w/scale, G− = g_min, w < 0 as G+ = g_min, G− = g_min + |w|/scale.
  Cells of absent synapses are programmed to g_min (both devices), so they carry read
  noise and can be stuck. Each cell goes through ``RRAMDevice.program``.
* ``weights="device"`` (Lin et al. 2025): every cell of an existing synapse gets the same
  SET pulse and keeps the random conductance it lands on (``RRAMDevice.pulse``). The
  network's connectivity and delays are kept; its weight values are replaced:
  - mixed-sign projection: both cells pulsed, scale = std(w) / std(G+ − G−), so the device
    weights have the network's standard deviation (and the pulse distribution's shape);
  - all w >= 0 (or all <= 0): only G+ (or G−) is pulsed, its partner stays at g_min, and
    scale = mean|w| / mean(G − g_min), so the mean magnitude and the sign are kept.
  std and mean are taken over this projection's existing synapses of this realisation.

Physical layout: an array of ``rows × cols`` cells holds ``rows`` sources and ``cols // 2``
logical columns (G+ and G− on adjacent bit lines). A layer larger than one array is tiled;
each array has its own ADCs and the partial sums of the row tiles are added digitally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ...network import Network, Projection
from .devices import RRAMDevice


@dataclass(frozen=True, kw_only=True)
class CrossbarConfig:
    """Array and converter settings (see ``CrossbarBackend`` for the meaning of each)."""

    device: RRAMDevice
    weights: str = "network"
    array_rows: int = 512
    array_cols: int = 512
    adc_bits: int | None = None
    adc_range: float = 8.0
    dac_bits: int | None = None
    dac_range: float = 1.0
    ir_drop: bool = False
    wire_r_ohm: float = 0.35
    drift_time_s: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.weights not in ("network", "device"):
            raise ValueError(f"weights must be 'network' or 'device', got {self.weights!r}")
        if int(self.array_rows) < 1 or int(self.array_cols) < 2:
            raise ValueError(
                f"array_size must be at least (1, 2) cells (a differential pair needs two "
                f"columns), got ({self.array_rows}, {self.array_cols})"
            )
        for name in ("adc_bits", "dac_bits"):
            b = getattr(self, name)
            if b is not None and not 2 <= int(b) <= 48:
                raise ValueError(f"{name} must be in [2, 48] or None (infinite), got {b}")
        if not (self.adc_range > 0 and self.dac_range > 0):
            raise ValueError("adc_range and dac_range must be > 0")
        if not (self.wire_r_ohm >= 0 and self.drift_time_s >= 0):
            raise ValueError("wire_r_ohm and drift_time_s must be >= 0")

    @property
    def logical_cols(self) -> int:
        return int(self.array_cols) // 2

    def adc_full_scale_ua(self) -> float:
        """ADC full scale (µA, ±): ``adc_range`` cells at the full window, read at V_read."""
        d = self.device
        return self.adc_range * d.v_read_v * (d.g_max_us - d.g_min_us)

    def adc_step_ua(self) -> float:
        """ADC step (µA); 0 means infinite precision. Codes −K..K, K = 2^(bits−1) − 1."""
        if self.adc_bits is None:
            return 0.0
        return self.adc_full_scale_ua() / (2 ** (int(self.adc_bits) - 1) - 1)

    def dac_step(self) -> float:
        """DAC step in input-value units; 0 means exact amplitudes."""
        if self.dac_bits is None:
            return 0.0
        return self.dac_range / (2 ** int(self.dac_bits) - 1)

    @property
    def is_ideal(self) -> bool:
        return (
            self.device.is_ideal
            and self.weights == "network"
            and self.adc_bits is None
            and self.dac_bits is None
            and not self.ir_drop
        )


@dataclass(frozen=True, kw_only=True, eq=False)
class Layer:
    """One projection (one delay value of it) on differential pairs; conductances in µS."""

    projection: str
    source_is_input: bool
    src_lo: int
    tgt_lo: int
    delay: int
    scale: float  # mV (weight units) per µS
    gp: np.ndarray  # [rows, cols] at read time (after relaxation)
    gm: np.ndarray
    gp_programmed: np.ndarray  # right after programming (t = first relaxation time)
    gm_programmed: np.ndarray
    present: np.ndarray  # bool [rows, cols]: synapses of the network

    @property
    def shape(self) -> tuple[int, int]:
        return self.gp.shape


def _sign_class(w: np.ndarray) -> str:
    if w.size and np.all(w >= 0):
        return "pos"
    if w.size and np.all(w <= 0):
        return "neg"
    return "mixed"


def _split_by_delay(w: sp.csr_matrix, d: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Dense (weights, present mask) of the projection for each delay value."""
    rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    out = {}
    for dv in np.unique(d) if d.size else np.array([1]):
        m = d == dv
        dense = np.zeros(w.shape)
        present = np.zeros(w.shape, dtype=bool)
        dense[rows[m], w.indices[m]] = w.data[m]
        present[rows[m], w.indices[m]] = True
        out[int(dv)] = (dense, present)
    return out


def _program_network_mode(parts, cfg, rng_p, rng_r):
    dev = cfg.device
    wmax = max((float(np.abs(dense).max()) for dense, _ in parts.values()), default=0.0)
    scale = (wmax if wmax > 0 else 1.0) / (dev.g_max_us - dev.g_min_us)
    out = []
    for dv, (dense, present) in parts.items():
        tp = dev.g_min_us + np.where(dense > 0, dense, 0.0) / scale
        tm = dev.g_min_us + np.where(dense < 0, -dense, 0.0) / scale
        gp, gm = dev.program(tp, rng_p), dev.program(tm, rng_p)
        rp = dev.relax(gp, dev.quantise_levels(tp), cfg.drift_time_s, rng_r)
        rm = dev.relax(gm, dev.quantise_levels(tm), cfg.drift_time_s, rng_r)
        out.append((dv, scale, gp, gm, rp, rm, present))
    return out


def _program_device_mode(pr, parts, cfg, rng_p, rng_r):
    dev = cfg.device
    cls = _sign_class(pr.weights.data)
    raw = []
    for dv, (_, present) in parts.items():
        shape = present.shape
        idle_p = dev.apply_stuck(np.full(shape, dev.g_min_us), rng_p)
        idle_m = dev.apply_stuck(np.full(shape, dev.g_min_us), rng_p)
        gp = np.where(present & (cls != "neg"), dev.pulse(shape, rng_p), idle_p)
        gm = np.where(present & (cls != "pos"), dev.pulse(shape, rng_p), idle_m)
        raw.append((dv, gp, gm, present))
    w = pr.weights.data
    scale = 1.0
    if w.size:
        dg = np.concatenate([(gp - gm)[pres] for _, gp, gm, pres in raw])
        if cls == "mixed":
            num, den = float(w.std()), float(dg.std())
        else:
            num, den = float(np.abs(w).mean()), float(np.abs(dg).mean())
        if den <= 0:
            raise ValueError(
                f"projection {pr.name!r}: device preset {dev.name!r} gives no conductance "
                "spread for weights='device'; use a preset with pulse_std_us > 0"
            )
        scale = num / den
    out = []
    for dv, gp, gm, present in raw:
        rp = dev.relax(gp, gp, cfg.drift_time_s, rng_r)
        rm = dev.relax(gm, gm, cfg.drift_time_s, rng_r)
        out.append((dv, scale, gp, gm, rp, rm, present))
    return out


def build_layers(net: Network, cfg: CrossbarConfig) -> tuple[list[Layer], Network]:
    """Program ``net`` onto crossbar layers; returns the layers and the network whose
    weights are what the arrays store right after programming (scale · (G+ − G−))."""
    ss = np.random.SeedSequence(int(cfg.seed))
    rng_p, rng_r = (np.random.default_rng(s) for s in ss.spawn(2))
    pops, ins = net.population_slices(), net.input_slices()
    layers: list[Layer] = []
    new_projs: list[Projection] = []
    for pr in net.projections:
        w = sp.csr_matrix(pr.weights)
        parts = _split_by_delay(w, pr.delay_array())
        if cfg.weights == "device":
            progs = _program_device_mode(pr, parts, cfg, rng_p, rng_r)
        else:
            progs = _program_network_mode(parts, cfg, rng_p, rng_r)
        is_in = pr.source in ins
        src_lo, tgt_lo = (ins if is_in else pops)[pr.source].start, pops[pr.target].start
        for dv, scale, gp, gm, rp, rm, present in progs:
            layers.append(
                Layer(
                    projection=pr.name, source_is_input=is_in, src_lo=src_lo, tgt_lo=tgt_lo,
                    delay=dv, scale=scale, gp=rp, gm=rm, gp_programmed=gp, gm_programmed=gm,
                    present=present,
                )
            )  # fmt: skip
        new_projs.append(_programmed_projection(pr, w, progs))
    return layers, net.with_projections(new_projs)


def _programmed_projection(pr: Projection, w: sp.csr_matrix, progs: list) -> Projection:
    """``pr`` with the weights the arrays store right after programming: scale · (G+ − G−)
    at each synapse, taken from the layer of its delay."""
    rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    d = pr.delay_array()
    data = np.zeros(w.nnz)
    for dv, scale, gp, gm, _, _, _ in progs:
        mat = scale * (gp - gm)
        m = d == dv
        data[m] = mat[rows[m], w.indices[m]]
    new_w = sp.csr_matrix((data, w.indices.copy(), w.indptr.copy()), shape=w.shape)
    return Projection(
        source=pr.source, target=pr.target, weights=new_w, delays=pr.delays, name=pr.name
    )
