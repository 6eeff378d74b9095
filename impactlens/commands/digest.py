"""``impactlens digest``: the weekly team review as a short message with alerts (docs/assistant.md).

Cron-friendly: ``--quiet`` prints nothing; the exit code is 0 when nothing alerts and 3
(:data:`impactlens.digest.ALERT_EXIT_CODE`) when something does; 2 on bad input.
"""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from pathlib import Path
from typing import Annotated, Optional

import typer

from impactlens.commands import ConfigOption, DbOption, fail, user_errors


def digest(
    team: Annotated[str, typer.Option("--team", help="Team id or name.")],
    week: Annotated[str, typer.Option("--week", help="ISO week (2026-W14) or a date in it.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, json, slack or teams (webhook payloads).")] = "md",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the digest to this file.")] = None,
    post: Annotated[bool, typer.Option("--post", help="POST it to [digest] webhook_url (as webhook_format).")] = False,
    show_names: Annotated[bool, typer.Option("--show-names", help="Name the reviewer in the concentration alert.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing; only the exit code tells (cron).")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="Use the demo organisation's warehouse (built if missing).")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Print the team's weekly digest with alerts; exit 3 when an alert fired, 0 when none."""
    from impactlens import config as config_mod
    from impactlens import warehouse
    from impactlens.digest import ALERT_EXIT_CODE, FORMATS, build_digest, post as post_payload

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)} (got '{fmt}').")
    with user_errors():
        cfg = config_mod.resolve(config)
        if post and not cfg["digest"]["webhook_url"]:
            fail("--post needs [digest] webhook_url in impactlens.toml.")
        if demo:
            from impactlens import demo as demo_mod

            if db is not None:
                fail("give --demo or --db, not both.")
            db, _ = demo_mod.ensure()
        con = warehouse.read_only(db)
        with con:
            doc = build_digest(con, team, week, cfg, names=show_names)
        text = doc.render(fmt)
        if out is not None:
            out.write_text(text, encoding="utf-8")
        if post:
            kind = cfg["digest"]["webhook_format"]
            post_payload(cfg["digest"]["webhook_url"], doc.to_slack() if kind == "slack" else doc.to_teams())
    if not quiet:
        if out is None:
            typer.echo(text, nl=False)
        else:
            typer.echo(f"wrote {out}", err=True)
        if post:
            typer.echo("posted the digest to the webhook", err=True)
    if doc.alerts:
        raise typer.Exit(ALERT_EXIT_CODE)


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens digest`` to ``app``."""
    app.command("digest")(digest)
