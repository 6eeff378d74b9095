"""The dashboard's state: the warehouse read once, the sidebar's period and filters, and the pickers' choices.

The warehouse is opened read-only (:func:`impactlens.warehouse.read_only`), read whole into Polars
(:meth:`impactlens.metrics.Frames.preload`) and closed again at once, so the dashboard never holds the
DuckDB file open while a collection publishes a new one. Writers replace the file atomically
(``os.replace``), so a new inode or mtime means new data: :func:`current_warehouse` compares the file's
identity on every rerun and reloads when it changed. :func:`memo` caches a page's results on the loaded
:class:`Warehouse`, so they go with it on reload.

What the pages show is built in :mod:`impactlens.dashboard.figures`. All timestamps are UTC.
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from impactlens import config as config_mod, coverage, metrics, warehouse
from impactlens.errors import ImpactlensError, WarehouseError
from impactlens.evidence.tables import repo_urls
from impactlens.membership import overlaps_expr
from impactlens.people import is_junk_key

#: Which command collects each kind of data (for empty states).
COLLECT = {
    "commits": "impactlens collect git PATH",
    "pull_requests": "impactlens collect github OWNER/REPO",
    "reviews": "impactlens collect github OWNER/REPO",
    "deployments": "impactlens collect github OWNER/REPO (GitHub deployments and releases)",
    "incidents": "impactlens collect incidents FILE",
    "teams": "impactlens people import ROSTER",
    "people": "impactlens people import ROSTER",
}

ALL = "All"

# ---------------------------------------------------------------------------- the warehouse


def db_path(argv: list[str] | None = None) -> Path:
    """The warehouse the dashboard reads: ``--db FILE`` after ``streamlit run app.py --``, else
    ``$IMPACTLENS_DB``, else ``./impactlens.duckdb``."""
    named = _argument("--db", sys.argv[1:] if argv is None else argv)
    return Path(named) if named is not None else warehouse.resolve_path(None)


def lake_path(argv: list[str] | None = None) -> Path | None:
    """The lake the warehouse was materialised from (``--lake DEST`` after ``--``, which ``impactlens dashboard
    --lake`` passes), else None: a warehouse file served as it is."""
    named = _argument("--lake", sys.argv[1:] if argv is None else argv)
    return Path(named) if named is not None else None


def _argument(option: str, argv: list[str]) -> str | None:
    """The value of ``option`` (``--db FILE`` or ``--db=FILE``) in ``argv``; the last one given wins."""
    found = None
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith(option + "="):
            found = arg.split("=", 1)[1]
    return found


def config_path(argv: list[str] | None = None) -> Path | None:
    """The configuration file the dashboard reads: ``--config FILE`` after ``streamlit run app.py --``, else
    ``$IMPACTLENS_CONFIG`` (set by ``impactlens dashboard``), else ``./impactlens.toml`` when present, else None
    (the defaults): the command line's rule (:func:`impactlens.config.find`).

    Raises:
        ConfigError: the named file does not exist.
    """
    named = _argument("--config", sys.argv[1:] if argv is None else argv)
    return config_mod.find(named or os.environ.get(config_mod.CONFIG_ENV) or None)


def current_config() -> config_mod.Config:
    """The configuration of this dashboard (:func:`config_path`, read on each call: it is a small file).

    Raises:
        ConfigError: the file is missing or not valid.
    """
    return config_mod.load(config_path())


def file_identity(path: Path) -> tuple[int, int, int]:
    """(inode, mtime in ns, size) of ``path``: changes whenever a writer publishes a new file.

    Raises:
        WarehouseError: no file at ``path``.
    """
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise WarehouseError(
            f"no warehouse at {path}: collect something first (impactlens collect git PATH) "
            "or try the demo (impactlens demo)."
        ) from None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


@dataclass
class Warehouse:
    """The warehouse read into memory.

    ``frames`` is a preloaded :class:`impactlens.metrics.Frames`; ``people`` has person_key, display_name,
    title, level (str), is_junk (bool, :func:`impactlens.people.is_junk_key`); ``teams`` has team_id, name;
    ``repos`` has repo_id, url; ``counts`` maps a table name to its row count; ``first_day``/``last_day``
    bound the activity in the data (UTC dates); ``firsts`` has repo_id, source (one of :data:`impactlens.coverage.SOURCES`),
    first_at (Datetime UTC): when each source's data begins, per repository (the comparison rule);
    ``collected`` names the sources of :data:`impactlens.coverage.SOURCES` collected for at least one
    repository (a succeeded run or stored rows), so an empty state can tell "not collected" from "none".
    """

    path: str
    identity: tuple[int, int, int]
    frames: metrics.Frames
    people: pl.DataFrame
    teams: pl.DataFrame
    repos: pl.DataFrame
    counts: dict[str, int]
    first_day: date
    last_day: date
    firsts: pl.DataFrame = field(default_factory=pl.DataFrame)
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    collected: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return f"{self.path}:{self.identity}"

    def has(self, table: str) -> bool:
        return self.counts.get(table, 0) > 0

    def name(self, person_key: str | None) -> str:
        if person_key is None:
            return "unknown"
        hit = self.people.filter(pl.col("person_key") == person_key)
        return hit["display_name"][0] if hit.height else person_key.split(":", 1)[-1]

    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Rows the metrics frames do not carry (URLs, commit subjects), read from the published file.

        Opens the warehouse read-only for this one query and closes it again.
        """
        con = warehouse.read_only(self.path)
        try:
            return con.sql(sql, params=params).pl() if params else con.sql(sql).pl()
        finally:
            con.close()

    def team_name(self, team_id: str | None) -> str:
        if team_id is None:
            return "all teams"
        hit = self.teams.filter(pl.col("team_id") == team_id)
        return hit["name"][0] if hit.height else team_id


