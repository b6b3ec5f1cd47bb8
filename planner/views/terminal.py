"""The two consoles every command prints through, and `styled`: only rich, so that an error (a
usage error above all) is printed without importing pandas or numpy."""

from __future__ import annotations

import os
import re
import sys

from rich.console import Console
from rich.segment import Segment
from rich.text import Text


def _width(stream) -> int | None:
    """The terminal's width; when piped, COLUMNS if set (rich reads it when width is None), else 120
    columns rather than rich's 80 so logs keep whole table rows."""
    return None if stream.isatty() or os.environ.get("COLUMNS", "").isdigit() else 120


# Control characters from inputs (ESC starting a terminal sequence, BEL, a carriage return that
# overwrites the line, C1 codes, bidirectional overrides that reorder what is shown): shown as \x1b,
# \u202e. Newlines and tabs are layout and stay.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control character written as its escape."""
    return _CONTROL.sub(_escape, text)


class _Console(Console):
    """A Console that never sends a control character from the text it prints: every text segment
    (a table cell, a message, a progress description) is escaped just before it is written, while
    the styles rich adds itself (control segments and colour codes) are left alone."""

    def _render_buffer(self, buffer):
        return super()._render_buffer(
            Segment(visible(text), style, control) if control is None and _CONTROL.search(text) else segment
            for segment in buffer
            for text, style, control in (segment,)
        )


# Long lines stay whole (easier to grep and copy).
# No markup: text from files, names and data is printed as it is ('[/x].txt' is a file name, not a
# tag); the tool's own styles are Text spans (`styled`).
# No emoji codes either (':x:' in a target name stays as it is), and no highlighting of numbers or
# paths in the text of files.
console = _Console(soft_wrap=True, width=_width(sys.stdout), markup=False, emoji=False, highlight=False)
errors = _Console(
    stderr=True, soft_wrap=True, width=_width(sys.stderr), markup=False, emoji=False, highlight=False
)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Plain strings and (text, style) pairs as one Text: nothing in them is read as markup."""
    return Text.assemble(*parts)
