"""The warehouse as an open table lake: every table a Delta Lake table under ``DEST/<table>`` (docs/scale.md).

Layout (one job: this module knows where every row of a lake lives):

* ``DEST/<table>/`` is a Delta table (written with ``deltalake``, delta-rs: no JVM, no catalog) holding the
  warehouse table's columns with their DuckDB types kept (``impactlens.columns`` in every commit's metadata).
* Tables with a ``repo_id`` column are partitioned by it (hive paths ``repo_id=pallets%2Fflask``); the large
  ones (:data:`MONTHLY`) also by :data:`MONTH_COLUMN` (``YYYY-MM`` of one timestamp, UTC; ``commit_files``
  take their commit's month). Tables without ``repo_id`` (people, identities, teams, ...) are unpartitioned.
* Every commit this module makes records ``impactlens.schema_version`` (the warehouse migration the rows
  follow); readers refuse a lake of another version (:class:`LakeError`, one line naming the fix).
* ``DEST/_staging/<slug>.duckdb`` are the private warehouses of collectors writing into the lake
  (:func:`staging_path`), one per repository or target; for a lake on object storage they stay on local disk.
* ``DEST`` is a local folder or an object-store URL delta-rs takes (``s3://bucket/prefix``, ``gs://``,
  ``az://``, ``abfss://``...): :func:`location`, :func:`storage_options`. Writers of a local lake take turns
  on a lock file; on object storage, Delta's optimistic concurrency (conditional put of the next log file,
  commit retries) keeps concurrent writers apart.

Writes are incremental: for each partition (repository, month) the row count and a sum of row hashes are
compared between the source warehouse and the lake, and only the partitions that differ are replaced, in
one Delta transaction per table (``overwrite`` with a partition predicate), so a reader sees each table's
partitions whole and a second export of unchanged data commits nothing. Tables without ``repo_id`` are
replaced whole when they differ (:func:`export`) or merged by primary key (:func:`publish`).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence, TypeVar

from impactlens import warehouse
from impactlens.errors import ImpactlensError

if TYPE_CHECKING:
    import duckdb

    from impactlens.config import Config

#: The partition column added to the large tables: ``YYYY-MM`` (UTC) of the timestamp below.
MONTH_COLUMN = "lake_month"
#: Large tables partitioned by repository and month -> the SQL of their month (over the table aliased ``t``).
MONTHLY = {
    "commits": "t.committed_at",
    "commit_files": "(SELECT c.committed_at FROM commits c WHERE c.repo_id = t.repo_id AND c.sha = t.sha)",
    "pull_requests": "t.created_at",
    "reviews": "t.submitted_at",
    "comments": "t.created_at",
    "pr_timeline_events": "t.created_at",
    "issues": "t.created_at",
}
REPO_COLUMN = "repo_id"
STAGING = "_staging"
#: Commit metadata keys (every commit this module makes carries them).
VERSION_KEY = "impactlens.schema_version"
COLUMNS_KEY = "impactlens.columns"
RESOLVED_KEY = "impactlens.resolved"
#: How the lake stores columns Delta Lake has no type for (:func:`stored_type`): 2 since unsigned integers,
#: HUGEINT, TIME, INTERVAL, ... are stored in a wider or textual type; tables written before (no key: 1) stored
#: unsigned integers as the signed type of their width, which fails on large values, and are rewritten whole.
FORMAT_KEY = "impactlens.format"
FORMAT = 2
#: Tables of the warehouse that the lake does not copy (the lake records its version in commit metadata).
SKIPPED = {"schema_version"}
#: Tables whose names start so are metrics over the whole lake: a collector's :func:`publish` leaves them alone
#: (its staging warehouse has none), ``impactlens metrics --lake`` writes them (:func:`export` with ``only``).
METRIC_PREFIX = "metric_"
#: A collector's bookkeeping: table -> its columns that only say when it ran (None: the whole table). Every
#: collection run changes them, so :func:`publish` writes them only with rows that changed (or into a lake
#: without them): an up-to-date re-run publishes nothing (docs/scale.md).
BOOKKEEPING: dict[str, tuple[str, ...] | None] = {
    "collection_runs": None, "sync_state": None, "repositories": ("last_collected_at",),
}
#: Columns of unpartitioned tables that reading a lake works out again over every repository (people
#: resolution in :func:`materialise`): each collector stores its own repository's view of them, so a
#: difference only there is not a change to publish (else collectors sharing a person re-write her
#: identity after one another on every up-to-date run).
RESOLVED_AT_READ: dict[str, tuple[str, ...]] = {"identities": ("first_seen_at", "last_seen_at")}
_HISTORY_DEPTH = 50
#: Seconds a writer waits for another one writing the same lake (:func:`_locked`).
LOCK_TIMEOUT = 600


class LakeError(ImpactlensError):
    """The lake cannot be used as asked (missing, another schema version, not a lake)."""


@dataclass
class TableWrite:
    """What one table's sync did: ``version`` is the new Delta version, None when nothing changed."""

    table: str
    partitions: int = 0
    rows: int = 0
    version: int | None = None
    whole: bool = False


@dataclass
class ExportResult:
    """What :func:`export` or :func:`publish` wrote into ``dest`` (one :class:`TableWrite` per table)."""

    dest: str
    tables: list[TableWrite] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> list[TableWrite]:
        """The tables that got a new Delta version."""
        return [t for t in self.tables if t.version is not None]

    def summary(self) -> str:
        """One line for the command line."""
        changed = self.changed
        if not changed:
            return f"Lake {self.dest}: up to date ({len(self.tables)} tables checked, nothing written) in {self.seconds:.1f} s."
        rows = sum(t.rows for t in changed)
        parts = sum(t.partitions for t in changed)
        return (f"Lake {self.dest}: wrote {len(changed)} of {len(self.tables)} tables ({parts:,} partitions, "
                f"{rows:,} rows) in {self.seconds:.1f} s.")


# -- where a lake lives ------------------------------------------------------------------------------

