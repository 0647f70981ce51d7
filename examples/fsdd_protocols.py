"""FSDD, two protocols: the LSM of a classify config beside both audio baselines.

    python examples/fsdd_protocols.py examples/fsdd_lsm.toml [--set KEY=VALUE ...]

The reservoir is frozen, so every recording is simulated once (the whole set) and each
protocol only fits readouts: (1) a stratified 80/20 split by seed 0, (2) leave one
speaker out (six folds: mean and spread). The LSM's readout is the config's ``[readout]``;
the baselines are ``spikelab.tasks.baselines_audio`` (log band energies, cochlea event
histograms). Prints one JSON line with every figure (and writes it with ``--json PATH``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from spikelab.config import ClassifyConfig, apply_overrides, load_config
from spikelab.datasets import stratified_split
from spikelab.datasets.event_cache import cochlea_events_cached
from spikelab.datasets.fsdd import find_fsdd_files, load_waveforms
from spikelab.encoding import count_histogram
from spikelab.spikes import RecordSpec
from spikelab.tasks import baselines_audio as ba
from spikelab.tasks.stages import build_reservoir, compile_simulation, run_chunked


def folds(labels: np.ndarray, speakers: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The protocols' (train, test) index pairs: stratified 80/20 seed 0, then one per speaker."""
    out = {"stratified_seed0": stratified_split(labels, 0.2, 0)}
    for s in sorted(set(speakers.tolist())):
        out[f"speaker_{s}"] = (np.flatnonzero(speakers != s), np.flatnonzero(speakers == s))
    return out


def features(
    cfg: ClassifyConfig, progress: bool, lsm: bool = True
) -> tuple[dict[str, np.ndarray], dict]:
    """LSM counts (``lsm``), log-band and event-histogram features of every recording."""
    files = find_fsdd_files(cfg.dataset.root)
    kept, waves, rates = load_waveforms(files)
    cochlea = cfg.dataset.cochlea_config()
    events = cochlea_events_cached(
        [f.path for f in kept], waves, rates, cochlea, cfg.dataset.cochlea_cache or None,
        progress=progress,
    )  # fmt: skip
    feats = {
        "log_band": ba.log_band_features(waves, rates),
        "event_hist": ba.event_count_features(events, cochlea.n_channels, 10),
        # the classify task's own histogram baseline: raw counts, no log1p, no z-score
        "count_hist": count_histogram(
            events, sensor_size=(cochlea.n_channels, 1, 1), n_time_bins=10
        ),
        "labels": np.array([f.digit for f in kept]),
        "speakers": np.array([f.speaker for f in kept]),
    }
    info = {"events_per_sample": float(np.mean([len(e) for e in events]))}
    if not lsm:
        return feats, info
    enc = cfg.encoding.make((cochlea.n_channels, 1, 1))
    net = build_reservoir(cfg.reservoir, enc, int(cfg.seed))
    sim = compile_simulation(
        net, cfg.backend, enc.dt, RecordSpec(bin_steps=cfg.record.bin_steps or None)
    )
    t0 = time.perf_counter()
    run = run_chunked(
        sim, events, encoding=enc, chunk_size=cfg.output.chunk_size, progress=progress
    )
    info |= {
        "simulate_s": time.perf_counter() - t0,
        "n_neurons": net.n_neurons,
        "spikes_per_sample": float(run.counts.sum() / len(events)),
        "silent_fraction": float(np.mean(run.counts.sum(axis=(0, 1)) == 0)),
    }
    feats["lsm"] = run.counts.reshape(len(events), -1)
    return feats, info


def evaluate(cfg: ClassifyConfig, feats: dict[str, np.ndarray], which: list[str]) -> dict:
    """Accuracy of every feature set on every fold. A baseline's ``C`` is chosen by 3-fold
    CV on the first fold's (the stratified split's) training set, then kept for all folds."""
    y = feats["labels"]
    out: dict = {}
    chosen: dict[str, float] = {}
    for name, (tr, te) in folds(y, feats["speakers"]).items():
        row = {}
        if "lsm" in feats:
            readout = cfg.readout.make()
            readout.fit(feats["lsm"][tr], y[tr])
            row["lsm"] = float(readout.score(feats["lsm"][te], y[te]))
        for b in which:
            res = ba.fit_logistic(feats[b][tr], y[tr], feats[b][te], y[te], C=chosen.get(b))
            chosen[b] = res["C"]
            row[b] = res["test_accuracy"]
        out[name] = row
    out["baseline_C"] = chosen
    loso = [v for k, v in out.items() if k.startswith("speaker_")]  # six folds
    out["loso_mean"] = {k: float(np.mean([r[k] for r in loso])) for k in loso[0]}
    out["loso_std"] = {k: float(np.std([r[k] for r in loso])) for k in loso[0]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="a classify config on FSDD (examples/fsdd_lsm.toml)")
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE config override")
    ap.add_argument("--no-baselines", action="store_true", help="only the LSM (quick tuning)")
    ap.add_argument("--no-lsm", action="store_true", help="only the baselines")
    ap.add_argument("--json", default="", help="also write the figures to this JSON file")
    args = ap.parse_args()
    cfg = ClassifyConfig.from_dict(apply_overrides(load_config(args.config), args.set))
    feats, info = features(cfg, progress=False, lsm=not args.no_lsm)
    which = [] if args.no_baselines else ["log_band", "event_hist"]
    result = {"sets": args.set, **info, **evaluate(cfg, feats, which)}
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
