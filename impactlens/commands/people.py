"""``impactlens people ...``: the roster, identity resolution, merges; ``impactlens collect codeowners``."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, QuietOption, fail, job, user_errors
from impactlens.errors import ImpactlensError
from impactlens.text import counted

T = TypeVar("T")

people_app = typer.Typer(help="People, their identities and teams (docs/identities.md).", no_args_is_help=True)


def _echo_rows(header: tuple[str, ...], rows: list[tuple]) -> None:
    """Print rows as aligned columns (None as '-')."""
    text = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(header)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for row in text:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _write(db: Path | None, config: Path | None, action: Callable[[Any, Any], T]) -> T:
    """Load the configuration, run ``action(con, config)`` in one writing job, turn user errors into exit 2."""
    from impactlens import config as config_mod
    from impactlens import derive

    with user_errors():
        cfg = config_mod.resolve(config)
        with warehouse.writing(db, job=job(config=cfg)) as con:
            derive.if_pending(con, cfg)  # identities need every collected row derived
            return action(con, cfg)
    raise AssertionError("unreachable")  # user_errors exits on an error


@people_app.command("import")
def import_command(
    roster: Annotated[Optional[Path], typer.Argument(help="Roster file, .yaml/.yml or .csv (default: [people] roster).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Replace the roster (people, their emails and logins, teams over time), then resolve identities."""
    from impactlens import config as config_mod
    from impactlens import people

    with user_errors():
        cfg = config_mod.resolve(config)
        path = roster or (Path(cfg["people"]["roster"]) if cfg["people"]["roster"] else None)
        if path is None:
            fail("give a roster file (impactlens people import ROSTER) or set [people] roster in impactlens.toml.")
        people.load_roster(path)  # check the file before touching the warehouse
        with warehouse.writing(db, job=job(config=cfg)) as con:
            from impactlens import derive

            derive.if_pending(con, cfg)
            count, warnings, result = people.import_roster(con, path, cfg)
    typer.echo(f"{path}: {counted(count, 'people')} imported.")
    for warning in warnings:
        typer.echo(f"warning: {warning}")
    typer.echo(result.summary())


@people_app.command("refresh")
def refresh_command(db: DbOption = None, config: ConfigOption = None) -> None:
    """Re-resolve identities from everything collected (run after collecting git, GitHub or incidents)."""
    from impactlens import people

    typer.echo(_write(db, config, people.refresh).summary())


