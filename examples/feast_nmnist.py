"""FEAST on N-MNIST: learn features, look at the learning signals, classify.

    .venv/bin/python examples/feast_nmnist.py [--data DIR] [--out results/feast]

Steps: read the recordings with tonic, split them 80/20 stratified by label (seed 0),
fit FEAST on the training part, write the learning-signal plot, transform every sample,
then compare two logistic-regression readouts on the same split: histograms of FEAST
output events (3 time bins x feature x 4x4-pooled position) against histograms of the
raw events (3 time bins x polarity x pixel). The regularisation C of each readout is
chosen by 3-fold cross-validation on the training part only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import tonic
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from spikelab.features import FEAST, convergence_summary, event_histogram, plot_feast_learning
from spikelab.plots import save_figure

ROOT = Path(__file__).resolve().parents[1]


def read_folder(root: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """Every ``<label>/<id>.bin`` under root/Train (or root), with integer labels."""
    base = root / "Train" if (root / "Train").is_dir() else root
    files = sorted(base.glob("*/*.bin"))
    if not files:
        raise SystemExit(f"no N-MNIST files under {base}; pass --data DIR (Train/<label>/*.bin)")
    events = [tonic.io.read_mnist_file(str(f), dtype=tonic.datasets.NMNIST.dtype) for f in files]
    return events, np.array([int(f.parent.name) for f in files])


def readout_accuracy(x: np.ndarray, labels: np.ndarray, train, test) -> tuple[float, float]:
    """Test accuracy and chosen C of log1p + standardise + logistic regression."""
    pipe = make_pipeline(
        FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=3000)
    )
    key = "logisticregression__C"
    search = GridSearchCV(pipe, {key: [0.001, 0.01, 0.1, 1.0]}, cv=3, n_jobs=1)
    search.fit(x[train], labels[train])
    return float(search.score(x[test], labels[test])), search.best_params_[key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=ROOT / ".." / "shared" / "data" / "nmnist-small"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "feast")
    parser.add_argument("--n-neurons", type=int, default=32)
    parser.add_argument("--radius", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()

    events, labels = read_folder(args.data)
    idx = np.arange(len(events))
    train, test = train_test_split(idx, test_size=0.2, stratify=labels, random_state=0)
    print(f"{len(events)} samples, {len(train)} train / {len(test)} test")

    model = FEAST(n_neurons=args.n_neurons, radius=args.radius, epochs=args.epochs, seed=0)
    t0 = time.perf_counter()
    model.fit([events[i] for i in train])
    fit_s = time.perf_counter() - t0
    png = save_figure(plot_feast_learning(model), args.out / "feast_learning.png")
    summary = convergence_summary(model)
    print(f"fit: {model.n_events_seen_:,} events in {fit_s:.1f} s; learning signals -> {png}")
    print(f"  converged: {summary['converged']}, late miss rate {summary['miss_rate_late']:.4f}")

    t0 = time.perf_counter()
    features = model.transform_many(events)
    tr_s = time.perf_counter() - t0
    n_in, n_out = sum(map(len, events)), sum(map(len, features))
    print(f"transform: {n_in / tr_s:,.0f} events/s, {n_out / n_in:.1%} of events get a feature")

    x_feast = event_histogram(features, model.n_neurons, pool=4, n_time_bins=3)
    x_raw = event_histogram(events, 2, pool=1, n_time_bins=3)
    acc_feast, c_feast = readout_accuracy(x_feast, labels, train, test)
    acc_raw, c_raw = readout_accuracy(x_raw, labels, train, test)
    print(f"FEAST histogram + logistic regression: {acc_feast:.3f} (C={c_feast})")
    print(f"raw histogram   + logistic regression: {acc_raw:.3f} (C={c_raw})")
    verdict = "beats" if acc_feast > acc_raw else "does NOT beat"
    print(f"FEAST {verdict} the raw-histogram baseline on this split.")
    metrics = {
        "feast_test_accuracy": acc_feast,
        "baseline_test_accuracy": acc_raw,
        "feast_params": model.get_params(),
        "fit_seconds": fit_s,
        "transform_events_per_s": n_in / tr_s,
        "convergence": summary,
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))


if __name__ == "__main__":
    main()
