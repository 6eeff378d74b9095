"""The DuckDB warehouse: its one schema, its migrations, and how writers publish it.

Every part of impactlens (collectors, metrics, dashboard) opens the warehouse through this module.

Concurrency model (docs/schema.md, "Readers and writers"): DuckDB allows one writing process and
no other process beside it, not even a read-only one. So writers never open the published file:

* :func:`writing` takes ``<db>.lock``, works on ``<db>.writing`` (a copy of the published file, or the
  copy an interrupted run of the same collection left behind, which is how it resumes; the copy's
  owner is recorded in ``<db>.writing.owner``), commits in short transactions, and on success
  checkpoints, closes and atomically renames the copy over the published file (``os.replace``).
  Another run's unfinished copy is never published (see :func:`writing`).
* :func:`read_only` opens the published file read-only. Readers (the dashboard) keep seeing the
  last complete data while a collection runs, and see the new data when they reopen.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from impactlens.errors import ImpactlensError, SchemaOutdatedError, SchemaTooNewError, WarehouseError

if TYPE_CHECKING:
    import duckdb

# duckdb (0.2 s to import) and filelock are imported by the functions that open or lock a file, so
# that commands which only need a path or a constant from here (`impactlens --help`) start fast.

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
    for entry in Path(__file__).with_name("schema").iterdir():  # package data (pyproject.toml)
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


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """Set the session settings every warehouse connection uses on ``con`` (any DuckDB connection, a file's
    or an in-memory one): ``TimeZone = 'UTC'``, so ``TIMESTAMPTZ`` values, ``strftime`` and date truncation
    read in UTC whatever the machine's zone (docs/schema.md: every stored time is UTC). Every connection this
    module opens is configured so; call it on a connection made elsewhere (``duckdb.connect()``) before it
    reads or writes warehouse rows."""
    con.execute("SET TimeZone = 'UTC'")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the file; 0 for a file with no impactlens schema yet.

    Call it outside a transaction: on a file with no schema the failed query would abort one."""
    import duckdb

    # Asking about the one table costs a few ms; listing the catalog (information_schema.tables)
    # costs 25-70 ms on a freshly opened file, which every command would pay.
    try:
        con.execute("SELECT 1 FROM pragma_table_info('schema_version') LIMIT 1")
    except duckdb.CatalogException:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]


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


@contextmanager
def staged(
    con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list[Any]], types: dict[str, str] | None = None,
) -> Iterator[int]:
    """Make ``columns`` (column name -> Python list, all of one length) readable in SQL as the temporary
    table ``name`` for the block, for bulk writes (``UPDATE t ... FROM name``); yields its row count.
    ``types`` gives DuckDB types by column name (default ``VARCHAR``; ``VARCHAR[]`` for lists of text,
    ``TIMESTAMPTZ`` for aware datetimes). Raises ``duckdb.ConversionException`` when a value does not
    fit its column's type.

    The lists travel as one list parameter per column, unnested by DuckDB: no frame library is imported
    (Polars with pyarrow and numpy cost 0.4-0.9 s on a collection's first write, docs/performance.md),
    and it is as fast as a Polars frame from a few thousand rows up. (A temporary table, not a
    registered relation: DuckDB binds a registered relation of parameters again on every use, 50-100 ms.)
    """
    select, params = _unnest(columns, types)
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {select}', params)
    try:
        yield len(next(iter(columns.values()), []))
    finally:
        con.execute(f'DROP TABLE IF EXISTS temp."{name}"')


def _unnest(columns: dict[str, list[Any]], types: dict[str, str] | None) -> tuple[str, list[list[Any]]]:
    """``SELECT unnest($1::T[]) AS c1, ...`` over ``columns`` and its parameters (the lists)."""
    types = types or {}
    names = list(columns)
    select = ", ".join(f'unnest(${i + 1}::{types.get(c, "VARCHAR")}[]) AS "{c}"' for i, c in enumerate(names))
    return f"SELECT {select}", [columns[c] for c in names]


