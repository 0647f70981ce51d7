"""One analogue read of one crossbar array: read noise, first-order IR drop, the ADC.

Currents in µA, conductances in µS, voltages in V, wire resistance in Ω. The layer's
conductances are flat row-major arrays (``gp``, ``gm`` at offset ``goff``, ``ncols``
logical columns); ``gf`` and ``gi`` hold the float and integer settings named below.

Read noise is one Gaussian per column read, with variance Σ_r V_r² (G+² + G−²)·σ², which
is the exact distribution of the sum of independent per-cell noise g·(1 + σ·ξ). Its
numbers come from a counter-based generator (SplitMix64 hashing of a counter, Box-Muller)
keyed per sample, so results do not depend on thread count or on how samples are batched.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Layer metadata columns (int64 LM[layer, :]) and globals.
M_INPUT, M_SRC, M_ROWS, M_TGT, M_COLS, M_DELAY, M_GOFF, M_SOFF = range(8)
G_VREAD, G_NOISE, G_ADC_STEP, G_ADC_K, G_DAC_STEP, G_DAC_K, G_WIRE_R = range(7)
I_TROWS, I_TCOLS, I_IR, I_EXACT = range(4)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SALT = np.uint64(0xD1B54A32D192ED03)


@njit(cache=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def normal_pair(key, counter):
    """Two independent standard normals, number ``counter`` (uint64) of stream ``key``
    (SplitMix64 hashing of the counter, Box-Muller)."""
    a = _mix64(key + (counter + np.uint64(1)) * _GOLDEN)
    b = _mix64(a ^ _SALT)
    u1 = (np.float64(a >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
    u2 = np.float64(b >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    r = np.sqrt(-2.0 * np.log(u1))
    return r * np.cos(2.0 * np.pi * u2), r * np.sin(2.0 * np.pi * u2)


@njit(cache=True)
def adc_convert(i_ua, step, kmax):
    """Quantise a current (µA) to codes −kmax..kmax of ``step`` µA; (value, clipped)."""
    if step <= 0.0:
        return i_ua, False
    q = np.rint(i_ua / step)
    if q > kmax:
        return kmax * step, True
    if q < -kmax:
        return -kmax * step, True
    return q * step, False


@njit(cache=True, inline="always")
def _cell_currents(gp, gm, goff, ncols, rows, volts, n, c0, nc):
    """Conductances ``g`` [n, 2 nc] (G+ and G− of a logical column on adjacent bit lines) of
    the driven rows and their cell currents ``cur`` = V_r · g of the ideal solution (µA)."""
    m = 2 * nc
    cur = np.empty((n, m))
    g = np.empty((n, m))
    for a in range(n):
        base = goff + rows[a] * ncols + c0
        for j in range(nc):
            g[a, 2 * j] = gp[base + j]
            g[a, 2 * j + 1] = gm[base + j]
        for k in range(m):
            cur[a, k] = volts[a] * g[a, k]
    return g, cur


@njit(cache=True, inline="always")
def _wire_drops(cur, rows, n, r0, tile_rows, rw):
    """Voltage drop (V) at every driven cell: along its word line (drivers at column 0)
    plus along its bit line (sense amplifiers below the last row), ``rw`` V per µA."""
    m = cur.shape[1]
    drop = np.zeros((n, m))
    suffix = np.empty(m)
    for a in range(n):  # word line: segment k carries the current of cells k..m-1
        s = 0.0
        for k in range(m - 1, -1, -1):
            s += cur[a, k]
            suffix[k] = s
        run = 0.0
        for k in range(m):
            run += suffix[k]
            drop[a, k] = rw * run
    for k in range(m):  # bit line: segment below row ρ carries the current of rows <= ρ
        p = 0.0
        for a in range(n):
            p += cur[a, k]
        q = p * (tile_rows - (rows[n - 1] - r0))
        drop[n - 1, k] += rw * q
        for a in range(n - 2, -1, -1):
            p -= cur[a + 1, k]
            q += p * (rows[a + 1] - rows[a])
            drop[a, k] += rw * q
    return drop


@njit(cache=True)
def _ir_currents(gp, gm, goff, ncols, rows, volts, n, c0, c1, r0, tile_rows, wire_r, acc):
    """First-order IR drop in one array: differential column currents (µA) into acc.

    Drivers at physical column 0, sense amplifiers below the last row; G+ and G− of a
    logical column on adjacent bit lines; ``wire_r`` Ω per wire segment between cells.
    Cell currents of the ideal solution give the voltage drops along the word lines and bit
    lines; each cell then conducts G·(V_r − drop_row − drop_col) (one Jacobi step)."""
    nc = c1 - c0
    g, cur = _cell_currents(gp, gm, goff, ncols, rows, volts, n, c0, nc)
    drop = _wire_drops(cur, rows, n, r0, tile_rows, wire_r * 1e-6)  # Ω · µA -> V
    for j in range(nc):
        s = 0.0
        for a in range(n):
            vp = volts[a] - drop[a, 2 * j]  # voltage left across the G+ cell
            vm = volts[a] - drop[a, 2 * j + 1]
            if vp * volts[a] < 0.0:  # the first-order drop cannot reverse a cell's voltage
                vp = 0.0
            if vm * volts[a] < 0.0:
                vm = 0.0
            s += g[a, 2 * j] * vp - g[a, 2 * j + 1] * vm
        acc[j] = s


@njit(cache=True)
def read_tile(gp, gm, goff, ncols, rows, volts, n, c0, c1, r0, gf, gi, key, ctr, acc, var):
    """Column currents (µA) of logical columns [c0, c1) of one array for the ``n`` driven
    rows (layer-local indices ``rows``, voltages ``volts`` in V). Returns the noise counter."""
    nc = c1 - c0
    sigma = gf[G_NOISE]
    for j in range(nc):
        acc[j] = 0.0
        var[j] = 0.0
    if gi[I_IR]:
        _ir_currents(
            gp, gm, goff, ncols, rows, volts, n, c0, c1, r0, gi[I_TROWS], gf[G_WIRE_R], acc
        )
    for a in range(n):
        base = goff + rows[a] * ncols + c0
        v = volts[a]
        if sigma > 0.0:  # noise variance from the nominal voltages (first order with IR drop)
            v2 = v * v
            for j in range(nc):
                p = gp[base + j]
                q = gm[base + j]
                var[j] += v2 * (p * p + q * q)
        if not gi[I_IR]:
            for j in range(nc):
                acc[j] += v * (gp[base + j] - gm[base + j])
    if sigma > 0.0:
        for j in range(0, nc, 2):
            z0, z1 = normal_pair(key, ctr)
            ctr += np.uint64(1)
            acc[j] += sigma * np.sqrt(var[j]) * z0
            if j + 1 < nc:
                acc[j + 1] += sigma * np.sqrt(var[j + 1]) * z1
    return ctr
