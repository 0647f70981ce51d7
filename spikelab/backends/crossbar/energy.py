"""Energy estimates: operation counts × energy per operation. **All figures are estimates.**

Crossbar (analogue in-memory synapses, digital neurons):

    E = E_cells + E_rows + E_adc + E_dac + overhead·(those four) + E_partial_sums + E_scale
        + E_neurons
    E_cells = Σ_reads V_r² (G+ + G−) · t_read        (exact, from the read conductances)
    E_adc   = conversions · FoM · 2^bits             (bits = adc_bits, or 8 when infinite)

Digital reference (the same synaptic events and neuron updates on a CPU/ASIC-like datapath,
45 nm figures of Horowitz, "Computing's energy problem", ISSCC 2014): each synaptic event
reads its 32-bit weight from a memory sized for all weights and does one fp32 add (plus
one fp32 multiply when the input value is not 1). Neuron updates cost the same in both.

Sources and assumptions (each default below says which):

* Horowitz ISSCC 2014, 45 nm, 0.9 V: fp32 add 0.9 pJ, fp32 mult 3.7 pJ, int32 add
  0.1 pJ, int32 mult 3.1 pJ; SRAM 64-bit access 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ
  (1 MB); DRAM 1.3-2.6 nJ per 64-bit access (we take 1.3 nJ). A 32-bit access is taken as
  half a 64-bit one (assumption). Memory sizes between the table's rows take the next
  larger row (assumption).
* ADC: Walden figure of merit 10 fJ per conversion step (assumption, typical of 40 nm-class
  SAR ADCs); DAC: 10 fJ per step (assumption); row (word-line) drive 10 fJ per array row
  activation (assumption); periphery overhead +25 % on the analogue part (assumption).
* Cross-check (not used in the sum): Yoon et al., "A 40-nm 118.44-TOPS/W voltage-sensing
  compute-in-memory RRAM macro with write verification and multi-bit encoding", IEEE JSSC
  57(3), 2022: 118.44 TOPS/W peak (ternary weights, 2 ops per MAC) = 16.9 fJ per MAC,
  reported as ``macro_reference_energy_per_sample_j`` (one MAC per differential cell pair read).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import kernel as XK

PJ = 1e-12
FJ = 1e-15


@dataclass(frozen=True, kw_only=True)
class EnergyModel:
    """Energy per operation in J (see the module docstring for sources and assumptions)."""

    adc_fom_j: float = 10 * FJ  # per conversion step (assumption)
    adc_bits_nominal: int = 8  # used for energy when adc_bits is None (assumption)
    dac_fom_j: float = 10 * FJ  # per conversion step (assumption)
    dac_bits_nominal: int = 4  # used when dac_bits is None (assumption)
    row_drive_j: float = 10 * FJ  # per row activation in one array (assumption)
    periphery_overhead: float = 0.25  # fraction added to cells + rows + ADC + DAC (assumption)
    int_add_j: float = 0.1 * PJ  # Horowitz 2014
    int_mult_j: float = 3.1 * PJ  # Horowitz 2014
    fp_add_j: float = 0.9 * PJ  # Horowitz 2014
    fp_mult_j: float = 3.7 * PJ  # Horowitz 2014
    sram_64b_j: tuple[tuple[int, float], ...] = (
        (8 * 1024, 10 * PJ),
        (32 * 1024, 20 * PJ),
        (1024 * 1024, 100 * PJ),
    )  # Horowitz 2014: (capacity in bytes, energy per 64-bit access)
    dram_64b_j: float = 1300 * PJ  # Horowitz 2014 (low end of 1.3-2.6 nJ)
    macro_mac_j: float = 2 / 118.44e12  # Yoon et al. JSSC 2022, cross-check only

    def memory_access_32b_j(self, n_bytes: int) -> float:
        """Energy of one 32-bit read from a memory holding ``n_bytes`` (half a 64-bit access)."""
        for cap, e in self.sram_64b_j:
            if n_bytes <= cap:
                return e / 2
        return self.dram_64b_j / 2

    def neuron_update_j(self, kind: int) -> float:
        """One neuron update: LIF 2 mult + 5 add, Izhikevich 9 mult + 12 add (fp32), plus
        reading and writing two (LIF) or three (Izhikevich) state words in an 8 KB SRAM."""
        state = self.sram_64b_j[0][1] / 2
        if kind == 0:
            return 2 * self.fp_mult_j + 5 * self.fp_add_j + 4 * state
        return 9 * self.fp_mult_j + 12 * self.fp_add_j + 6 * state


def estimate(
    cnt: np.ndarray,
    ecell_v2us: np.ndarray,
    n_syn: np.ndarray,
    *,
    t_read_ns: float,
    adc_bits: int | None,
    dac_bits: int | None,
    n_weight_bytes: int,
    neuron_kinds: np.ndarray,
    n_steps: int,
    model: EnergyModel,
) -> dict:
    """Per-sample energies (J, batch means) and op counts (batch totals) from counters.

    cnt : int64 [batch, N_COUNTERS] from the kernel; ecell_v2us : [batch] Σ V²(G+ + G−) in
    V²·µS; n_syn : [batch] synaptic events; neuron_kinds : model kind of each neuron."""
    c = cnt.sum(axis=0).astype(np.float64)
    b = max(cnt.shape[0], 1)
    e_cells = float(ecell_v2us.sum()) * 1e-6 * t_read_ns * 1e-9
    parts = _crossbar_parts(c, e_cells, adc_bits, dac_bits, model)
    kinds, n_per_kind = np.unique(neuron_kinds, return_counts=True)
    per_step = sum(
        model.neuron_update_j(int(k)) * int(n) for k, n in zip(kinds, n_per_kind, strict=True)
    )
    parts["neurons"] = per_step * n_steps * b
    syn = float(n_syn.sum())
    parts["digital_weight_reads"] = syn * model.memory_access_32b_j(n_weight_bytes)
    e_dig_syn = parts["digital_weight_reads"] + syn * model.fp_add_j
    e_dig_syn += c[XK.C_SYN_MULT] * model.fp_mult_j
    out = _totals(parts, e_dig_syn, syn, b)
    out["macro_reference_energy_per_sample_j"] = c[XK.C_CELLS] / 2 * model.macro_mac_j / b
    out["energy_breakdown_per_sample_j"] = {k: v / b for k, v in parts.items()}
    out["ops"] = {name: int(c[i]) for i, name in enumerate(XK.COUNTER_NAMES)}
    out["ops"]["synaptic_events"] = int(syn)
    out["energy_model"] = asdict(model)
    out["energy_note"] = "estimates: op counts x per-op energies; see docs/backends/crossbar.md"
    return out


def _crossbar_parts(
    c: np.ndarray, e_cells: float, adc_bits: int | None, dac_bits: int | None, model: EnergyModel
) -> dict[str, float]:
    """Energies (J, batch totals) of the crossbar's synaptic path from the summed counters
    ``c``, in the order of ``energy_breakdown_per_sample_j``."""
    bits_a = model.adc_bits_nominal if adc_bits is None else int(adc_bits)
    bits_d = model.dac_bits_nominal if dac_bits is None else int(dac_bits)
    e_rows = c[XK.C_ROWS] * model.row_drive_j
    e_adc = c[XK.C_ADC] * model.adc_fom_j * 2**bits_a
    e_dac = c[XK.C_DAC] * model.dac_fom_j * 2**bits_d
    return {
        "cells": e_cells,
        "rows": e_rows,
        "adc": e_adc,
        "dac": e_dac,
        "periphery": model.periphery_overhead * (e_cells + e_rows + e_adc + e_dac),
        "partial_sums": c[XK.C_PSUM_ADDS] * model.int_add_j,
        "scale": c[XK.C_SCALE_MULTS] * model.int_mult_j,
    }


def _totals(parts: dict[str, float], e_dig_syn: float, syn: float, b: int) -> dict:
    """Per-sample totals (J) of the crossbar and the digital reference."""
    p = parts
    xbar_syn = p["cells"] + p["rows"] + p["adc"] + p["dac"] + p["periphery"]
    xbar_syn = xbar_syn + p["partial_sums"] + p["scale"]
    e_neur = p["neurons"]
    return {
        "energy_per_sample_j": (xbar_syn + e_neur) / b,
        "digital_energy_per_sample_j": (e_dig_syn + e_neur) / b,
        "crossbar_synaptic_energy_per_sample_j": xbar_syn / b,
        "digital_synaptic_energy_per_sample_j": e_dig_syn / b,
        "neuron_energy_per_sample_j": e_neur / b,
        "energy_per_synaptic_event_j": (xbar_syn / syn) if syn else 0.0,
        "digital_energy_per_synaptic_event_j": (e_dig_syn / syn) if syn else 0.0,
    }
