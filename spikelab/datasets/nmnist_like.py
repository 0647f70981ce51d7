"""A synthetic N-MNIST stand-in: simulated ATIS saccades over scikit-learn's digits.

N-MNIST (Orchard et al. 2015) was recorded by an ATIS event camera on a pan-tilt unit
making three ~100 ms saccades, in a triangle, in front of a screen showing MNIST digits.
This module mimics that recording. Each 8x8 image of ``sklearn.datasets.load_digits`` is
resampled smoothly (cubic spline, small random rotation, scale and shift) onto MNIST's
frame: a 20x20 digit box centred in 28x28. The frame moves over a 34x34 sensor along the
triangle (0, 0) -> (3.5, 7) -> (7, 0) -> (0, 0) px with a smooth (raised-cosine) speed
profile, and every pixel emits ON/OFF events when its log intensity moves by its contrast
threshold from its reference level (per-pixel threshold mismatch, a refractory period
during which the reference follows the input, a latency jitter), plus background noise.
The simulation is frame-wise (1 ms frames, event times interpolated within a frame).

It is not N-MNIST: the digits are scikit-learn's (1,797 images by 43 writers, 8x8 pixels,
so blurrier and blockier than MNIST), and the sensor is a simple model, not the ATIS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fileio import atomic_folder
from .base import EVENT_DTYPE
from .nmnist import write_mnist_file

__all__ = ["SaccadeSettings", "generate_nmnist_like", "render_digit", "simulate_saccades"]

_SENSOR = 34
_FRAME = 28
_README_MARK = "spikelab synthetic N-MNIST-like dataset"


@dataclass(frozen=True, kw_only=True)
class SaccadeSettings:
    """Settings of the simulated ATIS recording (times in µs unless the name says ms).

    saccade_ms: duration of each of the three saccades (ms); jittered per sample with
        standard deviation ``saccade_jitter_ms``.
    amplitude_px: (x, y) of the triangle's second corner; the third is (2x, 0).
    origin_px: (x, y) position on the sensor of the 28x28 frame's corner at rest.
    frame_us: simulation frame; must not exceed ``refractory_us`` (one event per pixel
        and frame).
    threshold: log-intensity contrast threshold (ON and OFF); ``threshold_mismatch`` is the
        relative standard deviation of the per-pixel thresholds.
    refractory_us: dead time of a pixel after an event; its reference follows the input.
    latency_us: mean of the exponential latency added to each event.
    noise_rate_hz: background events per pixel per second (random polarity).
    background: luminance of the screen's black relative to its white (sets the log
        contrast of a stroke, log(1 / background)).
    blur_px: standard deviation of the Gaussian optical blur on the 28x28 frame (pixels).
    rotation_deg, scale, shift_px: ranges of the per-sample random affine augmentation
        (uniform in +-rotation_deg, 1 +- scale, +-shift_px).
    """

    saccade_ms: float = 103.0
    saccade_jitter_ms: float = 1.5
    amplitude_px: tuple[float, float] = (3.5, 7.0)
    origin_px: tuple[float, float] = (-1.0, 1.0)
    frame_us: float = 1000.0
    threshold: float = 0.3
    threshold_mismatch: float = 0.1
    refractory_us: float = 1500.0
    latency_us: float = 100.0
    noise_rate_hz: float = 0.1
    background: float = 0.15
    blur_px: float = 0.5
    rotation_deg: float = 8.0
    scale: float = 0.08
    shift_px: float = 1.0

    def __post_init__(self) -> None:
        positive = ("saccade_ms", "frame_us", "threshold", "refractory_us", "background")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        non_negative = (
            "saccade_jitter_ms latency_us noise_rate_hz blur_px threshold_mismatch "
            "rotation_deg scale shift_px"
        ).split()
        for name in non_negative:
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.background >= 1:
            raise ValueError(f"background must be < 1 (relative to white), got {self.background}")
        if self.frame_us > self.refractory_us:
            raise ValueError(
                f"frame_us ({self.frame_us}) must not exceed refractory_us "
                f"({self.refractory_us}); lower frame_us"
            )
        if self.scale >= 1:
            raise ValueError(f"scale must be < 1 (a relative range), got {self.scale}")

    @property
    def max_duration_us(self) -> float:
        """Longest recording a sample can have (µs), saccade jitter clipped at 4 sd."""
        return 3.0 * 1000.0 * (self.saccade_ms + 4.0 * self.saccade_jitter_ms)


def render_digit(image8: np.ndarray, rng: np.random.Generator, s: SaccadeSettings) -> np.ndarray:
    """Resample an 8x8 digit (values 0..16) onto a 28x28 frame in [0, 1] (20x20 box, centred).

    One cubic-spline affine resampling does the upsampling and the random rotation, scale
    and shift drawn from ``rng``; a Gaussian blur of ``s.blur_px`` follows.
    """
    from scipy import ndimage

    angle = np.deg2rad(rng.uniform(-s.rotation_deg, s.rotation_deg))
    zoom = 2.5 * rng.uniform(1.0 - s.scale, 1.0 + s.scale)  # 8 px -> 20 px box
    shift = rng.uniform(-s.shift_px, s.shift_px, size=2)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = rot.T / zoom  # output (row, col) -> input (row, col)
    centre_out = (_FRAME - 1) / 2.0 + shift
    offset = 3.5 - matrix @ centre_out
    img = np.asarray(image8, dtype=np.float64) / 16.0
    out = ndimage.affine_transform(
        img, matrix, offset, output_shape=(_FRAME, _FRAME), order=3, mode="grid-constant"
    )
    if s.blur_px > 0:
        out = ndimage.gaussian_filter(out, s.blur_px, mode="constant")
    return np.clip(out, 0.0, 1.0)


def _trajectory(times: np.ndarray, durations: np.ndarray, s: SaccadeSettings) -> np.ndarray:
    """(x, y) offset in px of the frame at ``times`` (µs) along the saccade triangle."""
    ax, ay = s.amplitude_px
    corners = np.array([[0.0, 0.0], [ax, ay], [2 * ax, 0.0], [0.0, 0.0]])
    ends = np.cumsum(durations)
    seg = np.minimum(np.searchsorted(ends, times, side="right"), 2)
    start = ends[seg] - durations[seg]
    tau = np.clip((times - start) / durations[seg], 0.0, 1.0)
    progress = (0.5 - 0.5 * np.cos(np.pi * tau))[:, None]
    return corners[seg] + (corners[seg + 1] - corners[seg]) * progress


def _shifted_frames(frame28: np.ndarray, xy: np.ndarray, s: SaccadeSettings) -> np.ndarray:
    """Bilinear translation of the 28x28 frame onto the sensor for each (x, y): (F, 34, 34)."""
    pad = 12
    size = _SENSOR + 2 * pad
    canvas = np.zeros((size + 1, size + 1))
    canvas[pad : pad + _FRAME, pad : pad + _FRAME] = frame28
    flat = canvas.ravel()
    grid = np.arange(_SENSOR)
    uy = pad - (xy[:, 1] + s.origin_px[1])
    ux = pad - (xy[:, 0] + s.origin_px[0])
    iy, ix = np.floor(uy).astype(np.int64), np.floor(ux).astype(np.int64)
    fy, fx = (uy - iy)[:, None, None], (ux - ix)[:, None, None]
    idx = (iy[:, None, None] + grid[None, :, None]) * (size + 1) + (ix[:, None, None] + grid)
    top = flat[idx] * (1 - fx) + flat[idx + 1] * fx
    bottom = flat[idx + size + 1] * (1 - fx) + flat[idx + size + 2] * fx
    return top * (1 - fy) + bottom * fy


def _pixel_events(logi: np.ndarray, th_on: np.ndarray, th_off: np.ndarray, s: SaccadeSettings):
    """Run the pixel model over frames. logi: (F, B, 34, 34); thresholds: (B, 34, 34).

    Returns arrays (b, y, x, p, t_us) of all events, in frame order.
    """
    dt, refractory = s.frame_us, s.refractory_us
    ref = logi[0].copy()
    last = np.full(ref.shape, -np.inf)
    out: list[tuple[np.ndarray, ...]] = []
    for k in range(1, logi.shape[0]):
        now = logi[k]
        np.copyto(ref, now, where=(k * dt - last) < refractory)  # reset held while refractory
        diff = now - ref
        on = diff >= th_on
        fire = on | (diff <= -th_off)
        if not fire.any():
            continue
        nz = np.nonzero(fire)
        d_now, d_prev = diff[nz], logi[k - 1][nz] - ref[nz]
        level = np.where(on[nz], th_on[nz], -th_off[nz])
        denom = d_now - d_prev
        safe = np.where(denom == 0, 1.0, denom)
        frac = np.clip(np.where(denom == 0, 1.0, (level - d_prev) / safe), 0.0, 1.0)
        t_ev = np.maximum((k - 1 + frac) * dt, last[nz] + refractory)
        ref[nz] = now[nz]
        last[nz] = t_ev
        out.append((*nz, on[nz].astype(np.int64), t_ev))
    if not out:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(4)) + (np.zeros(0),)
    return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))


def simulate_saccades(
    frames28: list[np.ndarray], rngs: list[np.random.Generator], s: SaccadeSettings
) -> list[np.ndarray]:
    """Simulate the ATIS recording of each 28x28 frame (values in [0, 1]).

    Each sample draws its saccade durations, thresholds, latencies and noise from its own
    generator in ``rngs``, so its events do not depend on the other samples of the batch.
    Returns one ``EVENT_DTYPE`` array per frame, sorted by t (µs).
    """
    n_frames = int(np.ceil(s.max_duration_us / s.frame_us)) + 2
    times = np.arange(n_frames) * s.frame_us
    logi, th_on, th_off, durations = _sensor_input(frames28, rngs, times, s)
    bs, ys, xs, ps, ts = _pixel_events(logi, th_on, th_off, s)
    order = np.argsort(bs, kind="stable")
    bounds = np.searchsorted(bs[order], np.arange(len(frames28) + 1))
    result = []
    for b, rng in enumerate(rngs):
        sel = order[bounds[b] : bounds[b + 1]]
        total_us = float(durations[b].sum())
        result.append(_sample_events(xs[sel], ys[sel], ps[sel], ts[sel], total_us, rng, s))
    return result


def _sensor_input(
    frames28: list[np.ndarray],
    rngs: list[np.random.Generator],
    times: np.ndarray,
    s: SaccadeSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log intensity on the sensor at ``times`` (F, B, 34, 34), per-pixel ON and OFF
    thresholds (B, 34, 34) and the three saccade durations (B, 3) in µs of each sample,
    drawn from its own generator."""
    n = len(frames28)
    logi = np.empty((times.size, n, _SENSOR, _SENSOR), dtype=np.float32)
    th_on = np.empty((n, _SENSOR, _SENSOR))
    th_off = np.empty_like(th_on)
    durations = np.empty((n, 3))
    jitter_cap = 4.0 * s.saccade_jitter_ms
    for b, (frame, rng) in enumerate(zip(frames28, rngs, strict=True)):
        jitter = np.clip(rng.normal(0.0, s.saccade_jitter_ms, 3), -jitter_cap, jitter_cap)
        durations[b] = 1000.0 * (s.saccade_ms + jitter)
        for th in (th_on, th_off):
            mismatch = rng.normal(0.0, s.threshold_mismatch, (_SENSOR, _SENSOR))
            th[b] = s.threshold * np.clip(1.0 + mismatch, 0.3, None)
        lum = _shifted_frames(frame, _trajectory(times, durations[b], s), s)
        logi[:, b] = np.log(s.background + (1.0 - s.background) * lum)
    return logi, th_on, th_off, durations