def upsert(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, list[Any]], types: dict[str, str] | None = None,
    *, expressions: dict[str, str] | None = None,
) -> int:
    """``INSERT OR REPLACE`` the rows of ``columns`` (column name -> Python list, see :func:`staged` for
    ``types``) into ``table`` by column name; returns the rows written.

    The primary key of ``table`` decides which rows are replaced, so loading the same rows twice
    stores them once. ``expressions`` replaces a column's value by SQL over the given columns
    (``{"committed_at": "to_timestamp(committed_at)"}`` for epoch seconds).
    """
    return _insert(con, "INSERT OR REPLACE", table, columns, types, expressions)


def insert_new(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, list[Any]], types: dict[str, str] | None = None,
    *, expressions: dict[str, str] | None = None,
) -> int:
    """``INSERT`` rows the caller knows are not stored yet (arguments as :func:`upsert`); returns the rows
    written. 40% cheaper than :func:`upsert` (DuckDB's replace checks cost 0.1 s of CPU per 5,000 commits
    with their files). Raises ``duckdb.ConstraintException`` when a row's primary key is stored already:
    the caller rolls its transaction back and writes with :func:`upsert`, so nothing is stored twice."""
    return _insert(con, "INSERT", table, columns, types, expressions)


def _insert(
    con: duckdb.DuckDBPyConnection, verb: str, table: str, columns: dict[str, list[Any]],
    types: dict[str, str] | None, expressions: dict[str, str] | None,
) -> int:
    if not columns or not next(iter(columns.values())):
        return 0
    expressions = expressions or {}
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(expressions.get(c, f'"{c}"') for c in columns)
    select, params = _unnest(columns, types)
    con.execute(f"{verb} INTO {table} ({names}) SELECT {values} FROM ({select})", params)
    return len(next(iter(columns.values())))


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
    import duckdb

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
    configure(con)
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


def owner_path(path: Path) -> Path:
    """The file naming the run a working copy of ``path`` belongs to (``<db>.writing.owner``, JSON)."""
    return path.with_name(path.name + ".writing.owner")


# -- collection runs and cursors ----------------------------------------------------------------
# Every collector records each run in collection_runs through collection_run, and keeps its high-water
# marks in sync_state (source, target, resource -> JSON) through cursors / save_cursor.


@dataclass
class CollectionRun:
    """The ``collection_runs`` row of one run, as the block of :func:`collection_run` fills it in.

    ``counts`` (JSON-able dict) and ``cursor`` (JSON-able, or None) are stored when the run ends;
    ``status`` is how a run that did not raise ended (``succeeded``, or ``stopped`` with ``error``
    saying why, as a rate limit stops a GitHub run); ``target`` may be corrected by the block (a
    renamed repository)."""

    run_id: str
    source: str
    target: str
    counts: dict[str, Any] = field(default_factory=dict)
    cursor: Any = None
    status: str = "succeeded"
    error: str | None = None


def _one_line(exc: BaseException) -> str:
    """The message a failed run records: an impactlens error's own text, else the type and text."""
    text = str(exc) if isinstance(exc, ImpactlensError) else f"{type(exc).__name__}: {exc}"
    return text[:2000]


