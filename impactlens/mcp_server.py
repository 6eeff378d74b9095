"""``impactlens mcp``: a read-only Model Context Protocol server over the warehouse (docs/assistant.md).

Built on the official Python SDK (``mcp`` 2.x, ``MCPServer``). Every tool opens the warehouse read-only
for the one call and closes it (DuckDB allows no reader beside a writer, and a writer publishes a new file:
a connection held open would keep reading old data). Each tool returns a JSON object (structured
content) whose ``records`` list cites warehouse rows with their links (``kind``, ``label``, ``url``).

Privacy as the dashboard: team tools aggregate (no per-person figures, no ranking), and when an identity
is configured (``[assistant] me`` in impactlens.toml or ``$IMPACTLENS_ME``), person tools answer only
about that person and ``sql`` is refused (a query could read anyone's rows).

On stdio nothing may be printed to stdout but protocol messages: this module never prints.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Literal

import duckdb
import polars as pl
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from impactlens.text import safe_url
from impactlens import warehouse
from impactlens.errors import ImpactlensError
from impactlens.membership import member_on_sql
from impactlens.config import Config

ME_ENV = "IMPACTLENS_ME"
#: Rows ``sql`` returns at most, and seconds it may run before it is interrupted.
SQL_ROW_LIMIT = 500
SQL_TIME_LIMIT = 10.0
#: PRs ``pull_requests`` returns at most.
PR_LIMIT = 200
METRICS_DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"

#: metric name -> (module function name, docs/metrics.md section).
METRICS: dict[str, tuple[str, str]] = {
    "pr_size": ("pr_size", "PR size"),
    "time_to_first_review": ("time_to_first_review", "Time to first review"),
    "review_turnaround": ("review_turnaround", "Review turnaround"),
    "cycle_time": ("cycle_time", "PR cycle time"),
    "throughput": ("throughput", "Throughput"),
    "review_depth": ("review_depth", "Review depth and breadth"),
    "review_load": ("review_load", "Review load balance"),
    "mentoring_touchpoints": ("mentoring_summary", "Mentoring touchpoints"),
    "incidents": ("incident_summary", "Incidents and MTTR"),
    "dora": ("dora", "DORA four keys"),
}
#: Metrics whose figures come from pull requests (their records are the PRs in the scope).
_PR_METRICS = ("pr_size", "time_to_first_review", "cycle_time", "throughput")


def _record(rec: Any) -> dict[str, Any]:
    """An evidence :class:`~impactlens.evidence.model.Record` as a JSON object."""
    return {k: v for k, v in asdict(rec).items()}


def _link_key(key: str) -> bool:
    return key == "url" or key.endswith("_url")


def _jsonable(value: Any) -> Any:
    """An answer as JSON values; every ``url``/``*_url`` field holds an http(s) address or None
    (:func:`impactlens.text.safe_url`: a ``javascript:`` URL from the data is never handed on as a link)."""
    if isinstance(value, dict):
        return {str(k): safe_url(v) if _link_key(str(k)) and isinstance(v, str) else _jsonable(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def parse_period(period: str) -> tuple[date, date]:
    """``[start, end)`` (dates, UTC) of ``period``: ``2026-W14``, ``2026-04``, ``2026-Q1``, ``2026`` or
    ``2026-01-01..2026-03-31`` (both days included).

    Raises:
        ToolError: none of these forms.
    """
    text = period.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-?W(\d{1,2})", text, re.I):
            start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return start, start + timedelta(days=7)
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", text, re.I):
            start = date(int(m[1]), 3 * int(m[2]) - 2, 1)
            end_month = start.month + 3
            return start, date(start.year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            start = date(int(m[1]), int(m[2]), 1)
            return start, date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        if re.fullmatch(r"\d{4}", text):
            return date(int(text), 1, 1), date(int(text) + 1, 1, 1)
        if ".." in text:
            first, last = (date.fromisoformat(p.strip()) for p in text.split("..", 1))
            if last < first:
                raise ValueError
            return first, last + timedelta(days=1)
    except ValueError:
        pass
    raise ToolError(f"period '{period}' is not 2026-W14, 2026-04, 2026-Q1, 2026 or 2026-01-01..2026-03-31.")


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ToolError(f"{name} '{text}' is not a date (YYYY-MM-DD).") from None


def metric_sections() -> dict[str, str]:
    """docs/metrics.md split at its ``## `` headings: heading -> Markdown text of that section."""
    text = METRICS_DOC.read_text(encoding="utf-8") if METRICS_DOC.exists() else ""
    out: dict[str, str] = {}
    for chunk in re.split(r"(?m)^## ", text)[1:]:
        title = chunk.split("\n", 1)[0].strip()
        out[title] = "## " + chunk.rstrip() + "\n"
    return out


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class Assistant:
    """The tools' logic, independent of the protocol (each method returns a JSON-ready dict).

    Args:
        db: warehouse path (None: ``$IMPACTLENS_DB`` or ./impactlens.duckdb).
        me: the configured identity (person id, login or email) or None.
        config: the configuration the figures use (business hours, bots, review; default the defaults).
    """

    def __init__(self, db: str | os.PathLike[str] | None = None, me: str | None = None,
                 config: Config | None = None) -> None:
        self.db = db
        self.me = me or None
        self.config = config

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for one call, closed afterwards; warehouse errors become tool errors."""
        try:
            con = warehouse.read_only(self.db)
        except ImpactlensError as exc:
            raise ToolError(str(exc)) from None
        try:
            yield con
        except ImpactlensError as exc:
            raise ToolError(str(exc)) from None
        finally:
            con.close()

    def _person(self, con: duckdb.DuckDBPyConnection, who: str) -> tuple[str, str]:
        """Resolve ``who``; with a configured identity, refuse anyone else."""
        from impactlens.evidence.tables import resolve_person

        person_id, name = resolve_person(con, who)
        if self.me:
            mine, _ = resolve_person(con, self.me)
            if person_id != mine:
                raise ToolError(f"this server is configured for {mine} (assistant.me): person tools answer "
                                "only about that person.")
        return person_id, name

    def _team(self, con: duckdb.DuckDBPyConnection, team: str) -> tuple[str, str]:
        from impactlens.evidence.tables import team_names

        teams = team_names(con)
        team_id = team if team in teams else next((t for t, n in teams.items() if n.lower() == team.lower()), None)
        if team_id is None:
            raise ToolError(f"no team '{team}' (known: {', '.join(sorted(teams)) or 'none'}).")
        return team_id, teams[team_id]

    # -- tools ------------------------------------------------------------------------------------
    def find_person(self, query: str) -> dict[str, Any]:
        q = f"%{query.strip().lower()}%"
        with self.connect() as con:
            rows = con.execute(
                "SELECT p.person_id, p.display_name, p.github_login, p.level, p.title, "
                "  (SELECT string_agg(DISTINCT m.team_id, ',' ORDER BY m.team_id) FROM team_memberships m "
                f"   WHERE m.person_id = p.person_id AND {member_on_sql('current_date')}) AS teams "
                "FROM people p WHERE NOT p.is_bot AND (lower(p.person_id) LIKE ? OR lower(p.display_name) LIKE ? "
                "  OR lower(coalesce(p.github_login, '')) LIKE ? OR lower(coalesce(p.primary_email, '')) LIKE ? "
                "  OR p.person_id IN (SELECT person_id FROM identities WHERE lower(value) LIKE ?)) "
                "ORDER BY p.display_name LIMIT 20", [q, q, q, q, q]).fetchall()
        people = [{"person_id": r[0], "display_name": r[1], "github_login": r[2], "level": r[3], "title": r[4],
                   "teams": r[5].split(",") if r[5] else []} for r in rows]
        records = [{"kind": "person", "label": p["person_id"], "url":
                    f"https://github.com/{p['github_login']}" if p["github_login"] else None} for p in people]
        return _jsonable({"query": query, "people": people, "records": records})

    def person_summary(self, person: str, since: str, until: str) -> dict[str, Any]:
        from impactlens.evidence.packet import build_packet

        start, end = _day(since, "since"), _day(until, "until")
        with self.connect() as con:
            person_id, _ = self._person(con, person)
            packet = build_packet(con, person_id, start, end, charts=False, config=self.config)
        claims = [{"section": c.section, "sentence": c.sentence,
                   "figures": [{"name": f.name, "value": f.value, "unit": f.unit, "context": f.context} for f in c.figures],
                   "records": [_record(r) for r in c.records]} for c in packet.claims]
        return _jsonable({"person_id": packet.person_id, "name": packet.name, "since": start, "until": end,
                          "context": packet.context, "summary": packet.summary, "claims": claims,
                          "records": [_record(r) for r in packet.records()]})

    def evidence_packet(self, person: str, since: str, until: str, fmt: str = "md") -> dict[str, Any]:
        from impactlens.evidence.packet import build_packet

        if fmt not in ("md", "json", "html"):
            raise ToolError(f"format must be md, json or html (got '{fmt}').")
        start, end = _day(since, "since"), _day(until, "until")
        with self.connect() as con:
            person_id, _ = self._person(con, person)
            packet = build_packet(con, person_id, start, end, charts=fmt == "html", config=self.config)
        text = packet.to_markdown() if fmt == "md" else packet.to_json() if fmt == "json" else packet.to_html()
        return {"person_id": person_id, "format": fmt, "text": text,
                "records": [_record(r) for r in packet.records()]}

    def pull_requests(self, person: str | None = None, team: str | None = None, state: str | None = None,
                      since: str | None = None, until: str | None = None, waiting_for_review: bool = False,
                      order: str = "newest", limit: int = 50) -> dict[str, Any]:
        from impactlens.metrics import load, pr_facts, with_team

        if (person is None) == (team is None):
            raise ToolError("give either person or team.")
        if order not in ("newest", "longest_wait", "largest"):
            raise ToolError("order must be newest, longest_wait or largest.")
        limit = max(1, min(limit, PR_LIMIT))
        with self.connect() as con:
            frames = load(con, coded=False, config=self.config)
            facts = pr_facts(frames).filter(~pl.col("author_is_bot"))
            if person is not None:
                key, _ = self._person(con, person)
                facts = facts.filter(pl.col("author_key") == key)
            else:
                key, _ = self._team(con, team)  # type: ignore[arg-type]
                facts = with_team(frames, facts, "author_key", "created_at").filter(pl.col("team_id") == key)
            if state:
                facts = facts.filter(pl.col("state") == state)
            if since:
                facts = facts.filter(pl.col("created_at") >= datetime.combine(_day(since, "since"), datetime.min.time(), timezone.utc))
            if until:
                facts = facts.filter(pl.col("created_at") < datetime.combine(_day(until, "until") + timedelta(days=1), datetime.min.time(), timezone.utc))
            if waiting_for_review:
                facts = facts.filter((pl.col("state") == "open") & pl.col("first_human_response_at").is_null()
                                     & pl.col("ready_at").is_not_null())
            sort = {"newest": ("created_at", True), "longest_wait": ("time_to_first_review_hours", True),
                    "largest": ("changed_lines", True)}[order]
            columns = ["repo_id", "number", "title", "url", "state", "is_draft", "created_at", "ready_at",
                       "first_human_response_at", "merged_at", "closed_at", "changed_lines", "files_changed",
                       "time_to_first_review_hours", "cycle_time_to_merge_hours"]
            if person is not None:
                columns.insert(2, "author_key")  # a team listing names no one (aggregate views)
            frame = facts.select(columns).collect()
            # "Now" is the warehouse's last PR activity, so an old warehouse answers as of its data.
            now = con.sql("SELECT max(greatest(created_at, coalesce(updated_at, created_at))) FROM pull_requests").fetchall()[0][0]
        total = frame.height
        if order == "longest_wait" and now is not None and total:
            frame = frame.with_columns(pl.coalesce("time_to_first_review_hours",
                ((pl.lit(now) - pl.col("ready_at")).dt.total_seconds() / 3600)).alias("time_to_first_review_hours"))
        frame = frame.sort(sort[0], descending=sort[1], nulls_last=True).head(limit)
        rows = frame.to_dicts()
        records = [{"kind": "pr", "label": f"{r['repo_id']}#{r['number']}", "url": r["url"], "title": r["title"]}
                   for r in rows]
        return _jsonable({"scope": {"person": person, "team": team}, "total": total, "returned": len(rows),
                          "pull_requests": rows, "records": records})

    def team_week(self, team: str, week: str) -> dict[str, Any]:
        import json

        from impactlens.evidence.team_review import build_team_review

        with self.connect() as con:
            team_id, _ = self._team(con, team)
            review = build_team_review(con, team_id, week, names=False, config=self.config)
        data = json.loads(review.to_json())
        data.pop("charts", None)
        data["records"] = [_record(r) for r in review.records()]
        return data

    def metric(self, name: str, scope: str = "org", period: str | None = None,
               grain: Literal["week", "month", "quarter"] | None = None) -> dict[str, Any]:
        from impactlens import metrics

        if name not in METRICS:
            raise ToolError(f"unknown metric '{name}' (known: {', '.join(METRICS)}).")
        func_name, section = METRICS[name]
        start, end = parse_period(period) if period else (None, None)
        kind, _, ident = scope.partition(":")
        if kind not in ("org", "team", "repo", "person") or (kind != "org" and not ident):
            raise ToolError("scope must be org, team:<id>, repo:<id> or person:<id>.")
        with self.connect() as con:
            frames = metrics.load(con, coded=False, config=self.config)
            args: dict[str, Any] = {"start": start, "end": end}
            if kind == "person":
                args["person"] = self._person(con, ident)[0]
            elif kind == "team":
                args["team"] = self._team(con, ident)[0]
            elif kind == "repo":
                args["repo"] = ident
            sc = metrics.Scope(**args)
            func = getattr(metrics, func_name)
            if name == "review_load":
                if kind == "person":
                    raise ToolError("review_load is a team figure: use scope team:<id> or org.")
                _, teams = func(frames, sc, grain=grain or "month")
                frame = teams.collect()
            elif name == "dora":
                frame = func(frames, sc, by="team" if kind == "team" else "repo" if kind == "repo" else None,
                             grain=grain).collect()
            else:
                frame = func(frames, sc, by=None, grain=grain).collect()
            records: list[dict[str, Any]] = []
            if name in _PR_METRICS:
                facts = metrics.pr_facts(frames).filter(~pl.col("author_is_bot"))
                time = "ready_at" if name == "time_to_first_review" else "created_at" if name == "throughput" else "merged_at"
                if kind == "team":
                    facts = metrics.with_team(frames, facts, "author_key", time).filter(pl.col("team_id") == args["team"])
                elif kind == "person":
                    facts = facts.filter(pl.col("author_key") == args["person"])
                elif kind == "repo":
                    facts = facts.filter(pl.col("repo_id") == ident)
                if start:
                    facts = facts.filter((pl.col(time) >= _ts(start)) & (pl.col(time) < _ts(end)))
                facts = facts.filter(pl.col(time).is_not_null())
                prs = facts.select("repo_id", "number", "url", "title").sort("repo_id", "number").head(50).collect()
                records = [{"kind": "pr", "label": f"{r['repo_id']}#{r['number']}", "url": r["url"], "title": r["title"]}
                           for r in prs.iter_rows(named=True)]
        drop = [c for c in frame.columns if c in ("person_key", "author_key", "reviewer_key")]
        rows = frame.drop(drop).to_dicts()
        return _jsonable({"metric": name, "scope": scope, "period": period, "start": start, "end": end,
                          "grain": grain, "rows": rows,
                          "definition": {"section": section, "resource": f"impactlens://metrics/{_slug(section)}"},
                          "records": records})

    def coverage(self) -> dict[str, Any]:
        with self.connect() as con:
            tables = [t for (t,) in con.sql("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main' ORDER BY 1").fetchall()]
            counts = {t: con.sql(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}
            repos = con.sql(
                "SELECT r.repo_id, r.url, c.n, c.first, c.last, p.n, p.first, p.last, r.last_collected_at "
                "FROM repositories r "
                "LEFT JOIN (SELECT repo_id, count(*) n, min(committed_at) first, max(committed_at) last FROM commits GROUP BY 1) c USING (repo_id) "
                "LEFT JOIN (SELECT repo_id, count(*) n, min(created_at) first, max(created_at) last FROM pull_requests GROUP BY 1) p USING (repo_id) "
                "ORDER BY 1").fetchall()
            incidents = con.sql("SELECT count(*), min(opened_at), max(opened_at) FROM incidents").fetchall()[0]
        out_repos = [{"repo_id": r[0], "url": r[1], "commits": r[2] or 0, "first_commit": r[3], "last_commit": r[4],
                      "pull_requests": r[5] or 0, "first_pr": r[6], "last_pr": r[7], "last_collected_at": r[8]}
                     for r in repos]
        return _jsonable({"tables": counts, "repositories": out_repos,
                          "incidents": {"count": incidents[0], "first_opened": incidents[1], "last_opened": incidents[2]},
                          "records": [{"kind": "repository", "label": r["repo_id"], "url": r["url"]} for r in out_repos]})

    def sql(self, query: str, limit: int = SQL_ROW_LIMIT, timeout: float = SQL_TIME_LIMIT) -> dict[str, Any]:
        if self.me:
            raise ToolError("sql is off while an identity is configured (assistant.me): a query could read "
                            "anyone's rows.")
        text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", query, flags=re.S).strip().rstrip(";").strip()
        if ";" in text:
            raise ToolError("one statement only.")
        if not re.match(r"(?i)(select|with)\b", text):
            raise ToolError("only SELECT or WITH queries are allowed.")
        limit = max(1, min(limit, SQL_ROW_LIMIT))
        with self.connect() as con:
            timer = threading.Timer(min(timeout, SQL_TIME_LIMIT), con.interrupt)
            timer.start()
            try:
                rel = con.sql(text)
                columns = rel.columns
                rows = rel.limit(limit + 1).fetchall()
            except duckdb.InterruptException:
                raise ToolError(f"the query ran longer than {min(timeout, SQL_TIME_LIMIT):g} s and was stopped.") from None
            except duckdb.Error as exc:
                raise ToolError(f"query failed: {str(exc).splitlines()[0]}") from None
            finally:
                timer.cancel()
        truncated = len(rows) > limit
        return _jsonable({"columns": columns, "rows": [list(r) for r in rows[:limit]], "truncated": truncated,
                          "row_limit": limit, "records": [{"kind": "query", "label": text[:200], "url": None}]})


def _text(body: str):
    def read() -> str:
        return body
    return read


def _ts(day: date | None) -> datetime | None:
    return datetime.combine(day, datetime.min.time(), timezone.utc) if day else None


def build_server(db: str | os.PathLike[str] | None = None, me: str | None = None,
                 config: Config | None = None) -> MCPServer:
    """The MCP server with impactlens's tools and the docs/metrics.md resources (figures with ``config``)."""
    a = Assistant(db, me, config)
    server = MCPServer("impactlens", instructions=(
        "Read-only engineering-impact evidence from an impactlens warehouse. Every answer cites its records "
        "(links to PRs, reviews, incidents, documents); quote them. Team tools aggregate and never rank people."))

    @server.tool()
    def find_person(query: str) -> dict[str, Any]:
        """People whose id, name, GitHub login or email contains `query` (bots left out): person_id,
        display_name, github_login, level, title, current teams. Use the person_id in the other tools."""
        return a.find_person(query)

    @server.tool()
    def person_summary(person: str, since: str, until: str) -> dict[str, Any]:
        """A person's evidence for [since, until] (dates YYYY-MM-DD, UTC, both included): the summary and
        every claim with its figures (value, unit, context) and cited records (PRs, reviews, documents)."""
        return a.person_summary(person, since, until)

    @server.tool()
    def evidence_packet(person: str, since: str, until: str, format: Literal["md", "json", "html"] = "md") -> dict[str, Any]:
        """The full promotion evidence packet (as `impactlens report --person`) in Markdown, JSON or HTML,
        with the list of records it cites."""
        return a.evidence_packet(person, since, until, format)

    @server.tool()
    def pull_requests(person: str | None = None, team: str | None = None,
                      state: Literal["open", "merged", "closed"] | None = None, since: str | None = None,
                      until: str | None = None, waiting_for_review: bool = False,
                      order: Literal["newest", "longest_wait", "largest"] = "newest", limit: int = 50) -> dict[str, Any]:
        """Pull requests by a person or a team's members (human authors), filtered by state and creation date
        (YYYY-MM-DD), optionally only open PRs still waiting for a first human review. Hours are wall-clock;
        changed_lines excludes generated, lockfile and vendored files. Team listings name no author."""
        return a.pull_requests(person, team, state, since, until, waiting_for_review, order, limit)

    @server.tool()
    def team_week(team: str, week: str) -> dict[str, Any]:
        """The weekly team health review (week: 2026-W14 or a date in it): figures against the previous 4
        weeks, open PRs waiting longest, review load balance (Gini, top share; no names), incidents."""
        return a.team_week(team, week)

    @server.tool()
    def metric(name: str, scope: str = "org", period: str | None = None,
               grain: Literal["week", "month", "quarter"] | None = None) -> dict[str, Any]:
        """One metric of docs/metrics.md (names: pr_size, time_to_first_review, review_turnaround,
        cycle_time, throughput, review_depth, review_load, mentoring_touchpoints, incidents, dora) for a
        scope (org, team:<id>, repo:<id>, person:<id>) and period (2026-W14, 2026-04, 2026-Q1, 2026, or
        2026-01-01..2026-03-31), one row per grain period. The definition is the resource named in the answer."""
        return a.metric(name, scope, period, grain)

    @server.tool()
    def coverage() -> dict[str, Any]:
        """What the warehouse holds: row counts per table, and per repository its commits and PRs with the
        first and last dates (UTC), plus incidents. Check it before concluding that something did not happen."""
        return a.coverage()

    @server.tool()
    def sql(query: str, limit: int = SQL_ROW_LIMIT) -> dict[str, Any]:
        """A read-only SELECT/WITH query on the warehouse (tables: docs/schema.md); at most 500 rows and
        10 seconds. Refused when the server is configured for one person."""
        return a.sql(query, limit)

    sections = metric_sections()

    @server.resource("impactlens://metrics", name="metrics", mime_type="text/markdown",
                     description="docs/metrics.md: every metric's definition, units and sources.")
    def all_metrics() -> str:
        return METRICS_DOC.read_text(encoding="utf-8")

    for title, body in sections.items():
        server.resource(f"impactlens://metrics/{_slug(title)}", name=_slug(title), title=title,
                        mime_type="text/markdown", description=f"docs/metrics.md: {title}")(_text(body))
    return server


def configured_me(config: Config) -> str | None:
    """The configured identity: ``$IMPACTLENS_ME``, else ``[assistant] me``, else None."""
    return os.environ.get(ME_ENV) or config.get("assistant", {}).get("me") or None
