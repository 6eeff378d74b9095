"""``impactlens export lake DEST``, and the ``--lake DEST`` pieces other commands share (docs/scale.md).

A collector given ``--lake DEST`` runs unchanged into its private staging warehouse
(``DEST/_staging/<repo>.duckdb``, :func:`impactlens.lake.staging_path`), then publishes that repository's
partitions into the lake. Reports and the dashboard given ``--lake DEST`` read a warehouse materialised from
the lake (:func:`impactlens.lake.materialise`).

``--lake`` is a folder or an object-store URL (``s3://bucket/prefix``, ``gs://``, ``az://``...): a string, not a
``Path`` (which would make ``s3://`` ``s3:/``). A remote lake is opened with the configuration's
``[lake.storage_options]`` over the environment's credentials (:func:`use_config`).
"""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from impactlens.commands import ConfigOption, DbOption, QuietOption, fail, user_errors

LakeOption = Annotated[Optional[str], typer.Option(
    "--lake", help="A Delta Lake folder or object-store URL (s3://bucket/prefix; docs/scale.md): collect into it / "
                   "read from it instead of a --db file.")]


def one_target(lake: Optional[str], db: Optional[Path]) -> None:
    """Exit with a one-line error (code 2) when a collector was given both ``--lake`` and ``--db``."""
    if lake is not None and db is not None:
        fail("give --db or --lake, not both (with --lake the collector writes DEST/_staging/<repo>.duckdb).")


def use_config(config=None) -> None:
    """Open remote lakes with ``[lake.storage_options]`` of ``config`` (a Config, a path, or None: the
    command line's rule, ./impactlens.toml when present)."""
    from impactlens import config as config_mod
    from impactlens import lake as lake_mod

    cfg = config if isinstance(config, config_mod.Config) else config_mod.resolve(config)
    lake_mod.configure(cfg.lake.storage_options)


def staging_db(lake: str, target: str, db: Optional[Path], config=None) -> Path:
    """The warehouse a collector with ``--lake`` writes: its staging file for ``target`` in ``lake`` (on
    local disk also for a lake on object storage), the lake's storage options taken from ``config``.

    Exits with a one-line error (code 2) when ``--db`` was given too."""
    from impactlens import lake as lake_mod

    one_target(lake, db)
    use_config(config)
    path = lake_mod.staging_path(lake, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def publish(staging: Path, lake: str, repos: Optional[list], quiet: bool) -> None:
    """Publish ``repos`` (None: every repository of ``staging``) from the staging warehouse into ``lake``."""
    from impactlens import lake as lake_mod

    with user_errors():
        result = lake_mod.publish(staging, lake, repos)
    if not quiet:
        typer.echo(result.summary())


def finish_collection(summary: str, derived, db: Path, lake: Optional[str], repos: Optional[list],
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


def materialised(lake: str, config=None):
    """A warehouse connection (in memory) holding the lake's rows, people resolved (exit 2 on a bad lake);
    says on stderr how long reading the lake took."""
    from impactlens import lake as lake_mod

    started = time.perf_counter()
    with user_errors():
        use_config(config)
        con = lake_mod.materialise(lake, config=config)
    typer.echo(f"read lake {lake} in {time.perf_counter() - started:.1f} s", err=True)
    return con


@contextmanager
def materialised_file(lake: str, config_path: Optional[Path] = None) -> Iterator[Path]:
    """A temporary warehouse file holding the lake's rows (for the dashboard, which opens a file), removed
    after the block; exit 2 with one line on a bad lake."""
    from impactlens import config as config_mod
    from impactlens import lake as lake_mod

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="impactlens-lake-") as folder:
        path = Path(folder) / "lake.duckdb"
        with user_errors():
            cfg = config_mod.resolve(config_path)
            use_config(cfg)
            lake_mod.materialise(lake, path, config=cfg).close()
        typer.echo(f"read lake {lake} into {path} in {time.perf_counter() - started:.1f} s", err=True)
        yield path


def refresh_file(lake: str, path: Path, config_path: Optional[Path], seen: tuple) -> tuple:
    """Read ``lake`` again into ``path`` (the file a dashboard serves) when its :func:`impactlens.lake.snapshot`
    is not ``seen``; returns the snapshot now served. The new copy is materialised beside ``path`` and moved
    over it (``os.replace``), so the dashboard reloads it as it reloads a warehouse a collection published.

    Raises:
        ImpactlensError: the lake cannot be read (the file served stays as it was).
    """
    import os

    from impactlens import config as config_mod
    from impactlens import lake as lake_mod

    now = lake_mod.snapshot(lake)  # before reading: a commit landing meanwhile is seen by the next check
    if now == seen:
        return seen
    fresh = path.with_name(path.name + ".next")
    fresh.unlink(missing_ok=True)
    try:
        lake_mod.materialise(lake, fresh, config=config_mod.resolve(config_path)).close()
        os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)
    return now


def export_lake(
    dest: Annotated[str, typer.Argument(help="The lake folder (created if missing) or object-store URL "
                                             "(s3://bucket/prefix: docs/scale.md).")],
    db: DbOption = None,
    quiet: QuietOption = False,
    config: ConfigOption = None,
) -> None:
    """Write every warehouse table (metric_* included) into DEST as Delta Lake tables, partitioned by
    repository (and month for the large tables). Incremental: only partitions whose rows changed are written."""
    from impactlens import lake as lake_mod
    from impactlens import warehouse

    with user_errors():
        use_config(config)
        result = lake_mod.export(warehouse.resolve_path(db), dest)
    if not quiet:
        typer.echo(result.summary())


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens export lake``."""
    export_app = typer.Typer(help="Write the warehouse in an open format other engines read.", no_args_is_help=True)
    export_app.command("lake")(export_lake)
    app.add_typer(export_app, name="export")
