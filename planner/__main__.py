"""`python -m planner` runs the command line, like the `anneal-planner` script."""

from planner.cli import main

main()
