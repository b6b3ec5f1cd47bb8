"""`python -m planner` and the `anneal-planner` script: the command line.

SIGTERM is exit 143 from the first moment, while the command's modules import included: the
handler is installed before `planner.cli` (typer, rich) is imported."""

from planner.signals import exit_on_sigterm


def run() -> None:
    exit_on_sigterm()
    from planner.cli import main

    main()


if __name__ == "__main__":
    run()
