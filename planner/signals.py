"""SIGTERM handled like Ctrl-C: the work in hand stops in order (no half-written file, solver
stopped, batch workers killed), then the process exits 143 instead of 130."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as SIGINT raises KeyboardInterrupt."""


def stop_words(stop: KeyboardInterrupt) -> tuple[str, int]:
    """What stopped the work, in a word, and the exit code: SIGTERM 143, Ctrl-C 130."""
    return ("terminated", 143) if isinstance(stop, Terminated) else ("interrupted", 130)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated in the main thread; the previous handler is
    restored after."""

    def handler(signum, frame):
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
