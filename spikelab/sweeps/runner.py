"""Run a sweep: check every point, skip those already done, run the others on Dask (or
in-process), write each point's folder as it completes, then the tables and plots.

    out/sweep.json          what was swept (config, grid, seeds): the sweep folder's marker
        sweep.csv           one row per point (rewritten after every completed point)
        sweep_summary.csv   mean and sd over seeds per combination of swept values
        sweep_*.png         the plots
        points/<name>/      each point's results folder, as ``spikelab run`` writes it
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

from tqdm.auto import tqdm

from ..fileio import write_json_atomic
from ..results import OutputError, check_inputs
from .cluster import spikelab_level
from .grid import Point, make_points, parse_grid, parse_seeds
from .plots import plot_sweep
from .point import point_state, run_point, write_point
from .table import point_row, summarise, write_csv

__all__ = ["SWEEP_FORMAT", "SweepResult", "sweep"]

SWEEP_FORMAT = "spikelab.sweep"
logger = logging.getLogger(__name__)


def _say(log: Any, message: str) -> None:
    """A line to the ``spikelab`` logger and, when given, to the older ``log=`` callable."""
    logger.info(message)
    if log is not None:
        log(message)


@dataclass
class SweepResult:
    """What a sweep did: its folder, the rows of sweep.csv, and how many points were
    computed now, skipped (already done, same config hash) and failed."""

    out: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    computed: int = 0
    skipped: int = 0
    failed: int = 0
    plots: list[Path] = field(default_factory=list)


def check_sweep_folder(out: Path) -> None:
    """Refuse a file, or a non-empty folder that is not a sweep folder of spikelab."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"sweep folder {str(out)!r} is an existing file; choose a folder (--out)")
    if out.is_dir() and any(out.iterdir()):
        try:
            ok = json.loads((out / "sweep.json").read_text()).get("format") == SWEEP_FORMAT
        except (OSError, ValueError, AttributeError):
            ok = False
        if not ok:
            raise OutputError(
                f"sweep folder {str(out)!r} is a non-empty folder that is not a spikelab sweep "
                "(no sweep.json); choose a new or empty folder (--out)"
            )


