"""Tasks: what ``spikelab run`` does with a config, by its ``task`` key.

``stages`` holds the stages every task shares (load a split, build a reservoir, features,
run chunked, statistics); ``classify`` and ``zero_shot`` are the tasks; ``registry`` maps
task names to their config class and runner.
"""

from .registry import TASKS, Task, get_task, parse, resolve, run_task

__all__ = ["TASKS", "Task", "get_task", "parse", "resolve", "run_task"]
