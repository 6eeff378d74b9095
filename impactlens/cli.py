"""The ``impactlens`` command line (Typer).

Every command that writes goes through :func:`impactlens.warehouse.writing`, so readers keep the
last complete data; every user-facing failure is one line on stderr and exit code 2.
"""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from pathlib import Path
from typing import Annotated, Optional

import typer

from impactlens import warehouse
from impactlens.commands import dashboard, demo, github, incidents, metrics, people, report
from impactlens.commands import digest as digest_cmd, mcp as mcp_cmd
from impactlens.commands import ConfigOption, DbOption, QuietOption, job, progress, user_errors

app = typer.Typer(
    help="Turn Git and issue-tracker history into honest evidence of engineering impact.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
collect_app = typer.Typer(help="Collect data from a source into the warehouse.", no_args_is_help=True)
db_app = typer.Typer(help="Inspect and upgrade the warehouse file.", no_args_is_help=True)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(collect_app, name="collect")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"impactlens {version('impactlens')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            typer.echo("impactlens (not installed; version unknown)")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Turn Git and issue-tracker history into honest evidence of engineering impact."""
    from impactlens.redact import install_logging

    install_logging()  # warnings (a GitHub retry) on stderr, with tokens redacted

app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")

@collect_app.command("git")
def collect_git_command(
    path: Annotated[Path, typer.Argument(help="A local clone (work tree, bare or shallow).")],
    branch: Annotated[Optional[str], typer.Option("--branch", "-b", help="Branch or revision (default HEAD).")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only commits committed from this day on (YYYY-MM-DD, UTC).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Repository id (default owner/name of origin).")] = None,
    web_url: Annotated[Optional[str], typer.Option(
        "--web-url", help="Web address of the repository (https://github.com/OWNER/NAME) when the remote is a "
                          "local path: record links and the repository id come from it.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Collect commits and their files from a local git clone."""
    from impactlens import config as config_mod
    from impactlens import dates
    from impactlens.collectors.git import collect_git, open_repository, repository_id
    from impactlens.derive import after_collection

    with user_errors():
        since_day = dates.parse_day(since, "--since")
        since = dates.git_since(since_day) if since_day else None
        cfg = config_mod.resolve(config)
        repo = open_repository(path)  # validate before touching the warehouse
        # A run killed part-way is continued by the next run of the same repository, branch and --since.
        this = job(resumes=f"git {name or repository_id(repo)[0]} {branch or 'HEAD'} since={since}", config=cfg)
        with progress(quiet, "commits") as bar, warehouse.writing(db, job=this) as con:
            task = bar.add_task(f"git {path}", total=None)
            result = collect_git(
                con, path, branch=branch, since=since, repo_id=name, config=cfg, web_url=web_url,
                on_start=lambda n: bar.update(task, total=n),
                on_progress=lambda k: bar.advance(task, k),
            )
            this.reached("derive")
            # Identities, bot flags and derived rows are refreshed when rows arrived that they do not
            # reflect yet (this run's, or a killed run's), so an up-to-date run stays fast
            # (`impactlens people refresh` re-applies config changes).
            result.pending_derivation = warehouse.derive_pending(con)
            new_data = result.commits_stored or result.already_stored
            derived = after_collection(con, cfg) if new_data or result.pending_derivation else None
    if not quiet:
        typer.echo(result.summary())
        if derived:
            typer.echo(derived.summary())
        typer.echo(f"Warehouse: {warehouse.resolve_path(db)}")


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
        for (table,) in tables:
            count = con.sql(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
            typer.echo(f"  {table:<22} {count:>10,}")
        runs = con.sql(
            "SELECT source, target, status, started_at, finished_at FROM collection_runs "
            "ORDER BY started_at DESC LIMIT 5"
        ).fetchall()
        if runs:
            typer.echo("Last collection runs:")
            for source, target, status, started, _finished in runs:
                typer.echo(f"  {started:%Y-%m-%d %H:%M} {source:<9} {target:<30} {status}")


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Migrate the warehouse to this version's schema."""
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


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective configuration (defaults overridden by the file) as TOML."""
    from impactlens import config as config_mod

    with user_errors():
        cfg = config_mod.resolve(config)
    typer.echo(config_mod.dumps(cfg))


# Each area keeps its commands in its own module under impactlens/commands/.
for _area in (github, people, incidents, metrics, demo, dashboard, report, mcp_cmd, digest_cmd):
    _area.register(app, collect_app)


def main() -> None:
    """Console entry point: the Typer app, with Ctrl-C reported in one line (exit 130)."""
    try:
        app(prog_name="impactlens")
    except KeyboardInterrupt:
        typer.echo("impactlens: interrupted; a collection resumes where it stopped on its next run.", err=True)
        raise SystemExit(130) from None
