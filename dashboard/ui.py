"""Streamlit pieces every page shares: the sidebar, headline figures with context, charts with their reading,
empty states, lazy tabs and link tables."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import streamlit as st

from impactlens import coverage
from impactlens.dashboard import access, state
from impactlens.dashboard.charts import Panel
from impactlens.evidence.model import Figure
from impactlens.errors import ImpactlensError
from impactlens.text import md_text, safe_url

_STATE = "_impactlens"
_REFUSED = "\x00refused"  # a person the signed-in viewer asked for and may not see (or who does not exist)
_PROBLEM = "_impactlens_problem"
CARD_HEIGHT = 180


def source_note(wh: state.Warehouse, lake: Path | None) -> str:
    """The sidebar's line on where the figures come from and when new collections show up: a warehouse file
    is reloaded within 30 s of a collection publishing a new one (dashboard/app.py); a lake served by
    ``impactlens dashboard --lake`` is checked every ``LAKE_CHECK_SECONDS`` and read again into the served
    file when one of its tables has a new Delta version, which the app then reloads: within a minute."""
    span = f"data from {wh.first_day:%d %b %Y} to {wh.last_day:%d %b %Y}"
    if lake is None:
        return f"Warehouse `{wh.path}` · {span}. New collections show up within 30 s."
    from impactlens.dashboard.serve import LAKE_CHECK_SECONDS

    return (f"Lake `{lake}` (read into `{wh.path}`) · {span}. Collections published into the lake show up "
            f"within a minute (the lake is checked every {LAKE_CHECK_SECONDS} s).")


def sidebar(wh: state.Warehouse) -> state.Filters:
    """Draw the shared sidebar (date range, team, repository) and remember the choice for the pages."""
    default = state.default_period(wh)
    with st.sidebar:
        st.markdown("### impactlens")
        # Until the user picks a range, it follows the data: a collection that adds days moves the default.
        wanted = (default.start, default.end)
        if st.session_state.get("period") in (None, st.session_state.get("_period_default")):
            st.session_state["period"] = wanted
        st.session_state["_period_default"] = wanted
        chosen = st.date_input(
            "Date range (UTC)", min_value=min([wh.first_day, *_dates(st.session_state["period"])]),
            max_value=max([wh.last_day, *_dates(st.session_state["period"])]), key="period",
            help="Figures cover these days; changes compare with the period of the same length just before.",
        )
        if isinstance(chosen, (tuple, list)) and len(chosen) == 2:
            period = state.Period(chosen[0], chosen[1])
        else:  # the second date is not picked yet
            period = default
        viewer = access.current()
        teams = [None, *wh.teams["team_id"].to_list()]
        if viewer.teams is not None:  # signed in: the viewer's teams (leads), "All teams" means "my own work"
            teams = [t for t in teams if t is None or t in viewer.teams]
        wanted = st.query_params.get("team")  # type: ignore[assignment]  # a shared link may name the team: ?team=web (id or name)
        index = 1 if viewer.teams and len(teams) > 1 else 0  # a lead opens on their first team
        if wanted:
            try:
                found = state.find_team(wh, wanted)  # type: ignore[arg-type]
                if found not in teams:
                    raise state.NotFound(f"You may not see team '{wanted}'.")
                index = teams.index(found)
            except state.NotFound as exc:
                # Never the whole organisation in place of an unknown team: say so, once, and stop the page.
                st.session_state[_PROBLEM] = f"{exc} The link's ?team={wanted} was dropped: pick a team in the sidebar."
                del st.query_params["team"]
        team = st.selectbox("Team", teams, index=index,
                            format_func=lambda t: (("All teams" if viewer.everything else "Everyone I may see") if t is None
                                                else wh.team_name(t)),
                            key="team", help="Work counts for the team the person was in when it happened.")
        repos = [None, *wh.repos["repo_id"].to_list()]
        repo = st.selectbox("Repository", repos, format_func=lambda r: "All repositories" if r is None else r,
                            key="repo")
        st.caption(source_note(wh, state.lake_path()))
    filters = state.Filters(period, team, repo)
    st.session_state[_STATE] = filters
    return filters


_SEEN = "_impactlens_seen"


def freshness(wh: state.Warehouse) -> None:
    """Say where the figures stand against collections: after a collection published a new file since this
    session last drew a page, "Newer data arrived (collected at HH:MM UTC)"; while a collection is writing its
    copy (``<db>.writing``), that the figures are the last published data. Nothing otherwise."""
    from impactlens import warehouse as _warehouse

    published = datetime.fromtimestamp(wh.identity[1] / 1e9, timezone.utc)
    seen = st.session_state.get(_SEEN)
    st.session_state[_SEEN] = wh.identity
    if seen is not None and seen != wh.identity:
        st.toast(f"Newer data arrived (collected at {published:%H:%M} UTC): the page shows it now.",
                 icon=":material/sync:")
        st.info(f"Newer data arrived (collected at {published:%H:%M} UTC): the page shows it now.",
                icon=":material/sync:")
    copy = _warehouse.working_copy_path(Path(wh.path))
    try:
        started = datetime.fromtimestamp(copy.stat().st_mtime, timezone.utc)
    except OSError:
        return
    st.caption(f"A collection is writing a new copy (last written {started:%H:%M} UTC, or left by an interrupted "
               f"run): these figures are the last published data, collected at {published:%d %b %H:%M} UTC. "
               "The page updates by itself when it is published.")


def url_problem() -> str | None:
    """The problem the sidebar found in the URL (an unknown ``?team=``), once: the app shows it and stops."""
    return st.session_state.pop(_PROBLEM, None)


def _dates(value) -> tuple[date, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def context() -> tuple[state.Warehouse, state.Filters]:
    """The warehouse and the sidebar's filters, for a page (the app draws the sidebar first)."""
    wh = state.current_warehouse()
    filters = st.session_state.get(_STATE) or state.Filters(state.default_period(wh), None, None)
    return wh, filters


