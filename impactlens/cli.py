"""The ``impactlens`` command line (Typer): the app and its groups, assembled from ``impactlens/commands/*``
(each area's commands and their bodies live there).

Every command that writes goes through :func:`impactlens.warehouse.writing`, so readers keep the
last complete data; every user-facing failure is one line on stderr and exit code 2.
"""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from typing import Annotated

import typer

from impactlens.commands import config as config_cmd, dashboard, db, demo, digest as digest_cmd, git, github
from impactlens.commands import incidents, mcp as mcp_cmd, metrics, people, report

app = typer.Typer(
    help="Turn Git and issue-tracker history into honest evidence of engineering impact.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
collect_app = typer.Typer(help="Collect data from a source into the warehouse.", no_args_is_help=True)
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


# Each area keeps its commands in its own module under impactlens/commands/.
for _area in (git, db, config_cmd, github, people, incidents, metrics, demo, dashboard, report, mcp_cmd, digest_cmd):
    _area.register(app, collect_app)


def main() -> None:
    """Console entry point: the Typer app, with Ctrl-C reported in one line (exit 130)."""
    try:
        app(prog_name="impactlens")
    except KeyboardInterrupt:
        typer.echo("impactlens: interrupted; a collection resumes where it stopped on its next run.", err=True)
        raise SystemExit(130) from None