@contextmanager
def collection_run(
    con: duckdb.DuckDBPyConnection, source: str, target: str, *, transaction: bool = False,
    run_id: str | None = None,
) -> Iterator[CollectionRun]:
    """Record one collection run of ``source`` (``git``, ``github``, ``incidents``...) for ``target``
    (a repository id, a file) in ``collection_runs``, around the block.

    At the start a ``running`` row is written (and a ``running`` row of the same source and target,
    left by a killed process, becomes ``interrupted``: there is one writer at a time). When the block
    ends the row gets ``finished_at``, the run's ``counts`` and ``cursor`` (JSON) and its ``status``;
    when the block raises, ``failed`` with the exception's one line (``interrupted`` for Ctrl-C) and
    the exception goes on. Rows the block committed stay either way, for the next run to resume from.

    ``transaction=True`` makes the block's writes and the finished row one transaction (the block
    must not open its own): if the block raises they are rolled back and only the failed row remains.
    """
    run = CollectionRun(run_id or uuid.uuid4().hex, source, target)
    con.execute(
        "UPDATE collection_runs SET status = 'interrupted' WHERE source = ? AND target = ? AND status = 'running'",
        [source, target],
    )
    con.execute(
        "INSERT INTO collection_runs (run_id, source, target, started_at, status) VALUES (?, ?, ?, now(), 'running')",
        [run.run_id, source, target],
    )
    if transaction:
        con.execute("BEGIN TRANSACTION")
    try:
        yield run
    except BaseException as exc:
        if transaction:
            con.execute("ROLLBACK")
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C: no error to report
            _finish_run(con, run, "interrupted", run.error)
        else:
            _finish_run(con, run, "failed", run.error or _one_line(exc))
        raise
    try:
        _finish_run(con, run, run.status, run.error)
    except BaseException:
        if transaction:
            con.execute("ROLLBACK")
        raise
    if transaction:
        con.execute("COMMIT")


def _finish_run(con: duckdb.DuckDBPyConnection, run: CollectionRun, status: str, error: str | None) -> None:
    con.execute(
        "UPDATE collection_runs SET status = ?, finished_at = now(), counts = ?, cursor = ?, error = ?, target = ? "
        "WHERE run_id = ?",
        [status, json.dumps(run.counts, sort_keys=True),
         None if run.cursor is None else json.dumps(run.cursor, sort_keys=True), error, run.target, run.run_id],
    )


def cursors(con: duckdb.DuckDBPyConnection, source: str, target: str) -> dict[str, Any]:
    """The stored cursors of ``source`` for ``target``, by resource (JSON decoded); empty when none."""
    rows = con.execute(
        "SELECT resource, cursor FROM sync_state WHERE source = ? AND target = ?", [source, target]
    ).fetchall()
    return {resource: json.loads(cursor) for resource, cursor in rows}


def save_cursor(con: duckdb.DuckDBPyConnection, source: str, target: str, resource: str, cursor: Any) -> None:
    """Store the cursor (JSON-able) of ``resource``; call it in the transaction that stores the rows it covers."""
    con.execute(
        "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, ?, now())",
        [source, target, resource, json.dumps(cursor, sort_keys=True)],
    )


# -- derivation pending -------------------------------------------------------------------------
# One sync_state row says whether rows were stored that the derived tables (identities, people,
# incidents from reverts and labels, deployments from releases) do not reflect yet. Collectors set
# it in the same transaction as the rows; impactlens.derive.after_collection clears it at its end.

_DERIVE_KEY = ("impactlens", "derive", "state")


def mark_derive_pending(con: duckdb.DuckDBPyConnection) -> None:
    """Record that derivation is due (call inside the transaction that stores collected rows)."""
    save_cursor(con, *_DERIVE_KEY, {"pending": True})


def clear_derive_pending(con: duckdb.DuckDBPyConnection) -> None:
    """Record that every derived table reflects the collected rows (end of derivation)."""
    save_cursor(con, *_DERIVE_KEY, {"pending": False})


def _pending_flag(con: duckdb.DuckDBPyConnection) -> bool | None:
    source, target, resource = _DERIVE_KEY
    state = cursors(con, source, target).get(resource)
    return bool(state.get("pending")) if state is not None else None


def derive_pending(con: duckdb.DuckDBPyConnection) -> bool:
    """True when collected rows wait for derivation.

    A warehouse written before this flag existed counts as pending when it holds commits or pull
    requests but no identity at all (a run killed during derivation left it so)."""
    flag = _pending_flag(con)
    if flag is not None:
        return flag
    return bool(con.sql(
        "SELECT NOT EXISTS (SELECT 1 FROM identities) AND "
        "(EXISTS (SELECT 1 FROM commits) OR EXISTS (SELECT 1 FROM pull_requests))"
    ).fetchall()[0][0])


