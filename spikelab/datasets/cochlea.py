"""A silicon-cochlea model: waveform -> 64-channel spike events (N-TIDIGITS style).

The model follows the signal chain of the CochleaAMS1b sensor that recorded
N-TIDIGITS (Anumula et al. 2018), in software and in five stages:

0. **Input**: resampled to ``sample_rate_hz`` (polyphase), pre-emphasised by the
   first-order high-pass ``y[n] = x[n] - preemphasis * x[n-1]`` (outer/middle ear;
   +6 dB/octave above ~160 Hz at 0.95), then scaled to ``reference_rms`` (a crude
   automatic gain control; ``None`` keeps the level).
1. **Band-pass filterbank**: ``n_channels`` filters whose centre frequencies are
   log-spaced from ``f_min_hz`` to ``f_max_hz`` (channel 0 is the lowest).
   ``filter="gammatone"`` (default) uses the exact gammatone impulse response
   ``h(t) = t**(n-1) * exp(-2 pi b t) * cos(2 pi f_c t)`` with
   ``b = bandwidth_scale * ERB(f_c)`` and ``ERB(f) = 24.7 + 0.108 f`` Hz
   (Glasberg & Moore 1990), applied by FFT convolution for all channels at once.
   ``filter="butterworth"`` uses a Butterworth band-pass per channel of bandwidth
   ``bandwidth_scale * ERB(f_c)`` (``scipy.signal.sosfilt``). Both are normalised
   to unit gain at the centre frequency.
2. **Inner hair cell**: half- (or full-) wave rectification, then instantaneous
   compression (``x**compression_exponent`` or ``log1p(x / log_reference)``),
   then an optional 2nd-order low-pass at ``lowpass_hz`` (loss of phase locking).
3. **Spike generation per channel**: ``spike_model="lif"`` drives a leaky
   integrate-and-fire neuron, exact exponential update per sample,
   ``v[n] = a v[n-1] + (1 - a) * gain * drive[n]`` with ``a = exp(-dt / tau_s)``,
   a spike and reset to 0 when ``v >= threshold``, then ``refractory_s`` of silence.
   A channel fires only when ``gain * drive > threshold``, so the threshold doubles
   as a noise floor. ``spike_model="delta"`` is a delta modulator on the drive:
   an ON event (p=1) each time it rises by ``delta_step`` above the last reference
   level, an OFF event (p=0) each time it falls by ``delta_step``.
4. **Events**: a structured array with tonic's N-TIDIGITS dtype ``(t, x, p)``, all
   int64: ``t`` in microseconds (truncated from seconds exactly as tonic does),
   ``x`` the channel, ``p`` = 1 (tonic's ``NTIDIGITS18`` sets p = 1 on every event;
   the file format has no polarity). Events are sorted by time, then channel.

The spike loops run in numba (compiled on first use and cached); everything else is
vectorised numpy/scipy. Importing this module imports numpy only (scipy and numba load
on use). See docs/audio.md for the parameters and their defaults.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

__all__ = [
    "AUDIO_EVENT_DTYPE",
    "CochleaConfig",
    "cochlea_drive",
    "cochlea_events",
    "cochlea_spike_times",
    "erb_hz",
    "events_from_spike_times",
    "FSDD_COCHLEA_OPTIONS",
    "fsdd_cochlea",
]

#: tonic's ``NTIDIGITS18.dtype``: t (microseconds), x (channel), p (polarity), all int64.
AUDIO_EVENT_DTYPE = np.dtype([("t", np.int64), ("x", np.int64), ("p", np.int64)])


def erb_hz(f_hz: np.ndarray | float) -> np.ndarray:
    """Equivalent rectangular bandwidth in Hz at frequency ``f_hz`` (Glasberg & Moore 1990)."""
    return 24.7 + 0.108 * np.asarray(f_hz, dtype=np.float64)


@dataclass(frozen=True, kw_only=True)
class CochleaConfig:
    """Parameters of the cochlea model (units in the names: Hz, s).

    Defaults give about 1,400 events per spoken digit (0.5-1.2 s) with the synthetic
    speech of ``spikelab.datasets.speech`` and silence for noise 30 dB below
    the speech; they were chosen for that and for tone selectivity (docs/audio.md),
    not fitted to the CochleaAMS1b chip.
    """

    n_channels: int = 64
    f_min_hz: float = 100.0
    f_max_hz: float = 8000.0
    filter: Literal["gammatone", "butterworth"] = "gammatone"
    filter_order: int = 4
    bandwidth_scale: float = 1.019
    sample_rate_hz: float = 20000.0
    preemphasis: float = 0.95
    reference_rms: float | None = 0.05
    rectification: Literal["half", "full"] = "half"
    compression: Literal["power", "log", "none"] = "power"
    compression_exponent: float = 0.5
    log_reference: float = 1e-3
    lowpass_hz: float | None = 1000.0
    spike_model: Literal["lif", "delta"] = "lif"
    gain: float = 20.0
    tau_s: float = 0.002
    threshold: float = 1.0
    refractory_s: float = 0.001
    delta_step: float = 0.05

    def __post_init__(self) -> None:
        self._check_bands()
        for name, allowed in (
            ("filter", ("gammatone", "butterworth")),
            ("rectification", ("half", "full")),
            ("compression", ("power", "log", "none")),
            ("spike_model", ("lif", "delta")),
        ):
            self._check_choice(name, allowed)
        self._check_ranges()
        if self.spike_model == "delta" and self.lowpass_hz is None:
            raise ValueError("spike_model='delta' needs an envelope: set lowpass_hz (e.g. 1000.0)")

    def _check_bands(self) -> None:
        """Channel count and frequency range, which must stay below the Nyquist frequency."""
        if not isinstance(self.n_channels, int) or self.n_channels < 1:
            raise ValueError(f"n_channels must be a positive int, got {self.n_channels!r}")
        if not 0 < self.f_min_hz < self.f_max_hz:
            raise ValueError(
                f"need 0 < f_min_hz < f_max_hz, got f_min_hz={self.f_min_hz} Hz, "
                f"f_max_hz={self.f_max_hz} Hz"
            )
        if self.f_max_hz + 0.5 * self.bandwidth_scale * erb_hz(self.f_max_hz) >= (
            0.5 * self.sample_rate_hz
        ):
            raise ValueError(
                f"f_max_hz={self.f_max_hz} Hz plus half its bandwidth reaches the Nyquist "
                f"frequency of sample_rate_hz={self.sample_rate_hz} Hz; raise sample_rate_hz "
                f"or lower f_max_hz"
            )

    def _check_ranges(self) -> None:
        """Numeric parameters inside their valid ranges."""
        if not isinstance(self.filter_order, int) or not 1 <= self.filter_order <= 8:
            raise ValueError(f"filter_order must be an int in 1..8, got {self.filter_order!r}")
        for name in ("bandwidth_scale", "gain", "tau_s", "threshold", "delta_step"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0 < self.compression_exponent <= 1:
            raise ValueError(
                f"compression_exponent must be in (0, 1], got {self.compression_exponent!r}"
            )
        if self.refractory_s < 0:
            raise ValueError(f"refractory_s must be >= 0 s, got {self.refractory_s!r}")
        if not 0 <= self.preemphasis < 1:
            raise ValueError(f"preemphasis must be in [0, 1), got {self.preemphasis!r}")
        if self.reference_rms is not None and not self.reference_rms > 0:
            raise ValueError(f"reference_rms must be > 0 or None, got {self.reference_rms!r}")
        if self.lowpass_hz is not None and not 0 < self.lowpass_hz < 0.5 * self.sample_rate_hz:
            raise ValueError(
                f"lowpass_hz must be None or in (0, {0.5 * self.sample_rate_hz}) Hz, "
                f"got {self.lowpass_hz!r}"
            )

    def _check_choice(self, name: str, allowed: tuple[str, ...]) -> None:
        value = getattr(self, name)
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}")

    def centre_frequencies(self) -> np.ndarray:
        """Channel centre frequencies in Hz, log-spaced, ascending (channel 0 lowest)."""
        return np.geomspace(self.f_min_hz, self.f_max_hz, self.n_channels)

    def bandwidths(self) -> np.ndarray:
        """Channel bandwidths in Hz: ``bandwidth_scale * ERB(f_c)``."""
        return self.bandwidth_scale * erb_hz(self.centre_frequencies())

    def band_edges(self) -> np.ndarray:
        """Channel boundaries in Hz, shape ``(n_channels + 1,)``: geometric midpoints
        between neighbouring centres; channel ``c`` is "the" channel of a tone in
        ``[edges[c], edges[c + 1])``."""
        fc = self.centre_frequencies()
        if self.n_channels == 1:
            return np.array([self.f_min_hz / 2, self.f_max_hz * 2])
        mid = np.sqrt(fc[:-1] * fc[1:])
        ratio = fc[1] / fc[0]
        return np.concatenate([[fc[0] / np.sqrt(ratio)], mid, [fc[-1] * np.sqrt(ratio)]])

    def channel_of(self, f_hz: float) -> int:
        """Index of the channel whose band (see ``band_edges``) contains ``f_hz``."""
        idx = int(np.searchsorted(self.band_edges(), f_hz, side="right")) - 1
        return int(np.clip(idx, 0, self.n_channels - 1))


#: The parameters of :func:`fsdd_cochlea` that differ from ``CochleaConfig()``'s.
FSDD_COCHLEA_OPTIONS: dict[str, float] = {
    "sample_rate_hz": 8000.0,
    "f_min_hz": 100.0,
    "f_max_hz": 3500.0,
}


def fsdd_cochlea(**overrides: object) -> CochleaConfig:
    """The cochlea for 8 kHz recordings (FSDD, telephone speech): the model runs at the
    recordings' own rate (``sample_rate_hz = 8000``, no resampling), and the 64 bands are
    log-spaced from 100 Hz to 3.5 kHz so that the top band plus half its bandwidth
    (3.5 kHz + 0.5 * 1.019 * ERB(3.5 kHz) = 3.71 kHz) stays below the 4 kHz Nyquist
    frequency: an 8 kHz file holds nothing above 4 kHz, and the default 8 kHz top band
    would be refused. Every other parameter is ``CochleaConfig``'s default; ``overrides``
    (any ``CochleaConfig`` field) replace them. See docs/audio.md, "Real speech"."""
    return CochleaConfig(**{**FSDD_COCHLEA_OPTIONS, **overrides})  # type: ignore[arg-type]


# ---------------------------------------------------------------- filterbank


@functools.lru_cache(maxsize=8)
def _gammatone_kernels(config: CochleaConfig) -> np.ndarray:
    """Gammatone impulse responses ``(n_channels, n_taps)`` at ``config.sample_rate_hz``,
    unit gain at each centre frequency; long enough for the slowest channel to decay
    by ~75 dB."""
    fs = config.sample_rate_hz
    fc = config.centre_frequencies()
    b = config.bandwidths()
    n = config.filter_order
    n_taps = int(np.ceil(fs * (n + 13) / (2 * np.pi * b.min())))
    t = np.arange(n_taps) / fs
    env = t[None, :] ** (n - 1) * np.exp(-2 * np.pi * b[:, None] * t[None, :])
    kernels = env * np.cos(2 * np.pi * fc[:, None] * t[None, :])
    response = np.abs(np.sum(kernels * np.exp(-2j * np.pi * fc[:, None] * t[None, :]), axis=1))
    kernels /= response[:, None]
    kernels.setflags(write=False)
    return kernels


@functools.lru_cache(maxsize=8)
def _butterworth_sos(config: CochleaConfig) -> np.ndarray:
    """Butterworth band-pass sections ``(n_channels, n_sections, 6)``."""
    from scipy import signal

    fc, bw = config.centre_frequencies(), config.bandwidths()
    lo = np.maximum(fc - bw / 2, 1.0)
    hi = np.minimum(fc + bw / 2, 0.49 * config.sample_rate_hz)
    sos = np.stack(
        [
            signal.butter(
                config.filter_order,
                [lo[c], hi[c]],
                btype="bandpass",
                output="sos",
                fs=config.sample_rate_hz,
            )
            for c in range(config.n_channels)
        ]
    )
    # Unit gain at the centre frequency: |H| = prod over sections of |B(z)| / |A(z)|.
    z = np.exp(-2j * np.pi * fc / config.sample_rate_hz)[:, None, None] ** np.arange(3)
    gain = np.abs(np.sum(sos[:, :, :3] * z, axis=2) / np.sum(sos[:, :, 3:] * z, axis=2))
    sos[:, 0, :3] /= np.prod(gain, axis=1)[:, None]
    sos.setflags(write=False)
    return sos


@functools.lru_cache(maxsize=16)
def _gammatone_spectra(config: CochleaConfig, n_fft: int) -> np.ndarray:
    """``rfft`` of the gammatone kernels, zero-padded to ``n_fft``."""
    from scipy import fft as sp_fft

    spectra = sp_fft.rfft(_gammatone_kernels(config), n_fft, axis=1)
    spectra.setflags(write=False)
    return spectra


def _filterbank(x: np.ndarray, config: CochleaConfig) -> np.ndarray:
    """Basilar-membrane output ``(n_channels, n_samples)`` for waveform ``x``."""
    from scipy import fft as sp_fft
    from scipy import signal

    if config.filter == "gammatone":
        n_taps = _gammatone_kernels(config).shape[1]
        # Round the FFT size up to a multiple of 8192 samples so that utterances of
        # similar length share one cached set of kernel spectra.
        n_fft = sp_fft.next_fast_len(-(-(x.size + n_taps - 1) // 8192) * 8192, real=True)
        spectrum = sp_fft.rfft(x, n_fft)[None, :] * _gammatone_spectra(config, n_fft)
        return sp_fft.irfft(spectrum, n_fft, axis=1)[:, : x.size]
    sos = _butterworth_sos(config)
    return np.stack([signal.sosfilt(np.array(sos[c]), x) for c in range(config.n_channels)])


def _prepare_waveform(waveform: np.ndarray, sample_rate: float, config: CochleaConfig):
    from scipy import signal

    x = np.asarray(waveform, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"waveform must be 1-D (mono), got shape {x.shape}; average the channels")
    if not np.all(np.isfinite(x)):
        raise ValueError("waveform contains NaN or inf samples")
    if not sample_rate > 0:
        raise ValueError(f"sample_rate must be > 0 Hz, got {sample_rate!r}")
    if sample_rate != config.sample_rate_hz and x.size:
        ratio = Fraction(config.sample_rate_hz / sample_rate).limit_denominator(1000)
        x = signal.resample_poly(x, ratio.numerator, ratio.denominator)
    if config.preemphasis > 0 and x.size:
        x = signal.lfilter([1.0, -config.preemphasis], [1.0], x)
    if config.reference_rms is not None and x.size:
        rms = float(np.sqrt(np.mean(x**2)))
        if rms > 0:
            x = x * (config.reference_rms / rms)
    return x


def cochlea_drive(
    waveform: np.ndarray, sample_rate: float, config: CochleaConfig | None = None
) -> np.ndarray:
    """Inner-hair-cell output ``(n_channels, n_samples)`` at ``config.sample_rate_hz``:
    filterbank, rectification, compression and low-pass (stages 1-2 of the module doc).

    ``waveform`` is mono, any amplitude units; ``sample_rate`` in Hz.
    """
    from scipy import signal

    config = CochleaConfig() if config is None else config
    x = _prepare_waveform(waveform, sample_rate, config)
    if x.size == 0:
        return np.zeros((config.n_channels, 0))
    bm = _filterbank(x, config)
    drive = np.maximum(bm, 0.0) if config.rectification == "half" else np.abs(bm)
    if config.compression == "power":
        drive = drive**config.compression_exponent
    elif config.compression == "log":
        drive = np.log1p(drive / config.log_reference)
    if config.lowpass_hz is not None:
        sos = signal.butter(2, config.lowpass_hz, output="sos", fs=config.sample_rate_hz)
        drive = np.maximum(signal.sosfilt(sos, drive, axis=1), 0.0)
    return drive


# ------------------------------------------------------------ spike generators


def _lif_kernel(drive, alpha, gain, threshold, refractory):  # pragma: no cover - numba
    n_ch, n = drive.shape
    out_n = np.empty(n_ch * 64 + n // 4, dtype=np.int64)
    out_c = np.empty_like(out_n)
    k = 0
    for c in range(n_ch):
        v = 0.0
        dead = 0
        for i in range(n):
            if dead > 0:
                dead -= 1
                continue
            v = alpha * v + (1.0 - alpha) * gain * drive[c, i]
            if v >= threshold:
                if k == out_n.size:
                    out_n = np.concatenate((out_n, np.empty_like(out_n)))
                    out_c = np.concatenate((out_c, np.empty_like(out_c)))
                out_n[k] = i
                out_c[k] = c
                k += 1
                v = 0.0
                dead = refractory
    return out_n[:k], out_c[:k], np.ones(k, dtype=np.int64)


def _delta_kernel(drive, step, refractory):  # pragma: no cover - numba
    n_ch, n = drive.shape
    out_n = np.empty(n_ch * 64 + n // 4, dtype=np.int64)
    out_c = np.empty_like(out_n)
    out_p = np.empty_like(out_n)
    k = 0
    for c in range(n_ch):
        ref = drive[c, 0] if n > 0 else 0.0
        dead = 0
        for i in range(n):
            if dead > 0:
                dead -= 1
                continue
            d = drive[c, i] - ref
            if d >= step or d <= -step:
                if k == out_n.size:
                    out_n = np.concatenate((out_n, np.empty_like(out_n)))
                    out_c = np.concatenate((out_c, np.empty_like(out_c)))
                    out_p = np.concatenate((out_p, np.empty_like(out_p)))
                out_n[k] = i
                out_c[k] = c
                out_p[k] = 1 if d > 0 else 0
                ref += step if d > 0 else -step
                k += 1
                dead = refractory
    return out_n[:k], out_c[:k], out_p[:k]


@functools.cache
def _jit(name: str):
    """Compile a spike kernel with numba on first use (cached on disk)."""
    from numba import njit

    return njit(cache=True, nogil=True)({"lif": _lif_kernel, "delta": _delta_kernel}[name])


def _spikes(drive: np.ndarray, config: CochleaConfig):
    """Spike sample indices, channels and polarities from the hair-cell drive."""
    fs = config.sample_rate_hz
    refractory = int(round(config.refractory_s * fs))
    drive = np.ascontiguousarray(drive, dtype=np.float64)
    if config.spike_model == "lif":
        alpha = float(np.exp(-1.0 / (fs * config.tau_s)))
        return _jit("lif")(drive, alpha, float(config.gain), float(config.threshold), refractory)
    return _jit("delta")(drive, float(config.delta_step), refractory)


def cochlea_spike_times(
    waveform: np.ndarray, sample_rate: float, config: CochleaConfig | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spike times in seconds (float64), channels and polarities (int64), sorted by
    time then channel. Times are ``sample_index / config.sample_rate_hz``, measured
    from the first input sample. This is what an N-TIDIGITS file stores."""
    config = CochleaConfig() if config is None else config
    drive = cochlea_drive(waveform, sample_rate, config)
    n, c, p = _spikes(drive, config)
    order = np.lexsort((c, n))
    return n[order] / config.sample_rate_hz, c[order], p[order]


