"""What and when: a spiking reservoir learns which event follows a cue, when, and how
likely, with the gated three-factor rule, and follows changes that FORCE does not
(after Yamada & Chao 2025; a small version, see docs/readouts.md for what differs).

Task. A cue (a sequence of 20 input channels, each firing for 18 ms in turn, plus
background noise) drives a heterogeneous Izhikevich reservoir (800 exc + 200 inh, 10 %
connectivity). On each trial event A follows at latency t_A with probability p(A), else
event B at t_B. The events do not enter the reservoir; they are the teaching signal.
Readouts (``spikelab.readout.WhatWhenReadout``) read exponential traces (tau 20 ms) of
200 reservoir neurons: per channel a "when" readout learned every step with the gate
open only for the channel that occurred, and a "what" readout learned once per trial;
the prediction is their product.

Reported (metrics.json, what_when.png):
0. timing capacity: how well a ridge readout of the same traces can produce a bump at
   25, 50 and 75 % of the trial (normalised test error; ``--cue burst`` shows why the
   cue is a sequence: a 20 ms burst leaves too little timing information);
1. amplitude vs probability: 11 levels of p(A), 150 trials each; the A prediction at
   t_A on held-out cue-only trials against p(A) (Pearson r; the paper: r = 0.978);
2. switches: three blocks of 100 trials (t_A 100 -> 180 ms, then p(A) 0.8 -> 0.3); the
   test error (|prediction - p x bump| / |p x bump| on held-out trials) after every
   5th trial, for the three-factor rule, for FORCE (recursive least squares) and for RLS
   with a forgetting factor (memory of about 50 trials; non-local like FORCE);
3. the cosine between each channel's what and when weight vectors.

The reservoir runs once on ``--backend`` (all trials in one batch); learning reuses its
responses, so every trial's events are drawn afresh from the block's statistics.

    python examples/what_when.py [--backend numba] [--trials 300] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import spikelab as sl
from spikelab.fileio import atomic_folder
from spikelab.readout import WhatWhenReadout
from spikelab.readout.traces import exponential_traces
from spikelab.readout.what_when import bump
from spikelab.spikes import RecordSpec

N_SEQ, N_BG, SEG = 20, 50, 18  # cue channels, background channels, ms per cue channel
WHEN, WHAT = {"lr": 0.03}, {"lr": 0.05}  # three-factor rates: per step, per trial


def cue_trials(n: int, steps: int, rng: np.random.Generator, cue: str) -> sl.SpikeBatch:
    """The cue from 20 ms on, rate 0.5 per ms per channel: ``sequence`` (the 20 channels in
    turn, 18 ms each) or ``burst`` (all 20 together for 20 ms); background 0.005 per ms."""
    d = np.zeros((n, steps, N_SEQ + N_BG), np.float32)
    for k in range(N_SEQ):
        lo, hi = (20 + SEG * k, 20 + SEG * (k + 1)) if cue == "sequence" else (20, 40)
        if lo < steps:
            seg = d[:, lo:hi, k]
            seg[:] = rng.random(seg.shape) < 0.5
    d[:, :, N_SEQ:] = rng.random((n, steps, N_BG)) < 0.005
    return sl.SpikeBatch.from_dense(d)


def reservoir(seed: int) -> sl.Network:
    """The heterogeneous Izhikevich reservoir: 800 exc + 200 inh, 10 % connectivity."""
    return sl.reservoirs.izhikevich_network(
        800, 200, p_connect=0.1, n_inputs=N_SEQ + N_BG, input_fan_in=5, input_weight=10.0,
        exc_weight=0.5, seed=seed,
    )  # fmt: skip


def reservoir_traces(
    n_trials: int, steps: int, backend: str, seed: int, n_read: int, cue: str = "sequence"
) -> np.ndarray:
    """[trials, steps, n_read] traces of every (1000 // n_read)-th neuron."""
    net = reservoir(seed)
    sim = net.compile(backend, dt=1.0, record=RecordSpec(bin_steps=1))
    rec = sim.run(cue_trials(n_trials, steps, np.random.default_rng(seed + 1), cue))
    step = net.n_neurons // n_read
    return exponential_traces(rec.counts[:, :, ::step][:, :, :n_read], tau=20.0)


def train(
    ww: WhatWhenReadout,
    pool: np.ndarray,
    blocks: list[tuple[float, float, float, int]],
    rng: np.random.Generator,
    test: np.ndarray,
    every: int = 5,
    desc: str = "",
) -> list[dict]:
    """Blocks of (p_A, t_A, t_B, trials); the test error after every ``every`` trials."""
    curve, k = [], 0
    total = sum(b[3] for b in blocks)
    with tqdm(total=total, desc=desc, unit="trial", leave=False) as bar:
        for p_a, t_a, t_b, n in blocks:
            for _ in range(n):
                a = rng.random() < p_a
                ww.learn_trial(pool[rng.integers(len(pool))], 0 if a else 1, t_a if a else t_b)
                k += 1
                bar.update()
                if k % every == 0:
                    curve.append({"trial": k, "error": test_error(ww, test, p_a, t_a, t_b)})
    return curve


def timing_capacity(pool: np.ndarray, test: np.ndarray, width: float) -> dict[str, float]:
    """How well can these traces keep time at all: a ridge readout (alpha 10, fitted on
    the pool) of a bump at 25, 50 and 75 % of the trial; normalised test error per latency."""
    from sklearn.linear_model import Ridge

    steps = pool.shape[1]
    out = {}
    for frac in (0.25, 0.5, 0.75):
        y = bump(steps, frac * steps, width)
        m = Ridge(alpha=10.0).fit(pool.reshape(-1, pool.shape[2]), np.tile(y, len(pool)))
        pred = m.predict(test.reshape(-1, test.shape[2])).reshape(len(test), steps)
        err = np.linalg.norm(pred - y, axis=1).mean() / np.linalg.norm(y)
        out[f"{frac * steps:.0f}ms"] = float(err)
    return out


def test_error(ww: WhatWhenReadout, test: np.ndarray, p_a: float, t_a: float, t_b: float) -> float:
    """Mean over held-out cue-only trials of |y - p x bump| / |p x bump| (plasticity off)."""
    ideal = ww.expected(test.shape[1], np.array([p_a, 1 - p_a]), np.array([t_a, t_b]))
    errs = [np.linalg.norm(ww.predict(x) - ideal) / np.linalg.norm(ideal) for x in test]
    return float(np.mean(errs))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numba")
    p.add_argument("--trials", type=int, default=300, help="reservoir trials to learn from")
    p.add_argument("--test-trials", type=int, default=20)
    p.add_argument("--per-level", type=int, default=150, help="trials per p(A) level")
    p.add_argument("--block", type=int, default=100, help="trials per block of the switches")
    p.add_argument("--steps", type=int, default=400, help="trial length (ms)")
    p.add_argument("--read", type=int, default=200, help="neurons read out")
    p.add_argument("--cue", choices=("sequence", "burst"), default="sequence")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/what_when")
    args = p.parse_args(argv)

    traces = reservoir_traces(
        args.trials + args.test_trials, args.steps, args.backend, args.seed, args.read, args.cue
    )
    pool, test = traces[: args.trials], traces[args.trials :]
    width, t_b = 15.0, 0.75 * args.steps
    t_a1, t_a2 = 0.25 * args.steps, 0.45 * args.steps

    # 1. amplitude vs probability
    levels = np.round(np.linspace(0, 1, 11), 2)
    peaks = []
    for p_a in tqdm(levels, desc="p(A) levels"):
        ww = WhatWhenReadout(args.read, 2, width=width, when_options=WHEN, what_options=WHAT)
        rng = np.random.default_rng(args.seed + 10)
        train(ww, pool, [(p_a, t_a1, t_b, args.per_level)], rng, test[:1], every=10**9)
        peaks.append(float(np.mean([ww.predict(x)[int(t_a1), 0] for x in test])))
    r = float(np.corrcoef(levels, peaks)[0, 1])

    # 2. switches: timing, then probability
    blocks = [(0.8, t_a1, t_b, args.block), (0.8, t_a2, t_b, args.block)]
    blocks.append((0.3, t_a2, t_b, args.block))
    curves, cosines = {}, {}
    forget = {"forgetting": 1 - 1 / (50 * args.steps)}, {"forgetting": 0.98}  # ~50 trials
    learners = {  # label: (rule, when options, what options)
        "three_factor": ("three_factor", WHEN, WHAT),
        "force": ("force", None, None),
        "force_forgetting": ("force", *forget),
    }
    for label, (rule, when, what) in learners.items():
        ww = WhatWhenReadout(args.read, 2, width=width, rule=rule, when_options=when,
                             what_options=what)  # fmt: skip
        curves[label] = train(ww, pool, blocks, np.random.default_rng(args.seed + 20), test,
                              desc=label)  # fmt: skip
        cosines[label] = [
            float(abs(a @ w) / max(np.linalg.norm(a) * np.linalg.norm(w), 1e-300))
            for a, w in zip(ww.what.W, ww.when.W, strict=True)
        ]

    def at(curve: list[dict], trial: int) -> float:
        return next(c["error"] for c in curve if c["trial"] >= trial)

    after = min(10, args.block)  # trials after a switch
    marks = {"end_block1": args.block, f"after_switch1_{after}": args.block + after,
             "end_block2": 2 * args.block, f"after_switch2_{after}": 2 * args.block + after,
             "end_block3": 3 * args.block}  # fmt: skip
    metrics = {
        "backend": args.backend,
        "cue": args.cue,
        "timing_capacity_ridge_error": timing_capacity(pool, test, width),
        "amplitude_vs_probability": {"p_a": levels.tolist(), "peak_a": peaks, "pearson_r": r},
        "switch_blocks": [
            dict(zip(("p_a", "t_a_ms", "t_b_ms", "trials"), b, strict=True)) for b in blocks
        ],  # fmt: skip
        "test_error": {rule: {k: at(c, t) for k, t in marks.items()} for rule, c in curves.items()},
        "what_when_cosine": cosines,
        "curves": curves,
    }
    out = Path(args.out)
    with atomic_folder(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        plot(tmp / "what_when.png", levels, peaks, r, curves, args.block)
    print(f"amplitude vs p(A): r = {r:.3f} over {len(levels)} levels")
    cap = metrics["timing_capacity_ridge_error"]
    print("ridge timing error (can the traces keep time?): " + ", ".join(
        f"{k} {v:.2f}" for k, v in cap.items()))  # fmt: skip
    for rule, errs in metrics["test_error"].items():
        print(f"{rule:16s} " + "  ".join(f"{k} {v:.3f}" for k, v in errs.items()))
    print(f"results: {out}")


def plot(path: Path, levels, peaks, r, curves, block) -> None:  # noqa: ANN001
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 3.8), dpi=110)
    ax = fig.add_subplot(121)
    ax.plot(levels, peaks, "o-", label=f"A prediction at t_A (r = {r:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="ideal")
    ax.set_xlabel("p(A)")
    ax.set_ylabel("A prediction at t_A (test trials)")
    ax.legend(fontsize=8)
    ax2 = fig.add_subplot(122)
    for rule, c in curves.items():
        ax2.plot([x["trial"] for x in c], [x["error"] for x in c], label=rule)
    for k in (1, 2):
        ax2.axvline(k * block, color="grey", lw=0.8, ls=":")
    ax2.set_xlabel("trial (switches: t_A, then p(A))")
    ax2.set_ylabel("test error")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
