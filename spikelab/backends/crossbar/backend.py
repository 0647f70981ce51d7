"""The ``crossbar`` backend: the network's projections on simulated RRAM crossbar arrays,
the neurons on the reference step bodies (numba's, or the torch backend's with
``kernel="torch"``).

    sim = net.compile(backend="crossbar", dt=1.0, preset="wan2022", weights="device")
    rec = sim.run(batch)
    rec.extras["energy_per_sample_j"], rec.extras["digital_energy_per_sample_j"]
    sim.programmed_network            # the weights the device produced (scale · (G+ − G−))
    net.compile(backend="crossbar", kernel="torch", device="cuda")   # batched, on a GPU
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from ...ir import FlatNetwork
from ...network import Network
from ...spikes import Recording, RecordSpec, SpikeBatch
from ..base import BackendUnavailable, install_command
from ..common import check_batch, dense_recording, prepare, simulation_repr
from . import kernel as XK
from .devices import RRAMDevice, get_device
from .energy import EnergyModel, estimate
from .mapping import CrossbarConfig, Layer, build_layers

log = logging.getLogger(__name__)
KERNELS = ("numba", "torch")
_TORCH_ONLY = ("device", "dtype", "batch_size", "sum_order")
_MAX_CELLS = 200_000_000  # dense cell pairs kept in memory (16 bytes each, twice)


def pack_arrays(layers: list[Layer], cfg: CrossbarConfig, exact: bool) -> XK.Arrays:
    """The arrays as the numba kernel reads them: layer metadata, conductances, per-array
    row sums, and the read settings (``read_settings``)."""
    tc = cfg.logical_cols
    lm = np.zeros((len(layers), 8), dtype=np.int64)
    lf = np.zeros((len(layers), 1))
    gps, gms, sums = [], [], []
    goff = soff = 0
    for i, ly in enumerate(layers):
        rows, cols = ly.shape
        nct = -(-cols // tc)
        lm[i] = (int(ly.source_is_input), ly.src_lo, rows, ly.tgt_lo, cols, ly.delay, goff, soff)
        lf[i, 0] = ly.scale
        gps.append(ly.gp.ravel())
        gms.append(ly.gm.ravel())
        tot = ly.gp + ly.gm
        pad = np.zeros((rows, nct * tc))
        pad[:, :cols] = tot
        sums.append(pad.reshape(rows, nct, tc).sum(axis=2).ravel())
        goff += rows * cols
        soff += rows * nct
    gf, gi = read_settings(cfg, exact)
    return XK.Arrays(lm, lf, _cat(gps), _cat(gms), _cat(sums), gf, gi)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate(parts)) if parts else np.zeros(1)


def read_settings(cfg: CrossbarConfig, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """(gf, gi): the float and integer read settings (``G_*``, ``I_*`` of arrays.py)."""
    d = cfg.device
    adc_k = 0.0 if cfg.adc_bits is None else float(2 ** (int(cfg.adc_bits) - 1) - 1)
    dac_k = 0.0 if cfg.dac_bits is None else float(2 ** int(cfg.dac_bits) - 1)
    gf = np.array(
        [d.v_read_v, d.read_noise, cfg.adc_step_ua(), adc_k, cfg.dac_step(), dac_k, cfg.wire_r_ohm],
        dtype=np.float64,
    )
    gi = np.array([cfg.array_rows, cfg.logical_cols, int(cfg.ir_drop), int(exact)], np.int64)
    return gf, gi


def _bits(value: Any, name: str) -> int | None:
    """Converter resolution: None, 0, "" or "none" mean infinite precision."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    try:
        ok = not isinstance(value, bool) and float(value).is_integer()
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a whole number of bits or None, got {value!r}")
    return int(value) or None


def _check_options(
    kernel: str, given: dict[str, Any], array_size: tuple[int, int], threads: int | None
) -> None:
    """The kernel name, torch-only options (``given``) with kernel="numba", array size and
    thread count of ``CrossbarBackend``."""
    if kernel not in KERNELS:
        raise ValueError(
            f"crossbar kernel must be one of {list(KERNELS)} ('numba': CPU, event-driven; "
            f"'torch': batched tensors on the CPU or a CUDA GPU), got {kernel!r}"
        )
    if kernel == "numba" and any(v is not None for v in given.values()):
        bad = {k: v for k, v in given.items() if v is not None}
        raise ValueError(
            f"{', '.join(_TORCH_ONLY)} are options of kernel='torch'; got {bad} with "
            "kernel='numba'. Add kernel='torch' or drop them."
        )
    if len(tuple(array_size)) != 2:
        raise ValueError(f"array_size must be (rows, cols), got {array_size!r}")
    if threads is not None and int(threads) < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")


