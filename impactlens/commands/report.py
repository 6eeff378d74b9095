"""Commands of the report area: ``impactlens report`` (promotion packet or weekly team review) and
``impactlens note add`` (an entry in the brag document). Formats and wording: docs/evidence.md."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, fail
from impactlens.errors import ImpactlensError

DEFAULT_BRAG = Path("brag.md")


def dates_today() -> date:
    from impactlens import dates

    return dates.today()


def _day(text: str | None, option: str) -> date | None:
    from impactlens import dates

    try:
        return dates.parse_day(text, option)
    except ImpactlensError as exc:
        fail(str(exc))
    return None  # pragma: no cover


def report(
    person: Annotated[Optional[str], typer.Option("--person", help="Person id, GitHub login or email.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="First day of the period (YYYY-MM-DD, UTC).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Last day of the period, included (default today).")] = None,
    team: Annotated[Optional[str], typer.Option("--team", help="Team id or name: write the weekly team review.")] = None,
    week: Annotated[Optional[str], typer.Option("--week", help="Week of the team review (2026-W14 or a date in it).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, html or json.")] = "md",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output file (default: stdout; md charts need a file).")] = None,
    rubric: Annotated[Optional[Path], typer.Option("--rubric", help="Rubric YAML (default: the senior-engineer rubric).")] = None,
    brag: Annotated[Optional[Path], typer.Option("--brag", help="Brag document (YAML or Markdown) with self-reported entries.")] = None,
    show_names: Annotated[bool, typer.Option("--show-names", help="Team review: list each member's review share.")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="Use the demo organisation's warehouse (built if missing).")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    lake: Annotated[Optional[str], typer.Option("--lake", help="Read a Delta Lake folder or object-store URL (docs/scale.md) instead of --db.")] = None,
) -> None:
    """Write a promotion evidence packet (--person) or the weekly team health review (--team)."""
    from impactlens.evidence.packet import FORMATS, build_packet
    from impactlens.evidence.team_review import build_team_review

    if (person is None) == (team is None):
        fail("give either --person (evidence packet) or --team (weekly team review).")
    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)} (got '{fmt}').")
    try:
        if demo:
            from impactlens import demo as demo_mod

            if db is not None:
                fail("give --demo or --db, not both.")
            db, built = demo_mod.ensure()
            if built:
                typer.echo(f"built the demo warehouse {db}", err=True)
        from impactlens import config as config_mod

        cfg = config_mod.resolve(config)
        if lake is not None and (db is not None or demo):
            fail("give --lake or --db/--demo, not both.")
        if lake is not None:
            from impactlens.commands import lake as lake_cmd

            con = lake_cmd.materialised(lake, cfg)
        else:
            con = warehouse.read_only(db)
    except ImpactlensError as exc:
        fail(str(exc))
    try:
        with con:
            doc: Any  # a Packet or a TeamReview: both write md, html and json
            if person is not None:
                start = _day(since, "--since")
                if start is None:
                    fail("--since is required with --person (the first day of the period).")
                end = _day(until, "--until") or dates_today()
                if end < start:
                    fail(f"--until {end} is before --since {start}: swap them.")
                doc = build_packet(con, person, start, end, rubric=rubric, brag=brag, charts=out is not None or fmt == "html",
                                   config=cfg)
            else:
                assert team is not None  # checked above: exactly one of --person and --team
                if week is None:
                    fail("--week is required with --team (2026-W14 or a date in the week).")
                from impactlens import dates

                doc = build_team_review(con, team, dates.parse_week(week, "--week"), names=show_names, config=cfg)
            if out is None:
                text = doc.to_markdown() if fmt == "md" else doc.to_html() if fmt == "html" else doc.to_json()
                typer.echo(text, nl=False)
                return
            written = doc.write(out, fmt)
    except ImpactlensError as exc:
        fail(str(exc))
    for path in written:
        typer.echo(f"wrote {path}", err=True)


def note_add(
    text: Annotated[str, typer.Argument(help="What you did, in a sentence or two.")],
    section: Annotated[str, typer.Option("--section", "-s", help="Packet section (e.g. mentoring, technical_leadership).")],
    day: Annotated[Optional[str], typer.Option("--date", help="Day of the work (YYYY-MM-DD, default today).")] = None,
    link: Annotated[Optional[list[str]], typer.Option("--link", "-l", help="A PR (owner/repo#N), incident id or URL; repeatable.")] = None,
    file: Annotated[Path, typer.Option("--file", help="Brag document (.md or .yaml; default ./brag.md).")] = DEFAULT_BRAG,
) -> None:
    """Append a self-reported entry to the brag document."""
    from impactlens.evidence.brag import append_entry

    when = _day(day, "--date") or dates_today()
    try:
        entry = append_entry(file, when, section, text, list(link or []))
    except ImpactlensError as exc:
        fail(str(exc))
    typer.echo(f"added {entry.day} · {entry.section} to {file}")


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add this area's commands to ``app`` or ``collect_app``."""
    app.command("report")(report)
    note_app = typer.Typer(help="Self-reported entries for the evidence packet (the brag document).", no_args_is_help=True)
    note_app.command("add")(note_add)
    app.add_typer(note_app, name="note")