#: The coverage source behind each table an empty state names.
_TABLE_SOURCES = {table: source for source, (table, *_) in coverage.SOURCES.items()}


def empty(what: str, table: str, wh: state.Warehouse | None = None) -> None:
    """An empty state: the command that collects the missing data, or, when that source was collected
    (``wh.collected``) and holds nothing, that there is none, so nobody is told to run what they ran."""
    collected = wh.collected if wh is not None else frozenset()
    if _TABLE_SOURCES.get(table) in collected or (wh is not None and wh.has(table)):
        text = f"No {what} in the collected data for this selection."
    elif table == "deployments" and "pull_requests" in collected:
        text = (f"No {what}: GitHub holds no deployments or releases for these repositories; "
                "`impactlens collect tags CLONE` derives them from the clone's release tags.")
    else:
        text = f"No {what}: run `{state.COLLECT[table]}`."
    st.info(text, icon=":material/info:")


def configured_me() -> str | None:
    """``[dashboard] me`` of the dashboard's configuration (:func:`state.current_config`), or None when unset.

    Raises:
        ConfigError: the file is not valid (shown by the caller).
    """
    me = state.current_config().dashboard.me.strip()
    return me or None


def person_picker(wh: state.Warehouse, filters: state.Filters, key: str) -> str | None:
    """A person selectbox (members of the sidebar's team, if any) with no default: it starts from the person
    chosen on another page, else ``?person=`` in the URL, else ``[dashboard] me`` of impactlens.toml, and
    never silently from anyone else. An unknown or out-of-scope person is a visible error naming close
    matches. Returns the person key, or None while nobody is chosen."""
    viewer = access.current()
    people = state.people_choices(wh, filters)
    if not viewer.everything:  # signed in: only the people the allow-list gives this viewer
        people = people.filter(pl.col("person_key").is_in(sorted(viewer.people)))  # type: ignore[arg-type]
    if people.height == 0:
        if filters.team is not None:
            st.info(f"Nobody was in {wh.team_name(filters.team)} in this period: pick another team or period.")
        else:
            empty("people", "commits")
        return None
    keys = people["person_key"].to_list()
    labels = dict(zip(keys, people["label"].to_list()))
    wanted, asked = st.session_state.get("_person"), None
    if wanted is None:
        asked, where = st.query_params.get("person"), "?person="
        if not asked and viewer.me is not None:
            wanted = viewer.me  # signed in: open on yourself
        elif not asked:
            try:
                asked, where = configured_me(), "[dashboard] me in impactlens.toml: "
            except ImpactlensError as exc:
                st.error(str(exc))
        if asked:
            try:
                wanted = state.find_person(wh, asked)[0]
            except ImpactlensError as exc:
                if viewer.everything:
                    st.error(f"{where}{asked}: {exc}", icon=":material/person_off:")
                else:  # signed in: say nothing about who is or is not in the warehouse
                    wanted = _REFUSED
    if wanted is not None and not viewer.may_see_person(wanted):
        st.error(f"You may not see {asked or 'this person'}'s pages: signed in as {viewer.email}, you see "
                 + ("your own pages and your teams' people." if viewer.teams else "your own pages only."),
                 icon=":material/lock:")
        wanted = viewer.me if viewer.me in keys else None
    if wanted is not None and wanted not in keys:
        where = f"was not in {wh.team_name(filters.team)} in this period" if filters.team else "has no activity in the data"
        st.warning(f"{wh.name(wanted)} ({wanted}) {where}: choose someone below.", icon=":material/person_off:")
        wanted = None
    person = st.selectbox("Person", keys, index=keys.index(wanted) if wanted in keys else None,  # type: ignore[arg-type]
                          format_func=labels.get, key=key, placeholder="Choose a person…",  # type: ignore[arg-type]
                          help="Type to search. Set [dashboard] me in impactlens.toml to open on yourself.")
    if person is None:
        st.info("Choose a person to see their figures (or set `me` under `[dashboard]` in impactlens.toml).",
                icon=":material/person_search:")
        return None
    st.session_state["_person"] = person
    return person