#: A URL delta-rs opens through object_store (``s3://``, ``gs://``, ``az://``, ``abfss://``, ``memory://``...).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
#: ``Path("s3://b/p")`` is ``s3:/b/p``: the schemes whose collapsed form :func:`location` restores.
_COLLAPSED = re.compile(r"^(s3|s3a|gs|gcs|az|abfs|abfss|adl|azure|memory|lakefs|hdfs):/(?!/)")
#: Environment variables holding object-store secrets: redacted from every message (impactlens.redact).
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY",
              "AZURE_STORAGE_SAS_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_SECRET", "GOOGLE_SERVICE_ACCOUNT_KEY")
#: Where the staging warehouses of collectors publishing into a remote lake live (default: the user cache).
STAGING_ENV = "IMPACTLENS_LAKE_STAGING"
_options: dict[str, str] = {}


def location(dest: str | os.PathLike[str]) -> str:
    """``dest`` as this module stores it: a local path (``file://`` URLs made paths), or an object-store URL
    without a trailing ``/`` (a ``Path`` that collapsed ``s3://`` to ``s3:/`` is repaired)."""
    text = _COLLAPSED.sub(r"\1://", os.fspath(dest))
    if text.startswith("file:/"):  # file:///x, or file:/x from a Path
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(text).path)
    return text.rstrip("/") if _URL.match(text) else text


def is_remote(dest: str | os.PathLike[str]) -> bool:
    """Whether the lake ``dest`` is on object storage (a URL other than ``file://``), not a local folder."""
    return bool(_URL.match(location(dest)))


def configure(options: Mapping[str, str] | None) -> None:
    """Set the delta-rs storage options (``[lake.storage_options]`` of the configuration: endpoint, region,
    ``AWS_ALLOW_HTTP``...) every remote lake of this process is opened with, over what delta-rs reads from
    the environment itself (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``,
    ``AWS_ENDPOINT_URL``, ``AZURE_STORAGE_*``, ``GOOGLE_*``...). Values are redacted from messages."""
    from impactlens import redact

    _options.clear()
    _options.update({str(k): str(v) for k, v in (options or {}).items()})
    for key, value in _options.items():
        if any(word in key.upper() for word in ("SECRET", "TOKEN", "KEY", "PASSWORD", "SAS")):
            redact.remember(value)


def storage_options(dest: str | os.PathLike[str]) -> dict[str, str] | None:
    """The ``storage_options`` to open ``dest`` with: None for a local lake, else the options given to
    :func:`configure` (credentials come from the environment, which delta-rs reads). Remembers the
    environment's object-store secrets for redaction."""
    if not is_remote(dest):
        return None
    from impactlens import redact

    for name in SECRET_ENV:
        redact.remember(os.environ.get(name))
    return dict(_options)


_F = TypeVar("_F", bound=Callable[..., Any])


