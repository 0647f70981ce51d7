"""Progress bars (tqdm): the one place that decides whether they show.

``progress=True`` shows a bar, ``False`` never does. ``None`` (the default of the loops
that have no ``progress=`` argument of their own: FEAST fitting, dataset loading and
generation, Brian2's run) asks the enclosing :func:`progress_bars` block, which the task
runners (``run_task(progress=...)``) and the command line (``spikelab -q``: none) open;
outside any block, bars show only when stderr is a terminal (tqdm's own ``disable=None``
rule), so logs, pipes and notebooks get none unless asked::

    from spikelab.progress import progress_bars
    with progress_bars(True):
        FEAST(...).fit(samples)       # a bar even in a notebook
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tqdm.auto import tqdm

_SHOW: ContextVar[bool | None] = ContextVar("spikelab_progress_bars", default=None)


@contextmanager
def progress_bars(show: bool | None) -> Iterator[None]:
    """Within the block (this thread or task), ``progress=None`` means ``show``; None
    leaves the enclosing choice."""
    token = _SHOW.set(_SHOW.get() if show is None else bool(show))
    try:
        yield
    finally:
        _SHOW.reset(token)


def show_bars(progress: bool | None = None) -> bool:
    """Whether a loop shows a bar: ``progress`` when given, else the enclosing
    :func:`progress_bars` block's choice, else whether stderr is a terminal."""
    if progress is not None:
        return bool(progress)
    chosen = _SHOW.get()
    if chosen is not None:
        return chosen
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def bar(
    iterable: Iterable[Any] | None = None, *, progress: bool | None = None, **kwargs: Any
) -> Any:
    """``tqdm.auto.tqdm(iterable, **kwargs)``, shown as :func:`show_bars` decides."""
    return tqdm(iterable, disable=not show_bars(progress), **kwargs)