def person_context(wh: state.Warehouse, filters: state.Filters, person: str) -> None:
    """One line of context for a person's figures: role, team(s) and their size, period, repository."""
    row = wh.people.filter(pl.col("person_key") == person)
    title = row["title"][0] if row.height and row["title"][0] else None
    teams = state.person_teams(wh, person, filters.period)
    team_text = ""
    if teams:
        sizes = []
        for team_id in wh.teams.filter(pl.col("name").is_in(teams))["team_id"]:
            sizes.append(f"{wh.team_name(team_id)} ({state.team_members(wh, team_id, filters.period).height} people)")
        team_text = " · " + ", ".join(sizes)
    previous = filters.period.previous()
    st.markdown(
        f"**{wh.name(person)}**{' · ' + title if title else ''}{team_text}  \n"
        f"{filters.period.label()}, compared with {previous.start:%d %b %Y} – {previous.end:%d %b %Y} · "
        f"{filters.repo or 'all repositories'}"
    )


def figures(items: list[Figure], per_row: int = 3) -> None:
    """Headline figures as st.metric cards: value, change against the previous period, and the counts behind."""
    for start in range(0, len(items), per_row):
        columns = st.columns(per_row)
        for column, fig in zip(columns, items[start:start + per_row]):
            with column:
                figure(fig)


def no_pull_requests(wh: state.Warehouse, repo: str | None) -> None:
    """The notice that replaces PR charts when no pull requests were collected, naming the command."""
    target = repo if repo and "/" in repo else "OWNER/REPO"
    st.info(f"No pull requests collected: `impactlens collect github {target}` adds them "
            "(PR size, review and cycle-time charts need them).", icon=":material/info:")


def figure(fig: Figure, flag: bool = False, note: str = "") -> None:
    """One headline figure in a bordered card: value, change against the previous period (its
    ``previous_label``), and the counts behind (:meth:`impactlens.evidence.model.Figure.behind`)."""
    change = fig.change  # None when the previous period is not covered as fully (the caption says so)
    delta = f"{change:+.0%} vs {fig.shown(fig.previous)}" if change is not None else None
    unchanged = change is not None and round(change, 2) == 0  # shown as ±0%: no arrow, no colour
    if unchanged:
        delta = f"±0% vs {fig.shown(fig.previous)}"
    colour = "off" if unchanged else "inverse" if fig.lower_is_better else "normal"
    label = f"⚑ {fig.label or fig.name}" if flag else fig.label or fig.name
    with st.container(border=True, height=CARD_HEIGHT):
        st.metric(label, fig.shown(), delta, delta_color=colour, delta_arrow="off" if unchanged else "auto",  # type: ignore[arg-type]
                  help=fig.help or None)
        st.caption(" · ".join(t for t in (fig.behind(), note) if t) or "&nbsp;")


def chart(panel: Panel) -> None:
    """A chart with its one-line reading under it; a notice with the reading when there is nothing to draw."""
    if panel.chart is None:
        st.info(panel.reading, icon=":material/info:")
        return
    st.altair_chart(panel.chart, width="stretch")
    st.caption(panel.reading)


