"""Classical baselines for real speech (FSDD) beside the LSM, on the same split.

(a) **log band energies** of the waveform: a short-time power spectrum (25 ms Hann
    windows every 10 ms, zero-padded to 1024 points), pooled by ``n_bands`` triangular
    bands whose centres are log-spaced from ``f_min_hz`` to ``f_max_hz`` (default 100 Hz
    to 0.95 x Nyquist), averaged over ``n_time_bins`` equal parts of each recording, then
    ``log(1e-10 + energy)``: 40 x 10 = 400 features. A strong classical feature set (close
    to the log-mel energies speech recognisers start from).
(b) **cochlea event-count histograms**: events per channel in ``n_time_bins`` equal parts
    of each recording's own span (``spikelab.encoding.count_histogram``), ``log1p``.

Both are classified by the same readout: features z-scored on the training set, then
multinomial logistic regression whose ``C`` is chosen from ``CS`` by 3-fold stratified
cross-validation on the training set only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..encoding import count_histogram

__all__ = [
    "CS",
    "audio_baselines",
    "event_count_features",
    "fit_logistic",
    "log_band_features",
    "waveforms_of",
]

#: The regularisation strengths the baselines' logistic regression chooses from.
CS = (0.01, 0.1, 1.0, 10.0)
_WINDOW_S, _HOP_S, _N_FFT = 0.025, 0.010, 1024


def band_matrix(sample_rate: float, n_bands: int, f_min_hz: float, f_max_hz: float) -> np.ndarray:
    """Triangular band weights ``(n_bands, _N_FFT // 2 + 1)`` on a log-frequency axis:
    band ``k`` rises from centre ``k-1`` to ``k`` and falls to ``k+1``."""
    if not 0 < f_min_hz < f_max_hz <= sample_rate / 2:
        raise ValueError(
            f"need 0 < f_min_hz < f_max_hz <= {sample_rate / 2} Hz (Nyquist), got "
            f"{f_min_hz}, {f_max_hz}"
        )
    edges = np.log(np.geomspace(f_min_hz, f_max_hz, n_bands + 2))
    freqs = np.fft.rfftfreq(_N_FFT, 1.0 / sample_rate)
    logf = np.log(np.maximum(freqs, 1e-3))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (logf[None, :] - lo) / (mid - lo)
    down = (hi - logf[None, :]) / (hi - mid)
    return np.clip(np.minimum(up, down), 0.0, None)


def pool_time(frames: np.ndarray, n_time_bins: int) -> np.ndarray:
    """Mean of ``frames`` (``[n_frames, d]``) over ``n_time_bins`` equal parts; a part
    shorter than one frame takes the frame it falls in."""
    n = frames.shape[0]
    out = np.empty((n_time_bins, frames.shape[1]))
    for b in range(n_time_bins):
        lo = min(int(np.floor(b * n / n_time_bins)), n - 1)
        hi = max(int(np.floor((b + 1) * n / n_time_bins)), lo + 1)
        out[b] = frames[lo:hi].mean(axis=0)
    return out


def log_band_energy(
    waveform: np.ndarray,
    sample_rate: float,
    *,
    n_bands: int = 40,
    n_time_bins: int = 10,
    f_min_hz: float = 100.0,
    f_max_hz: float | None = None,
) -> np.ndarray:
    """Log band energies ``(n_time_bins, n_bands)`` of one waveform (module doc, (a))."""
    f_max = 0.95 * sample_rate / 2 if f_max_hz is None else f_max_hz
    win, hop = int(round(_WINDOW_S * sample_rate)), int(round(_HOP_S * sample_rate))
    x = np.asarray(waveform, dtype=np.float64)
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    n_frames = 1 + (x.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(win), _N_FFT, axis=1)) ** 2
    bands = spec @ band_matrix(sample_rate, n_bands, f_min_hz, f_max).T
    return np.log(1e-10 + pool_time(bands, n_time_bins))


def log_band_features(
    waveforms: Sequence[np.ndarray], sample_rates: Sequence[float], **options: Any
) -> np.ndarray:
    """``[n, n_time_bins * n_bands]`` log band energies of every waveform."""
    pairs = zip(waveforms, sample_rates, strict=True)
    return np.stack([log_band_energy(w, float(r), **options).ravel() for w, r in pairs])


def event_count_features(
    events: Sequence[np.ndarray], n_channels: int, n_time_bins: int = 10
) -> np.ndarray:
    """``[n, n_time_bins * n_channels]`` log1p event counts (module doc, (b))."""
    hist = count_histogram(events, sensor_size=(n_channels, 1, 1), n_time_bins=n_time_bins)
    return np.log1p(hist)


def fit_logistic(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    seed: int = 0,
    C: float | None = None,
) -> dict[str, float]:
    """z-score, then logistic regression with ``C`` (None: chosen from ``CS`` by 3-fold
    CV on train): ``{"test_accuracy", "train_accuracy", "C"}``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    if C is not None:
        pipe.set_params(logisticregression__C=float(C)).fit(x_train, y_train)
        return {
            "test_accuracy": float(pipe.score(x_test, y_test)),
            "train_accuracy": float(pipe.score(x_train, y_train)),
            "C": float(C),
        }
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    grid = GridSearchCV(pipe, {"logisticregression__C": list(CS)}, cv=cv).fit(x_train, y_train)
    return {
        "test_accuracy": float(grid.score(x_test, y_test)),
        "train_accuracy": float(grid.score(x_train, y_train)),
        "C": float(grid.best_params_["logisticregression__C"]),
    }


def waveforms_of(root: str | Path, ids: Sequence[str]) -> tuple[list[np.ndarray], list[float]]:
    """The waveforms and sample rates of the recordings ``ids`` (paths relative to
    ``root``, as ``Split.train_ids`` holds them)."""
    from ..datasets.fsdd import read_wav

    pairs = [read_wav(Path(root) / i) for i in ids]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def audio_baselines(
    root: str | Path, split: Any, n_time_bins: int = 10, n_bands: int = 40, seed: int = 0
) -> dict[str, Any]:
    """Both baselines on a classify run's ``Split`` of FSDD (its ``train_ids``/``test_ids``
    name the WAV files under ``root``): the metrics.json keys ``baseline_log_band_*`` and
    ``baseline_event_hist_*`` (test/train accuracy, the chosen ``C``)."""
    if not split.train_ids or not split.test_ids:
        raise ValueError("the audio baselines need the split's recordings (Split.train_ids)")
    w_tr, r_tr = waveforms_of(root, split.train_ids)
    w_te, r_te = waveforms_of(root, split.test_ids)
    opts = dict(n_bands=n_bands, n_time_bins=n_time_bins)
    band = fit_logistic(
        log_band_features(w_tr, r_tr, **opts),
        split.y_train,
        log_band_features(w_te, r_te, **opts),
        split.y_test,
        seed,
    )
    n_ch = int(split.sensor_size[0])
    hist = fit_logistic(
        event_count_features(split.train_events, n_ch, n_time_bins),
        split.y_train,
        event_count_features(split.test_events, n_ch, n_time_bins),
        split.y_test,
        seed,
    )
    out: dict[str, Any] = {}
    for name, res in (("log_band", band), ("event_hist", hist)):
        out.update({f"baseline_{name}_{k}": v for k, v in res.items()})
    out["baseline_log_band_features"] = f"{n_bands} log-spaced bands x {n_time_bins} time bins"
    out["baseline_event_hist_features"] = f"{n_ch} cochlea channels x {n_time_bins} time bins"
    return out
