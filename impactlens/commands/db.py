"""``impactlens db info|upgrade|discard``: inspect, migrate and clean up the warehouse file."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, user_errors
from impactlens.commands import lake as lake_cmd

db_app = typer.Typer(help="Inspect and upgrade the warehouse file.", no_args_is_help=True)


@db_app.command("info")
def db_info(db: DbOption = None) -> None:
    """Print the schema version, the row count of every table and the last collection runs."""
    with user_errors():
        con = warehouse.read_only(db)
    with con:
        typer.echo(f"{warehouse.resolve_path(db)}: schema version {warehouse.schema_version(con)}")
        tables = con.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
        ).fetchall()
        width = max((len(table) for (table,) in tables), default=0)
        for (table,) in tables:
            count = con.sql(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
            typer.echo(f"  {table:<{width}} {count:>10,}")
        runs = con.sql(
            "SELECT source, target, status, started_at, finished_at FROM collection_runs "
            "ORDER BY started_at DESC LIMIT 5"
        ).fetchall()
        if runs:
            typer.echo("Last collection runs:")
            for source, target, status, started, _finished in runs:
                typer.echo(f"  {started:%Y-%m-%d %H:%M} {source:<9} {target:<30} {status}")


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None, lake: lake_cmd.LakeOption = None, config: ConfigOption = None) -> None:
    """Migrate the warehouse (or, with --lake, a lake in place) to this version's schema."""
    if lake is not None:
        from impactlens import lake as lake_mod

        with user_errors():
            lake_cmd.use_config(config)
            version = lake_mod.upgrade(lake)
        typer.echo(f"{lake}: schema version {version}")
        return
    with user_errors():
        version = warehouse.upgrade(db)
    typer.echo(f"{warehouse.resolve_path(db)}: schema version {version}")


@db_app.command("discard")
def db_discard(db: DbOption = None) -> None:
    """Remove the unfinished working copy (<db>.writing) a killed or failed run left; <db> is untouched."""
    with user_errors():
        left = warehouse.discard(db)
    path = warehouse.resolve_path(db)
    if left is None:
        typer.echo(f"{path}: no unfinished working copy to discard.")
    else:
        typer.echo(f"{path}: discarded the unfinished copy of {left}; {path.name} itself is unchanged.")


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens db ...``."""
    app.add_typer(db_app, name="db")
