"""SIGTERM handled like Ctrl-C: the work in hand stops in order (no half-written file, solver
stopped, batch workers killed), then the process exits 143 instead of 130."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as SIGINT raises KeyboardInterrupt."""


_RECEIVED = {"sigterm": False}


def terminated() -> bool:
    """Whether SIGTERM arrived in this process. A library may catch the Terminated the handler raises
    and raise its own error instead (an extension module's import fails with ImportError): the
    command still ends as terminated, 143."""
    return _RECEIVED["sigterm"]


def exit_on_sigterm() -> None:
    """Until `sigterm_as_interrupt` takes over: SIGTERM ends the process at once with 143 and one
    line. For the start of a command, while modules import: nothing has been written yet."""

    def handler(signum, frame):
        os.write(2, b"error: terminated; no output file was written\n")
        os._exit(143)

    with contextlib.suppress(ValueError):  # not the main thread: leave SIGTERM alone
        signal.signal(signal.SIGTERM, handler)


def stop_words(stop: KeyboardInterrupt) -> tuple[str, int]:
    """What stopped the work, in a word, and the exit code: SIGTERM 143, Ctrl-C 130."""
    return ("terminated", 143) if isinstance(stop, Terminated) else ("interrupted", 130)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated in the main thread; the previous handler is
    restored after."""

    def handler(signum, frame):
        _RECEIVED["sigterm"] = True
        raise Terminated()

    _RECEIVED["sigterm"] = False  # one command at a time; a process running several starts afresh
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