def events_from_spike_times(
    times_s: np.ndarray, channels: np.ndarray, polarities: np.ndarray | int = 1
) -> np.ndarray:
    """Structured events (``AUDIO_EVENT_DTYPE``) from times in s; ``t`` in microseconds is
    truncated from ``times_s * 1e6`` exactly as tonic's ``NTIDIGITS18`` does."""
    times_s = np.asarray(times_s, dtype=np.float64)
    events = np.empty(times_s.shape, dtype=AUDIO_EVENT_DTYPE)
    events["t"] = (times_s * 1e6).astype(np.int64)
    events["x"] = channels
    events["p"] = polarities
    return events


def cochlea_events(
    waveform: np.ndarray, sample_rate: float, config: CochleaConfig | None = None
) -> np.ndarray:
    """Waveform -> spike events, a structured array of ``AUDIO_EVENT_DTYPE`` (t in µs, x
    channel 0..n_channels-1 ascending in frequency, p polarity: 1 for LIF spikes and
    delta ON events, 0 for delta OFF events).

    ``waveform`` is mono (1-D) at ``sample_rate`` Hz; it is resampled to
    ``config.sample_rate_hz`` and normalised to ``config.reference_rms``.
    """
    return events_from_spike_times(*cochlea_spike_times(waveform, sample_rate, config))
