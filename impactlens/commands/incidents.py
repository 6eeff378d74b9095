"""``impactlens collect incidents|tags|releases`` and ``impactlens incidents list``."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, QuietOption, job, user_errors

incidents_app = typer.Typer(help="Incidents and the deployments they are attributed to (docs/incidents.md).",
                            no_args_is_help=True)


def collect_incidents_command(
    file: Annotated[Optional[Path], typer.Argument(help="A CSV or JSON export (PagerDuty, Opsgenie, incident.io, generic CSV).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, pagerduty, opsgenie, incidentio or generic.")] = "auto",
    repo: Annotated[Optional[str], typer.Option("--repo", help="Tie the file's incidents to this repository id.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Import an incident export, then refresh incidents from labelled issues and reverts.

    The file is checked whole first: a bad file stores nothing. Without FILE, only the incidents
    derived from labelled GitHub issues and (if configured) reverts are refreshed.
    """
    from impactlens import config as config_mod
    from impactlens.collectors import incidents
    from impactlens.derive.incidents import derive_incidents

    with user_errors():
        cfg = config_mod.resolve(config)
        if file is not None:
            incidents.read_file(file, fmt)  # check before touching the warehouse
        with warehouse.writing(db, job=job(config=cfg)) as con:
            loaded = incidents.load_file(con, file, fmt=fmt, repo_id=repo) if file is not None else None
            derived = derive_incidents(con, cfg)
            totals = con.sql(
                "SELECT count(*), count(*) FILTER (WHERE status = 'open'), count(deployment_id) FROM incidents"
            ).fetchall()[0]
    if not quiet:
        if loaded:
            typer.echo(loaded.summary())
        typer.echo(derived.summary())
        typer.echo(f"The warehouse holds {totals[0]} incidents ({totals[1]} open, {totals[2]} attributed to a deployment).")


def collect_tags_command(
    path: Annotated[Path, typer.Argument(help="A local clone.")],
    pattern: Annotated[Optional[List[str]], typer.Option("--pattern", help="Tag glob, e.g. 'v*' (repeatable; default [deployments] tag_patterns).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Repository id (default owner/name of origin).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Deployments from the git tags matching the tag patterns (teams that deploy by tagging)."""
    from impactlens import config as config_mod
    from impactlens.collectors import deployments
    from impactlens.collectors.git import open_repository

    with user_errors():
        cfg = config_mod.resolve(config)
        open_repository(path)
        with warehouse.writing(db, job=job(config=cfg)) as con:
            result = deployments.collect_tags(con, path, cfg, repo_id=name, patterns=pattern or None)
    if not quiet:
        typer.echo(result.summary("tags"))


def collect_releases_command(
    repo: Annotated[Optional[str], typer.Option("--repo", help="Only this repository id.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Deployments from the GitHub releases already collected (run after impactlens collect github)."""
    from impactlens import config as config_mod
    from impactlens.derive.releases import deployments_from_releases

    with user_errors():
        cfg = config_mod.resolve(config)  # a killed collection's derivation, finished first, uses it
        with warehouse.writing(db, job=job(config=cfg)) as con:
            result = deployments_from_releases(con, repo_id=repo)
    if not quiet:
        typer.echo(result.summary("releases"))


def _confidence(con) -> dict[str, str]:
    """incident_id -> attribution confidence ('high' | 'medium' | 'low'; docs/metrics.md "Incidents and MTTR")."""
    from impactlens.metrics import load
    from impactlens.metrics.incidents import incident_facts

    facts = incident_facts(load(con, coded=False)).select("incident_id", "attribution_confidence").collect()
    return {i: c for i, c in facts.iter_rows() if c}


@incidents_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many, newest first.")] = 50,
    db: DbOption = None,
) -> None:
    """Incidents, newest first, with the deployment each is attributed to, how confidently, and why."""
    with user_errors():
        with warehouse.read_only(db) as con:
            rows = con.execute(
                "SELECT incident_id, status, strftime(opened_at, '%Y-%m-%d %H:%M'), "
                "round(epoch(resolved_at - opened_at) / 3600, 2), coalesce(title, ''), "
                "coalesce(deployment_id, '-'), attribution_reason FROM incidents ORDER BY opened_at DESC LIMIT ?",
                [limit],
            ).fetchall()
            confidence = _confidence(con) if rows else {}
    if not rows:
        typer.echo("No incidents yet: impactlens collect incidents FILE.")
        return
    for incident_id, status, opened, hours, title, deployment, reason in rows:
        duration = f"{hours} h" if hours is not None else "open"
        typer.echo(f"{opened} UTC  {incident_id}  [{status}, {duration}]  {title[:60]}")
        level = confidence.get(incident_id)
        typer.echo(f"    deployment {deployment}" + (f" ({level} confidence)" if level else "") + f": {reason}")


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens collect incidents|tags|releases`` and ``impactlens incidents list``."""
    collect_app.command("incidents")(collect_incidents_command)
    collect_app.command("tags")(collect_tags_command)
    collect_app.command("releases")(collect_releases_command)
    app.add_typer(incidents_app, name="incidents")
