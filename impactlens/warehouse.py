"""The DuckDB warehouse: its one schema, its migrations, and how writers publish it.

Every part of impactlens (collectors, metrics, dashboard) opens the warehouse through this module.

Concurrency model (docs/schema.md, "Readers and writers"): DuckDB allows one writing process and
no other process beside it, not even a read-only one. So writers never open the published file:

* :func:`writing` takes ``<db>.lock``, works on ``<db>.writing`` (a copy of the published file, or the
  copy an interrupted run left behind, which is how an interrupted collection resumes), commits in
  short transactions, and on success checkpoints, closes and atomically renames the copy over the
  published file (``os.replace``).
* :func:`read_only` opens the published file read-only. Readers (the dashboard) keep seeing the
  last complete data while a collection runs, and see the new data when they reopen.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb
from filelock import FileLock, Timeout

from impactlens.errors import SchemaOutdatedError, SchemaTooNewError, WarehouseError

DEFAULT_DB = "impactlens.duckdb"
DB_ENV = "IMPACTLENS_DB"


@dataclass(frozen=True)
class Migration:
    """One schema step: ``version`` is the schema version after ``sql`` has run."""

    version: int
    description: str
    sql: str


def _load_migrations() -> tuple[Migration, ...]:
    found = []
    for entry in resources.files("impactlens").joinpath("schema").iterdir():
        match = re.fullmatch(r"(\d{3})_(\w+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"schema migrations are not numbered 1..n: {[m.version for m in found]}")
    return tuple(found)


MIGRATIONS: tuple[Migration, ...] = _load_migrations()
SCHEMA_VERSION = MIGRATIONS[-1].version


def resolve_path(db: str | os.PathLike[str] | None = None) -> Path:
    """The warehouse path: ``db`` if given, else ``$IMPACTLENS_DB``, else ``./impactlens.duckdb``."""
    return Path(db or os.environ.get(DB_ENV) or DEFAULT_DB)


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET TimeZone = 'UTC'")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the file; 0 for a file with no impactlens schema yet."""
    has_table = con.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not has_table:
        return 0
    return con.sql("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction: committed if it succeeds, rolled back if it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def upsert(con: duckdb.DuckDBPyConnection, table: str, rows: Any, columns: Sequence[str] | None = None) -> int:
    """``INSERT OR REPLACE`` the Arrow table (or Polars frame) ``rows`` into ``table`` by name.

    The primary key of ``table`` decides which rows are replaced, so loading the same rows twice
    stores them once. ``columns`` defaults to all of ``rows``' columns. Returns the rows written.
    """
    if hasattr(rows, "to_arrow"):
        rows = rows.to_arrow()
    if not rows.num_rows:
        return 0
    names = ", ".join(f'"{c}"' for c in (columns or rows.column_names))
    con.register("_upsert_rows", rows)
    try:
        con.execute(f"INSERT OR REPLACE INTO {table} ({names}) SELECT {names} FROM _upsert_rows")
    finally:
        con.unregister("_upsert_rows")
    return rows.num_rows


def migrate(
    con: duckdb.DuckDBPyConnection,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    path: Path | None = None,
) -> int:
    """Bring the schema of ``con`` up to the last of ``migrations``; returns the new version.

    Each step runs in its own transaction and records itself in ``schema_version``.

    Raises:
        SchemaTooNewError: the file records a version above the newest this code knows.
    """
    latest = migrations[-1].version
    current = schema_version(con)
    if current > latest:
        raise SchemaTooNewError(
            f"{path or 'the warehouse'} has schema version {current}, but this impactlens knows "
            f"versions up to {latest}: upgrade impactlens (uv sync / pip install -U impactlens)."
        )
    if current == 0:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
            "description VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
    for step in migrations:
        if step.version <= current:
            continue
        with transaction(con):
            con.execute(step.sql)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, now())", [step.version, step.description]
            )
        current = step.version
    return current


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseError(
                f"{path} is open in another process (DuckDB allows one writer and no reader beside it)."
            ) from None
        raise WarehouseError(f"cannot open warehouse {path}: {text.splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise WarehouseError(f"{path} is not a usable DuckDB file: {str(exc).splitlines()[0]}") from None
    _configure(con)
    return con


def open_for_write(path: str | os.PathLike[str]) -> duckdb.DuckDBPyConnection:
    """Open ``path`` directly for writing and migrate it. For files no reader uses (tests, demo builds).

    Most callers want :func:`writing`, which never touches the published file in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(path, read_only=False)
    try:
        migrate(con, path=path)
    except BaseException:
        con.close()
        raise
    return con


def read_only(path: str | os.PathLike[str] | None = None) -> duckdb.DuckDBPyConnection:
    """Open the published warehouse read-only (what the dashboard and reports use).

    Raises:
        WarehouseError: the file does not exist or cannot be opened.
        SchemaTooNewError / SchemaOutdatedError: its schema version is not this code's.
    """
    path = resolve_path(path)
    if not path.exists():
        raise WarehouseError(
            f"no warehouse at {path}: collect something first (impactlens collect git PATH) "
            "or try the demo (impactlens demo)."
        )
    con = _connect(path, read_only=True)
    version = schema_version(con)
    if version != SCHEMA_VERSION:
        con.close()
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"{path} has schema version {version}, but this impactlens knows versions up to "
                f"{SCHEMA_VERSION}: upgrade impactlens."
            )
        raise SchemaOutdatedError(
            f"{path} has schema version {version}; run `impactlens db upgrade --db {path}` "
            f"to bring it to {SCHEMA_VERSION}."
        )
    return con


def working_copy_path(path: Path) -> Path:
    """Where writers keep their copy of ``path`` until they publish it."""
    return path.with_name(path.name + ".writing")


@contextmanager
def writing(path: str | os.PathLike[str] | None = None, *, lock_timeout: float = 0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for one writing job and publish it atomically when the job succeeds.

    Yields a connection to ``<db>.writing`` with the schema migrated. If the block raises (or the
    process dies), the working copy stays; the next writer continues from it, so committed batches
    are not collected again, and readers go on seeing the last published file.

    Raises:
        WarehouseError: another process is writing (``<db>.lock`` is held) or the file is unusable.
    """
    path = resolve_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path.with_name(path.name + ".lock")))
    try:
        lock.acquire(timeout=lock_timeout)
    except Timeout:
        raise WarehouseError(
            f"another impactlens process is writing {path}; wait for it to finish and run again."
        ) from None
    try:
        work = working_copy_path(path)
        if not work.exists() and path.exists():
            staging = work.with_name(work.name + ".tmp")
            shutil.copyfile(path, staging)
            os.replace(staging, work)
        con = _connect(work, read_only=False)
        try:
            migrate(con, path=path)
            yield con
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _publish(work, path)
    finally:
        lock.release()


def _publish(work: Path, path: Path) -> None:
    with open(work, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(work, path)
    stale_wal = path.with_name(path.name + ".wal")
    if stale_wal.exists():
        stale_wal.unlink()


def upgrade(path: str | os.PathLike[str] | None = None) -> int:
    """Migrate the published warehouse to this code's schema version; returns that version."""
    path = resolve_path(path)
    if not path.exists():
        raise WarehouseError(f"no warehouse at {path}.")
    with writing(path) as con:
        return schema_version(con)
