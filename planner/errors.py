"""The project's own exceptions: each carries a message meant for the user, no traceback needed."""

from __future__ import annotations


class PlannerError(Exception):
    """Base class: anything the CLI reports as one clear message and exit code."""

    exit_code = 2


class InputError(PlannerError):
    """A file the user gave cannot be read as what it should be.

    `where` names the file and, when known, the line (text) or index (JSON) at fault.
    """

    def __init__(self, file: object, what: str, *, line: int | None = None, index: str | None = None):
        self.file = str(file)
        self.line = line
        self.index = index
        self.what = what
        where = self.file
        if line is not None:
            where += f", line {line}"
        if index is not None:
            where += f", {index}"
        super().__init__(f"{where}: {what}")


class OptionError(PlannerError):
    """An option value that cannot be accepted (says which and what would be)."""


class InfeasibleError(PlannerError):
    """No plan can satisfy the rules; the message says which anneals and why."""

    exit_code = 1


BUG_REPORT = "this is a bug in anneal-planner: please report it with the command and the input files"


class InternalError(PlannerError, AssertionError):
    """A fault of the planner itself (e.g. the solver's plan fails the checker), never of the input.

    Exit 3, and the message asks for a bug report. Still an AssertionError for code that checks one."""

    exit_code = 3

    def __init__(self, what: str):
        super().__init__(f"internal error: {what}; {BUG_REPORT}")


def brief(err: BaseException, limit: int = 200) -> str:
    """A library's error message on one line, cut to `limit` characters, for inside ours."""
    return " ".join(str(err).split())[:limit]


def kind_of(value: object) -> str:
    """`a str`, `an int`: the type of a value from a file, for messages."""
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def shown(value: object, limit: int = 80) -> str:
    """repr() of a value from a file or option for a message, at most `limit` characters.

    An integer of thousands of digits has no repr (Python's int-to-str conversion limit raises
    ValueError): it is described by its size instead."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    try:
        text = repr(value)
    except ValueError:  # a container holding such an integer
        return f"{kind_of(value)} too large to show"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def clip(message: str, longest: int = 300) -> str:
    """`message` with every word longer than `longest` characters cut in its middle: a value of
    thousands of characters (an option, a line of a file) stays recognisable on one short line."""
    if len(message) <= longest:
        return message
    head, tail = longest // 2, longest // 8

    def cut(word: str) -> str:
        if len(word) <= longest:
            return word
        return f"{word[:head]}...({len(word) - head - tail:,} more)...{word[-tail:]}"

    return " ".join(cut(word) for word in message.split(" "))
