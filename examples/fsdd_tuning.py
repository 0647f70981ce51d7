"""FSDD tuning with nested leave-one-speaker-out selection (issue 16).

    python examples/fsdd_tuning.py run examples/fsdd_lsm.toml --set KEY=VALUE ... \
        --bins 5,10,20 --alphas 10,100,1000,10000,100000 --out results/fsdd_tuning/runs.jsonl
    python examples/fsdd_tuning.py select results/fsdd_tuning/runs.jsonl

``run`` simulates every recording once for one setting of the simulation keys (``--set``:
reservoir, encoding, dataset.cochlea) and scores every *candidate* that only needs a new
readout on the same simulation: the LSM's counts summed into each of ``--bins`` time bins,
each ridge penalty of ``--alphas`` (log1p, z-scored on the training set, one-vs-all ridge
with intercept: ``RidgeClassifier(alpha)``), and, with ``--baselines``, the two baselines of
``spikelab.tasks.baselines_audio`` (logistic regression on event histograms and on log
band energies; ``count_hist``: raw event counts without z-score, the classify task's own
histogram baseline) at each ``C`` of ``--cs`` (default ``baselines_audio.CS``). Every
candidate gets:

- ``strat``: test accuracy on the stratified 80/20 split (seed 0);
- ``outer[s]``: test accuracy on speaker ``s`` when trained on the other five;
- ``inner[s][v]``: accuracy on speaker ``v`` when trained on the four speakers other than
  ``s`` and ``v``: the validation score used to choose a setting for outer fold ``s``
  without looking at speaker ``s``.

One JSON line per run is appended to ``--out``. ``select`` reads them and, per family (LSM,
event histograms, log bands), picks for each outer fold the candidate with the best mean
inner score and reports that candidate's score on the held-out speaker (the nested,
honest leave-one-speaker-out figure), and the table of every candidate.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fsdd_protocols import features  # noqa: E402

from spikelab.config import ClassifyConfig, apply_overrides, load_config  # noqa: E402
from spikelab.datasets import stratified_split  # noqa: E402
from spikelab.tasks import baselines_audio as ba  # noqa: E402

Split = tuple[np.ndarray, np.ndarray]


def splits(labels: np.ndarray, speakers: np.ndarray) -> dict[tuple[str, ...], Split]:
    """(train, test) index pairs keyed by the held-out speakers: ``("strat",)``, each
    speaker ``(s,)`` and each pair ``(s, v)`` (trained without both)."""
    names = sorted(set(speakers.tolist()))
    out: dict[tuple[str, ...], Split] = {("strat",): stratified_split(labels, 0.2, 0)}
    for k in (1, 2):
        for held in itertools.combinations(names, k):
            test = np.isin(speakers, held)
            out[held] = (np.flatnonzero(~test), np.flatnonzero(test))
    return out


def ridge_scores(x: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray,
                 alphas: list[float]) -> dict[float, np.ndarray]:  # fmt: skip
    """Per alpha, whether each test sample is classified right: log1p, z-score on ``tr``,
    ridge on +-1 targets with intercept (``RidgeClassifier``), in the dual (n_train x n_train
    kernel) so that every alpha costs one eigendecomposition."""
    xt = np.log1p(x[tr].astype(np.float64))
    mu, sd = xt.mean(axis=0), xt.std(axis=0)
    sd[sd == 0] = 1.0
    a = ((xt - mu) / sd).astype(np.float32)
    b = ((np.log1p(x[te].astype(np.float64)) - mu) / sd).astype(np.float32)
    classes = np.unique(y[tr])
    t = np.where(y[tr][:, None] == classes[None, :], 1.0, -1.0)
    t_mean = t.mean(axis=0)
    lam, vec = np.linalg.eigh((a @ a.T).astype(np.float64))
    proj = vec.T @ (t - t_mean)
    cross = (b @ a.T).astype(np.float64) @ vec
    return {
        al: classes[np.argmax(cross @ (proj / (lam + al)[:, None]) + t_mean, axis=1)] == y[te]
        for al in alphas
    }


def logistic_scores(x: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray,
                    cs: tuple[float, ...], scale: bool = True
                    ) -> dict[float, np.ndarray]:  # fmt: skip
    """Per ``C``, whether each test sample is classified right by the baselines' classifier
    (``baselines_audio.fit_logistic``'s pipeline: z-score, logistic regression with ``C``;
    ``scale=False``: no z-score, as the classify task's ``histogram_baseline``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = {}
    for c in cs:
        clf = LogisticRegression(C=float(c), max_iter=2000 if scale else 3000)
        pipe = make_pipeline(StandardScaler(), clf) if scale else make_pipeline(clf)
        out[c] = pipe.fit(x[tr], y[tr]).predict(x[te]) == y[te]
    return out


def candidate_table(per_split: dict[tuple[str, ...], dict], te_of: dict, spk: np.ndarray
                    ) -> dict[str, dict]:  # fmt: skip
    """Re-key ``{split: {candidate: right}}`` into ``{candidate: {strat, outer, inner}}``."""
    out: dict[str, dict] = {}
    for held, scores in per_split.items():
        for cand, right in scores.items():
            row = out.setdefault(cand, {"strat": None, "outer": {}, "inner": {}})
            if held == ("strat",):
                row["strat"] = float(right.mean())
            elif len(held) == 1:
                row["outer"][held[0]] = float(right.mean())
            else:
                te = te_of[held]
                for s, v in (held, held[::-1]):  # inner[s][v]: fold s, validation speaker v
                    acc = float(right[spk[te] == v].mean())
                    row["inner"].setdefault(s, {})[v] = acc
    return out


def score_lsm(feats: dict, bins: list[int], alphas: list[float]) -> dict[str, dict]:
    """Every (bins, alpha) candidate of the LSM's counts on every split."""
    y, spk = feats["labels"], feats["speakers"]
    n, fine = len(y), feats["lsm_bins"]
    counts = feats["lsm"].reshape(n, fine, -1)
    sp = splits(y, spk)
    per_split: dict[tuple[str, ...], dict] = {k: {} for k in sp}
    for nb in bins:
        x = counts.reshape(n, nb, fine // nb, -1).sum(axis=2).reshape(n, -1)
        for held, (tr, te) in sp.items():
            for al, right in ridge_scores(x, y, tr, te, alphas).items():
                per_split[held][f"lsm bins={nb} alpha={al:g}"] = right
    return candidate_table(per_split, {k: v[1] for k, v in sp.items()}, spk)


def score_baselines(feats: dict, which: list[str], cs: tuple[float, ...]) -> dict[str, dict]:
    """Every ``C`` of ``cs`` for each baseline in ``which``, on every split."""
    y, spk = feats["labels"], feats["speakers"]
    sp = splits(y, spk)
    per_split: dict[tuple[str, ...], dict] = {k: {} for k in sp}
    for name in which:
        for held, (tr, te) in sp.items():
            scores = logistic_scores(feats[name], y, tr, te, cs, name != "count_hist")
            for c, right in scores.items():
                per_split[held][f"{name} C={c:g}"] = right
    return candidate_table(per_split, {k: v[1] for k, v in sp.items()}, spk)


def run(args: argparse.Namespace) -> None:
    """Simulate once with ``--set``, score every candidate, append one JSON line."""
    bins = [int(b) for b in args.bins.split(",")]
    overrides = list(args.set)
    raw = apply_overrides(load_config(args.config), overrides)
    n_steps = int(raw["encoding"]["n_steps"])
    fine = max(bins)
    if any(fine % b for b in bins) or n_steps % fine:
        raise SystemExit(f"--bins {args.bins}: each must divide {fine}, which must divide "
                         f"encoding.n_steps={n_steps}")  # fmt: skip
    raw = apply_overrides(raw, [f"record.bin_steps={n_steps // fine}"])
    cfg = ClassifyConfig.from_dict(raw)
    t0 = time.perf_counter()
    feats, info = features(cfg, progress=False, lsm=not args.no_lsm)
    info["features_s"] = time.perf_counter() - t0
    feats["lsm_bins"] = fine
    table: dict[str, dict] = {}
    if not args.no_lsm:
        table |= score_lsm(feats, bins, [float(a) for a in args.alphas.split(",")])
    if args.baselines:
        cs = tuple(float(c) for c in args.cs.split(","))
        table |= score_baselines(feats, args.baselines.split(","), cs)
    info["total_s"] = time.perf_counter() - t0
    line = {"sets": overrides, "info": info, "candidates": table}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a") as fh:
        fh.write(json.dumps(line) + "\n")
    print(json.dumps({"sets": overrides, **info}))
    print_table({_key(overrides, c): r for c, r in table.items()})


def _key(sets: list[str], cand: str) -> str:
    """A candidate's name: its simulation overrides, then its readout part."""
    return " ".join([*sets, cand]) if sets else cand


def summary(row: dict) -> dict[str, float]:
    """Stratified, LOSO mean/sd over the six outer folds, mean inner (validation) score."""
    outer = list(row["outer"].values())
    inner = [np.mean(list(v.values())) for v in row["inner"].values()]
    return {"strat": row["strat"], "loso": float(np.mean(outer)), "sd": float(np.std(outer)),
            "inner": float(np.mean(inner))}  # fmt: skip


def print_table(cands: dict[str, dict]) -> None:
    """One line per candidate: stratified %, LOSO mean ± sd %, mean inner validation %."""
    for name, row in cands.items():
        s = summary(row)
        print(f"{100 * s['strat']:5.1f}  {100 * s['loso']:5.1f} ± {100 * s['sd']:4.1f}  "
              f"val {100 * s['inner']:5.1f}  {name}")  # fmt: skip


def markdown(cands: dict[str, dict]) -> str:
    """The whole table as Markdown, in the order run: candidate, stratified %, LOSO %,
    mean inner validation %."""
    lines = ["| candidate | stratified | LOSO mean ± sd | validation (inner LOSO) |",
             "| --- | ---: | ---: | ---: |"]  # fmt: skip
    for name, row in cands.items():
        s = summary(row)
        lines.append(f"| {name} | {100 * s['strat']:.1f} | {100 * s['loso']:.1f} ± "
                     f"{100 * s['sd']:.1f} | {100 * s['inner']:.1f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def nested(cands: dict[str, dict]) -> dict:
    """Per outer fold: the candidate of best mean inner score, and its held-out accuracy."""
    speakers = sorted(next(iter(cands.values()))["outer"])
    picks = {}
    for s in speakers:
        best = max(cands, key=lambda c: np.mean(list(cands[c]["inner"][s].values())))
        picks[s] = {"candidate": best, "test": cands[best]["outer"][s]}
    tests = [p["test"] for p in picks.values()]
    return {"folds": picks, "mean": float(np.mean(tests)), "sd": float(np.std(tests))}


def select(args: argparse.Namespace) -> None:
    """Read every run, print the whole table and each family's nested figure."""
    cands: dict[str, dict] = {}
    for line in Path(args.runs).read_text().splitlines():
        rec = json.loads(line)
        for c, row in rec["candidates"].items():
            cands[_key(rec["sets"], c)] = row
    print_table(dict(sorted(cands.items(), key=lambda kv: -summary(kv[1])["inner"])))
    report = {}
    for fam in ("lsm", "event_hist", "count_hist", "log_band"):
        mine = {k: v for k, v in cands.items() if f" {fam} " in f" {k} " or k.startswith(fam)}
        if mine:
            report[fam] = nested(mine)
            print(f"\n{fam}: nested LOSO {100 * report[fam]['mean']:.1f} ± "
                  f"{100 * report[fam]['sd']:.1f}")  # fmt: skip
            for s, p in report[fam]["folds"].items():
                print(f"  {s:10s} {100 * p['test']:5.1f}  {p['candidate']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(markdown(cands))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="simulate one setting, score its candidates")
    r.add_argument("config")
    r.add_argument("--set", action="append", default=[], help="KEY=VALUE config override")
    r.add_argument("--bins", default="10", help="count bins per recording, e.g. 5,10,20")
    r.add_argument("--alphas", default="10,100,1000,10000,100000", help="ridge penalties")
    r.add_argument("--baselines", default="", help="e.g. event_hist,count_hist,log_band")
    r.add_argument("--cs", default=",".join(f"{c:g}" for c in ba.CS), help="baselines' C")
    r.add_argument("--no-lsm", action="store_true", help="only the baselines")
    r.add_argument("--out", default="results/fsdd_tuning/runs.jsonl")
    s = sub.add_parser("select", help="nested selection over every run")
    s.add_argument("runs")
    s.add_argument("--json", default="", help="write the nested picks to this file")
    s.add_argument("--markdown", default="", help="write the whole table to this file")
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    run(args) if args.cmd == "run" else select(args)


if __name__ == "__main__":
    main()