def _storage_errors(function: _F) -> _F:
    """Turn the object-store errors delta-rs raises while ``function`` works on a remote lake (its ``dest``
    argument) into one-line :class:`LakeError` s (:func:`_describe`)."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            from deltalake.exceptions import DeltaError

            if isinstance(exc, ImpactlensError) or not isinstance(exc, (OSError, DeltaError)):
                raise
            dest = signature.bind_partial(*args, **kwargs).arguments.get("dest")
            if dest is None or not is_remote(dest):
                raise
            raise LakeError(_describe(exc, location(dest))) from None

    return wrapper  # type: ignore[return-value]


_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken",
                     "InvalidToken", "AuthorizationHeaderMalformed", "InvalidClientTokenId", "AuthenticationFailed",
                     "AuthorizationFailure", "AuthorizationPermissionMismatch"}


def _describe(exc: BaseException, dest: str) -> str:
    """One line saying why the object store refused or could not be reached, and what to check. The text
    delta-rs gives (colours, a chain of causes, the server's XML) is reduced to its status and error code."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    code = m.group(1) if (m := re.search(r"<Code>([^<]+)</Code>", text)) else None
    status = m.group(0).strip() if (m := re.search(r"\b[45]\d\d [A-Z][A-Za-z ]+", text)) else None
    endpoint = _options.get("AWS_ENDPOINT_URL") or _options.get("endpoint") or os.environ.get("AWS_ENDPOINT_URL") or ""
    endpoint = re.sub(r"//[^/@]*@", "//", endpoint)  # no user:password@ of a URL
    where = f" (endpoint {endpoint})" if endpoint else ""
    if code in _CREDENTIAL_CODES or (status or "").startswith(("401", "403")):
        said = " ".join(x for x in (status, code) if x)
        return (f"the object store refused the credentials for lake {dest}{where}: {said}. "
                "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the store's own credentials: docs/scale.md).")
    if code == "NoSuchBucket" or "NoSuchBucket" in text:
        return f"lake {dest}: the bucket does not exist{where}; create it first."
    lowered = text.lower()
    if any(s in lowered for s in ("error sending request", "connect", "timed out", "dns error", "connection refused")):
        return (f"cannot reach the object store of lake {dest}{where}: {_last_cause(text)}. Check AWS_ENDPOINT_URL "
                "(and AWS_ALLOW_HTTP=true for an http:// endpoint) and the network.")
    return f"lake {dest}: {type(exc).__name__}: {_first_line(text)}"


def _lines(text: str) -> list[str]:
    return [line.strip().lstrip("↳").strip() for line in text.splitlines() if line.strip().lstrip("↳").strip()]


def _first_line(text: str) -> str:
    lines = _lines(text)
    return lines[0][:300] if lines else "(no message)"


def _last_cause(text: str) -> str:
    lines = [line for line in _lines(text) if not line.startswith("<")]
    return lines[-1][:200] if lines else "(no message)"


def table_path(dest: str | os.PathLike[str], table: str) -> str:
    """Where table ``table`` of the lake ``dest`` lives (``DEST/<table>``, a path or a URL)."""
    loc = location(dest)
    return f"{loc}/{table}" if is_remote(loc) else str(Path(loc) / table)


def staging_path(dest: str | os.PathLike[str], target: str) -> Path:
    """The private staging warehouse a collector of ``target`` (``owner/name``, a folder name) writes
    before publishing into ``dest``: ``DEST/_staging/<slug>.duckdb``, slug = ``target`` with every run of
    characters other than letters, digits, ``.``, ``_`` and ``-`` made ``__``. For a lake on object
    storage the file stays on local disk: ``$IMPACTLENS_LAKE_STAGING`` (default
    ``~/.cache/impactlens/lake-staging``, ``$XDG_CACHE_HOME`` honoured) ``/<lake URL slug>/<slug>.duckdb``,
    so a re-run on this machine is incremental."""
    def slugify(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "__", text.strip().strip("/").lower())

    slug = slugify(target) or "repository"
    loc = location(dest)
    if not is_remote(loc):
        return Path(loc) / STAGING / f"{slug}.duckdb"
    root = os.environ.get(STAGING_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
        / "impactlens" / "lake-staging"
    return Path(root) / slugify(loc) / f"{slug}.duckdb"


@_storage_errors
def tables(dest: str | os.PathLike[str]) -> list[str]:
    """The names of the Delta tables in the lake ``dest`` (folders holding a ``_delta_log``), sorted.

    Raises:
        LakeError: a remote lake whose store refuses the credentials or cannot be reached.
    """
    loc = location(dest)
    if is_remote(loc):
        from deltalake import DeltaTable
        from deltalake._internal import DeltaFileSystemHandler
        from pyarrow.fs import FileType

        options = storage_options(loc)
        listing = DeltaFileSystemHandler(loc, options).get_file_info_selector("", allow_not_found=True)
        names = {info.path.rstrip("/").rsplit("/", 1)[-1] for info in listing if info.type == FileType.Directory}
        return sorted(n for n in names if not n.startswith("_")
                      and DeltaTable.is_deltatable(table_path(loc, n), options))
    root = Path(loc)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("_") and (p / "_delta_log").is_dir())


def snapshot(dest: str | os.PathLike[str]) -> tuple[tuple[str, int], ...]:
    """(table, latest Delta version) of every table of the lake ``dest``, sorted: changes whenever a writer
    commits into it. Read from the names of the ``_delta_log/<version>.json`` commit files (a directory listing
    per table, no log replay: milliseconds for a lake of 45 tables), so a reader can poll it. A lake on object
    storage asks delta-rs for each table's version instead (a request or more per table)."""
    loc = location(dest)
    found = []
    for name in tables(loc):
        if is_remote(loc):
            from deltalake import DeltaTable

            found.append((name, DeltaTable(table_path(loc, name), storage_options=storage_options(loc)).version()))
            continue
        commits = [int(p.name[:-5]) for p in (Path(loc) / name / "_delta_log").iterdir()
                   if p.name.endswith(".json") and p.name[:-5].isdigit()]
        found.append((name, max(commits, default=-1)))
    return tuple(found)


# -- table metadata ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableInfo:
    """A lake table as this module wrote it: the warehouse columns (name, DuckDB type), its partition
    columns, the schema version of its last impactlens commit, whether its rows are resolved people, and the
    storage format (:data:`FORMAT`) of that commit."""

    name: str
    columns: tuple[tuple[str, str], ...]
    partition_by: tuple[str, ...]
    schema_version: int
    resolved: bool
    format: int = FORMAT

    @property
    def stored_current(self) -> bool:
        """Whether the Delta table stores every column as this code writes it (:func:`stored_type`): written in
        this :data:`FORMAT`, or in an older one that stored each of these columns the same way."""
        return self.format >= FORMAT or all(stored_type(t) == t for _, t in self.columns)


def _last_metadata(dt: Any) -> dict[str, Any] | None:
    for commit in dt.history(_HISTORY_DEPTH):  # newest first
        if VERSION_KEY in commit:
            return commit
    return None


@_storage_errors
def table_info(dest: str | os.PathLike[str], table: str) -> TableInfo | None:
    """The :class:`TableInfo` of ``table`` in ``dest``; None when there is no such Delta table.

    Raises:
        LakeError: the table exists but no recent commit of it carries impactlens metadata.
    """
    from deltalake import DeltaTable

    path = table_path(dest, table)
    options = storage_options(dest)
    if not DeltaTable.is_deltatable(path, options):
        return None
    dt = DeltaTable(path, storage_options=options)
    meta = _last_metadata(dt)
    if meta is None:
        raise LakeError(f"{path} is a Delta table impactlens did not write (no {VERSION_KEY} in its last "
                        f"{_HISTORY_DEPTH} commits): export the warehouse into a new folder.")
    return TableInfo(table, tuple(tuple(c) for c in json.loads(meta[COLUMNS_KEY])),  # type: ignore[misc]
                     tuple(dt.metadata().partition_columns), int(meta[VERSION_KEY]),
                     meta.get(RESOLVED_KEY, "true") == "true", int(meta.get(FORMAT_KEY, "1")))


@_storage_errors
def check(dest: str | os.PathLike[str]) -> dict[str, TableInfo]:
    """Every table of the lake ``dest`` by name, after checking they follow this code's schema version.

    Raises:
        LakeError: no lake at ``dest``, or a table of another schema version (the message names the fix).
    """
    names = tables(dest)
    if not names:
        raise LakeError(f"no lake at {dest}: write one with `impactlens export lake {dest} --db WAREHOUSE` "
                        f"or `impactlens collect git PATH --lake {dest}`.")
    infos = {name: info for name in names if (info := table_info(dest, name)) is not None}
    for info in infos.values():
        if info.schema_version > warehouse.SCHEMA_VERSION:
            raise LakeError(
                f"lake {dest} has schema version {info.schema_version} (table {info.name}), but this impactlens "
                f"knows versions up to {warehouse.SCHEMA_VERSION}: upgrade impactlens (uv sync / pip install -U impactlens).")
        if info.schema_version < warehouse.SCHEMA_VERSION:
            raise LakeError(
                f"lake {dest} has schema version {info.schema_version} (table {info.name}); this impactlens reads "
                f"version {warehouse.SCHEMA_VERSION}: run `impactlens db upgrade --lake {dest}` to bring it to "
                f"{warehouse.SCHEMA_VERSION}.")
    return infos


# -- types -------------------------------------------------------------------------------------------

#: DuckDB types Delta Lake has no type for -> the DuckDB type the lake stores them as. Every value fits (an
#: unsigned integer goes to the next wider signed type; UBIGINT to DECIMAL(20,0)) or is kept as its text,
#: which DuckDB casts back exactly (HUGEINT's 39 digits exceed Delta's DECIMAL(38); TIME, INTERVAL and
#: nanosecond timestamps have no Delta type). ENUM and UUID are text in Delta; second and millisecond
#: timestamps are microsecond ones.
_STORED = {
    "utinyint": "SMALLINT", "usmallint": "INTEGER", "uinteger": "BIGINT", "ubigint": "DECIMAL(20,0)",
    "hugeint": "VARCHAR", "uhugeint": "VARCHAR", "bignum": "VARCHAR", "bit": "VARCHAR",
    "time": "VARCHAR", "time with time zone": "VARCHAR", "interval": "VARCHAR", "timestamp_ns": "VARCHAR",
    "timestamp_s": "TIMESTAMP", "timestamp_ms": "TIMESTAMP", "enum": "VARCHAR", "uuid": "VARCHAR",
}


def stored_type(dtype: str) -> str:
    """The DuckDB type a lake stores a warehouse column of DuckDB type ``dtype`` as (``dtype`` itself when
    Delta Lake holds it as is). Lists, fixed-size arrays (stored as lists), structs and maps are mapped
    element by element. Readers cast the stored column back to ``dtype`` (``impactlens.columns`` records it),
    which gives every value back: ``stored_type("UBIGINT[]") == "DECIMAL(20,0)[]"``."""
    return _stored(dtype)


@functools.lru_cache(maxsize=None)
def _stored(dtype: str) -> str:
    import duckdb

    return _stored_of(duckdb.sqltype(dtype), dtype)


def _stored_of(t: Any, text: str) -> str:
    kind = t.id
    if kind in _STORED:
        return _STORED[kind]
    if kind in ("list", "array"):
        child = t.children[0][1]
        inner = _stored_of(child, str(child))
        return text if kind == "list" and inner == str(child) else f"{inner}[]"
    if kind == "struct":
        fields = [(name, _stored_of(c, str(c)), str(c)) for name, c in t.children]
        if all(s == c for _, s, c in fields):
            return text
        return "STRUCT(" + ", ".join(f"{_quote(name)} {s}" for name, s, _ in fields) + ")"
    if kind == "map":
        (_, key), (_, value) = t.children
        k, v = _stored_of(key, str(key)), _stored_of(value, str(value))
        return text if (k, v) == (str(key), str(value)) else f"MAP({k}, {v})"
    return text


def _stored_columns(columns: Sequence[tuple[str, str]]) -> list[str]:
    """SELECT items turning the warehouse columns ``columns`` (of a relation aliased ``s``) into the lake's."""
    items = []
    for column, dtype in columns:
        stored = _stored(dtype)
        items.append(f"s.{_quote(column)}" if stored == dtype else f"CAST(s.{_quote(column)} AS {stored}) AS {_quote(column)}")
    return items


# -- reading -----------------------------------------------------------------------------------------

def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _register(con: duckdb.DuckDBPyConnection, dest: str | os.PathLike[str], info: TableInfo, name: str) -> None:
    """Create in ``con`` the temporary view ``name`` of ``info``'s Delta table at its current snapshot: the
    warehouse columns cast back to their DuckDB types, then the lake's month partition column when it has one.

    DuckDB reads the snapshot's parquet files (``DeltaTable.file_uris()``, hive partition paths, as Spark
    does); a table using reader features plain parquet files cannot express (deletion vectors, column
    mapping: impactlens never writes them) is read through ``DeltaTable.to_pyarrow_dataset()`` instead.
    """

    dt = _delta_table(dest, info.name)
    cols = [f"CAST({_quote(c)} AS {t}) AS {_quote(c)}" for c, t in info.columns]
    if MONTH_COLUMN in info.partition_by:
        cols.append(f"CAST({_quote(MONTH_COLUMN)} AS VARCHAR) AS {_quote(MONTH_COLUMN)}")
    raw = f"_lake_raw_{info.name}"
    if dt.protocol().reader_features or is_remote(dest):  # DuckDB reads s3:// only with httpfs (not offline)
        con.register(raw, dt.to_pyarrow_dataset())
        source = _quote(raw)
    else:
        files = dt.file_uris()
        if not files:  # an empty table: its columns, no row
            empty = [f"CAST(NULL AS {t}) AS {_quote(c)}" for c, t in info.columns]
            if MONTH_COLUMN in info.partition_by:
                empty.append(f"CAST(NULL AS VARCHAR) AS {_quote(MONTH_COLUMN)}")
            con.execute(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS SELECT {', '.join(empty)} WHERE false")
            return
        listed = ", ".join(_literal(f) for f in files)
        hive = "true" if info.partition_by else "false"
        source = f"read_parquet([{listed}], hive_partitioning = {hive}, hive_types_autocast = false)"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS SELECT {', '.join(cols)} FROM {source}")


def _unregister(con: duckdb.DuckDBPyConnection, info: TableInfo) -> None:
    con.unregister(f"_lake_raw_{info.name}")  # a no-op when the table was read from its parquet files


@_storage_errors
def open_lake(dest: str | os.PathLike[str], con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (in memory, or ``con``) with one view per lake table, named as in the warehouse,
    with the warehouse's columns and types (the partition column ``lake_month`` is left out).

    The views read the Delta snapshot current when this is called (through ``DeltaTable.to_pyarrow_dataset``).
    Derived views of the warehouse (``actors``) are not there: :func:`materialise` gives a full warehouse.

    Raises:
        LakeError: see :func:`check`.
    """
    import duckdb

    infos = check(dest)
    con = con or duckdb.connect()
    warehouse.configure(con)
    for info in infos.values():
        _register(con, dest, info, f"_lake_{info.name}")
        names = ", ".join(_quote(c) for c, _ in info.columns)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_quote(info.name)} AS SELECT {names} FROM {_quote('_lake_' + info.name)}")
    return con


@_storage_errors
def needs_resolution(dest: str | os.PathLike[str]) -> bool:
    """Whether the lake's people were merged from collectors' staging warehouses (:func:`publish`), so
    identity resolution must run across all repositories before metrics read it (:func:`materialise`)."""
    info = table_info(dest, "identities")
    return info is not None and not info.resolved


@_storage_errors
def materialise(dest: str | os.PathLike[str], path: str | os.PathLike[str] | None = None, *,
                config: Config | None = None) -> duckdb.DuckDBPyConnection:
    """Copy the lake ``dest`` into a warehouse (a DuckDB file at ``path``, or in memory) and return it open
    for writing: the schema migrated as :func:`impactlens.warehouse.migrate` makes it (views included),
    every table's rows inserted, ``metric_*`` tables created as stored.

    When collectors published into the lake (:func:`needs_resolution`), identity resolution
    (:func:`impactlens.people.refresh`, with ``config``) runs over every repository's rows here, so people
    who worked in several repositories are one person.

    Raises:
        LakeError: see :func:`check`. WarehouseError: ``path`` exists already.
    """
    import duckdb

    infos = check(dest)
    if path is not None and Path(path).exists():
        raise warehouse.WarehouseError(f"{path} exists: materialise a lake into a new file.")
    con = warehouse.open_for_write(path) if path is not None else duckdb.connect()
    try:
        warehouse.configure(con)
        if path is None:
            warehouse.migrate(con)
        known = _base_tables(con)
        with warehouse.transaction(con):
            for info in infos.values():
                view = f"_lake_{info.name}"
                _register(con, dest, info, view)
                names = ", ".join(_quote(c) for c, _ in info.columns)
                if info.name in known:
                    con.execute(f"INSERT INTO {_quote(info.name)} ({names}) SELECT {names} FROM {_quote(view)}")
                else:
                    con.execute(f"CREATE TABLE {_quote(info.name)} AS SELECT {names} FROM {_quote(view)}")
                con.execute(f"DROP VIEW {_quote(view)}")
                _unregister(con, info)
        if needs_resolution(dest):
            from impactlens import config as config_mod
            from impactlens import people

            people.refresh(con, config if config is not None else config_mod.load(None))
            warehouse.clear_derive_pending(con)
    except BaseException:
        con.close()
        raise
    return con


# -- writing -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Source:
    """A table of the source warehouse as the lake stores it."""

    name: str
    columns: tuple[tuple[str, str], ...]
    primary_key: tuple[str, ...]

    @property
    def partition_by(self) -> tuple[str, ...]:
        if REPO_COLUMN not in dict(self.columns):
            return ()
        return (REPO_COLUMN, MONTH_COLUMN) if self.name in MONTHLY else (REPO_COLUMN,)

    def select(self, where: str = "") -> str:
        """SQL of the rows as the lake stores them (columns, then the month partition column)."""
        cols = [f"t.{_quote(c)}" for c, _ in self.columns]
        if self.name in MONTHLY:
            cols.append(f"strftime({MONTHLY[self.name]}, '%Y-%m') AS {MONTH_COLUMN}")
        return f"SELECT {', '.join(cols)} FROM {_quote(self.name)} t {where}"


def _sources(con: duckdb.DuckDBPyConnection) -> list[_Source]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns c WHERE table_schema = 'main' "
        "AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE') ORDER BY table_name, ordinal_position").fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        if table not in SKIPPED:
            columns.setdefault(table, []).append((column, dtype))
    keys = dict(con.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY' AND schema_name = 'main'").fetchall())
    return [_Source(t, tuple(c), tuple(keys.get(t, ()))) for t, c in columns.items()]


def _fingerprints(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str],
                  partition_by: Sequence[str], where: str = "") -> dict[tuple, tuple[int, int]]:
    """Per partition (tuple of partition values; ``()`` for an unpartitioned table): (rows, sum of row hashes)."""
    keys = ", ".join(_quote(c) for c in partition_by)
    hashed = f"sum(hash({', '.join(_quote(c) for c in columns)}))"
    group = f" GROUP BY {keys}" if keys else ""
    select = f"SELECT {keys + ', ' if keys else ''}count(*), {hashed} FROM {relation} {where}{group}"
    result = {}
    for row in con.execute(select).fetchall():
        *part, count, total = row
        if count:
            result[tuple(part)] = (int(count), int(total or 0))
    return result


def _partition_filter(partition_by: Sequence[str], parts: Iterable[tuple], every: Iterable[tuple] = ()) -> str:
    """A predicate (delta-rs SQL, also valid DuckDB) selecting exactly the partitions ``parts``. A repository
    all of whose partitions (``every``: those on either side) are in ``parts`` is named once, not by month."""
    def equals(column: str, value: Any) -> str:
        return f"{column} IS NULL" if value is None else f"{column} = {_literal(str(value))}"

    parts = set(parts)
    whole = set()
    if len(partition_by) > 1:
        by_repo: dict[Any, set[tuple]] = {}
        for part in every:
            by_repo.setdefault(part[0], set()).add(part)
        whole = {repo for repo, owned in by_repo.items() if owned <= parts}
    terms = [f"({equals(partition_by[0], repo)})" for repo in sorted(whole, key=lambda v: "" if v is None else str(v))]
    for part in sorted(parts, key=lambda p: tuple("" if v is None else str(v) for v in p)):
        if len(partition_by) > 1 and part[0] in whole:
            continue
        terms.append("(" + " AND ".join(equals(c, v) for c, v in zip(partition_by, part)) + ")")
    return " OR ".join(terms)


def _metadata(source: _Source, resolved: bool, writer: str) -> dict[str, str]:
    return {VERSION_KEY: str(warehouse.SCHEMA_VERSION), COLUMNS_KEY: json.dumps([list(c) for c in source.columns]),
            RESOLVED_KEY: "true" if resolved else "false", FORMAT_KEY: str(FORMAT), "impactlens.writer": writer}


def _as_stored(source: _Source, sql: str) -> str:
    """SQL of the rows of ``sql`` (``source``'s columns, then its month column if it has one) with every column
    in the type the lake stores it as (:func:`stored_type`)."""
    items = _stored_columns(source.columns)
    if source.name in MONTHLY:
        items.append(f"s.{_quote(MONTH_COLUMN)}")
    if all(not i.startswith("CAST(") for i in items):
        return sql
    return f"SELECT {', '.join(items)} FROM ({sql}) s"


def _reader(con: duckdb.DuckDBPyConnection, source: _Source, sql: str) -> Any:
    """Record batches of the rows of ``sql`` as the lake stores them (:func:`_as_stored`)."""
    return con.sql(_as_stored(source, sql)).to_arrow_reader(100_000)


def _write(dest: str, source: _Source, con: duckdb.DuckDBPyConnection, sql: str, *, predicate: str | None,
           whole: bool, resolved: bool, writer: str, mode: Literal["overwrite", "error"] = "overwrite") -> int:
    """Write the rows of ``sql`` (run on ``con``) into ``source``'s table of ``dest``: replacing the rows
    ``predicate`` selects (the whole table when ``whole``), or, with ``mode="error"``, creating the table
    (``CommitFailedError`` or ``DeltaError`` when another writer created it first). Each attempt of
    :func:`_committed` reads ``sql`` again (a stream a failed attempt consumed cannot be written twice).
    Returns the table's new Delta version."""
    from deltalake import CommitProperties, write_deltalake

    props = CommitProperties(custom_metadata=_metadata(source, resolved, writer))

    path, partitions, options = table_path(dest, source.name), list(source.partition_by) or None, storage_options(dest)
    if mode == "error":
        write_deltalake(path, _reader(con, source, sql), mode="error", partition_by=partitions, commit_properties=props,
                        storage_options=options)
    else:
        _committed(lambda: write_deltalake(
            path, _reader(con, source, sql), mode="overwrite", predicate=None if whole else predicate,
            partition_by=partitions, schema_mode="overwrite" if whole else None, commit_properties=props,
            storage_options=options))
    return _delta_table(dest, source.name).version()


def _committed(commit: Callable[[], Any]) -> None:
    """Run ``commit`` (one Delta write or merge), again from a fresh snapshot when another writer committed
    first (``CommitFailedError``; delta-rs retries some conflicts itself): up to 5 attempts."""
    from deltalake.exceptions import CommitFailedError

    for attempt in range(5):
        try:
            commit()
            return
        except CommitFailedError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def _delta_table(dest: str | os.PathLike[str], table: str) -> Any:
    """The ``deltalake.DeltaTable`` of ``table`` in the lake ``dest``, opened with its storage options."""
    from deltalake import DeltaTable

    return DeltaTable(table_path(dest, table), storage_options=storage_options(dest))


def _sync(con: duckdb.DuckDBPyConnection, lake: duckdb.DuckDBPyConnection, dest: str, source: _Source,
          info: TableInfo | None, *, repos: Sequence[str] | None, resolved: bool, writer: str,
          ignore: Sequence[str] = ()) -> TableWrite:
    """Bring one table of ``dest`` to the rows of ``source`` in ``con``: the partitions that differ (only of
    ``repos`` when given; a difference in the columns ``ignore`` only does not count), or the whole table when
    it is new or its columns or version changed."""
    result = TableWrite(source.name)
    if repos is not None and not repos:
        return result  # a staging warehouse with no repository: nothing of it is partitioned by one
    columns = [c for c, _ in source.columns]
    listed = ", ".join(_literal(r) for r in repos or ())
    where = f"WHERE t.{REPO_COLUMN} IN ({listed})" if repos is not None else ""
    lake_where = f"WHERE {REPO_COLUMN} IN ({listed})" if repos is not None else ""
    stored = f"({source.select(where)})"
    current = info is not None and info.columns == source.columns and info.schema_version == warehouse.SCHEMA_VERSION \
        and info.partition_by == source.partition_by and info.stored_current
    if not current:
        if repos is not None and info is not None:
            raise LakeError(f"table {source.name} of lake {dest} has other columns or schema version "
                            f"{info.schema_version}: run `impactlens db upgrade --lake {dest}` first.")
        theirs = _fingerprints(con, stored, columns, source.partition_by)
        # A collector creating the table replaces only its repositories, so a table another collector
        # created at the same moment keeps that one's partitions.
        scoped = f"{REPO_COLUMN} IN ({listed})" if repos is not None else None
        result.version = _write(dest, source, con, source.select(where), predicate=scoped,
                                whole=scoped is None, resolved=resolved, writer=writer)
        result.partitions, result.rows, result.whole = len(theirs), sum(n for n, _ in theirs.values()), scoped is None
        return result
    assert info is not None
    _register(lake, dest, info, "_lake_sync")
    compared = [c for c in columns if c not in ignore]
    ours = _fingerprints(con, stored, compared, source.partition_by)
    theirs = _fingerprints(lake, "_lake_sync", compared, source.partition_by, lake_where)
    _unregister(lake, info)
    changed = {p for p in ours.keys() | theirs.keys() if ours.get(p) != theirs.get(p)}
    if not changed:
        return result
    result.partitions, result.rows = len(changed), sum(ours[p][0] for p in changed if p in ours)
    if not source.partition_by:
        result.version = _write(dest, source, con, source.select(), predicate=None, whole=False,
                                resolved=resolved, writer=writer)
        result.whole = True
        return result
    predicate = _partition_filter(source.partition_by, changed, ours.keys() | theirs.keys())
    rows = f"SELECT * FROM {stored} s WHERE {predicate}"
    result.version = _write(dest, source, con, rows, predicate=predicate, whole=False,
                            resolved=resolved, writer=writer)
    return result


@contextmanager
def _locked(dest: str) -> Iterator[None]:
    """Hold ``DEST/_impactlens.lock`` while writing a local lake: publishes and exports into one lake take
    turns (each is short), so no two merges of the unpartitioned tables race. On object storage there is no
    lock (a file there cannot be one): Delta's optimistic concurrency keeps concurrent writers apart. delta-rs
    puts the next ``_delta_log`` file only if it does not exist (S3 ``If-None-Match: *``; GCS and Azure have
    their own conditional create), so of two commits of one version one wins; the other is checked against
    the winner (no conflict when they touched different partitions: it commits as the next version) or
    fails with ``CommitFailedError``, which :func:`_write` and :func:`_merge` retry from a fresh snapshot."""
    from filelock import FileLock, Timeout

    if is_remote(dest):
        yield
        return
    Path(dest).mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(Path(dest) / "_impactlens.lock"), timeout=LOCK_TIMEOUT):
            yield
    except Timeout:
        raise LakeError(f"another impactlens process has been writing lake {dest} for {LOCK_TIMEOUT} s; "
                        "try again when it is done.") from None


@_storage_errors
def upgrade(dest: str | os.PathLike[str]) -> int:
    """Bring the lake ``dest`` to this code's schema version in place; returns that version.

    The tables of the oldest version in the lake are read into a warehouse of that version (in memory), the
    warehouse migrations run, and each table whose columns or version changed is rewritten whole (one Delta
    transaction each; a table already current is left alone, so an interrupted upgrade is finished by
    running it again). Whether people still need resolution across repositories is kept. A table of this
    version written in an older storage format (:attr:`TableInfo.stored_current`) is rewritten whole, as is.

    Raises:
        LakeError: no lake, a lake of a newer version, or tables of more than two versions.
    """
    import duckdb

    names = tables(dest)
    if not names:
        raise LakeError(f"no lake at {dest}.")
    infos = {n: i for n in names if (i := table_info(dest, n)) is not None}
    found = {i.schema_version for i in infos.values()}
    if max(found) > warehouse.SCHEMA_VERSION:
        check(dest)  # raises: upgrade impactlens
    old = min(found)
    stale = [i for i in infos.values() if i.schema_version == warehouse.SCHEMA_VERSION and not i.stored_current]
    if old == warehouse.SCHEMA_VERSION and not stale:
        return old
    if found - {old, warehouse.SCHEMA_VERSION}:
        raise LakeError(f"lake {dest} holds tables of schema versions {sorted(found)}: export a current "
                        f"warehouse into a new folder instead.")
    dest = location(dest)
    with _locked(dest):
        if old != warehouse.SCHEMA_VERSION:
            _upgrade_version(dest, infos, old)
        for info in stale:
            with duckdb.connect() as con:
                warehouse.configure(con)
                _register(con, dest, info, "_lake_stale")
                src = _Source(info.name, info.columns, ())
                _write(dest, src, con, "SELECT * FROM _lake_stale", predicate=None, whole=True,
                       resolved=info.resolved, writer="upgrade")
                _unregister(con, info)
    return warehouse.SCHEMA_VERSION


def _upgrade_version(dest: str, infos: dict[str, TableInfo], old: int) -> None:
    """:func:`upgrade`'s migration of the tables of schema version ``old`` (the lake is locked)."""
    import duckdb

    con = duckdb.connect()
    with con:
        warehouse.configure(con)
        warehouse.migrate(con, warehouse.MIGRATIONS[:old])
        known = _base_tables(con)
        for info in infos.values():
            if info.schema_version != old:
                continue
            _register(con, dest, info, "_lake_old")
            names_sql = ", ".join(_quote(c) for c, _ in info.columns)
            if info.name in known:
                con.execute(f"INSERT INTO {_quote(info.name)} ({names_sql}) SELECT {names_sql} FROM _lake_old")
            else:
                con.execute(f"CREATE TABLE {_quote(info.name)} AS SELECT {names_sql} FROM _lake_old")
            _unregister(con, info)
        warehouse.migrate(con)
        for src in _sources(con):
            before = infos.get(src.name)
            if before is not None and before.schema_version == warehouse.SCHEMA_VERSION:
                continue
            _write(dest, src, con, src.select(), predicate=None, whole=True,
                   resolved=before.resolved if before is not None else True, writer="upgrade")


def _base_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
    ).fetchall()}


def _open_source(source: duckdb.DuckDBPyConnection | str | os.PathLike[str]) -> tuple[duckdb.DuckDBPyConnection, bool]:
    if isinstance(source, (str, os.PathLike)):
        return warehouse.read_only(source), True
    return source, False


@_storage_errors
def export(source: duckdb.DuckDBPyConnection | str | os.PathLike[str], dest: str | os.PathLike[str],
           only: Iterable[str] | None = None) -> ExportResult:
    """Write every table of the warehouse ``source`` (an open connection or a file path), or only the tables
    named in ``only``, into the lake ``dest``, creating it if needed; incremental and idempotent (module
    docstring): a partition whose row count and row hashes equal the lake's is not written, and a second
    export of unchanged data makes no Delta commit. Partitions the warehouse no longer has are removed.

    Raises:
        LakeError: the lake holds a newer schema version. WarehouseError: ``source`` cannot be opened.
    """
    import duckdb

    started = time.perf_counter()
    con, owned = _open_source(source)
    dest = location(dest)
    try:
        infos = {name: table_info(dest, name) for name in tables(dest)}
        for info in infos.values():
            if info is not None and info.schema_version > warehouse.SCHEMA_VERSION:
                raise LakeError(f"lake {dest} has schema version {info.schema_version}, newer than this impactlens "
                                f"({warehouse.SCHEMA_VERSION}): upgrade impactlens before exporting into it.")
        result = ExportResult(dest)
        lake = duckdb.connect()
        warehouse.configure(lake)
        wanted = None if only is None else set(only)
        with _locked(dest), lake:
            for src in _sources(con):
                if wanted is not None and src.name not in wanted:
                    continue
                result.tables.append(_sync(con, lake, dest, src, table_info(dest, src.name), repos=None,
                                           resolved=True, writer="export"))
    finally:
        if owned:
            con.close()
    result.seconds = time.perf_counter() - started
    return result


@_storage_errors
def publish(staging: duckdb.DuckDBPyConnection | str | os.PathLike[str], dest: str | os.PathLike[str],
            repos: Sequence[str] | None = None) -> ExportResult:
    """Publish the repositories ``repos`` (default: every ``repositories.repo_id`` of ``staging``) from a
    collector's staging warehouse into the lake ``dest``.

    Per table, one Delta transaction: tables with ``repo_id`` get exactly these repositories' partitions
    replaced (only the partitions that differ); tables without it (identities, people, login_emails,
    collection_runs, ...) get the staging rows merged by primary key (rows another collector published
    stay). Marks the lake's people as needing resolution across repositories (:func:`needs_resolution`).
    Several processes may publish different repositories into one lake at once.

    Raises:
        LakeError: the lake is of another schema version (export into it first, or upgrade).
    """
    import duckdb

    from impactlens.derive import die_here_in_tests

    started = time.perf_counter()
    con, owned = _open_source(staging)
    dest = location(dest)
    try:
        if repos is None:
            repos = [r[0] for r in con.execute("SELECT repo_id FROM repositories ORDER BY 1").fetchall()]
        result = ExportResult(dest)
        lake = duckdb.connect()
        warehouse.configure(lake)
        with _locked(dest), lake:
            # The rows first, the bookkeeping after (so it is written only when some rows changed).
            for src in sorted(_sources(con), key=lambda s: (s.name in BOOKKEEPING, BOOKKEEPING.get(s.name, ()) is None)):
                if src.name.startswith(METRIC_PREFIX):
                    continue  # `impactlens metrics --lake` computes them over the whole lake
                info = table_info(dest, src.name)
                quiet = info is not None and src.name in BOOKKEEPING and not result.changed
                if quiet and BOOKKEEPING[src.name] is None:
                    result.tables.append(TableWrite(src.name))  # nothing else changed: this run's record waits
                    continue
                if info is not None and info.schema_version != warehouse.SCHEMA_VERSION:
                    check(dest)  # raises with the fix
                if info is not None and not info.stored_current:
                    raise LakeError(f"table {src.name} of lake {dest} was written by an older impactlens in another "
                                    f"storage format: run `impactlens db upgrade --lake {dest}` first.")
                if src.partition_by:
                    result.tables.append(_sync(con, lake, dest, src, info, repos=repos, resolved=False,
                                               writer=f"publish {','.join(repos)}",
                                               ignore=(BOOKKEEPING.get(src.name) or ()) if quiet else ()))
                else:
                    result.tables.append(_merge(con, lake, dest, src, info))
                if result.tables[-1].version is not None:
                    die_here_in_tests("publish")  # tests/core/test_lake.py: a publish killed half-way
    finally:
        if owned:
            con.close()
    result.seconds = time.perf_counter() - started
    return result


def publish_repository(staging: duckdb.DuckDBPyConnection | str | os.PathLike[str], dest: str | os.PathLike[str],
                       repo: str) -> ExportResult:
    """:func:`publish` for the one repository ``repo``."""
    return publish(staging, dest, [repo])


def _merge(con: duckdb.DuckDBPyConnection, lake: duckdb.DuckDBPyConnection, dest: str, source: _Source,
           info: TableInfo | None) -> TableWrite:
    """Merge the rows of an unpartitioned ``source`` into the lake by primary key (new and changed rows only)."""
    from deltalake import CommitProperties

    result = TableWrite(source.name)
    if info is None:
        # Create the table, never replace one: another collector may have created it a moment ago (a whole
        # overwrite retried after losing that race would drop its rows). Then merge into that one instead.
        try:
            result.version = _write(dest, source, con, source.select(), predicate=None, whole=True,
                                    resolved=False, writer="publish", mode="error")
            result.rows = con.execute(f"SELECT count(*) FROM {_quote(source.name)}").fetchall()[0][0]
            result.whole = True
            return result
        except Exception:
            info = table_info(dest, source.name)
            if info is None:
                raise
    columns = ", ".join(_quote(c) for c, _ in source.columns)
    # The lake's snapshot as a temporary view beside the staging tables: only new or changed rows leave DuckDB.
    _register(con, dest, info, "_lake_merge")
    try:
        changed = f"SELECT {columns} FROM {_quote(source.name)} EXCEPT SELECT {columns} FROM _lake_merge"
        compared = [c for c, _ in source.columns if c not in RESOLVED_AT_READ.get(source.name, ())]
        if len(compared) < len(source.columns) and source.primary_key:
            # Rows new to the lake or changed in a column other than those resolved at read time.
            cmp = ", ".join(_quote(c) for c in compared)
            on = " AND ".join(f"s.{_quote(k)} IS NOT DISTINCT FROM d.{_quote(k)}" for k in source.primary_key)
            changed = (f"SELECT {', '.join('s.' + _quote(c) for c, _ in source.columns)} FROM {_quote(source.name)} s "
                       f"SEMI JOIN (SELECT {cmp} FROM {_quote(source.name)} EXCEPT SELECT {cmp} FROM _lake_merge) d "
                       f"ON {on}")
        # Arrow (pyarrow: 1 s to import) only when there is a row to merge: an up-to-date publish needs none.
        if not con.sql(f"SELECT 1 FROM ({changed}) LIMIT 1").fetchall():
            return result
        news = con.sql(_as_stored(source, changed)).to_arrow_table()
    finally:
        con.execute("DROP VIEW IF EXISTS _lake_merge")
        _unregister(con, info)
    if not news.num_rows:
        return result
    key = source.primary_key or tuple(c for c, _ in source.columns)
    predicate = " AND ".join(f"(t.{_quote(c)} IS NOT DISTINCT FROM s.{_quote(c)})" for c in key)
    props = CommitProperties(custom_metadata=_metadata(source, False, "publish"))
    _committed(lambda: _delta_table(dest, source.name)
               .merge(news, predicate, source_alias="s", target_alias="t", commit_properties=props)
               .when_matched_update_all().when_not_matched_insert_all().execute())
    result.rows, result.version = news.num_rows, _delta_table(dest, source.name).version()
    return result


__all__ = [
    "COLUMNS_KEY", "ExportResult", "LakeError", "MONTHLY", "MONTH_COLUMN", "TableInfo", "TableWrite", "VERSION_KEY",
    "check", "configure", "export", "is_remote", "location", "materialise", "needs_resolution", "open_lake",
    "publish", "publish_repository", "snapshot", "staging_path", "storage_options", "stored_type", "table_info",
    "table_path", "tables", "upgrade",
]
