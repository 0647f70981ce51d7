"""Resistive-memory (RRAM) cell models: frozen device dataclasses, presets and cell physics.

A device is plain data (conductances in µS, voltages in V, times in ns or s). The
functions below turn target conductances into programmed ones (programming error,
level quantisation, device-to-device gain, stuck-at faults), draw the conductances an
identical SET pulse leaves behind (``weights="device"``), and relax conductances with time
since programming. All randomness comes from the ``numpy.random.Generator`` passed in.

Presets (``PRESETS``; see docs/backends/crossbar.md for the full list of sources):

* ``"ideal"``   every non-ideality off (exact conductances, no read noise, no faults).
* ``"wan2022"`` (default) RRAM with the conductance-dependent programming error and
  relaxation of aihwkit's ``ReRamWan2022NoiseModel`` (IBM aihwkit,
  ``src/aihwkit/inference/noise/reram.py``), a 4th-order polynomial fit of
  σ(g) in µS to the data of Wan et al., "A compute-in-memory chip based on resistive
  random-access memory", Nature 608, 504-512 (2022) (NeuRRAM), at 1 s, 1 day and 2 days
  after programming, for g_max = 40 µS. Read noise 1 % per read follows aihwkit's note
  on that model ("short-term read noise (about 1 %)"). **Assumptions** (not from the
  fit): g_min = 1 µS, read voltage 0.2 V, read pulse 10 ns, no stuck-at faults, no extra
  device-to-device gain error (it is inside the measured spread), and the single-pulse
  distribution N(20 µS, 6 µS) clipped to the window used by ``weights="device"``.
* ``"taox"``    a generic TaOx filamentary 1T1R RRAM. Every number is an **assumption**
  of typical literature values, not a fit to one chip: window 5-100 µS, 32 levels,
  σ_prog = 1.5 µS + 2 % of g, read noise 1.5 %, device-to-device gain 3 %, 0.5 %
  stuck at g_min and 0.1 % at g_max, relaxation growing σ by about 1.5 µS per decade
  of time, single-pulse distribution N(50 µS, 15 µS) (quasi-normal as reported for
  forming/SET in TaOx random arrays, e.g. Wang et al., Nat. Mach. Intell. 5, 104 (2023)).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _poly(coeffs: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """Σ c_i x^i (ascending powers)."""
    out = np.zeros_like(x, dtype=np.float64)
    for c in reversed(coeffs):
        out = out * x + c
    return out


@dataclass(frozen=True, kw_only=True)
class RRAMDevice:
    """One RRAM cell technology.

    Conductances in µS, voltages in V, read pulse in ns, times in s.

    g_min_us, g_max_us : programmable window; a weight w maps to g_min + |w|/scale.
    levels : number of programmable levels in the window, or None for analogue.
    prog_poly_us : programming error σ_prog(g) = Σ c_i (g/g_max)^i µS (ascending powers),
        fitted for g_max = ``poly_g_max_ref_us``; scaled by g_max / poly_g_max_ref_us.
    relax_times_s, relax_polys_us : σ of the deviation from the target at each time after
        programming (same polynomial form); the first entry must equal ``prog_poly_us``'s
        time (the reference). Between entries σ is interpolated linearly in log10(t).
    read_noise : per-read noise, relative: each read of a cell gives g·(1 + read_noise·ξ).
    d2d_sigma : device-to-device gain variation: each cell's conductance is multiplied
        by a fixed (1 + d2d_sigma·ξ) drawn once (programmed mode only).
    p_stuck_min, p_stuck_max : probability that a cell is stuck at g_min / g_max.
    pulse_mean_us, pulse_std_us : conductance after one identical SET pulse (normal,
        clipped to the window): the distribution used by ``weights="device"``.
    v_read_v, t_read_ns : read voltage and read pulse width (cell read energy V²·G·t).
    """

    name: str
    g_min_us: float
    g_max_us: float
    levels: int | None = None
    prog_poly_us: tuple[float, ...] = (0.0,)
    poly_g_max_ref_us: float = 40.0
    relax_times_s: tuple[float, ...] = ()
    relax_polys_us: tuple[tuple[float, ...], ...] = ()
    read_noise: float = 0.0
    d2d_sigma: float = 0.0
    p_stuck_min: float = 0.0
    p_stuck_max: float = 0.0
    pulse_mean_us: float = 20.0
    pulse_std_us: float = 6.0
    v_read_v: float = 0.2
    t_read_ns: float = 10.0
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        n = self.name
        if not 0.0 <= self.g_min_us < self.g_max_us:
            raise ValueError(
                f"device {n!r}: need 0 <= g_min_us < g_max_us, got {self.g_min_us}, "
                f"{self.g_max_us} µS"
            )
        if self.levels is not None and int(self.levels) < 2:
            raise ValueError(f"device {n!r}: levels must be >= 2 or None, got {self.levels}")
        for attr in ("read_noise", "d2d_sigma", "pulse_std_us", "poly_g_max_ref_us"):
            v = getattr(self, attr)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"device {n!r}: {attr} must be finite and >= 0, got {v}")
        for attr in ("p_stuck_min", "p_stuck_max"):
            v = getattr(self, attr)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"device {n!r}: {attr} is a probability, got {v}")
        if self.p_stuck_min + self.p_stuck_max > 1.0:
            raise ValueError(f"device {n!r}: p_stuck_min + p_stuck_max must be <= 1")
        if not (self.v_read_v > 0 and self.t_read_ns > 0):
            raise ValueError(f"device {n!r}: v_read_v and t_read_ns must be > 0")
        if len(self.relax_times_s) != len(self.relax_polys_us):
            raise ValueError(f"device {n!r}: one relaxation polynomial per relaxation time")
        if any(b <= a for a, b in zip(self.relax_times_s, self.relax_times_s[1:], strict=False)):
            raise ValueError(f"device {n!r}: relax_times_s must increase")
        object.__setattr__(self, "prog_poly_us", tuple(float(c) for c in self.prog_poly_us))
        polys = tuple(tuple(float(c) for c in p) for p in self.relax_polys_us)
        object.__setattr__(self, "relax_polys_us", polys)

    # ---- physics ------------------------------------------------------------------------
    @property
    def is_ideal(self) -> bool:
        """True when programming, reading and time leave conductances exact."""
        return (
            self.levels is None
            and not any(self.prog_poly_us)
            and not any(any(p) for p in self.relax_polys_us)
            and self.read_noise == 0
            and self.d2d_sigma == 0
            and self.p_stuck_min == 0
            and self.p_stuck_max == 0
        )

    def _sigma(self, coeffs: tuple[float, ...], g_us: np.ndarray) -> np.ndarray:
        x = np.asarray(g_us, dtype=np.float64) / self.g_max_us
        return np.abs(_poly(coeffs, x)) * (self.g_max_us / self.poly_g_max_ref_us)

    def prog_sigma_us(self, g_us: np.ndarray) -> np.ndarray:
        """Programming error σ (µS) at target conductance ``g_us``."""
        return self._sigma(self.prog_poly_us, g_us)

    def total_sigma_us(self, g_us: np.ndarray, t_s: float) -> np.ndarray:
        """σ (µS) of the deviation from the target ``t_s`` seconds after programming."""
        times = self.relax_times_s
        if not times or t_s <= times[0]:
            return self.prog_sigma_us(g_us)
        if t_s > times[-1] * (1 + 1e-12):
            raise ValueError(
                f"drift_time_s={t_s} s is beyond the relaxation data of device {self.name!r} "
                f"(fitted up to {times[-1]:g} s); use drift_time_s <= {times[-1]:g}"
            )
        k = int(np.searchsorted(times, t_s, side="left"))
        k = min(max(k, 1), len(times) - 1)
        lo, hi = math.log10(times[k - 1]), math.log10(times[k])
        f = (math.log10(t_s) - lo) / (hi - lo)
        s0 = self._sigma(self.relax_polys_us[k - 1], g_us)
        s1 = self._sigma(self.relax_polys_us[k], g_us)
        return (1 - f) * s0 + f * s1

    def quantise_levels(self, g_us: np.ndarray) -> np.ndarray:
        """Round targets to the nearest of ``levels`` equally spaced conductances."""
        if self.levels is None:
            return np.asarray(g_us, dtype=np.float64)
        span = self.g_max_us - self.g_min_us
        k = np.rint(
            (np.clip(g_us, self.g_min_us, self.g_max_us) - self.g_min_us) / span * (self.levels - 1)
        )
        return self.g_min_us + k * span / (self.levels - 1)

    def stuck_masks(
        self, shape: tuple[int, ...], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks of cells stuck at g_min and at g_max (disjoint)."""
        u = rng.random(shape)
        at_min = u < self.p_stuck_min
        at_max = (u >= self.p_stuck_min) & (u < self.p_stuck_min + self.p_stuck_max)
        return at_min, at_max

    def program(self, target_us: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Program-and-verify each cell to ``target_us``: levels, programming error,
        device-to-device gain, stuck-at faults. Returns conductances in µS (>= 0)."""
        t = self.quantise_levels(target_us)
        g = t + self.prog_sigma_us(t) * rng.standard_normal(t.shape)
        if self.d2d_sigma:
            g = g * (1.0 + self.d2d_sigma * rng.standard_normal(t.shape))
        g = np.maximum(g, 0.0)
        return self.apply_stuck(g, rng)

    def pulse(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Conductances (µS) after one identical SET pulse on every cell, with faults."""
        g = self.pulse_mean_us + self.pulse_std_us * rng.standard_normal(shape)
        g = np.clip(g, self.g_min_us, self.g_max_us)
        return self.apply_stuck(g, rng)

    def apply_stuck(self, g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Replace faulty cells by g_min or g_max (probabilities p_stuck_min, p_stuck_max)."""
        at_min, at_max = self.stuck_masks(g.shape, rng)
        return np.where(at_min, self.g_min_us, np.where(at_max, self.g_max_us, g))

    def relax(
        self, g_us: np.ndarray, target_us: np.ndarray, t_s: float, rng: np.random.Generator
    ) -> np.ndarray:
        """Conductances ``t_s`` seconds after programming: the deviation from the target
        grows from σ_prog to σ_total(t) by adding independent variance (stuck cells stay)."""
        if not t_s or not self.relax_times_s or t_s <= self.relax_times_s[0]:
            return g_us
        extra2 = self.total_sigma_us(target_us, t_s) ** 2 - self.prog_sigma_us(target_us) ** 2
        dg = np.sqrt(np.maximum(extra2, 0.0)) * rng.standard_normal(g_us.shape)
        stuck = (g_us == self.g_min_us) | (g_us == self.g_max_us)
        return np.where(stuck, g_us, np.maximum(g_us + dg, 0.0))


# aihwkit ReRamWan2022NoiseModel coefficients (µS, ascending powers of g/g_max, g_max 40 µS)
_WAN_1S = (0.348, 16.030, -43.853, 45.393, -16.815)
_WAN_1D = (0.701, 22.086, -50.773, 47.095, -16.458)
_WAN_2D = (0.782, 20.274, -43.507, 37.062, -11.934)

PRESETS: dict[str, RRAMDevice] = {
    "ideal": RRAMDevice(
        name="ideal", g_min_us=0.0, g_max_us=40.0, pulse_std_us=6.0, source="no non-idealities"
    ),
    "wan2022": RRAMDevice(
        name="wan2022",
        g_min_us=1.0,
        g_max_us=40.0,
        levels=None,
        prog_poly_us=_WAN_1S,
        poly_g_max_ref_us=40.0,
        relax_times_s=(1.0, 86400.0, 172800.0),
        relax_polys_us=(_WAN_1S, _WAN_1D, _WAN_2D),
        read_noise=0.01,
        pulse_mean_us=20.0,
        pulse_std_us=6.0,
        v_read_v=0.2,
        t_read_ns=10.0,
        source="aihwkit ReRamWan2022NoiseModel (fit to Wan et al., Nature 608, 2022)",
    ),
    "taox": RRAMDevice(
        name="taox",
        g_min_us=5.0,
        g_max_us=100.0,
        levels=32,
        prog_poly_us=(1.5, 2.0),
        poly_g_max_ref_us=100.0,
        relax_times_s=(1.0, 3600.0, 86400.0, 864000.0),
        relax_polys_us=((1.5, 2.0), (6.9, 2.0), (8.9, 2.0), (10.4, 2.0)),
        read_noise=0.015,
        d2d_sigma=0.03,
        p_stuck_min=0.005,
        p_stuck_max=0.001,
        pulse_mean_us=50.0,
        pulse_std_us=15.0,
        v_read_v=0.2,
        t_read_ns=10.0,
        source="generic TaOx 1T1R; all numbers are assumptions (see module docstring)",
    ),
}


def get_device(preset: str | RRAMDevice, **overrides: Any) -> RRAMDevice:
    """A preset by name (or a device), with fields replaced by ``overrides``."""
    if isinstance(preset, RRAMDevice):
        dev = preset
    elif isinstance(preset, str) and preset.lower() in PRESETS:
        dev = PRESETS[preset.lower()]
    else:
        raise ValueError(f"unknown device preset {preset!r}; presets: {sorted(PRESETS)}")
    if overrides:
        names = {f.name for f in dataclasses.fields(RRAMDevice)}
        bad = sorted(set(overrides) - names)
        if bad:
            raise TypeError(
                f"unknown device parameter(s) {bad}; device parameters are {sorted(names)}"
            )
        dev = dataclasses.replace(dev, **overrides)
    return dev