@people_app.command("list")
def list_command(
    at: Annotated[Optional[str], typer.Option("--at", help="Teams on this date (YYYY-MM-DD; default today).")] = None,
    bots: Annotated[bool, typer.Option("--bots", help="Include bots.")] = False,
    team: Annotated[Optional[str], typer.Option("--team", help="Only members of this team (id or name) on --at.")] = None,
    active_since: Annotated[Optional[str], typer.Option(
        "--active-since", help="Only people with a commit or PR on or after this date (YYYY-MM-DD).")] = None,
    search: Annotated[Optional[str], typer.Option(
        "--search", help="Only people whose id, name, email or login contains this text (any case).")] = None,
    linked_only: Annotated[bool, typer.Option(
        "--linked-only", help="Only the people table (leave out identities linked to nobody).")] = False,
    db: DbOption = None,
) -> None:
    """People (and identities linked to nobody, source "unlinked") with their team(s), title, level, identities, commits and PRs authored, last activity; junk
    identities ("=", "unknown", no letters, none@none) are marked "junk" (docs/identities.md)."""
    import polars as pl

    from impactlens import people

    with user_errors():
        day = _date(at)
        since = _date(active_since)
        with warehouse.read_only(db) as con:
            frame = people.list_people(con, at=day, include_bots=bots)
            if not linked_only:  # identities linked to nobody are actors of their own (docs/identities.md)
                loose = people.unresolved(con, include_bots=bots).filter(pl.col("kind") != "name")
                frame = pl.concat([frame, loose.select(
                    pl.col("identity_id").alias("person_id"),
                    pl.coalesce("display_name", "value").alias("display_name"), pl.lit("unlinked").alias("source"),
                    pl.lit(None, pl.String).alias("title"), pl.lit(None, pl.String).alias("level"),
                    pl.lit(None, pl.String).alias("teams"), pl.lit(1, pl.Int64).alias("identities"), "is_bot",
                    pl.lit(None, pl.String).alias("bot_kind"))], how="vertical_relaxed")
            counts = people.person_activity(con)
            teams = dict(con.sql("SELECT team_id, name FROM teams").fetchall())
            matched = None
            if search:
                matched = {r[0] for r in con.execute(
                    "SELECT coalesce(person_id, identity_id) FROM identities WHERE contains(lower(value), ?)",
                    [search.strip().lower()]).fetchall()}
    if team is not None:
        team_id = team if team in teams else next((t for t, n in teams.items() if n.lower() == team.lower()), None)
        if team_id is None:
            import difflib

            close = list(dict.fromkeys(difflib.get_close_matches(team, [*teams, *teams.values()], n=3, cutoff=0.5)))
            fail(f"no team '{team}' in the warehouse" + (f" (did you mean {', '.join(close)}?)" if close else
                 f" (known: {', '.join(sorted(teams)) or 'none'})") + ".")
        frame = frame.filter(pl.col("teams").fill_null("").str.split(", ").list.contains(team_id))
    frame = frame.join(counts, on="person_id", how="left").with_columns(
        pl.col("commits").fill_null(0), pl.col("prs").fill_null(0),
        pl.struct("person_id", "display_name").map_elements(
            lambda r: "junk" if people.is_junk_key(r["person_id"], r["display_name"]) else "",
            return_dtype=pl.String).alias("flag"),
    )
    frame = frame.sort(pl.col("display_name").str.to_lowercase(), "person_id")
    if since is not None:
        frame = frame.filter(pl.col("last_active") >= since)
    if search:
        text = search.strip().lower()
        frame = frame.filter(pl.col("person_id").str.to_lowercase().str.contains(text, literal=True)
                             | pl.col("display_name").str.to_lowercase().str.contains(text, literal=True)
                             | pl.col("person_id").is_in(sorted(matched or ())))
    if frame.is_empty():
        if team or since or search:
            typer.echo("Nobody matches these filters.")
        else:
            typer.echo("No people yet: import a roster (impactlens people import ROSTER) or run impactlens people refresh.")
        return
    cols: tuple[str, ...] = ("person_id", "display_name", "teams", "title", "level", "identities", "source",
                             "commits", "prs", "last_active", "flag")
    if bots:
        cols += ("bot_kind",)
    _echo_rows(cols, frame.select(cols).rows())


@people_app.command("show")
def show_command(
    who: Annotated[str, typer.Argument(help="Person id, email, @login, identity id or exact name.")],
    db: DbOption = None,
) -> None:
    """A person's identities (and why each is theirs) and their teams over time."""
    from impactlens import people

    with user_errors():
        with warehouse.read_only(db) as con:
            key, identities = people.find_actor(con, who)
            person = con.execute(
                "SELECT display_name, source, title, level, is_bot, bot_kind FROM people WHERE person_id = ?", [key]
            ).fetchall()
            rows = con.execute(
                "SELECT identity_id, link_reason, strftime(first_seen_at, '%Y-%m-%d'), strftime(last_seen_at, '%Y-%m-%d') "
                "FROM identities WHERE identity_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY identity_id",
                [identities],
            ).fetchall()
            teams = con.execute(
                "SELECT team_id, valid_from, valid_to, role FROM team_memberships WHERE person_id = ? ORDER BY valid_from",
                [key],
            ).fetchall()
    if person:
        name, source, title, level, is_bot, bot_kind = person[0]
        extra = ", ".join(v for v in (title, level, bot_kind if is_bot else None) if v)
        typer.echo(f"{key}: {name} ({source}{', ' + extra if extra else ''})")
    else:
        typer.echo(f"{key}: an identity with no person (add it to the roster, or merge it)")
    _echo_rows(("identity", "why", "first_seen", "last_seen"), rows)
    for team, start, end, role in teams:
        typer.echo(f"team {team}: from {start} {'until ' + str(end) if end else '(ongoing)'}{' as ' + role if role else ''}")