# -- who owns a working copy ----------------------------------------------------------------------

def _say_stderr(text: str) -> None:
    print(f"impactlens: {text}", file=sys.stderr)


@dataclass
class Job:
    """The writing job :func:`writing` runs, and what it may do with a copy another run left.

    ``command`` names the job in messages (``impactlens collect git ../flask``). ``resumes`` is a key
    such as ``git flask HEAD``: a job with the same key continues a copy a killed or failed run of
    that key left (its stored batches are kept); ``None`` for jobs that start over when they fail
    (people, metrics, imports). ``finish(con)`` runs the derivation a killed collection left undone
    (its collection complete, see :meth:`reached`), so the job can publish that collection before its
    own work; without it such a copy is refused like an unfinished one. ``say`` prints notes
    (default: one line on stderr).
    """

    command: str = "a Python script (impactlens.warehouse.writing)"
    resumes: str | None = "script"
    finish: Callable[[duckdb.DuckDBPyConnection], Any] | None = None
    say: Callable[[str], None] = _say_stderr
    _owner: Path | None = field(default=None, repr=False)
    _record: dict[str, Any] = field(default_factory=dict, repr=False)

    def reached(self, phase: str) -> None:
        """Record how far the job got in its owner file: ``"derive"`` means every collected row is
        committed and only derivation is left, so any later writer may finish and publish the copy."""
        if self._owner is not None:
            self._record["phase"] = phase
            _write_json(self._owner, self._record)


def _write_json(target: Path, record: dict[str, Any]) -> None:
    staging = target.with_name(target.name + ".tmp")
    staging.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    os.replace(staging, target)