def sample_keys(batch: SpikeBatch, seed: int) -> np.ndarray:
    """Read-noise stream key of each sample: a key drawn from ``seed`` XOR a digest of the
    sample's events, so a sample's noise does not depend on its batch or position."""
    base = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(3)[2])
    k0 = int(base.integers(0, 2**63, dtype=np.int64))
    keys = np.zeros(len(batch), dtype=np.uint64)
    for b in range(len(batch)):
        s, c, v = batch.sample(b)
        h = hashlib.blake2b(s.tobytes() + c.tobytes() + v.tobytes(), digest_size=8)
        keys[b] = np.uint64(int.from_bytes(h.digest(), "little") ^ k0)
    return keys


def _torch_options(
    device: str | None, dtype: str | None, batch_size: int | None, sum_order: str | None
) -> dict[str, Any]:
    """Checked options of ``kernel="torch"`` (imports torch; BackendUnavailable without it)."""
    missing = [m for m in ("torch", "norse") if importlib.util.find_spec(m) is None]
    if missing:
        raise BackendUnavailable(
            f"crossbar kernel='torch' needs {', '.join(missing)}, which is not installed here. "
            f"Install it with: {install_command('torch')}; or use kernel='numba'"
        )
    from ..torch.backend import TORCH_DTYPES, resolve_device
    from .torch_kernel import SUM_ORDERS, default_device

    dtype = str(dtype or "float64").removeprefix("torch.")
    if dtype not in TORCH_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(TORCH_DTYPES)}, got {dtype!r}")
    sum_order = sum_order or "auto"
    if sum_order not in SUM_ORDERS:
        raise ValueError(f"sum_order must be one of {list(SUM_ORDERS)}, got {sum_order!r}")
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1 sample, got {batch_size}")
    dev = resolve_device(default_device() if device is None else device)
    if dev.type == "mps" and dtype == "float64":
        raise ValueError("device='mps' has no float64; use dtype='float32' or device='cpu'")
    if batch_size is None:
        batch_size = 128 if dev.type == "cpu" else 1024
    return {"device": dev, "dtype": dtype, "batch_size": int(batch_size), "sum_order": sum_order}


def _each_sample(one: Callable[[int], None], n: int, threads: int | None) -> None:
    """``one(b)`` for every sample b; in parallel threads (the kernel releases the GIL)."""
    n_threads = min(int(threads or numba.get_num_threads()), max(n, 1))
    if n_threads <= 1:
        for b in range(n):
            one(b)
    else:
        with ThreadPoolExecutor(n_threads) as ex:
            list(ex.map(one, range(n)))