_TABLES = ("commits", "pull_requests", "reviews", "comments", "incidents", "deployments", "teams",
           "team_memberships", "people", "identities", "commit_files")


def load_warehouse(path: str | os.PathLike[str], config: config_mod.Config | None = None) -> Warehouse:
    """Read the warehouse at ``path`` into a :class:`Warehouse` whose frames use ``config`` (default the
    defaults); the connection is closed on return.

    Raises:
        WarehouseError, SchemaOutdatedError, SchemaTooNewError: from :func:`impactlens.warehouse.read_only`.
    """
    path = Path(path)
    identity = file_identity(path)
    con = warehouse.read_only(path)
    try:
        counts = {t: con.sql(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in _TABLES}
        teams = con.sql("SELECT team_id, name FROM teams ORDER BY name").pl()
        urls = repo_urls(con)  # http(s) only: a local-path remote is never a link
        ids = [r for (r,) in con.sql("SELECT repo_id FROM repositories UNION SELECT DISTINCT repo_id FROM commits "
                                     "UNION SELECT DISTINCT repo_id FROM pull_requests ORDER BY repo_id").fetchall()]
        repos = pl.DataFrame({"repo_id": ids, "url": [urls.get(r) for r in ids]},
                             schema={"repo_id": pl.String, "url": pl.String})
        titles = con.sql("SELECT person_id AS person_key, title, level FROM people").pl()
        frames = metrics.load(con, coded=False, config=config).preload()
        span = con.sql(
            "SELECT min(t), max(t) FROM (SELECT authored_at AS t FROM commits UNION ALL "
            "SELECT created_at FROM pull_requests UNION ALL SELECT merged_at FROM pull_requests "
            "UNION ALL SELECT opened_at FROM incidents UNION ALL SELECT created_at FROM deployments)"
        ).fetchall()[0]
        cov = coverage.sources(con)
        firsts = cov.filter(pl.col("first_at").is_not_null()).select("repo_id", "source", "first_at")
        collected = frozenset(cov.filter(pl.col("collected"))["source"].to_list())
    finally:
        con.close()
    people = _people(frames, titles)
    today = datetime.now(timezone.utc).date()
    first = span[0].date() if span[0] else today - timedelta(days=90)
    last = min(span[1].date(), today) if span[1] else today
    return Warehouse(str(path), identity, frames, people, teams, repos, counts, first, last, firsts,
                     collected=collected)


def _people(frames: metrics.Frames, titles: pl.DataFrame) -> pl.DataFrame:
    """Every human actor with some activity or a roster entry: person_key, display_name, title, level."""
    active = metrics.activity(frames).select(pl.col("actor_key").alias("person_key")).unique()
    roster = frames.people.filter(~pl.col("is_bot").fill_null(False)).select("person_key")
    names = pl.concat([
        frames.people.select("person_key", "display_name"),
        frames.actors.select("person_key", "display_name"),
    ]).unique("person_key", keep="first", maintain_order=True)
    bots = frames.actors.filter(pl.col("is_bot")).select("person_key").unique()
    return (
        pl.concat([active, roster]).unique()
        .join(bots, on="person_key", how="anti")
        .join(names, on="person_key", how="left")
        .with_columns(pl.coalesce("display_name", pl.col("person_key").str.split(":").list.last()).alias("display_name"))
        .collect()
        .join(titles, on="person_key", how="left")
        .with_columns(pl.struct("person_key", "display_name").map_elements(
            lambda r: is_junk_key(r["person_key"], r["display_name"]), return_dtype=pl.Boolean).alias("is_junk"))
        .sort("is_junk", "display_name")
    )


@st.cache_resource(max_entries=2, show_spinner="Reading the warehouse…")
def _cached_warehouse(path: str, identity: tuple[int, int, int], config: config_mod.Config) -> Warehouse:
    return load_warehouse(path, config)


def current_warehouse(path: Path | None = None) -> Warehouse:
    """The warehouse at ``path`` (default :func:`db_path`) read with :func:`current_config`, reloaded when its
    file or the configuration changed."""
    path = path or db_path()
    return _cached_warehouse(str(path.resolve()), file_identity(path), current_config())


def memo(wh: Warehouse, name: str, *args: Any):
    """Decorator-free memo: the result of ``name(*args)`` cached on ``wh`` (dropped with it on reload)."""
    def wrap(build):
        key = (name, args)
        if key not in wh.cache:
            if len(wh.cache) > 256:
                wh.cache.clear()
            wh.cache[key] = build()
        return wh.cache[key]
    return wrap


# ---------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Period:
    """A UTC date range, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def scope(self, **kwargs: Any) -> metrics.Scope:
        return metrics.Scope(start=self.start, end=self.end + timedelta(days=1), **kwargs)

    def label(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y} ({self.days} days)"


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices, shared by every page (team and repo are None for all)."""

    period: Period
    team: str | None
    repo: str | None


def default_period(wh: Warehouse) -> Period:
    """The last 13 weeks of the data: from a Monday 12 weeks before the last day's week, to the last day."""
    monday = wh.last_day - timedelta(days=wh.last_day.weekday()) - timedelta(weeks=12)
    return Period(max(wh.first_day, monday), wh.last_day)


def team_members(wh: Warehouse, team: str, period: Period) -> pl.DataFrame:
    """person_key of everyone in ``team`` at some time during ``period``."""
    members = wh.frames.memberships.filter(
        (pl.col("team_id") == team) & overlaps_expr(period.start, period.end + timedelta(days=1))
    ).select("person_key").unique().collect()
    return members


def person_teams(wh: Warehouse, person: str, period: Period) -> list[str]:
    """Names of the teams ``person`` belonged to during ``period``."""
    rows = wh.frames.memberships.filter(
        (pl.col("person_key") == person) & overlaps_expr(period.start, period.end + timedelta(days=1))
    ).select("team_id").unique().collect()
    return sorted(wh.team_name(t) for t in rows["team_id"])


def people_choices(wh: Warehouse, filters: Filters) -> pl.DataFrame:
    """The people a person picker offers: person_key, display_name, is_junk, label (name, title; junk
    identities marked and listed last).

    With a team, its members during the period; else everyone with activity in the data.
    """
    people = wh.people
    if filters.team is not None:
        people = people.join(team_members(wh, filters.team, filters.period), on="person_key", how="semi")
    label = (pl.when(pl.col("title").is_not_null())
             .then(pl.col("display_name") + " · " + pl.col("title"))
             .otherwise(pl.col("display_name")))
    label = pl.when(pl.col("is_junk")).then(label + " (junk identity: " + pl.col("person_key") + ")").otherwise(label)
    return people.with_columns(label.alias("label")).sort("is_junk", "display_name")


class NotFound(WarehouseError):
    """A person or team named in the URL, the config or a widget is not in the warehouse."""


def close_matches(text: str, candidates: list[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``candidates`` closest to ``text`` (difflib, any case)."""
    lowered = {c.lower(): c for c in candidates}
    return [lowered[m] for m in difflib.get_close_matches(text.lower(), list(lowered), n=n, cutoff=0.5)]


def find_team(wh: Warehouse, text: str) -> str:
    """The team id of ``text`` (a team id or name, any case).

    Raises:
        NotFound: no such team; the message names up to three close matches (ids and names).
    """
    wanted = text.strip().lower()
    for team_id, name in wh.teams.select("team_id", "name").iter_rows():
        if wanted in (team_id.lower(), (name or "").lower()):
            return team_id
    close = close_matches(text, [*wh.teams["team_id"].to_list(), *wh.teams["name"].drop_nulls().to_list()])
    if wh.teams.height == 0:
        raise NotFound(f"No team '{text}': the warehouse has no teams (`impactlens people import ROSTER` adds them).")
    known = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(wh.teams['team_id'].to_list()[:10])}"
    raise NotFound(f"No team '{text}' in the warehouse ({known}).")


def find_person(wh: Warehouse, who: str) -> tuple[str, str]:
    """``(person_key, display_name)`` of ``who`` (an id, email, login or display name), by
    :func:`impactlens.evidence.tables.resolve_person` on the warehouse file (opened read-only for the look-up).

    Raises:
        EvidenceError: nobody matches, or several do (the message names close matches or the candidates).
    """
    from impactlens.evidence.tables import resolve_person

    exact = wh.people.filter(pl.col("person_key") == who.strip())
    if exact.height:  # an actor key as the dashboard shows it (person id or identity id)
        return exact["person_key"][0], exact["display_name"][0]

    def build():
        con = warehouse.read_only(wh.path)
        try:
            return resolve_person(con, who.strip())
        except ImpactlensError as exc:
            return exc
        finally:
            con.close()
    found = memo(wh, "find_person", who)(build)
    if isinstance(found, Exception):
        raise found
    return found


def active_people(wh: Warehouse, filters: Filters, period: Period | None = None) -> int:
    """How many humans (bots left out, junk identities in) have some activity (a commit, PR opened or merged,
    review) in ``period`` (default the filters' period), in the team and repository of ``filters``
    (:func:`impactlens.metrics.active_people`)."""
    period = period or filters.period

    def build() -> int:
        return metrics.active_people(wh.frames, period.scope(team=filters.team, repo=filters.repo))
    return memo(wh, "active_people", filters.team, filters.repo, period)(build)


def all_weeks(period: Period) -> pl.DataFrame:
    """week (Datetime(us, UTC)): every Monday whose week overlaps ``period``."""
    first = datetime.combine(period.start - timedelta(days=period.start.weekday()), datetime.min.time(), timezone.utc)
    last = datetime.combine(period.end, datetime.min.time(), timezone.utc)
    return pl.DataFrame({"week": pl.datetime_range(first, last, "1w", eager=True, time_zone="UTC")}).with_columns(
        pl.col("week").dt.cast_time_unit("us"))


def week_choices(period: Period) -> list[date]:
    """Mondays of the weeks that end inside the period (the week picker), newest first."""
    weeks = all_weeks(period)["week"].to_list()
    return [w.date() for w in reversed(weeks) if w.date() + timedelta(days=6) <= period.end] or [weeks[-1].date()]

