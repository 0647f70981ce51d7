"""The tasks ``spikelab run`` knows, by the name a config gives in its ``task`` key.

A task is a typed config class (``from_dict`` checks every key) and a runner taking that
config and returning the results folder. ``run_task(raw)`` parses the raw tables with the
task's config class, then runs it; ``resolve(raw)`` is the parsed config as plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ClassifyConfig, ConfigError, TaskConfig, closest, table
from .classify import run_classify
from .stages import Log
from .zero_shot import ZeroShotConfig, run_zero_shot


@dataclass(frozen=True)
class Task:
    name: str
    config: type[TaskConfig]
    run: Callable[..., Path]  # run(cfg, *, progress, log=None) -> results folder
    summary: str


TASKS: dict[str, Task] = {
    "classify": Task(
        "classify",
        ClassifyConfig,
        run_classify,
        "a reservoir and a readout on one dataset, beside a histogram baseline",
    ),
    "zero_shot": Task(
        "zero_shot",
        ZeroShotConfig,
        run_zero_shot,
        "two reservoirs and contrastive heads: zero-shot cross-modal retrieval (Lin et al.)",
    ),
}


def get_task(name: Any) -> Task:
    """The task registered as ``name``; an unknown name lists the known ones."""
    if isinstance(name, str) and name in TASKS:
        return TASKS[name]
    near = closest(str(name), TASKS)
    hint = f" (did you mean {near!r}?)" if near else ""
    raise ConfigError(f"unknown task {name!r}{hint}; known tasks: {', '.join(TASKS)}")


def parse(cfg: TaskConfig | Mapping[str, Any]) -> TaskConfig:
    """The typed config of a raw config (its ``task`` key, default "classify", picks the
    class); every section and key is checked before anything runs."""
    if isinstance(cfg, TaskConfig):
        return cfg
    raw = table(cfg, "config")
    return get_task(raw.get("task", "classify")).config.from_dict(raw)


def resolve(cfg: TaskConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The checked config with every default filled in, as plain TOML values."""
    return parse(cfg).to_dict()


def run_task(
    cfg: TaskConfig | Mapping[str, Any],
    *,
    progress: bool | None = True,
    log: Log | None = None,
) -> Path:
    """Parse (when raw) and run a config on its task; returns the results folder.

    The run's lines go to the ``spikelab`` logger (``logging.getLogger("spikelab")``; the
    CLI shows them); ``log``, the older API, receives them too. ``progress``: progress bars
    (None: shown when stderr is a terminal, see ``spikelab.progress``)."""
    cfg = parse(cfg)
    return get_task(cfg.task).run(cfg, progress=progress, log=log)
