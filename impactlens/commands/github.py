"""``impactlens collect github OWNER[/REPO]``: pull requests, reviews, issues and more from GitHub."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

import os
from typing import Annotated, List, Optional

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, QuietOption, fail, job, progress, user_errors
from impactlens.commands import lake as lake_cmd



def resume_key(target: str, since: Optional[str], include: Optional[List[str]] = None,
               exclude: Optional[List[str]] = None) -> str:
    """The key a killed ``collect github`` run of ``target`` with these options is resumed by (the next run
    with the same target and options continues its staging copy): the command's and a fan-out task's."""
    return (f"github {target.strip().strip('/').lower()} since={since} include={sorted(include or ())} "
            f"exclude={sorted(exclude or ())}")


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
    lake: lake_cmd.LakeOption = None,
    engine: Annotated[str, typer.Option(
        "--engine", metavar="local|spark",
        help="With OWNER --lake: collect in this process (local), or one Spark task per repository, each "
             "publishing its repository into the lake (docs/scale.md).",
    )] = "local",
    master: Annotated[Optional[str], typer.Option(
        "--master", metavar="<url>", help="With --engine spark: the Spark master (default local[2]).")] = None,
    token_envs: Annotated[Optional[List[str]], typer.Option(
        "--token-envs", metavar="NAME,NAME",
        help="With --engine spark: environment variables holding tokens, taken by the tasks in turn "
             "(comma-separated or repeated; default --token-env).")] = None,
) -> None:
    """Collect pull requests (with reviews, comments and timeline), issues, milestones, releases,
    deployments and CODEOWNERS history from GitHub or GitHub Enterprise.

    Credentials: a token in $GITHUB_TOKEN (or --token-env NAME), or a GitHub App from
    $GITHUB_APP_ID, $GITHUB_APP_PRIVATE_KEY (PEM or path) and optionally $GITHUB_APP_INSTALLATION_ID.
    """
    from impactlens import config as config_mod
    from impactlens import dates
    from impactlens.collectors.github import GitHubClient, collect_github, parse_target
    from impactlens.derive import after_run

    if engine != "local":
        return _collect_on_spark(target, since, api_url, token_env, token_envs, include, exclude, config, quiet,
                                 lake, engine, master)
    if master or token_envs:
        fail("--master and --token-envs need --engine spark.")
    with user_errors():
        since_day = dates.parse_day(since, "--since")
        since = since_day.isoformat() if since_day else None
        cfg = config_mod.resolve(config)
        owner, repo = parse_target(target)
        if lake is not None:  # one staging warehouse per target, published into the lake after (docs/scale.md)
            db = lake_cmd.staging_db(lake, target, db, cfg)
        # Credentials are checked before the warehouse is touched.
        client = GitHubClient.from_environment(api_url=api_url, token_env=token_env, owner=owner, repo=repo)
        client.verify()
        client.check_budget()  # a spent budget: say so now, not "up to date" after no request
        # A run killed part-way is continued by the next run of the same target and options.
        key = resume_key(target, since, include, exclude)
        this = job(resumes=key, config=cfg)
        with progress(quiet, "pages") as bar, warehouse.writing(db, job=this) as con:
            task = bar.add_task(f"github {target}", total=None)

            def on_progress(text: str) -> None:
                bar.update(task, description=text, advance=1)

            result = collect_github(
                con, target, client=client, since=since, include=include or (), exclude=exclude or (),
                config=cfg, on_progress=on_progress,
            )
            changed = any(sum(repo.counts.values()) for repo in result.repositories)
            derived = after_run(con, cfg, this, changed=changed)
    lake_cmd.finish_collection(result.summary(), derived, warehouse.resolve_path(db), lake, None, quiet)
    if result.stopped:
        fail(result.stopped)
    if result.failures:
        names = ", ".join(r.repo_id for r in result.failures)
        fail(f"{len(result.failures)} repositories failed ({names}): {result.failures[0].error}")


def _collect_on_spark(target, since, api_url, token_env, token_envs, include, exclude, config, quiet, lake,
                      engine, master) -> None:
    """``--engine spark``: one Spark task per repository of OWNER, each into its staging warehouse and then
    its repository's partitions of the lake (impactlens/commands/fanout.py); prints the per-repository table."""
    from impactlens import dates
    from impactlens.commands import fanout
    from impactlens.collectors.github import parse_target

    if engine != "spark":
        fail(f"--engine must be local or spark (got {engine!r}).")
    if lake is None:
        fail("--engine spark needs --lake DEST (every task publishes its repository into the lake).")
    names = [n.strip() for value in (token_envs or [token_env]) for n in value.split(",") if n.strip()]
    with user_errors():
        since_day = dates.parse_day(since, "--since")
        owner, repo = parse_target(target)
        if repo:
            repos = [f"{owner}/{repo}"]
        else:
            repos = fanout.owner_repositories(owner, api_url=api_url, token_env=names[0], include=include or (),
                                              exclude=exclude or ())
        if not any(os.environ.get(n, "").strip() for n in names):
            names = []  # no token set: every task authenticates as the GitHub App (GITHUB_APP_*)
        tasks = fanout.plan(repos, lake, names, api_url=api_url,
                            since=since_day.isoformat() if since_day else None,
                            config_path=str(config) if config else None)
        outcomes = fanout.run(tasks, master=master)
    if not quiet:
        typer.echo(fanout.table(outcomes))
    bad = [o for o in outcomes if o.status != "succeeded"]
    if bad:
        fail(f"{len(bad)} of {len(outcomes)} repositories did not succeed ({', '.join(o.repo for o in bad)}): "
             f"{bad[0].status}")


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens collect github``."""
    collect_app.command("github")(collect_github_command)