@dataclass(eq=False)
class CrossbarSimulation:
    """A network programmed onto crossbar arrays, ready to run batches."""

    flat: FlatNetwork
    record: RecordSpec
    config: CrossbarConfig
    layers: list[Layer]
    programmed_network: Network
    exact: bool
    energy_model: EnergyModel
    threads: int | None = None
    kernel: str = "numba"
    torch_options: dict[str, Any] = field(default_factory=dict)  # kernel="torch" only

    def __post_init__(self) -> None:
        self._arrays = pack_arrays(self.layers, self.config, self.exact)
        self._torch = None
        if self.kernel == "torch":
            from .torch_kernel import TorchCrossbarKernel

            self._torch = TorchCrossbarKernel(
                self.flat, self.record, self.layers, exact=self.exact, gf=self._arrays.gf,
                gi=self._arrays.gi, seed=self.config.seed, threads=self.threads,
                **self.torch_options,
            )  # fmt: skip

    @property
    def device(self) -> RRAMDevice:
        return self.config.device

    def effective_options(self) -> dict[str, Any]:
        """Every option in force, as plain values (a run's metrics.json records them): the
        device preset and all its parameters (overrides applied), the array, converter and
        noise settings, the seed, the kernel and its options."""
        c = self.config
        out: dict[str, Any] = {
            "preset": c.device.name,
            "device_params": dataclasses.asdict(c.device),
            "weights": c.weights,
            "array_size": [c.array_rows, c.array_cols],
            **{k: getattr(c, k) for k in ("adc_bits", "adc_range", "dac_bits", "dac_range")},
            **{k: getattr(c, k) for k in ("ir_drop", "wire_r_ohm", "drift_time_s", "seed")},
            "kernel": self.kernel,
            "threads": self.threads,
            "exact_path": self.exact,
        }
        if self._torch is not None:
            k = self._torch
            out.update(device=str(k.device), dtype=k.dtype, sum_order=k.sum_order)
            out["batch_size"] = self.torch_options.get("batch_size")
        return out

    def __repr__(self) -> str:
        kw = dict(preset=self.config.device.name, kernel=self.kernel, exact=self.exact)
        return simulation_repr(self, self.flat, **kw)

    def run(self, batch: SpikeBatch) -> Recording:
        f = self.flat
        check_batch(batch, f.n_inputs, f.dt)
        keys = sample_keys(batch, self.config.seed)
        t0 = time.perf_counter()
        if self._torch is None:
            out = self._run_numba(batch, keys)
        else:
            out = self._torch.simulate(batch, keys)
        return self._recording(batch, out, time.perf_counter() - t0)

    def _run_numba(self, batch: SpikeBatch, keys: np.ndarray) -> XK.KernelOutput:
        f, rec = self.flat, self.record
        B, T, N = len(batch), batch.n_steps, f.n_neurons
        counts = np.zeros((B, rec.n_bins(T), N), dtype=np.int32)
        raster = np.zeros((B, T, N) if rec.raster else (1, 1, 1), dtype=np.uint8)
        vidx = np.asarray(rec.voltage, dtype=np.int64)
        vrec = np.zeros((B, T if len(vidx) else 0, len(vidx)))
        n_spk, n_syn = np.zeros(B, np.int64), np.zeros(B, np.int64)
        cnt = np.zeros((B, XK.N_COUNTERS), np.int64)
        ecell = np.zeros(B)
        vals = batch.values.astype(np.float64)
        net = XK.plain(XK.KernelNet.of(self._arrays, f))

        def one(b: int) -> None:  # each sample writes only its own slices
            lo, hi = batch.offsets[b], batch.offsets[b + 1]
            ev = (batch.steps[lo:hi], batch.channels[lo:hi], vals[lo:hi])
            r = raster[b] if rec.raster else raster[0]
            out = XK.Outputs(counts[b], r, rec.raster, vidx, vrec[b], rec.bin_width(T))
            n_spk[b], n_syn[b], ecell[b] = XK.simulate_sample(
                ev, T, net, tuple(out), keys[b], cnt[b]
            )

        _each_sample(one, B, self.threads)
        return XK.KernelOutput(counts, raster, vrec, n_spk, n_syn, cnt, ecell)

    def _recording(self, batch: SpikeBatch, out: XK.KernelOutput, wall: float) -> Recording:
        """The Recording (and energy extras) of either kernel's outputs."""
        f, B, T = self.flat, len(batch), batch.n_steps
        kinds = np.repeat(f.pop_kind, f.pop_stop - f.pop_start)
        extras: dict[str, Any] = estimate(
            out.cnt, out.ecell, out.n_syn, t_read_ns=self.device.t_read_ns,
            adc_bits=self.config.adc_bits, dac_bits=self.config.dac_bits,
            n_weight_bytes=4 * (f.inputs.nnz + f.recurrent.nnz), neuron_kinds=kinds,
            n_steps=T, model=self.energy_model,
        )  # fmt: skip
        extras.update({f"{k}_per_sample": v / max(B, 1) for k, v in extras["ops"].items()})
        extras.update(
            preset=self.device.name,
            weights=self.config.weights,
            exact_path=self.exact,
            ops_by_sample=out.cnt,
            kernel=self.kernel,
        )
        if self._torch is not None:
            k = self._torch
            extras.update(device=str(k.device), dtype=k.dtype, sum_order=k.sum_order)
        return dense_recording(
            f, self.record, T, out.counts, out.raster, out.vrec, out.n_spk, out.n_syn, wall,
            extras,
        )  # fmt: skip


