"""Shared pieces of the command line; each area's commands live in a module beside this one.

An area module exposes ``register(app, collect_app)``, which adds its commands to the top-level
Typer app (``impactlens X``) or to the ``impactlens collect`` group.
"""

from __future__ import annotations

import shlex
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterator, NoReturn, Optional

import typer

from impactlens import warehouse
from impactlens.errors import ImpactlensError

if TYPE_CHECKING:
    from impactlens.config import Config

DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", envvar=warehouse.DB_ENV, help="Warehouse file (default ./impactlens.duckdb)."),
]
ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", help="Configuration file (default ./impactlens.toml).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (for cron).")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` on one line to stderr and exit with ``code``."""
    from impactlens.redact import redact

    typer.echo(redact(f"impactlens: error: {' '.join(str(message).split())}"), err=True)
    raise typer.Exit(code)


def os_error_message(exc: OSError) -> str:
    """One line for a file-system error (a ``--db`` whose parent is a file, a read-only directory...)."""
    name = exc.filename if exc.filename is not None else "a file"
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return f"cannot use {name}: a file is in the way where a directory is needed; choose another path."
    if isinstance(exc, PermissionError):
        return f"cannot write {name}: permission denied; choose a path you can write."
    return f"cannot use {name}: {exc.strerror or exc}."


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn an :class:`ImpactlensError` (or a file-system ``OSError``) raised in the block into one
    line on stderr and its exit code (2)."""
    try:
        yield
    except ImpactlensError as exc:
        fail(str(exc), exc.exit_code)
    except OSError as exc:
        fail(os_error_message(exc))


def job(resumes: str | None = None, config: "Config | None" = None) -> warehouse.Job:
    """The :class:`~impactlens.warehouse.Job` of this command line, for :func:`impactlens.warehouse.writing`.

    ``resumes`` is the key of a collection this command continues when a run of it was killed (None:
    the command starts over). A copy left by a collection killed during its derivation is finished
    (identities, people, incidents, deployments derived with ``config``, default ./impactlens.toml)
    and published before the command's own work.
    """
    command = "impactlens " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])

    def finish(con: Any) -> None:
        from impactlens import config as config_mod
        from impactlens.derive import after_collection

        after_collection(con, config if config is not None else config_mod.resolve(None))

    return warehouse.Job(command=command, resumes=resumes, finish=finish)


class _NoProgress:
    """What :func:`progress` returns when nothing is shown: the calls of rich's ``Progress``, doing nothing."""

    def __enter__(self) -> "_NoProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass

    def advance(self, *args: Any, **kwargs: Any) -> None:
        pass


def progress(quiet: bool, unit: str = "items"):
    """A rich progress bar with a rate in ``unit``/s, silent with ``--quiet`` or when stderr is not a terminal.

    Silent, it is a stand-in that does not import rich (0.1 s), so a cron run that has nothing to do is quick.
    """
    if quiet or not sys.stderr.isatty():
        return _NoProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task):  # type: ignore[override]
            return Text(f"{task.speed or 0:,.0f} {unit}/s")

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
        TimeElapsedColumn(), transient=True,
    )
