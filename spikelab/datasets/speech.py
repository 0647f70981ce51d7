"""Offline spoken-digit synthesis with speaker variation (no data, no network).

Two synthesisers:

- ``"formant"`` (default, deterministic, pure numpy/scipy plus one numba loop):
  a small Klatt-style source-filter synthesiser. Each digit word is a phoneme
  string (``DIGIT_PHONEMES``); each phoneme has formant targets F1-F3 (adult
  male values after Peterson & Barney 1952 and Klatt 1980), a duration, and
  voicing / frication / aspiration amplitudes. A Rosenberg glottal pulse train
  (plus aspiration noise) drives a cascade of five time-varying formant
  resonators; fricatives and stop bursts are band-passed noise added in parallel.
- ``"espeak"``: the ``espeak-ng`` program, when it is installed, with the
  speaker's voice variant, pitch and rate, then the same noise and level
  variation. Its output depends on the installed espeak-ng version.

A :class:`Speaker` holds what stays fixed across one talker's utterances
(gender, mean pitch, formant scaling, speaking rate, voice quality, accent);
:func:`synthesize_digits` adds per-utterance variation (durations, pitch
contour, jitter, level, microphone tilt, background noise, leading silence).
All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import signal
from scipy.io import wavfile

__all__ = [
    "DIGIT_PHONEMES",
    "DIGIT_WORDS",
    "Speaker",
    "espeak_available",
    "random_speaker",
    "synthesize_digits",
]

#: Label character (N-TIDIGITS spelling) -> English word.
DIGIT_WORDS: dict[str, str] = {
    "o": "oh",
    "z": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
}

#: Label character -> phoneme string (ARPAbet-like names of ``_PHONEMES``).
DIGIT_PHONEMES: dict[str, tuple[str, ...]] = {
    "o": ("ow",),
    "z": ("z", "ih", "r", "ow"),
    "1": ("w", "ah", "n"),
    "2": ("t", "uw"),
    "3": ("th", "r", "iy"),
    "4": ("f", "ao", "r"),
    "5": ("f", "ay", "v"),
    "6": ("s", "ih", "k", "s"),
    "7": ("s", "eh", "v", "ax", "n"),
    "8": ("ey", "t"),
    "9": ("n", "ay", "n"),
}


@dataclass(frozen=True)
class _Seg:
    """One acoustic segment: formants at start and end (Hz, None = keep neighbours'),
    duration (ms), voicing / frication / aspiration amplitudes, frication band (Hz)."""

    f_start: tuple[float, float, float] | None
    f_end: tuple[float, float, float] | None
    dur_ms: float
    av: float = 0.0
    af: float = 0.0
    ah: float = 0.0
    fric_hz: float = 0.0
    fric_bw_hz: float = 0.0


def _v(f1: float, f2: float, f3: float, dur: float, end=None, av: float = 1.0) -> list[_Seg]:
    return [_Seg((f1, f2, f3), end or (f1, f2, f3), dur, av=av)]


# Phoneme -> list of segments (stops expand to closure, burst, aspiration).
_PHONEMES: dict[str, list[_Seg]] = {
    "iy": _v(280, 2250, 2950, 170),
    "ih": _v(400, 1950, 2550, 100),
    "eh": _v(540, 1800, 2500, 110),
    "ey": _v(480, 1850, 2500, 190, end=(320, 2200, 2800)),
    "ah": _v(640, 1200, 2400, 120),
    "ax": _v(500, 1450, 2450, 60, av=0.8),
    "ao": _v(570, 860, 2450, 160),
    "ow": _v(540, 980, 2400, 220, end=(370, 780, 2300)),
    "uw": _v(330, 1150, 2250, 190, end=(300, 900, 2250)),
    "ay": _v(730, 1100, 2450, 220, end=(400, 1900, 2550)),
    "r": _v(320, 1100, 1450, 70, av=0.8),
    "w": _v(300, 650, 2200, 70, av=0.7),
    "n": _v(260, 1450, 2500, 80, av=0.35),
    "v": [
        _Seg(
            (300, 1300, 2300),
            (300, 1300, 2300),
            70,
            av=0.35,
            af=0.08,
            fric_hz=4000,
            fric_bw_hz=5000,
        )
    ],
    "z": [
        _Seg(
            (300, 1700, 2500),
            (300, 1700, 2500),
            110,
            av=0.3,
            af=0.35,
            fric_hz=5200,
            fric_bw_hz=2500,
        )
    ],
    "s": [_Seg(None, None, 130, af=0.5, fric_hz=5500, fric_bw_hz=2500)],
    "f": [_Seg(None, None, 120, af=0.12, fric_hz=5000, fric_bw_hz=6000)],
    "th": [_Seg(None, None, 110, af=0.10, fric_hz=5500, fric_bw_hz=5000)],
    "t": [
        _Seg(None, None, 55),
        _Seg(None, None, 12, af=0.6, fric_hz=4500, fric_bw_hz=3000),
        _Seg(None, None, 45, ah=0.25),
    ],
    "k": [
        _Seg(None, None, 60),
        _Seg(None, None, 15, af=0.5, fric_hz=2500, fric_bw_hz=1500),
        _Seg(None, None, 40, ah=0.2),
    ],
}

_BANDWIDTHS_HZ = np.array([70.0, 100.0, 160.0, 250.0, 300.0])
_F4_HZ, _F5_HZ = 3500.0, 4500.0


@dataclass(frozen=True, kw_only=True)
class Speaker:
    """One synthetic talker.

    Attributes: ``speaker_id`` (two letters, as in N-TIDIGITS), ``gender``
    (``"man"`` or ``"woman"``), ``f0_hz`` mean pitch, ``formant_scale`` per
    formant F1-F3 (vocal tract length; 1.0 = adult male table), ``rate``
    speaking-rate factor (>1 faster), ``open_quotient`` of the glottal pulse,
    ``breathiness`` (aspiration relative to voicing), ``accent`` a per-phoneme
    formant perturbation seed, ``espeak_voice`` the espeak-ng variant.
    """

    speaker_id: str
    gender: Literal["man", "woman"]
    f0_hz: float
    formant_scale: tuple[float, float, float]
    rate: float
    open_quotient: float
    breathiness: float
    accent: int
    espeak_voice: str


def random_speaker(rng: np.random.Generator, speaker_id: str, gender: str) -> Speaker:
    """Draw a speaker: men f0 ~ 85-155 Hz, women 165-255 Hz; women's formants
    ~17 % higher; rate 0.8-1.25; open quotient 0.45-0.75; breathiness 0-0.3."""
    if gender not in ("man", "woman"):
        raise ValueError(f"gender must be 'man' or 'woman', got {gender!r}")
    woman = gender == "woman"
    f0 = rng.uniform(165, 255) if woman else rng.uniform(85, 155)
    base = rng.normal(1.17 if woman else 1.0, 0.04)
    scale = tuple(float(base * rng.normal(1.0, 0.03)) for _ in range(3))
    variants = ("f1", "f2", "f3", "f4", "f5") if woman else ("m1", "m2", "m3", "m4", "m6", "m7")
    return Speaker(
        speaker_id=speaker_id,
        gender=gender,  # type: ignore[arg-type]
        f0_hz=float(f0),
        formant_scale=scale,  # type: ignore[arg-type]
        rate=float(rng.uniform(0.8, 1.25)),
        open_quotient=float(rng.uniform(0.45, 0.75)),
        breathiness=float(rng.uniform(0.0, 0.3)),
        accent=int(rng.integers(2**31)),
        espeak_voice=f"en-us+{variants[int(rng.integers(len(variants)))]}",
    )


# ------------------------------------------------------------------ formant path


def _cascade_kernel(x, b, c):  # pragma: no cover - compiled by numba
    y = x.copy()
    for k in range(b.shape[0]):
        y1 = 0.0
        y2 = 0.0
        for n in range(y.size):
            out = (1.0 - b[k, n] - c[k, n]) * y[n] + b[k, n] * y1 + c[k, n] * y2
            y2 = y1
            y1 = out
            y[n] = out
    return y


@functools.cache
def _cascade():
    from numba import njit

    return njit(cache=True, nogil=True)(_cascade_kernel)


def _segments(digits: str, speaker: Speaker, rng: np.random.Generator, pause_ms: float):
    """Expand digit labels to segments with speaker/utterance-specific durations
    and formants. Returns list of (_Seg, duration_s, formants_start, formants_end)."""
    accent = np.random.default_rng(speaker.accent)
    shifts = {name: accent.normal(1.0, 0.05, 3) for name in sorted(_PHONEMES)}
    scale = np.asarray(speaker.formant_scale)
    out = []
    for i, d in enumerate(digits):
        if i:
            out.append(
                (_Seg(None, None, pause_ms), pause_ms * rng.uniform(0.6, 1.4) / 1e3, None, None)
            )
        for ph in DIGIT_PHONEMES[d]:
            for seg in _PHONEMES[ph]:
                dur = seg.dur_ms / speaker.rate * rng.lognormal(0.0, 0.12) / 1e3
                fs_ = None if seg.f_start is None else np.multiply(seg.f_start, scale * shifts[ph])
                fe_ = None if seg.f_end is None else np.multiply(seg.f_end, scale * shifts[ph])
                out.append((seg, dur, fs_, fe_))
    return out


def _tracks(segs, n: int, fs: float):
    """Per-sample formant (3, n) and amplitude (av, af, ah) tracks."""
    bounds = np.concatenate([[0.0], np.cumsum([s[1] for s in segs])])
    key_t, key_f = [], []
    for (_, dur, f0_, f1_), t0 in zip(segs, bounds[:-1], strict=True):
        if f0_ is not None:
            key_t += [t0 + 0.2 * dur, t0 + 0.8 * dur]
            key_f += [f0_, f1_]
    if not key_t:
        key_t, key_f = [0.0], [np.array([500.0, 1500.0, 2500.0])]
    t = np.arange(n) / fs
    kf = np.asarray(key_f)
    formants = np.stack([np.interp(t, key_t, kf[:, j]) for j in range(3)])
    idx = np.clip(np.searchsorted(bounds, t, side="right") - 1, 0, len(segs) - 1)
    amps = np.array([[s[0].av, s[0].af, s[0].ah] for s in segs])[idx].T
    ramp = max(int(0.008 * fs), 1)
    win = np.hanning(2 * ramp + 1)
    amps = signal.oaconvolve(amps, (win / win.sum())[None, :], mode="same", axes=1)
    return formants, np.maximum(amps, 0.0), idx, bounds


def _glottal_source(f0: np.ndarray, fs: float, oq: float) -> np.ndarray:
    """Differentiated Rosenberg pulse train for a per-sample f0 track (Hz)."""
    phase = np.cumsum(f0 / fs) % 1.0
    rise = 0.6 * oq
    flow = np.where(
        phase < rise,
        0.5 * (1 - np.cos(np.pi * phase / rise)),
        np.where(phase < oq, np.cos(0.5 * np.pi * (phase - rise) / (oq - rise)), 0.0),
    )
    return np.diff(flow, prepend=0.0) * (fs / 100.0)


def _formant_waveform(digits, speaker, rng, fs, pause_ms):
    segs = _segments(digits, speaker, rng, pause_ms)
    n = int(np.ceil(sum(s[1] for s in segs) * fs)) + 1
    formants, (av, af, ah), idx, bounds = _tracks(segs, n, fs)
    t = np.arange(n) / fs
    contour = np.interp(t, [0, t[-1]], [rng.uniform(1.0, 1.2), rng.uniform(0.75, 0.95)])
    wobble = signal.sosfiltfilt(signal.butter(2, 8, fs=fs, output="sos"), rng.normal(0, 1, n))
    f0 = speaker.f0_hz * contour * (1 + 0.02 * wobble / (wobble.std() + 1e-12))
    shimmer = 1 + 0.05 * rng.normal(0, 1, n).cumsum() / np.sqrt(n)
    noise = rng.normal(0, 1, n)
    excitation = av * shimmer * _glottal_source(f0, fs, speaker.open_quotient)
    excitation += (ah + speaker.breathiness * av) * 0.3 * noise
    scale = float(np.mean(speaker.formant_scale))
    all_f = np.vstack([formants, np.full((1, n), _F4_HZ * scale), np.full((1, n), _F5_HZ * scale)])
    bw = _BANDWIDTHS_HZ[:, None] * (1 + 0.3 * speaker.breathiness)
    r = np.exp(-np.pi * bw / fs)
    b = 2 * r * np.cos(2 * np.pi * np.minimum(all_f, 0.45 * fs) / fs)
    c = np.broadcast_to(-(r**2), b.shape)
    voiced = _cascade()(
        np.ascontiguousarray(excitation), np.ascontiguousarray(b), np.ascontiguousarray(c)
    )
    fric = np.zeros(n)
    for k, (seg, _, _, _) in enumerate(segs):
        if seg.af <= 0:
            continue
        lo = max(seg.fric_hz - seg.fric_bw_hz / 2, 300.0) * scale
        hi = min((seg.fric_hz + seg.fric_bw_hz / 2) * scale, 0.45 * fs)
        sos = signal.butter(2, [lo, min(hi, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
        a, z = int(bounds[k] * fs), min(int(bounds[k + 1] * fs) + int(0.02 * fs), n)
        a = max(a - int(0.02 * fs), 0)
        fric[a:z] += signal.sosfilt(sos, rng.normal(0, 1, z - a)) * af[a:z] * (idx[a:z] == k)
    speech = voiced + 2.8 * fric
    fade = min(int(0.015 * fs), n // 2)  # 15 ms raised-cosine fade in and out: no clicks
    window = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    speech[:fade] *= window
    speech[n - fade :] *= window[::-1]
    return speech


# ------------------------------------------------------------------- espeak path


def espeak_available() -> bool:
    """True when the ``espeak-ng`` program is on PATH."""
    return shutil.which("espeak-ng") is not None


def _espeak_waveform(digits: str, speaker: Speaker, fs: float) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(
            "synthesizer='espeak' needs the espeak-ng program (apt install espeak-ng); "
            "use synthesizer='formant' otherwise"
        )
    text = " ".join(DIGIT_WORDS[d] for d in digits)
    pitch = int(np.clip((speaker.f0_hz - 70) / 2.2, 0, 99))
    speed = int(np.clip(165 * speaker.rate, 80, 400))
    with tempfile.TemporaryDirectory(prefix="spikelab-espeak-") as tmp:
        wav = Path(tmp) / "out.wav"  # --stdout writes a header without a length
        cmd = [exe, "-v", speaker.espeak_voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav)]
        subprocess.run([*cmd, text], capture_output=True, check=True, timeout=60)
        rate, data = wavfile.read(wav)
    x = data.astype(np.float64) / 32768.0
    ratio = Fraction(fs / rate).limit_denominator(1000)
    return signal.resample_poly(x, ratio.numerator, ratio.denominator)


# -------------------------------------------------------------------- public API


def synthesize_digits(
    digits: str,
    speaker: Speaker,
    rng: np.random.Generator,
    *,
    sample_rate: float = 20000.0,
    synthesizer: Literal["formant", "espeak"] = "formant",
    snr_db: tuple[float, float] = (30.0, 50.0),
    pause_ms: float = 120.0,
) -> np.ndarray:
    """Waveform (float64, peak about 0.1-0.5) of ``digits`` spoken by ``speaker``.

    ``digits`` uses N-TIDIGITS characters ``o z 1..9`` (e.g. ``"7"`` or ``"3o9"``);
    ``sample_rate`` in Hz; background white noise at an SNR drawn uniformly from
    ``snr_db`` (dB, relative to the speech power); 50-250 ms of leading and
    80-200 ms of trailing silence (noise only).
    """
    bad = [d for d in digits if d not in DIGIT_WORDS]
    if not digits or bad:
        raise ValueError(
            f"digits must be a non-empty string of {''.join(DIGIT_WORDS)}, got {digits!r}"
        )
    if synthesizer == "formant":
        speech = _formant_waveform(digits, speaker, rng, sample_rate, pause_ms)
    elif synthesizer == "espeak":
        speech = _espeak_waveform(digits, speaker, sample_rate)
    else:
        raise ValueError(f"synthesizer must be 'formant' or 'espeak', got {synthesizer!r}")
    tilt = rng.uniform(-0.6, 0.6)  # microphone / channel colouring: 1st-order tilt
    speech = signal.lfilter([1.0, -tilt], [1.0], speech)
    speech *= rng.uniform(0.1, 0.5) / (np.max(np.abs(speech)) + 1e-12)
    lead = np.zeros(int(rng.uniform(0.05, 0.25) * sample_rate))
    trail = np.zeros(int(rng.uniform(0.08, 0.2) * sample_rate))
    x = np.concatenate([lead, speech, trail])
    power = np.mean(speech**2)
    snr = rng.uniform(*snr_db)
    return x + rng.normal(0.0, np.sqrt(power / 10 ** (snr / 10)), x.size)
