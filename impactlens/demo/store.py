"""Write the demo's rows into a warehouse file, and tell whether an existing demo file is current."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from impactlens import config as config_mod
from impactlens import people, warehouse
from impactlens.demo import cast
from impactlens.demo.generate import END_AT, generate
from impactlens.errors import ImpactlensError, WarehouseError

# Bump when the generator's output changes, so `impactlens demo` rebuilds a cached demo file.
GENERATOR_VERSION = "6"
SOURCE = "demo"
TARGET = cast.ORG
RESOURCE = "generator"


def fingerprint() -> dict[str, Any]:
    """What a demo file must have been built with to be reused: generator version, seed and schema text."""
    schema = hashlib.sha256("".join(m.sql for m in warehouse.MIGRATIONS).encode()).hexdigest()[:16]
    return {"generator_version": GENERATOR_VERSION, "seed": cast.SEED, "schema": schema}


def write_tables(con: duckdb.DuckDBPyConnection, tables: dict[str, dict[str, list[Any]]]) -> dict[str, int]:
    """Insert ``tables`` (``{table: {column: [values]}}``) into ``con`` in one transaction; returns row counts.

    Columns are matched by name, so a table may have more columns than the demo fills (they stay NULL).
    """
    counts = {}
    with warehouse.transaction(con):
        for name, columns in tables.items():
            frame, select = _frame(columns)
            counts[name] = frame.height
            if not frame.height:
                continue
            con.register("_demo_rows", frame.to_arrow())
            cols = ", ".join(f'"{c}"' for c in columns)
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {', '.join(select)} FROM _demo_rows")
            con.unregister("_demo_rows")
    return counts


_SEP = "\x1f"


def _mark(con: duckdb.DuckDBPyConnection, counts: dict[str, int]) -> None:
    """Record the build (sync_state marker, one collection_runs row); fixed times keep the rows deterministic."""
    marker = json.dumps(fingerprint(), sort_keys=True)
    con.execute("INSERT INTO sync_state VALUES (?, ?, ?, ?, ?)", [SOURCE, TARGET, RESOURCE, marker, END_AT])
    con.execute(
        "INSERT INTO collection_runs (run_id, source, target, cursor, started_at, finished_at, status, counts) "
        "VALUES (?, ?, ?, ?, ?, ?, 'succeeded', ?)",
        [f"demo-{GENERATOR_VERSION}", SOURCE, TARGET, marker, END_AT, END_AT, json.dumps(counts, sort_keys=True)],
    )


def _frame(columns: dict[str, list[Any]]) -> tuple[pl.DataFrame, list[str]]:
    """Columns as a Polars frame and the SELECT expressions that give them their warehouse types.

    Aware datetimes travel as epoch seconds and lists as ``\x1f``-joined text (split again in SQL):
    building list columns, and letting pyarrow convert Python objects (it imports pandas), would each
    cost seconds.
    """
    series, select = [], []
    for name, values in columns.items():
        sample = next((v for v in values if v is not None), None)
        quoted = f'"{name}"'
        if isinstance(sample, datetime):
            series.append(pl.Series(name, [None if v is None else int(v.timestamp()) for v in values], dtype=pl.Int64))
            select.append(f"to_timestamp({quoted}) AS {quoted}")
        elif isinstance(sample, list):
            series.append(pl.Series(name, [None if v is None else _SEP.join(map(str, v)) for v in values],
                                    dtype=pl.String))
            select.append(f"CASE WHEN {quoted} = '' THEN [] ELSE string_split({quoted}, chr(31)) END AS {quoted}")
        else:
            series.append(pl.Series(name, values, strict=False))
            select.append(quoted)
    return pl.DataFrame(series), select


def build(path: str | os.PathLike[str], *, seed: int = cast.SEED,
          tables: dict[str, dict[str, list[Any]]] | None = None) -> dict[str, int]:
    """Generate the demo organisation and write it to a new warehouse at ``path``; returns row counts per table.

    Activity tables are written in bulk from Arrow; incidents go through the generic incident CSV and
    :func:`impactlens.collectors.incidents.load_file` (which attributes them to deployments), and people,
    identities, teams and team memberships through the demo roster and :func:`impactlens.people.import_roster`:
    the import paths a user's own files take.

    ``tables`` are rows already generated for ``seed`` (tests reuse one generation). The file is built beside ``path`` and moved over it only when complete. An existing file at ``path``
    is replaced only when it is a demo file (see :func:`is_demo_file`): a user's own warehouse is never
    overwritten.

    Raises:
        WarehouseError: ``path`` holds a warehouse that is not a demo build.
    """
    path = Path(path)
    if path.exists() and not is_demo_file(path):
        raise WarehouseError(
            f"{path} exists and is not a demo warehouse; the demo never overwrites a user's warehouse. "
            "Choose another path."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    for stale in (building, building.with_name(building.name + ".wal")):
        stale.unlink(missing_ok=True)
    from impactlens.collectors import incidents as incident_import
    from impactlens.demo.samples import incidents_csv, roster_yaml

    tables = tables if tables is not None else generate(seed)
    activity = {name: columns for name, columns in tables.items() if name != "incidents"}
    roster = path.with_name(path.name + ".roster.yaml")
    roster.write_text(roster_yaml(), encoding="utf-8")
    export = path.with_name(path.name + ".incidents.csv")
    export.write_text(incidents_csv(tables["incidents"]), encoding="utf-8")
    con = warehouse.open_for_write(building)
    try:
        counts = write_tables(con, activity)
        # Incidents come through the real incident import (which attributes them to deployments) ...
        loaded = incident_import.load_file(con, export, fmt="generic")
        counts["incidents"] = loaded.incidents
        # ... whose run log row has a random id and the wall-clock time: the demo keeps its own, fixed one.
        con.execute("DELETE FROM collection_runs WHERE source = 'incidents'")
        # People, identities and teams come through the real roster import and identity resolution.
        imported, warnings, _ = people.import_roster(con, roster, config_mod.defaults())
        if warnings:
            raise WarehouseError(f"the demo roster did not import cleanly: {'; '.join(warnings)}")
        counts["people"] = imported
        _mark(con, counts)
        con.execute("CHECKPOINT")
    finally:
        con.close()
        roster.unlink(missing_ok=True)
        export.unlink(missing_ok=True)
    os.replace(building, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)
    return counts


def _marker(path: Path) -> dict[str, Any] | None:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        rows = con.execute(
            "SELECT cursor FROM sync_state WHERE source = ? AND target = ? AND resource = ?", [SOURCE, TARGET, RESOURCE]
        ).fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return json.loads(rows[0][0]) if rows else None


def is_demo_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a warehouse written by the demo generator (any version)."""
    return Path(path).exists() and _marker(Path(path)) is not None


def is_current(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a demo warehouse built by this generator version, seed and schema."""
    path = Path(path)
    if not path.exists():
        return False
    try:
        return _marker(path) == fingerprint()
    except ImpactlensError:
        return False


def counts(path: str | os.PathLike[str]) -> dict[str, int]:
    """Row counts per table of the demo warehouse at ``path`` (read-only)."""
    with warehouse.read_only(path) as con:
        tables = [t for (t,) in con.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        return {t: con.sql(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}