def _read_owner(target: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("command") else None


def _discard(work: Path) -> None:
    """Remove a working copy, its DuckDB journal and its owner file."""
    for leftover in (work, work.with_name(work.name + ".wal"), work.with_name(work.name + ".owner")):
        leftover.unlink(missing_ok=True)


def _describe(record: dict[str, Any]) -> str:
    return f"`{record['command']}` (pid {record.get('pid', '?')}, started {record.get('started_at', '?')} UTC)"


def discard(path: str | os.PathLike[str] | None = None) -> str | None:
    """Remove the working copy of ``path`` another run left; returns what it was (None: there was none).

    The published file is not touched. Raises :class:`WarehouseError` when a writer holds the lock."""
    path = resolve_path(path)
    work = working_copy_path(path)
    with _locked(path):
        if not work.exists():
            owner_path(path).unlink(missing_ok=True)
            return None
        record = _read_owner(owner_path(path))
        _discard(work)
    return _describe(record) if record else "a run that recorded no owner"


@contextmanager
def _locked(path: Path, timeout: float = 0) -> Iterator[None]:
    from filelock import FileLock, Timeout

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise WarehouseError(f"cannot use {blocker}: a file is in the way where a directory is needed; "
                                 "choose another path.") from None
        raise WarehouseError(f"cannot create the folder of {path}: {exc.strerror}.") from None
    lock = FileLock(str(path.with_name(path.name + ".lock")))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        if not os.access(path.parent, os.W_OK):
            raise WarehouseError(_unwritable(path, "Permission denied")) from None
        raise WarehouseError(
            f"another impactlens process is writing {path}; wait for it to finish and run again."
        ) from None
    except OSError as exc:
        raise WarehouseError(_unwritable(path, exc.strerror or str(exc))) from None
    try:
        yield
    finally:
        lock.release()


def _unwritable(path: Path, reason: str) -> str:
    return (
        f"cannot write in {path.parent} ({reason}): a writer needs to create {path.name}.lock and "
        f"{path.name}.writing beside the warehouse; give a --db in a folder you can write to."
    )


def _leftover(path: Path, work: Path, job: Job) -> dict[str, Any] | None:
    """Decide about a working copy another run left: returns its owner record when ``job`` resumes
    it; discards it, or finishes and publishes it, and returns None; or raises (refuses)."""
    owner = owner_path(path)
    record = _read_owner(owner)
    if record is None:
        raise WarehouseError(
            f"{work} was left by an earlier run that recorded no owner (an older impactlens?); "
            f"`impactlens db discard --db {path}` removes it ({path.name} itself is untouched)."
        )
    if job.resumes is not None and record.get("resumes") == job.resumes:
        job.say(f"resuming the unfinished run of {_describe(record)} from {work.name}.")
        return record
    if record.get("resumes") is None:
        _discard(work)
        job.say(f"discarded {work.name}: {_describe(record)} did not finish and nothing of it was published.")
        return None
    if record.get("phase") == "derive" and job.finish is not None:
        con = _connect(work, read_only=False)
        try:
            migrate(con, path=path)
            job.finish(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _publish(work, path)
        owner.unlink(missing_ok=True)
        job.say(
            f"finished the derivation {_describe(record)} left undone when it stopped, and published its data."
        )
        return None
    state = "its collection is not complete" if record.get("phase") != "derive" else "its derivation is not done"
    raise WarehouseError(
        f"{work} holds the unfinished run of {_describe(record)}: {state}. Run that command again to finish "
        f"it, or `impactlens db discard --db {path}` to drop it ({path.name} itself is untouched)."
    )


def _has_progress(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a failed run stored collected rows worth resuming (it set the derive-pending flag)."""
    import duckdb

    try:
        return bool(_pending_flag(con))
    except duckdb.Error:
        return True  # cannot tell: keep the copy (the next run's message says how to drop it)


@contextmanager
def writing(
    path: str | os.PathLike[str] | None = None, *, lock_timeout: float = 0, job: Job | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for one writing job and publish it atomically when the job succeeds.

    Yields a connection to ``<db>.writing`` with the schema migrated; ``<db>.writing.owner`` names the
    run (``job``: command, resume key, pid, start time, phase) that the copy belongs to.

    A copy another run left is never published as it is. A job with the same resume key continues
    it (committed batches are not collected again); a copy whose collection completed (phase
    ``derive``) is finished with ``job.finish`` and published first; a copy of a job that does not
    resume is discarded; any other copy is refused with a message naming the command that finishes
    it and ``impactlens db discard``.

    If the block raises, the copy is discarded unless the job resumes and the copy holds collected
    rows (a resumed copy, or rows this run stored): then it stays for the next run of the same
    command. If the process dies, the copy stays with its owner file. Readers go on seeing the last
    published file either way.

    Raises:
        WarehouseError: another process is writing (``<db>.lock`` is held), the folder is not
            writable, a copy of another unfinished run is in the way, or the file is unusable.
    """
    path = resolve_path(path)
    job = job or Job()
    with _locked(path, lock_timeout):
        work = working_copy_path(path)
        owner = owner_path(path)
        record = _leftover(path, work, job) if work.exists() else None
        resumed = record is not None
        job._owner = owner
        job._record = {
            "command": job.command, "resumes": job.resumes, "pid": os.getpid(), "phase": "working",
            "started_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if resumed:
            job._record["resumed_from"] = record
        try:
            _write_json(owner, job._record)
            if not resumed and path.exists():
                staging = work.with_name(work.name + ".tmp")
                shutil.copyfile(path, staging)
                os.replace(staging, work)
        except OSError as exc:
            if not resumed:
                _discard(work)
            raise WarehouseError(_unwritable(path, exc.strerror or str(exc))) from None
        try:
            con = _connect(work, read_only=False)
        except BaseException:
            if not resumed:
                _discard(work)
            raise
        try:
            migrate(con, path=path)
            yield con
            con.execute("CHECKPOINT")
        except BaseException:
            keep = job.resumes is not None and (resumed or _has_progress(con))
            con.close()
            if not keep:
                _discard(work)
            raise
        finally:
            con.close()
        _publish(work, path)
        owner.unlink(missing_ok=True)


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
    with writing(path, job=Job(command=f"impactlens db upgrade --db {path}", resumes=None)) as con:
        return schema_version(con)
