"""`python -m planner` runs the command line, like the `anneal-planner` script."""

from planner.cli import app

app(prog_name="anneal-planner")