class CrossbarBackend:
    """``get_backend("crossbar", preset="wan2022", ...)``: projections on RRAM crossbars.

    preset : device preset name ("ideal", "wan2022", "taox") or an ``RRAMDevice``.
    weights : "network" (program the network's weights) or "device" (one identical SET
        pulse per cell; the random conductances become the weights, Lin et al. 2025).
    kernel : "numba" (default: CPU, event-driven, one sample per thread) or "torch" (the batch
        as tensors on the CPU or a CUDA GPU; needs torch and norse). Both compute the same
        reads; the torch kernel's read-noise draws differ (same distribution), see
        torch_kernel.py for what agrees bit for bit.
    device, dtype, batch_size, sum_order : kernel="torch" only. device: torch device string
        (None: "cuda" when available, else "cpu"); dtype: "float64" (default, the reference)
        or "float32"; batch_size: samples simulated together (default 128 on the CPU, 1024 on a
        GPU; with read noise the draws depend on it); sum_order: "sequential" (numba's row
        order: bit-identical deterministic reads, CPU), "matmul" (a matrix product: equal to
        rounding, faster) or "auto" (default: sequential on the CPU in float64 without read
        noise, else matmul).
    array_size : (rows, cols) cells per array; 512 x 512 = 256 Kb; cols // 2 logical columns.
    adc_bits, adc_range : ADC resolution (None or 0 = infinite) and full scale ± in units of one
        full-window cell read at V_read, i.e. adc_range · V_read · (g_max − g_min) µA.
    dac_bits, dac_range : input-amplitude DAC (None or 0 = exact) over [0, dac_range] event values.
    ir_drop, wire_r_ohm : first-order IR drop with ``wire_r_ohm`` Ω per wire segment
        (default 0.35 Ω, aihwkit's default wire resistance).
    drift_time_s : read time after programming in s (0 = right after programming).
    seed : programming, relaxation and read-noise streams all derive from it.
    threads : threads for ``run`` (default: numba's, or torch's, thread count); results do not
        depend on it.
    ideal_fallback : with every non-ideality off, sum through the network's CSR exactly like
        the numba backend (bit-identical spikes); False forces the array arithmetic.
    energy : an ``EnergyModel`` (per-operation energies).
    **device_params : override fields of the preset (e.g. read_noise=0.02, p_stuck_min=0.01).
    """

    name = "crossbar"

    @staticmethod
    def keyword_options() -> list[str]:
        """What ``**device_params`` takes: the fields of ``RRAMDevice`` but its name."""
        return [f.name for f in dataclasses.fields(RRAMDevice) if f.name != "name"]

    def __init__(
        self,
        preset: str | RRAMDevice = "wan2022",
        *,
        weights: str = "network",
        kernel: str = "numba",
        array_size: tuple[int, int] = (512, 512),
        adc_bits: int | None = None,
        adc_range: float = 8.0,
        dac_bits: int | None = None,
        dac_range: float = 1.0,
        ir_drop: bool = False,
        wire_r_ohm: float = 0.35,
        drift_time_s: float = 0.0,
        seed: int = 0,
        threads: int | None = None,
        ideal_fallback: bool = True,
        energy: EnergyModel | None = None,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int | None = None,
        sum_order: str | None = None,
        **device_params: Any,
    ) -> None:
        given = dict(device=device, dtype=dtype, batch_size=batch_size, sum_order=sum_order)
        _check_options(kernel, given, array_size, threads)
        self.config = CrossbarConfig(
            device=get_device(preset, **device_params), weights=weights,
            array_rows=int(array_size[0]), array_cols=int(array_size[1]),
            adc_bits=_bits(adc_bits, "adc_bits"), adc_range=float(adc_range),
            dac_bits=_bits(dac_bits, "dac_bits"), dac_range=float(dac_range),
            ir_drop=bool(ir_drop), wire_r_ohm=float(wire_r_ohm),
            drift_time_s=float(drift_time_s), seed=int(seed),
        )  # fmt: skip
        self.threads = threads
        self.ideal_fallback = bool(ideal_fallback)
        self.energy = energy or EnergyModel()
        self.kernel = kernel
        self.torch_options = _torch_options(**given) if kernel == "torch" else {}

    def _check_ir_drop(self, layers: list[Layer]) -> None:
        cfg = self.config
        kappa = max(
            cfg.wire_r_ohm
            * 0.5
            * (ly.gp.mean() + ly.gm.mean())
            * 1e-6
            * max(min(ly.shape[0], cfg.array_rows), min(2 * ly.shape[1], cfg.array_cols)) ** 2
            / 2
            for ly in layers
        )
        if kappa > 0.1:
            log.warning(
                "crossbar IR drop: r*G*n^2/2 = %.3g in the fullest array; the first-order model "
                "is only valid well below 1 (use smaller arrays, lower wire_r_ohm or "
                "conductances)",
                kappa,
            )

    def compile(self, net: Network, *, dt: float, record: RecordSpec) -> CrossbarSimulation:
        flat = prepare(net, dt)
        sizes = {x.name: x.size for x in (*net.inputs, *net.populations)}
        cells = sum(sizes[p.source] * sizes[p.target] for p in net.projections)
        if cells > _MAX_CELLS:
            raise ValueError(
                f"the network needs {cells} dense cell pairs (> {_MAX_CELLS}); the crossbar "
                "backend stores every array densely. Use a smaller network."
            )
        layers, programmed = build_layers(net, self.config)
        if self.config.ir_drop and layers:
            self._check_ir_drop(layers)
        exact = self.ideal_fallback and self.config.is_ideal
        return CrossbarSimulation(
            flat=flat,
            record=record,
            config=self.config,
            layers=layers,
            programmed_network=programmed,
            exact=exact,
            energy_model=self.energy,
            threads=self.threads,
            kernel=self.kernel,
            torch_options=dict(self.torch_options),
        )
