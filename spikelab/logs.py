"""The ``spikelab`` logger and what the library does with it.

Every module logs through ``logging.getLogger(__name__)``, a child of ``spikelab``. The
library adds no handler (not even a ``NullHandler``), so a program decides what it sees;
with no logging configured at all, Python's last-resort handler prints warnings (e.g. a
nearly silent reservoir) to stderr and nothing below::

    import logging
    logging.basicConfig(level=logging.INFO)          # the run's lines on stderr
    logging.getLogger("spikelab").setLevel(logging.WARNING)   # warnings only

The command line configures it (``spikelab -v`` debug, ``-q`` warnings only:
:func:`spikelab.cli.configure_logging`). The older ``log=`` callables of ``run_task``,
``run_classify``, ``predict``, ... still work: :func:`forwarding` hands them every record
of the call as one formatted line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

LOGGER = "spikelab"

#: A callable receiving each log line of a call (the ``log=`` argument of the task runners).
Log = Callable[[str], None]


class LevelFormatter(logging.Formatter):
    """The message alone for INFO; ``WARNING: ...`` (the level's name) for other levels."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno == logging.INFO else f"{record.levelname}: {text}"


class _CallbackHandler(logging.Handler):
    """Hands the records of one thread to a ``log`` callable."""

    def __init__(self, log: Log, thread: int) -> None:
        super().__init__(logging.INFO)
        self.log, self.thread = log, thread
        self.setFormatter(LevelFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.log(self.format(record))


@contextmanager
def forwarding(log: Log | None) -> Iterator[None]:
    """Within the block, also pass every INFO-or-higher record of ``spikelab`` logged by
    this thread to ``log`` as one line (warnings as ``WARNING: ...``). None: nothing
    changes. The ``spikelab`` logger is set to INFO for the block when it would drop INFO
    records, then restored."""
    if log is None:
        yield
        return
    logger = logging.getLogger(LOGGER)
    handler = _CallbackHandler(log, threading.get_ident())
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
