"""Shared pieces of the command line; each area's commands live in a module beside this one.

An area module exposes ``register(app, collect_app)``, which adds its commands to the top-level
Typer app (``impactlens X``) or to the ``impactlens collect`` group.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from impactlens import warehouse
from impactlens.errors import ImpactlensError

DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", envvar=warehouse.DB_ENV, help="Warehouse file (default ./impactlens.duckdb)."),
]
ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", help="Configuration file (default ./impactlens.toml).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (for cron).")]


def fail(message: str, code: int = 2) -> None:
    """Print ``message`` on one line to stderr and exit with ``code``."""
    typer.echo(f"impactlens: error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn an :class:`ImpactlensError` raised in the block into one line on stderr and its exit code."""
    try:
        yield
    except ImpactlensError as exc:
        fail(str(exc), exc.exit_code)


def progress(quiet: bool, unit: str = "items"):
    """A rich progress bar with a rate in ``unit``/s, silent with ``--quiet`` or when stderr is not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task):  # type: ignore[override]
            return Text(f"{task.speed or 0:,.0f} {unit}/s")

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
        TimeElapsedColumn(), disable=quiet or not sys.stderr.isatty(), transient=True,
    )
