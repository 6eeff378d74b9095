"""``impactlens export lake DEST``, and the ``--lake DEST`` pieces other commands share (docs/scale.md).

A collector given ``--lake DEST`` runs unchanged into its private staging warehouse
(``DEST/_staging/<repo>.duckdb``, :func:`impactlens.lake.staging_path`), then publishes that repository's
partitions into the lake. Reports and the dashboard given ``--lake DEST`` read a warehouse materialised from
the lake (:func:`impactlens.lake.materialise`).
"""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from impactlens.commands import DbOption, QuietOption, fail, user_errors

LakeOption = Annotated[Optional[Path], typer.Option(
    "--lake", help="A Delta Lake folder (docs/scale.md): collect into it / read from it instead of a --db file.")]


def one_target(lake: Optional[Path], db: Optional[Path]) -> None:
    """Exit with a one-line error (code 2) when a collector was given both ``--lake`` and ``--db``."""
    if lake is not None and db is not None:
        fail("give --db or --lake, not both (with --lake the collector writes DEST/_staging/<repo>.duckdb).")


def staging_db(lake: Path, target: str, db: Optional[Path]) -> Path:
    """The warehouse a collector with ``--lake`` writes: its staging file for ``target`` in ``lake``.

    Exits with a one-line error (code 2) when ``--db`` was given too."""
    from impactlens import lake as lake_mod

    one_target(lake, db)
    return lake_mod.staging_path(lake, target)


def publish(staging: Path, lake: Path, repos: Optional[list], quiet: bool) -> None:
    """Publish ``repos`` (None: every repository of ``staging``) from the staging warehouse into ``lake``."""
    from impactlens import lake as lake_mod

    with user_errors():
        result = lake_mod.publish(staging, lake, repos)
    if not quiet:
        typer.echo(result.summary())


def finish_collection(summary: str, derived, db: Path, lake: Optional[Path], repos: Optional[list],
                      quiet: bool) -> None:
    """How a single-process collection ends: print its ``summary``, the derivation's line (``derived``, a
    :class:`~impactlens.derive.Derived` or None when nothing was due) and the warehouse ``db`` it wrote
    (unless ``quiet``), then, with ``lake``, publish ``repos`` (None: every repository) of ``db``, its
    staging warehouse, into the lake (:func:`publish`)."""
    if not quiet:
        typer.echo(summary)
        if derived:
            typer.echo(derived.summary())
        typer.echo(f"Warehouse: {db}")
    if lake is not None:
        publish(db, lake, repos, quiet)


def materialised(lake: Path, config=None):
    """A warehouse connection (in memory) holding the lake's rows, people resolved (exit 2 on a bad lake);
    says on stderr how long reading the lake took."""
    from impactlens import lake as lake_mod

    started = time.perf_counter()
    with user_errors():
        con = lake_mod.materialise(lake, config=config)
    typer.echo(f"read lake {lake} in {time.perf_counter() - started:.1f} s", err=True)
    return con


@contextmanager
def materialised_file(lake: Path, config_path: Optional[Path] = None) -> Iterator[Path]:
    """A temporary warehouse file holding the lake's rows (for the dashboard, which opens a file), removed
    after the block; exit 2 with one line on a bad lake."""
    from impactlens import config as config_mod
    from impactlens import lake as lake_mod

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="impactlens-lake-") as folder:
        path = Path(folder) / "lake.duckdb"
        with user_errors():
            lake_mod.materialise(lake, path, config=config_mod.resolve(config_path)).close()
        typer.echo(f"read lake {lake} into {path} in {time.perf_counter() - started:.1f} s", err=True)
        yield path


def export_lake(
    dest: Annotated[Path, typer.Argument(help="The lake folder (created if missing).")],
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Write every warehouse table (metric_* included) into DEST as Delta Lake tables, partitioned by
    repository (and month for the large tables). Incremental: only partitions whose rows changed are written."""
    from impactlens import lake as lake_mod
    from impactlens import warehouse

    with user_errors():
        result = lake_mod.export(warehouse.resolve_path(db), dest)
    if not quiet:
        typer.echo(result.summary())


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens export lake``."""
    export_app = typer.Typer(help="Write the warehouse in an open format other engines read.", no_args_is_help=True)
    export_app.command("lake")(export_lake)
    app.add_typer(export_app, name="export")
