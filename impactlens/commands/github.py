"""``impactlens collect github OWNER[/REPO]``: pull requests, reviews, issues and more from GitHub."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from typing import Annotated, List, Optional

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, QuietOption, fail, job, progress, user_errors


def collect_github_command(
    target: Annotated[str, typer.Argument(help="OWNER/REPO, or OWNER for every repository of a user or organisation.")],
    since: Annotated[
        Optional[str], typer.Option("--since", help="First run: only items updated after this date (YYYY-MM-DD).")
    ] = None,
    api_url: Annotated[
        Optional[str],
        typer.Option("--api-url", envvar="GITHUB_API_URL",
                     help="REST API root; GitHub Enterprise Server: https://HOST/api/v3 (default https://api.github.com)."),
    ] = None,
    token_env: Annotated[
        str, typer.Option("--token-env", help="Environment variable holding the token (the token never goes on the command line).")
    ] = "GITHUB_TOKEN",
    include: Annotated[
        Optional[List[str]], typer.Option("--include", help="With OWNER: only repositories whose name matches this glob (repeatable).")
    ] = None,
    exclude: Annotated[
        Optional[List[str]], typer.Option("--exclude", help="With OWNER: skip repositories whose name matches this glob (repeatable).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Collect pull requests (with reviews, comments and timeline), issues, milestones, releases,
    deployments and CODEOWNERS history from GitHub or GitHub Enterprise.

    Credentials: a token in $GITHUB_TOKEN (or --token-env NAME), or a GitHub App from
    $GITHUB_APP_ID, $GITHUB_APP_PRIVATE_KEY (PEM or path) and optionally $GITHUB_APP_INSTALLATION_ID.
    """
    from impactlens import config as config_mod
    from impactlens import dates
    from impactlens.collectors.github import GitHubClient, collect_github, parse_target
    from impactlens.derive import after_collection

    with user_errors():
        since_day = dates.parse_day(since, "--since")
        since = since_day.isoformat() if since_day else None
        cfg = config_mod.resolve(config)
        owner, repo = parse_target(target)
        # Credentials are checked before the warehouse is touched.
        client = GitHubClient.from_environment(api_url=api_url, token_env=token_env, owner=owner, repo=repo)
        client.verify()
        client.check_budget()  # a spent budget: say so now, not "up to date" after no request
        # A run killed part-way is continued by the next run of the same target and options.
        key = f"github {target.strip().strip('/').lower()} since={since} include={sorted(include or ())} exclude={sorted(exclude or ())}"
        this = job(resumes=key, config=cfg)
        with progress(quiet, "pages") as bar, warehouse.writing(db, job=this) as con:
            task = bar.add_task(f"github {target}", total=None)

            def on_progress(text: str) -> None:
                bar.update(task, description=text, advance=1)

            result = collect_github(
                con, target, client=client, since=since, include=include or (), exclude=exclude or (),
                config=cfg, on_progress=on_progress,
            )
            this.reached("derive")
            changed = any(sum(repo.counts.values()) for repo in result.repositories)
            derived = after_collection(con, cfg) if changed or warehouse.derive_pending(con) else None
    if not quiet:
        typer.echo(result.summary())
        if derived:
            typer.echo(derived.summary())
        typer.echo(f"Warehouse: {warehouse.resolve_path(db)}")
    if result.stopped:
        fail(result.stopped)
    if result.failures:
        names = ", ".join(r.repo_id for r in result.failures)
        fail(f"{len(result.failures)} repositories failed ({names}): {result.failures[0].error}")


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens collect github``."""
    collect_app.command("github")(collect_github_command)
