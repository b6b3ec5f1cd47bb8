"""`python -m planner` runs the command line, like the `anneal-planner` script."""

# SIGTERM during the imports below is exit 143 like SIGTERM at any later moment (issue 25).
from planner.signals import exit_on_sigterm

exit_on_sigterm()

from planner.cli import main  # noqa: E402

main()
