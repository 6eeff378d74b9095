"""``impactlens collect git PATH``: commits and their files from a local clone, then the derive stage."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from pathlib import Path
from typing import Annotated, Optional

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, QuietOption, job, progress, user_errors
from impactlens.commands import lake as lake_cmd


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
    lake: lake_cmd.LakeOption = None,
) -> None:
    """Collect commits and their files from a local git clone (into a lake with --lake DEST: docs/scale.md)."""
    from impactlens import config as config_mod
    from impactlens import dates
    from impactlens.collectors.git import collect_git, open_repository, repository_id
    from impactlens.derive import after_run

    with user_errors():
        since_day = dates.parse_day(since, "--since")
        since = dates.git_since(since_day) if since_day else None
        cfg = config_mod.resolve(config)
        repo = open_repository(path)  # validate before touching the warehouse
        if lake is not None:  # the collector writes its own staging warehouse, then publishes into the lake
            db = lake_cmd.staging_db(lake, name or repository_id(repo, web_url)[0], db, cfg)
        # A run killed part-way is continued by the next run of the same repository, branch and --since.
        this = job(resumes=f"git {name or repository_id(repo)[0]} {branch or 'HEAD'} since={since}", config=cfg)
        with progress(quiet, "commits") as bar, warehouse.writing(db, job=this) as con:
            task = bar.add_task(f"git {path}", total=None)
            result = collect_git(
                con, path, branch=branch, since=since, repo_id=name, config=cfg, web_url=web_url,
                on_start=lambda n: bar.update(task, total=n),
                on_progress=lambda k: bar.advance(task, k),
            )
            # Identities, bot flags and derived rows are refreshed when rows arrived that they do not
            # reflect yet (this run's, or a killed run's), so an up-to-date run stays fast
            # (`impactlens people refresh` re-applies config changes).
            result.pending_derivation = warehouse.derive_pending(con)
            derived = after_run(con, cfg, this, changed=bool(result.commits_stored or result.already_stored))
    if not quiet:
        typer.echo(result.summary())
        if derived:
            typer.echo(derived.summary())
        typer.echo(f"Warehouse: {warehouse.resolve_path(db)}")
    if lake is not None:
        lake_cmd.publish(warehouse.resolve_path(db), lake, [result.repo_id], quiet)


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens collect git``."""
    collect_app.command("git")(collect_git_command)