def _sample_events(
    xs: np.ndarray,
    ys: np.ndarray,
    ps: np.ndarray,
    ts: np.ndarray,
    total_us: float,
    rng: np.random.Generator,
    s: SaccadeSettings,
) -> np.ndarray:
    """One sample's pixel events plus latency jitter and background noise over
    ``total_us``, as an ``EVENT_DTYPE`` array sorted by t."""
    t = ts + rng.exponential(s.latency_us, ts.size) if s.latency_us > 0 else ts
    n_noise = rng.poisson(s.noise_rate_hz * _SENSOR * _SENSOR * total_us * 1e-6)
    ev = np.empty(ts.size + n_noise, dtype=EVENT_DTYPE)
    ev["x"] = np.concatenate([xs, rng.integers(0, _SENSOR, n_noise)])
    ev["y"] = np.concatenate([ys, rng.integers(0, _SENSOR, n_noise)])
    ev["p"] = np.concatenate([ps, rng.integers(0, 2, n_noise)])
    ev["t"] = np.floor(np.concatenate([t, rng.uniform(0.0, total_us, n_noise)]))
    return ev[np.argsort(ev["t"], kind="stable")]


def _source_pools(
    target: np.ndarray, per_class: int, test_per_class: int, seed: int
) -> dict[tuple[str, int], np.ndarray]:
    """Disjoint per-class pools of source images for Train and Test."""
    rng = np.random.default_rng([seed, 0])
    pools = {}
    for label in range(10):
        members = rng.permutation(np.flatnonzero(target == label))
        n_test = 0
        if test_per_class:
            n_test = round(members.size * test_per_class / (per_class + test_per_class))
            n_test = min(max(n_test, 1), members.size - 1)
        pools["Test", label] = members[:n_test]
        pools["Train", label] = members[n_test:]
    return pools