@people_app.command("unresolved")
def unresolved_command(
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many.")] = 50,
    bots: Annotated[bool, typer.Option("--bots", help="Include bots.")] = False,
    db: DbOption = None,
) -> None:
    """Identities with no person, busiest first (add them to the roster, or merge them)."""
    from impactlens import people

    with user_errors():
        with warehouse.read_only(db) as con:
            frame = people.unresolved(con, limit=limit, include_bots=bots)
    if frame.is_empty():
        typer.echo("Every identity belongs to a person.")
        return
    rows = [
        (r["identity_id"], r["display_name"], r["activity"],
         r["last_seen_at"].strftime("%Y-%m-%d") if r["last_seen_at"] else None, r["maybe_person"])
        for r in frame.iter_rows(named=True)
    ]
    _echo_rows(("identity", "name", "activity", "last_seen", "same_name_as"), rows)
    if any(r[4] for r in rows):
        typer.echo("same_name_as: a person with that name; check, then `impactlens people merge IDENTITY PERSON --reason ...`.")


@people_app.command("merge")
def merge_command(
    a: Annotated[str, typer.Argument(help="Person id, identity id, email, @login or exact name to merge ...")],
    b: Annotated[str, typer.Argument(help="... into this person or identity.")],
    reason: Annotated[str, typer.Option("--reason", help="Why they are one person (kept with the merge).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Record that A and B are one person; undo with `impactlens people unmerge MERGE_ID`."""
    from impactlens import people

    def action(con, cfg):
        merge_id, result = people.merge(con, a, b, reason, cfg)
        return merge_id, result, people.find_actor(con, b)[0]

    merge_id, result, actor = _write(db, config, action)
    typer.echo(f"Merged {a} into {actor} (merge {merge_id}; undo: impactlens people unmerge {merge_id}).")
    typer.echo(result.summary())


@people_app.command("unmerge")
def unmerge_command(
    merge_id: Annotated[str, typer.Argument(help="The merge to undo (see impactlens people merges).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Undo a merge: identities go back to what the evidence and the roster alone say."""
    from impactlens import people

    result = _write(db, config, lambda con, cfg: people.unmerge(con, merge_id, cfg))
    typer.echo(f"Merge {merge_id} undone.")
    typer.echo(result.summary())


@people_app.command("merges")
def merges_command(db: DbOption = None) -> None:
    """Every merge recorded, with its reason and whether it was undone."""
    with user_errors():
        with warehouse.read_only(db) as con:
            rows = con.sql(
                "SELECT merge_id, strftime(merged_at, '%Y-%m-%d %H:%M'), from_person_id, into_person_id, reason, "
                "strftime(undone_at, '%Y-%m-%d %H:%M') FROM identity_merges ORDER BY merged_at"
            ).fetchall()
    if not rows:
        typer.echo("No merges recorded.")
        return
    _echo_rows(("merge_id", "merged_at_utc", "from", "into", "reason", "undone_at_utc"), rows)


@people_app.command("owners")
def owners_command(
    path: Annotated[str, typer.Argument(help="A path in the repository, e.g. api/handler.py.")],
    repo: Annotated[str, typer.Option("--repo", help="Repository id (owner/name).")],
    at: Annotated[Optional[str], typer.Option("--at", help="Date (YYYY-MM-DD, UTC; default now).")] = None,
    db: DbOption = None,
) -> None:
    """Owners of PATH by CODEOWNERS (last matching rule wins), and the rule that decided."""
    from impactlens import codeowners

    with user_errors():
        day = _date(at)
        when = dt.datetime.combine(day, dt.time(23, 59, 59), dt.timezone.utc) if day else dt.datetime.now(dt.timezone.utc)
        with warehouse.read_only(db) as con:
            file = codeowners.history(con, repo).at(when)
    if file is None:
        typer.echo(f"{repo} had no CODEOWNERS on {when:%Y-%m-%d} (collect it: impactlens collect codeowners PATH).")
        return
    rule = file.rule_for(path)
    if rule is None or not rule.owners:
        typer.echo(f"{path}: no owner" + (f" (line {rule.line}: {rule.pattern})" if rule else ""))
        return
    typer.echo(f"{path}: {' '.join(rule.owners)} (line {rule.line}: {rule.pattern})")


def collect_codeowners_command(
    path: Annotated[Path, typer.Argument(help="A local clone.")],
    name: Annotated[Optional[str], typer.Option("--name", help="Repository id (default owner/name of origin).")] = None,
    branch: Annotated[Optional[str], typer.Option("--branch", "-b", help="Branch (default HEAD).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Collect every version of CODEOWNERS (.github/, root, docs/) from a clone's git history."""
    from impactlens import config as config_mod
    from impactlens.collectors.codeowners import collect_codeowners
    from impactlens.collectors.git import open_repository

    with user_errors():
        cfg = config_mod.resolve(config)  # a killed collection's derivation, finished first, uses it
        open_repository(path)
        with warehouse.writing(db, job=job(config=cfg)) as con:
            count = collect_codeowners(con, path, repo_id=name, branch=branch)
    if not quiet:
        typer.echo(f"{count} CODEOWNERS versions from {path}.")


def _date(text: str | None) -> dt.date | None:
    from impactlens import dates

    try:
        return dates.parse_day(text, "--at", warn=None)
    except ImpactlensError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens people ...`` and ``impactlens collect codeowners``."""
    app.add_typer(people_app, name="people")
    collect_app.command("codeowners")(collect_codeowners_command)


@people_app.command("bots")
def bots_command(db: DbOption = None, config: ConfigOption = None) -> None:
    """Every identity classified as a bot or AI reviewer, and why (the pattern, GitHub's account type or a
    recorded decision); correct a person wrongly flagged with `impactlens people unbot ID`."""
    from impactlens import bots
    from impactlens import config as config_mod

    with user_errors():
        cfg = config_mod.resolve(config)
        with warehouse.read_only(db) as con:
            rows = [(i, k, why) for i, k, why in bots.classify(con, cfg) if k]
    if not rows:
        typer.echo("No identity is classified as a bot.")
        return
    _echo_rows(("identity_id", "kind", "why"), rows)


@people_app.command("unbot")
def unbot_command(
    identity: Annotated[str, typer.Argument(help="Identity id, email, @login or person id wrongly flagged as a bot.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is a person (kept with the decision).")] = "a person",
    undo: Annotated[bool, typer.Option("--undo", help="Forget the decision: patterns and GitHub decide again.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Record that an identity is a person, not a bot (it wins over every pattern and GitHub's account type);
    its PRs, reviews and comments count as human work again."""
    from impactlens import bots, people

    def action(con, cfg):
        ids = bots.clear_override(con, identity) if undo else bots.set_override(con, identity, is_bot=False, reason=reason)
        return ids, people.refresh(con, cfg)

    ids, result = _write(db, config, action)
    verb = "Forgot the bot decision for" if undo else "Recorded as a person:"
    typer.echo(f"{verb} {', '.join(ids)}.")
    typer.echo(result.summary())


@people_app.command("suggest")
def suggest_command(
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show at most this many names.")] = 30,
    db: DbOption = None,
) -> None:
    """Full names shared by several people or identities, which may be one person (a work and a personal
    email, a login): check each, then merge it. Nothing is merged by itself: two people can share a name."""
    from impactlens import people

    with user_errors():
        with warehouse.read_only(db) as con:
            frame = people.suggestions(con)
    if frame.is_empty():
        typer.echo("No full name is shared by several identities.")
        return
    for row in frame.head(limit).iter_rows(named=True):
        into, *others = row["actors"]
        seen = ", ".join(f"{a} ({n:,} rows)" for a, n in zip(row["actors"], row["activity"]))
        typer.echo(f"{row['name']} [{row['evidence']}]: {seen}")
        for other in others:
            typer.echo(f"  impactlens people merge {other} {into} --reason \"same person: {row['name']}\"")
    if frame.height > limit:
        typer.echo(f"... and {frame.height - limit} more (--limit).")
