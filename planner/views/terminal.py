"""The two consoles every command prints through, and `styled`: only rich, so that an error (a
usage error above all) is printed without importing pandas or numpy."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.text import Text


def _width(stream) -> int | None:
    """The terminal's width; when piped, COLUMNS if set (rich reads it when width is None), else 120
    columns rather than rich's 80 so logs keep whole table rows."""
    return None if stream.isatty() or os.environ.get("COLUMNS", "").isdigit() else 120


# Long lines stay whole (easier to grep and copy).
# No markup: text from files, names and data is printed as it is ('[/x].txt' is a file name, not a
# tag); the tool's own styles are Text spans (`styled`).
# No emoji codes either (':x:' in a target name stays as it is), and no highlighting of numbers or
# paths in the text of files.
console = Console(soft_wrap=True, width=_width(sys.stdout), markup=False, emoji=False, highlight=False)
errors = Console(
    stderr=True, soft_wrap=True, width=_width(sys.stderr), markup=False, emoji=False, highlight=False
)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Plain strings and (text, style) pairs as one Text: nothing in them is read as markup."""
    return Text.assemble(*parts)