def _check_out_dir(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder; choose another output folder")
    if not any(out.iterdir()):
        return
    readme = out / "README.txt"
    ours = readme.is_file() and _README_MARK in readme.read_text(errors="replace")
    if not overwrite:
        raise FileExistsError(f"{out} is not empty; choose a new folder or pass overwrite=True")
    if not ours:
        raise FileExistsError(
            f"{out} is not empty and was not written by generate_nmnist_like (no README.txt "
            "of ours); refusing to overwrite it, choose a new folder"
        )


def _readme(n_train: int, n_test: int, seed: int, s: SaccadeSettings) -> str:
    return (
        f"{_README_MARK}\n\n"
        "SYNTHETIC, NOT REAL N-MNIST. Simulated ATIS saccades (three ~100 ms saccades in a\n"
        "triangle, as in Orchard et al. 2015) over the handwritten digits bundled with\n"
        "scikit-learn (sklearn.datasets.load_digits: 8x8 images, upsampled to a 20x20 box in a\n"
        "28x28 frame, moved over a 34x34 sensor). ON/OFF events come from log-intensity\n"
        "changes crossing a contrast threshold, with per-pixel threshold mismatch, a\n"
        "refractory period, latency jitter and background noise. Train and Test use disjoint\n"
        "source images. Use it to exercise code, not to report N-MNIST results.\n\n"
        "Layout and format are N-MNIST's: Train/<label>/<id>.bin, Test/<label>/<id>.bin,\n"
        "40-bit events (x 8 bits, y 8 bits, p 1 bit, t 23 bits in microseconds).\n\n"
        f"samples: {n_train} train, {n_test} test; seed: {seed}\n"
        f"settings: {s}\n"
        "made by spikelab.datasets.generate_nmnist_like\n"
    )


def generate_nmnist_like(
    out_dir: str | os.PathLike[str],
    per_class: int = 20,
    test_per_class: int | None = None,
    seed: int = 0,
    progress: bool = True,
    *,
    settings: SaccadeSettings | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic N-MNIST-like dataset to ``out_dir`` and return its path.

    Writes ``Train/<label>/<id>.bin`` (``per_class`` files per digit) and
    ``Test/<label>/<id>.bin`` (``test_per_class`` per digit; ``None`` means
    ``max(1, round(per_class / 6))``, N-MNIST's 60k:10k ratio; 0 writes no Test/) in
    N-MNIST's format, plus a README.txt saying what the data are. Train and Test draw from
    disjoint sklearn digit images; when a pool is smaller than the count asked for, its
    images are reused with fresh random augmentation. The same arguments give the same
    bytes. The folder is built under a temporary name and renamed into place; an existing
    non-empty ``out_dir`` is replaced only with ``overwrite=True`` and only if it was made
    by this function. See ``SaccadeSettings`` for the model (times in µs).
    """
    from sklearn.datasets import load_digits

    s = settings if settings is not None else SaccadeSettings()
    if test_per_class is None:
        test_per_class = max(1, round(per_class / 6))
    _check_counts(per_class, test_per_class, seed)
    out = Path(out_dir).expanduser()
    _check_out_dir(out, overwrite)
    digits = load_digits()
    jobs = _jobs(digits.target, per_class, test_per_class, seed)
    with atomic_folder(out) as tmp:
        _write_samples(tmp, jobs, digits.images, s, progress)
        readme = _readme(10 * per_class, 10 * test_per_class, seed, s)
        (tmp / "README.txt").write_text(readme, encoding="utf-8")
    return out


def _check_counts(per_class: object, test_per_class: object, seed: object) -> None:
    for name, value, low in (("per_class", per_class, 1), ("test_per_class", test_per_class, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def _jobs(
    target: np.ndarray, per_class: int, test_per_class: int, seed: int
) -> list[tuple[Path, int, tuple[int, ...]]]:
    """(relative path, sklearn image index, rng key) of every sample to write."""
    pools = _source_pools(target, per_class, test_per_class, seed)
    jobs = []
    for code, (split, count) in enumerate((("Train", per_class), ("Test", test_per_class)), 1):
        width = max(5, len(str(10 * count)))
        for label in range(10):
            pool = pools[split, label]
            for k in range(count):
                file_id = label * count + k + 1
                rel = Path(split, str(label), f"{file_id:0{width}d}.bin")
                jobs.append((rel, int(pool[k % pool.size]), (seed, code, label, k)))
    return jobs


def _write_samples(
    folder: Path,
    jobs: list[tuple[Path, int, tuple[int, ...]]],
    images: np.ndarray,
    s: SaccadeSettings,
    progress: bool,
) -> None:
    """Render, simulate and write the samples of ``jobs`` under ``folder``, 16 at a time."""
    from tqdm import tqdm

    with tqdm(total=len(jobs), desc="nmnist-like", unit="sample", disable=not progress) as bar:
        for start in range(0, len(jobs), 16):
            batch = jobs[start : start + 16]
            rngs = [np.random.default_rng(list(key)) for _, _, key in batch]
            frames = [
                render_digit(images[i], r, s) for (_, i, _), r in zip(batch, rngs, strict=True)
            ]
            events = simulate_saccades(frames, rngs, s)
            for (rel, _, _), ev in zip(batch, events, strict=True):
                write_mnist_file(folder / rel, ev)
            bar.update(len(batch))