def _absolute_data(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The config with ``dataset.root`` absolute: workers may run in another folder."""
    raw = json.loads(json.dumps(raw))
    ds = raw.get("dataset")
    if isinstance(ds, dict) and isinstance(ds.get("root"), str):
        ds["root"] = os.path.abspath(os.path.expanduser(ds["root"]))
    return raw


def _prepare_data(point: Point) -> None:
    """Generate a configured synthetic dataset once, on the client, before the workers
    would all try to."""
    ds = point.config.get("dataset") or {}
    if ds.get("generate") and not Path(ds["root"]).exists():
        from ..config import DatasetConfig
        from ..tasks.stages import data_seed, generate_dataset

        dataset = DatasetConfig.coerce(ds)
        # its line goes to the spikelab logger (a log= of logger.info would forward each
        # record back into the logger that emits it: endless recursion)
        generate_dataset(dataset, Path(ds["root"]), data_seed(dataset, point.seed))


def plan(points: Sequence[Point], out: Path, overwrite: bool) -> tuple[list[Point], dict[str, Any]]:
    """(points to compute, name -> metrics of points already done). A point folder that
    holds other results is an error unless ``overwrite`` (which recomputes every point)."""
    done: dict[str, Any] = {}
    todo, different = [], []
    for p in points:
        state, metrics = point_state(out / "points" / p.name, p.config_hash)
        if state == "done" and not overwrite:
            done[p.name] = metrics
            continue
        if state == "different" and not overwrite:
            different.append(p.name)
        todo.append(p)
    if different:
        raise OutputError(
            f"{len(different)} point folder(s) of {out} hold results of another config (or "
            f"not spikelab results), e.g. points/{different[0]}; pass --overwrite to recompute "
            "and replace them, or choose another --out"
        )
    return todo, done


@contextmanager
def _executor(client: Any, scheduler: str | None, workers: int | None, dask: bool) -> Iterator[Any]:
    if not dask:
        yield None
    elif client is not None:
        yield client
    else:
        from .cluster import connect

        with connect(scheduler, workers) as c:
            yield c


def _results(todo: Sequence[Point], client: Any) -> Iterator[tuple[Point, dict[str, Any]]]:
    """(point, run_point's result) as points complete (Dask) or one by one (in-process).
    A point whose worker died too often (Dask's ``KilledWorker``) is a failed result."""
    level = spikelab_level()  # the points' lines at the client's level (-q, -v)
    if client is None:
        for p in todo:
            yield p, run_point(p.config, level)
        return
    from distributed import as_completed

    futures = {  # a fresh key each time: a rerun never waits on a key being cancelled
        client.submit(run_point, p.config, level, key=f"spikelab-point-{p.name}-{uuid4().hex}"): p
        for p in todo
    }
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as e:  # KilledWorker, a lost scheduler: the point's error
                result = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
            future.release()
            yield futures[future], result
    finally:
        for future in futures:
            future.cancel()


def _start(config: Any, grid: Any, seeds: Any, out: Any) -> tuple[dict[str, Any], dict, list, Path]:
    from ..config import load_config

    raw = load_config(config) if isinstance(config, str | os.PathLike) else dict(config)
    grid, seeds = parse_grid(grid), parse_seeds(seeds)
    if out is None:
        base = ((raw.get("output") or {}).get("dir")) or f"results/{raw.get('name', 'run')}"
        out = f"{str(base).rstrip('/')}_sweep"
    return _absolute_data(raw), grid, seeds, Path(os.path.abspath(os.fspath(out)))


def _finish(result: SweepResult, points: Sequence[Point], keys: Sequence[str]) -> None:
    summary = summarise(result.rows, keys)
    if summary:
        write_csv(result.out / "sweep_summary.csv", summary)
    result.plots = plot_sweep(summary, keys, result.out)


def _record(result: SweepResult, p: Point, res: Mapping[str, Any], log: Any) -> dict[str, Any]:
    """Write a completed point's folder (when it succeeded) and return its row."""
    extra = {k: res[k] for k in ("wall_s", "host", "pid") if k in res}
    if res.get("status") == "ok":
        folder = write_point(result.out / "points" / p.name, res["files"])
        metrics = json.loads(res["files"]["metrics.json"])
        result.computed += 1
        _say(log, f"point {p.name}: test accuracy {metrics.get('test_accuracy')} -> {folder}")
        return point_row(p, metrics, status="ok", how="computed", **extra)
    result.failed += 1
    _say(log, f"point {p.name}: FAILED {res.get('error')}")
    return point_row(p, None, status="failed", how="computed", error=res.get("error", ""), **extra)


def _run_points(
    result: SweepResult,
    points: Sequence[Point],
    todo: Sequence[Point],
    rows: dict[str, dict[str, Any]],
    ex: Any,
    progress: bool | None,
    log: Any,
) -> None:
    """Run ``todo`` on ``ex`` (a Dask client, or None: here); each completed point's folder
    and the whole sweep.csv are written as it arrives."""
    results = _results(todo, ex)
    disable = None if progress is None else not progress
    try:
        with tqdm(total=len(todo), desc="sweep", unit="point", disable=disable) as bar:
            for p, res in results:
                rows[p.name] = _record(result, p, res, log)
                result.rows = [rows[q.name] for q in points if q.name in rows]
                write_csv(result.out / "sweep.csv", result.rows)
                bar.update(1)
    finally:
        results.close()  # an interrupted client cancels the points still pending


def sweep(
    config: str | os.PathLike[str] | Mapping[str, Any],
    grid: Sequence[str] | Mapping[str, Sequence[Any]],
    seeds: str | Sequence[int] | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    dask: bool = True,
    overwrite: bool = False,
    progress: bool | None = True,
    log: Any = None,
) -> SweepResult:
    """Run ``config`` (a TOML path or raw tables) at every point of ``grid`` (``KEY=V1,V2``
    strings or key -> values) times ``seeds`` (``"0-4"``, a list; default: the config's
    seed) into ``out`` (default ``<output.dir>_sweep``). Points run on ``client``, else on
    the Dask scheduler at ``scheduler`` (``$SPIKELAB_SCHEDULER``), else on an embedded local
    cluster of ``workers`` processes; ``dask=False`` runs them in this process. Points whose
    folder holds results of the same config hash are skipped; ``overwrite`` recomputes all."""
    raw, grid, seeds, out = _start(config, grid, seeds, out)
    check_sweep_folder(out)
    points = make_points(raw, grid, seeds, out)  # every point checked before anything runs
    for root in {str((p.config.get("dataset") or {}).get("root", "")) for p in points} - {""}:
        check_inputs(out, {"dataset.root": root})
    todo, done = plan(points, out, overwrite)
    _say(
        log,
        f"sweep: {len(points)} points; {len(done)} skipped (results present, same config "
        f"hash), {len(todo)} to compute -> {out}",
    )
    out.mkdir(parents=True, exist_ok=True)
    spec = {"format": SWEEP_FORMAT, "config": raw, "grid": grid, "seeds": seeds}
    write_json_atomic(out / "sweep.json", spec)
    result = SweepResult(out, skipped=len(done))
    rows = {
        p.name: point_row(p, done[p.name], status="ok", how="skipped")
        for p in points
        if p.name in done
    }
    for root_point in {(p.config.get("dataset") or {}).get("root"): p for p in todo}.values():
        _prepare_data(root_point)
    with _executor(client, scheduler, workers, dask) as ex:
        _run_points(result, points, todo, rows, ex, progress, log)
    result.rows = [rows[q.name] for q in points if q.name in rows]
    write_csv(out / "sweep.csv", result.rows)
    _finish(result, points, list(grid))
    _say(
        log,
        f"sweep: computed {result.computed}, skipped {result.skipped}, "
        f"failed {result.failed}; table {out / 'sweep.csv'}",
    )
    return result