#: Rows a record table shows before it scrolls inside a box of :data:`TABLE_HEIGHT` pixels.
TABLE_ROWS, TABLE_HEIGHT = 12, 460


def link_table(frame: pl.DataFrame, *, url: str = "url", dates: tuple[str, ...] = (), hours: tuple[str, ...] = (),
               labels: dict[str, str] | None = None, sort: dict[str, tuple[str, bool]] | None = None,
               key: str | None = None) -> None:
    """A table of records as Markdown: the ``url`` column a link (shown as owner/repo/pull/N; only http(s)
    addresses become links), ``dates`` in UTC ("5 Oct 2026, 09:00"), ``hours`` as "4.0 h", other text escaped
    (:func:`impactlens.text.md_text`), a missing value as "–"; over :data:`TABLE_ROWS` rows it scrolls in a box.

    Markdown, not ``st.dataframe``: the data grid costs the browser 1.4 MB of JavaScript and seconds of CPU
    where it is the first on a page (docs/performance.md "Dashboard in a browser"). ``sort`` (option label ->
    (column, descending)) adds a "Sort by" box (``key``) whose first option is the default order; the table is
    sorted here, nulls last."""
    labels = labels or {}
    if sort:
        options = list(sort)
        left, _ = st.columns([1, 3])
        chosen = left.selectbox("Sort by", options, key=key) or options[0]
        column, descending = sort[chosen]
        frame = frame.sort(column, descending=descending, nulls_last=True, maintain_order=True)
    header = [labels.get(c, "Link" if c == url else c.replace("_", " ").capitalize()) for c in frame.columns]
    lines = ["| " + " | ".join(md_text(h) for h in header) + " |", "|" + " --- |" * len(header)]
    for row in frame.iter_rows(named=True):
        lines.append("| " + " | ".join(_cell(row[c], link=c == url, date=c in dates, hours=c in hours)
                                       for c in frame.columns) + " |")
    text = "\n".join(lines)
    if frame.height > TABLE_ROWS:
        with st.container(height=TABLE_HEIGHT, border=False):
            st.markdown(text)
    else:
        st.markdown(text)


_LINK_TEXT = re.compile(r"https?://[^/]+/(.*)")


def _cell(value: object, *, link: bool = False, date: bool = False, hours: bool = False) -> str:
    """One Markdown table cell of :func:`link_table`."""
    if value is None:
        return "–"
    if link:
        address = safe_url(value)
        if address is None:
            return "–"
        shown = _LINK_TEXT.match(address)
        return f"[{md_text(shown.group(1) if shown and shown.group(1) else address)}]({address})"
    if date and isinstance(value, datetime):
        utc = value.astimezone(timezone.utc) if value.tzinfo else value  # naive: UTC already
        return f"{utc.day} {utc:%b %Y, %H:%M}"
    if hours and isinstance(value, (int, float)):
        return f"{value:.1f} h"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return md_text(value)


def records(wh: state.Warehouse, frame: pl.DataFrame, *, table: str, none: str, **table_args) -> None:
    """``frame`` as a :func:`link_table`; when empty, ``none`` if the warehouse has ``table`` rows at all, else
    the empty state naming the command that collects them."""
    if frame.height:
        link_table(frame, **table_args)
    elif wh.has(table):
        st.info(none)
    else:
        empty(table.replace("_", " "), table)


def week_label(week: date) -> str:
    return f"Week of {week:%d %b %Y}"


def lazy_tabs(names: list[str], counts: list[int], key: str):
    """Tabs labelled "Name (count)" of which only the open one's body is run and sent to the browser
    (``st.tabs(on_change="rerun")``; switching tabs reruns the enclosing fragment, or the page). The tab a person
    opened stays open when the counts change (another person or period). Returns the open tab's container and
    its name (one of ``names``; the first until another is picked)."""
    labels = [f"{name} ({count})" for name, count in zip(names, counts)]
    chosen = st.session_state.get(key)
    if chosen is not None and chosen not in labels:  # same tab, new counts: keep it open
        name = chosen.rsplit(" (", 1)[0]
        if name in names:
            st.session_state[key] = labels[names.index(name)]
        else:
            del st.session_state[key]
    tabs = st.tabs(labels, key=key, on_change="rerun")
    index = next((i for i, tab in enumerate(tabs) if tab.open), 0)
    return tabs[index], names[index]
