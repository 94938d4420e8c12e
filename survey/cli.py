"""The ``trygghet`` console script (Typer + Rich).

Each command is a thin wrapper over library functions; errors meant for a person (``TrygghetError``)
are printed as one paragraph with exit code 2, never as a traceback.
"""
from __future__ import annotations

import functools
import sys
from typing import Callable

import typer
from rich.console import Console

from survey.errors import TrygghetError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="trygghet: Swedish safety surveys from vendor files to published tables.")
console = Console()
err_console = Console(stderr=True)


def friendly(fn: Callable) -> Callable:
    """Turn a TrygghetError into a one-paragraph message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TrygghetError as exc:
            err_console.print(f"[bold red]Fel:[/bold red] {exc}", soft_wrap=True, highlight=False)
            sys.exit(2)

    return wrapper


# --- commands (each area adds its own block below) -------------------------------------------------


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
