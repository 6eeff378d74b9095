"""What the dashboard's pages show, as Polars frames and :class:`Figure` s: a person's and a team's figures.

Every figure comes from the metrics API (:mod:`impactlens.metrics`); this module only scopes,
compares periods and aggregates in Polars so no chart gets more than a few hundred points. The warehouse,
the period and the filters are :mod:`impactlens.dashboard.state`'s; results are cached on the warehouse
with :func:`impactlens.dashboard.state.memo`.
All timestamps are UTC; durations are hours; sizes are changed lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from impactlens import coverage, metrics, warehouse
from impactlens.dashboard.state import Filters, Period, Warehouse, all_weeks, memo
from impactlens.identity import identity_sql
from impactlens.metrics import (
    dora as _dora, gini, human_reviews, incident_facts, incident_roles, incident_summary, review_depth, review_load,
    review_turnaround,
)
from impactlens.metrics import comparison
from impactlens.metrics.mentoring import is_mentee, touch_weeks
from impactlens.text import plural

#: The phases of PR cycle time (docs/metrics.md "PR cycle time").
PHASES = ("coding", "pickup", "review", "deploy")


#: What each source holds, for the notices.
SOURCE_NOUNS = coverage.NOUNS


def data_begins(wh: Warehouse, source: str, repo: str | None) -> datetime | None:
    """When ``source``'s data begins (its first record, UTC) in ``repo`` (None: the earliest over every
    repository); None when the warehouse holds none of it."""
    rows = wh.firsts.filter(pl.col("source") == source) if wh.firsts.width else wh.firsts
    if rows.height and repo is not None and source != "incidents":
        rows = rows.filter(pl.col("repo_id") == repo)
    return rows["first_at"].min() if rows.height else None


#: The source each figure's records come from (the comparison rule checks that one's coverage).
FIGURE_SOURCES = {
    "commits": "git", "directories_touched": "git", "artifacts": "git", "repos_touched": "git",
    "prs_merged": "pull_requests", "median_pr_size": "pull_requests", "ttfr_received": "pull_requests",
    "cycle_time": "pull_requests", "cycle": "pull_requests", "ttfr_p50": "pull_requests", "ttfr_p90": "pull_requests",
    "ttfr_given": "reviews", "reviews_given": "reviews", "reviews": "reviews", "changes_requested": "reviews",
    "authors_reviewed": "reviews", "gini": "reviews", "mentees": "reviews", "touchpoints": "reviews",
    "incidents_led": "incidents", "mttr_led": "incidents", "incidents_responded": "incidents",
    "postmortems": "incidents", "incidents": "incidents", "mttr": "incidents",
    "deployments": "deployments", "cfr": "deployments",
}


def with_coverage(wh: Warehouse, figures: list["Figure"], previous: Period, repo: str | None) -> list["Figure"]:
    """``figures`` with ``comparable``/``covered`` set by :func:`impactlens.metrics.comparison.comparable`: a
    change is shown only when the figure's source has data from ``previous.start`` on (docs/metrics.md
    "Comparisons"). Mentoring figures rest on reviews, or on co-authored commits when no reviews were collected."""
    from dataclasses import replace

    out = []
    for fig in figures:
        source = FIGURE_SOURCES.get(fig.key)
        if source == "reviews" and fig.key in ("mentees", "touchpoints") and not wh.has("reviews"):
            source = "git"
        if source is None:
            out.append(fig)
            continue
        first = data_begins(wh, source, repo)
        ok = comparison.comparable(first, previous.start)
        share = 1.0 if ok else (comparison.covered_share(first, previous.start, previous.end) if first else None)
        out.append(replace(fig, source=source, comparable=ok, covered=share))
    return out


# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    """One headline number with what it stands on.

    ``value``/``previous`` are in ``unit``; ``count``/``previous_count`` are how many records stand
    behind each (``basis`` names them, e.g. "PRs"); ``lower_is_better`` colours the change.
    """

    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str
    count: int | None = None
    previous_count: int | None = None
    basis: str = ""
    lower_is_better: bool = False
    help: str = ""
    #: The source of the figure's records (:data:`FIGURE_SOURCES`), and whether the previous period is covered
    #: by it as fully as this one (:func:`with_coverage`); ``covered``: share of the previous period covered.
    source: str = ""
    comparable: bool = True
    covered: float | None = None
    #: For a rate (unit "share"): the numerator's events behind each value (failed deployments); ``count``
    #: and ``previous_count`` are then the denominators (deployments).
    events: int | None = None
    previous_events: int | None = None

    @property
    def change(self) -> float | None:
        """Relative change against the previous period (0.25 = +25%); None without both values or when the
        previous period is not covered as fully as this one (docs/metrics.md "Comparisons")."""
        if not self.comparable or self.value is None or self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / abs(self.previous)

    def uncovered(self) -> str:
        """ "vs 4 (previous period only 30% covered by pull requests: no comparison)" when the change is hidden
        for coverage, else ""."""
        if self.comparable or self.previous is None:
            return ""
        noun = SOURCE_NOUNS.get(self.source, "the data")
        if self.covered is None:
            return f"no {noun} collected"
        return (f"vs {self.shown(self.previous)} (previous period only {self.covered:.0%} covered by {noun}: "
                "no comparison)")

    def shown(self, value: float | None = None) -> str:
        value = self.value if value is None else value
        return format_value(value, self.unit)

    def context(self) -> str:
        """What stands behind the figure, e.g. "15 merged PRs · previous period 9 PRs", or the previous value
        when there is no change to show."""
        if not self.comparable and self.covered is None and self.source:  # the source was never collected
            return f"no {SOURCE_NOUNS.get(self.source, 'data')} collected"
        parts = []
        if self.count is not None:
            text = f"{self.count} {plural(self.basis, self.count)}".strip()
            if self.previous_count is not None and self.previous is not None and self.comparable:
                text += f" (previous: {self.previous_count})"
            parts.append(text)
        if self.previous is None:
            parts.append("no value in the previous period")
        elif not self.comparable:
            parts.append(self.uncovered())
        elif self.change is None:
            parts.append(f"previous period: {self.shown(self.previous)}")
        return " · ".join(parts)


def format_value(value: float | None, unit: str) -> str:
    """``value`` for display: hours as "5.2 h" or "3.1 d", counts as integers, shares as percentages."""
    if value is None:
        return "–"
    if unit == "hours":
        return f"{value / 24:.1f} d" if value >= 72 else f"{value:.1f} h"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "lines":
        return f"{value:,.0f} lines"
    if unit == "gini":
        return f"{value:.2f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _one(frame: pl.LazyFrame) -> dict[str, Any]:
    df = frame.collect()
    return df.row(0, named=True) if df.height else {}


def _num(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    return None if value is None else float(value)


def _int(row: dict[str, Any], key: str) -> int:
    value = row.get(key)
    return int(value) if value is not None else 0


def mentoring(wh: Warehouse, person: str, period: Period, repo: str | None) -> pl.DataFrame:
    """Mentoring touchpoints ``person`` gave in ``period``, per colleague (:func:`impactlens.metrics.touchpoints`).

    Columns: mentee_key (str), touchpoints, reviews, review_comments, pairing, weeks (u32: distinct ISO weeks of
    the touchpoints), is_mentee (bool: metrics.mentoring.is_mentee, at least three touchpoints over two weeks,
    docs/metrics.md "Mentoring touchpoints"); most touchpoints first.
    """
    def build() -> pl.DataFrame:
        found = period.scope(person=person, repo=repo).apply(
            wh.frames, metrics.touchpoints(wh.frames), person="mentor_key", time="at")
        kind = pl.col("kind")
        return (
            found.group_by("mentee_key").agg(
                pl.len().cast(pl.UInt32).alias("touchpoints"),
                kind.str.ends_with("review").sum().cast(pl.UInt32).alias("reviews"),
                kind.str.ends_with("comment").sum().cast(pl.UInt32).alias("review_comments"),
                (kind == "pairing").sum().cast(pl.UInt32).alias("pairing"),
                touch_weeks().alias("weeks"),
            )
            .with_columns(is_mentee().alias("is_mentee"))
            .sort(["touchpoints", "mentee_key"], descending=[True, False])
            .collect()
        )
    return memo(wh, "mentoring", person, period, repo)(build)


def artifacts(wh: Warehouse, person: str, period: Period, repo: str | None) -> pl.DataFrame:
    """ADRs, design docs, runbooks and postmortems ``person`` created in ``period`` (:func:`impactlens.metrics.artifacts`).

    Columns: repo_id, path, category, sha, authored_at (Datetime UTC), oldest first. Categories come from the
    git collector's file globs (impactlens.toml ``[categories]``).
    """
    def build() -> pl.DataFrame:
        found = metrics.artifacts(wh.frames, period.scope(person=person, repo=repo))
        return (
            found.filter(pl.col("action") == "created")
            .select("repo_id", "path", "category", "sha", pl.col("at").alias("authored_at"))
            .sort("authored_at", "path")
            .collect()
        )
    return memo(wh, "artifacts", person, period, repo)(build)


def _person_numbers(wh: Warehouse, person: str, period: Period, repo: str | None) -> dict[str, Any]:
    frames = wh.frames
    scope = period.scope(person=person, repo=repo)
    out: dict[str, Any] = {}
    out["throughput"] = _one(metrics.throughput(frames, scope, by=None, grain=None))
    out["size"] = _one(metrics.pr_size(frames, scope))
    out["ttfr"] = _one(metrics.time_to_first_review(frames, scope))
    out["turnaround"] = _one(review_turnaround(frames, scope, by=None))
    led = led_incidents(wh, person, period, repo)
    out["led"] = led.height
    out["mttr"] = led["time_to_restore_hours"].median() if led.height else None
    out["restored"] = led["time_to_restore_hours"].drop_nulls().len()
    mentees = mentoring(wh, person, period, repo)
    out["mentees"] = mentees.filter(pl.col("is_mentee")).height
    out["touchpoints"] = int(mentees["touchpoints"].sum()) if mentees.height else 0
    out["artifacts"] = artifacts(wh, person, period, repo).height
    return out


def person_figures(wh: Warehouse, person: str, period: Period, repo: str | None) -> list[Figure]:
    """The My impact headline figures of ``person`` in ``period`` against the previous period."""
    def build() -> list[Figure]:
        now = _person_numbers(wh, person, period, repo)
        before = _person_numbers(wh, person, period.previous(), repo)

        def fig(key, label, section, column, unit, basis, count_col, lower=False, help=""):
            a, b = now[section], before[section]
            return Figure(key, label, _num(a, column), _num(b, column), unit,
                          _int(a, count_col) if count_col else None, _int(b, count_col) if count_col else None,
                          basis, lower, help)

        return with_coverage(wh, [
            fig("prs_merged", "PRs merged", "throughput", "prs_merged", "count", "", None,
                help="Pull requests authored and merged in the period (bots excluded)."),
            fig("median_pr_size", "Median PR size", "size", "median_changed_lines", "lines", "merged PRs", "prs",
                lower=True, help="Median changed lines (additions + deletions) of merged PRs, without generated, "
                "lockfile and vendored files."),
            fig("ttfr_received", "Time to first review", "ttfr", "median_hours", "hours", "PRs", "prs",
                lower=True, help="Received: median hours from your PR becoming ready to its first human review or comment."),
            fig("ttfr_given", "Review turnaround", "turnaround", "median_hours", "hours",
                "requests", "cycles", lower=True,
                help="Given: median hours from a review request (or the PR's ready time) to your review."),
            fig("reviews_given", "Reviews given", "throughput", "reviews_given", "count", "", None,
                help="Reviews submitted on other people's PRs."),
            fig("commits", "Commits", "throughput", "commits", "count", "", None,
                help="Non-merge commits you authored (git)."),
            Figure("mentees", "Mentees", float(now["mentees"]), float(before["mentees"]), "count",
                   now["touchpoints"], before["touchpoints"], "touchpoints",
                   help="Less experienced colleagues with at least 3 touchpoints from you (reviews, review "
                   "comments, co-authored commits)."),
            Figure("incidents_led", "Incidents led", float(now["led"]), float(before["led"]), "count",
                   help="Incidents where you were the incident commander."),
            Figure("mttr_led", "MTTR of incidents led", now["mttr"], before["mttr"], "hours", now["restored"],
                   before["restored"], "restored incidents", lower_is_better=True,
                   help="Median hours from opened to resolved, over the incidents you led."),
            Figure("artifacts", "Artifacts authored", float(now["artifacts"]), float(before["artifacts"]), "count",
                   help="ADRs, design docs, runbooks and postmortems you added."),
        ], period.previous(), repo)
    return memo(wh, "person_figures", person, period, repo)(build)


def person_weekly(wh: Warehouse, person: str, period: Period, repo: str | None) -> pl.DataFrame:
    """Weekly activity of ``person``: week (Datetime UTC, Monday), prs_merged, reviews_given, commits (u32),
    median_changed_lines (f64, lines), size_prs (u32). Every week of the period has a row."""
    def build() -> pl.DataFrame:
        scope = period.scope(person=person, repo=repo)
        counts = metrics.throughput(wh.frames, scope, by=None, grain="week").collect()
        sizes = metrics.pr_size(wh.frames, scope, grain="week").collect()
        weeks = all_weeks(period)
        out = weeks.join(counts.rename({"period_start": "week"}), on="week", how="left")
        out = out.join(sizes.select(pl.col("period_start").alias("week"), "median_changed_lines",
                                    pl.col("prs").alias("size_prs")), on="week", how="left")
        return out.select(
            "week",
            *[pl.col(c).fill_null(0).cast(pl.UInt32) for c in ("prs_merged", "reviews_given", "commits", "size_prs")],
            "median_changed_lines",
        )
    return memo(wh, "person_weekly", person, period, repo)(build)


def person_prs(wh: Warehouse, person: str, period: Period, repo: str | None) -> pl.DataFrame:
    """The person's PRs created or merged in the period: repo_id, number, title, url, state, created_at,
    merged_at, changed_lines, time_to_first_review_hours, newest first."""
    facts = metrics.pr_facts(wh.frames).filter(pl.col("author_key") == person)
    if repo:
        facts = facts.filter(pl.col("repo_id") == repo)
    lo, hi = period.scope().start, period.scope().end
    when = pl.coalesce("merged_at", "created_at")
    return (
        facts.filter((when >= _utc(lo)) & (when < _utc(hi)))
        .select("repo_id", "number", "title", "url", "state", "created_at", "merged_at", "changed_lines",
                "time_to_first_review_hours")
        .sort(pl.coalesce("merged_at", "created_at"), descending=True)
        .collect()
    )


def person_reviews(wh: Warehouse, person: str, period: Period, repo: str | None) -> pl.DataFrame:
    """Reviews the person gave in the period: repo_id, pr_number, title, url (the review, else the PR),
    author (display name), state, comments, submitted_at, newest first."""
    def build() -> pl.DataFrame:
        frames = wh.frames
        reviews = period.scope(person=person, repo=repo).apply(
            frames, human_reviews(frames), person="reviewer_key", time="submitted_at").collect()
        urls = wh.query(
            "SELECT repo_id, review_id, url AS _review_url FROM reviews WHERE review_id IN (SELECT unnest(?))",
            [reviews["review_id"].unique().to_list()],
        ) if reviews.height else pl.DataFrame(schema={"repo_id": pl.String, "review_id": pl.String,
                                                      "_review_url": pl.String})
        prs = frames.prs.select("repo_id", pl.col("number").alias("pr_number"), "title",
                                pl.col("url").alias("_pr_url")).collect()
        names = wh.people.select(pl.col("person_key").alias("author_key"), pl.col("display_name").alias("author"))
        return (
            reviews.join(urls, on=["repo_id", "review_id"], how="left").join(prs, on=["repo_id", "pr_number"], how="left")
            .join(names, on="author_key", how="left")
            .select("repo_id", "pr_number", "title", pl.coalesce("_review_url", "_pr_url").alias("url"),
                    pl.coalesce("author", "author_key").alias("author"), "state", "comments", "submitted_at")
            .sort("submitted_at", descending=True)
        )
    return memo(wh, "person_reviews", person, period, repo)(build)


def led_incidents(wh: Warehouse, person: str, period: Period, repo: str | None) -> pl.DataFrame:
    """Incidents the person commanded, opened in the period (incident_facts columns)."""
    facts = period.scope(repo=repo).apply(wh.frames, incident_facts(wh.frames), person=None, time="opened_at")
    return facts.filter(pl.col("commander_key") == person).collect()


def person_incidents(wh: Warehouse, person: str, period: Period, repo: str | None) -> pl.DataFrame:
    """Incidents the person led or responded to, opened in the period: incident_id, title, role, severity,
    opened_at, time_to_restore_hours, has_postmortem, url, newest first."""
    frames = wh.frames
    roles = incident_roles(frames).filter(pl.col("person_key") == person).select("incident_id", "role")
    facts = period.scope(repo=repo).apply(frames, incident_facts(frames), person=None, time="opened_at")
    return (
        facts.join(roles, on="incident_id", how="inner")
        .select("incident_id", "title", "role", "severity", "opened_at", "time_to_restore_hours",
                "has_postmortem", "url")
        .sort("opened_at", descending=True)
        .collect()
    )


def person_commits(wh: Warehouse, person: str, period: Period, repo: str | None, limit: int = 200) -> pl.DataFrame:
    """The person's non-merge commits in the period (for git-only data): repo_id, sha (10 characters),
    subject, authored_at, lines (insertions + deletions), newest first, at most ``limit``.

    Read from the warehouse through the ``actors`` view (docs/schema.md): a commit's author is the
    ``actor_id`` of its identity ``email:<lower(author_email)>``, or that identity itself when not recorded yet.
    """
    scope = period.scope()
    email = identity_sql("c.author_email", kind="email")
    sql = (
        "SELECT c.repo_id, left(c.sha, 10) AS sha, c.subject, c.authored_at, "
        "CAST(c.insertions + c.deletions AS BIGINT) AS lines FROM commits c "
        f"LEFT JOIN actors a ON a.identity_id = {email} "
        f"WHERE coalesce(a.actor_id, {email}) = ? AND NOT c.is_merge "
        "AND c.authored_at >= ? AND c.authored_at < ? AND (? IS NULL OR c.repo_id = ?) "
        "ORDER BY c.authored_at DESC LIMIT ?"
    )
    return memo(wh, "person_commits", person, period, repo, limit)(lambda: wh.query(
        sql, [person, _utc(scope.start), _utc(scope.end), repo, repo, limit]))


def _utc(value: Any) -> datetime:
    from impactlens.metrics.frames import utc
    return utc(value)  # type: ignore[return-value]


# ---------------------------------------------------------------------------- evidence


def evidence_api():
    """The evidence module (:mod:`impactlens.evidence`) when it is installed and has ``build_packet``, else None."""
    try:
        import impactlens.evidence as evidence
    except ImportError:
        return None
    return evidence if callable(getattr(evidence, "build_packet", None)) else None


def evidence_packet(wh: Warehouse, person: str, period: Period):
    """The evidence packet of ``person`` for ``period`` (``impactlens.evidence.build_packet``), or None when the
    evidence module is not installed. Opens the warehouse read-only for the build and closes it again.

    Raises:
        Whatever ``build_packet`` raised (EvidenceError for a person it cannot resolve), again on each call.
    """
    evidence = evidence_api()
    if evidence is None:
        return None

    def build():
        con = warehouse.read_only(wh.path)
        try:
            return evidence.build_packet(con, person, period.start, period.end, config=wh.frames.config,
                                         frames=wh.frames)  # the derived tables built once for every packet
        except Exception as exc:  # remembered, so a person without a packet is not rebuilt on every rerun
            return exc
        finally:
            con.close()
    found = memo(wh, "evidence_packet", person, period)(build)
    if isinstance(found, Exception):
        raise found
    return found


#: The sections promotion committees read, in their order, with the figures that evidence each.
COMMITTEE_SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Scope and ownership", "Where the work landed: repositories, directories and the areas the person owns.",
     ("repos_touched", "directories_touched", "prs_merged", "commits")),
    ("Technical leadership", "Design work and the reviews that shape others' changes.",
     ("artifacts", "reviews_given", "changes_requested", "authors_reviewed")),
    ("Mentoring", "Reviews, comments and pairing on the work of less experienced colleagues.",
     ("mentees", "touchpoints")),
    ("Operational excellence", "Incidents handled and how fast service came back.",
     ("incidents_led", "incidents_responded", "mttr_led", "postmortems")),
    ("Delivery outcomes", "What the person shipped and how fast it moved.",
     ("prs_merged", "median_pr_size", "ttfr_received", "ttfr_given", "cycle_time")),
)


def committee_figures(wh: Warehouse, person: str, period: Period, repo: str | None) -> dict[str, Figure]:
    """Every figure the committee sections use, keyed as in :data:`COMMITTEE_SECTIONS`."""
    def build() -> dict[str, Figure]:
        base = {f.key: f for f in person_figures(wh, person, period, repo)}

        def numbers(p: Period) -> dict[str, Any]:
            scope = p.scope(person=person, repo=repo)
            frames = wh.frames
            roles = incident_summary(frames, scope)
            return {
                "throughput": _one(metrics.throughput(frames, scope, by=None, grain=None)),
                "depth": _one(review_depth(frames, scope, by=None)),
                "cycle": _one(metrics.cycle_time(frames, scope)),
                "roles": _one(roles),
                "mentoring": mentoring(wh, person, p, repo),
            }

        a, b = numbers(period), numbers(period.previous())

        def f(key, label, section, column, unit="count", basis="", count=None, lower=False, help=""):
            return Figure(key, label, _num(a[section], column), _num(b[section], column), unit,
                          _int(a[section], count) if count else None, _int(b[section], count) if count else None,
                          basis, lower, help)

        extra = {
            "repos_touched": f("repos_touched", "Repositories touched", "throughput", "repos_touched",
                               help="Repositories with a PR, commit or review by the person."),
            "directories_touched": f("directories_touched", "Directories changed", "throughput",
                                     "directories_touched", help="Distinct two-level folders the person's commits changed."),
            "commits": f("commits", "Commits", "throughput", "commits", help="Non-merge commits authored."),
            "changes_requested": f("changes_requested", "Changes requested", "depth", "changes_requested",
                                   help="Reviews that asked for changes on someone else's PR."),
            "authors_reviewed": f("authors_reviewed", "Authors reviewed", "depth", "authors_reviewed",
                                  help="Distinct people whose PRs the person reviewed."),
            "incidents_responded": f("incidents_responded", "Incidents responded to", "roles", "responded",
                                     help="Incidents where the person was a responder (not the commander)."),
            "postmortems": f("postmortems", "Incidents with a postmortem", "roles", "with_postmortem",
                             help="Incidents the person took part in that have a postmortem link."),
            "cycle_time": f("cycle_time", "PR cycle time to merge", "cycle", "median_cycle_time_to_merge_hours",
                            "hours", "merged PRs", "prs", lower=True,
                            help="Median hours from first commit to merge of the person's PRs."),
            "touchpoints": Figure("touchpoints", "Mentoring touchpoints",
                                  float(a["mentoring"]["touchpoints"].sum()) if a["mentoring"].height else 0.0,
                                  float(b["mentoring"]["touchpoints"].sum()) if b["mentoring"].height else 0.0,
                                  "count", a["mentoring"].height, b["mentoring"].height, "people",
                                  help="Reviews, review comments and co-authored commits on less experienced colleagues' work."),
        }
        extra = {f.key: f for f in with_coverage(wh, list(extra.values()), period.previous(), repo)}
        return {**base, **extra}
    return memo(wh, "committee_figures", person, period, repo)(build)


# ---------------------------------------------------------------------------- team health


def team_scope(period: Period, filters: Filters) -> metrics.Scope:
    return period.scope(team=filters.team, repo=filters.repo)


def team_weekly(wh: Warehouse, filters: Filters) -> dict[str, pl.DataFrame]:
    """The Team health trends, one row per week of the period (group: the team, or the organisation).

    Returns frames keyed: size (week, prs, median_changed_lines, p90_changed_lines), ttfr (week, prs,
    median_hours, p90_hours, never_reviewed_prs), cycle (phase coding/pickup/review/deploy, median_hours,
    prs: over the whole period, not per week),
    load (week, team_id, members, reviews, gini, top_share), incidents (week, incidents, mttr_median_hours,
    resolved_incidents), deployments (week, deployments, failed_deployments).
    """
    def build() -> dict[str, pl.DataFrame]:
        frames = wh.frames
        scope = team_scope(filters.period, filters)
        weeks = all_weeks(filters.period)

        def weekly(frame: pl.LazyFrame) -> pl.DataFrame:
            df = frame.collect().rename({"period_start": "week"})
            return weeks.join(df, on="week", how="left")

        size = weekly(metrics.pr_size(frames, scope, grain="week")).select(
            "week", pl.col("prs").fill_null(0), "median_changed_lines", "p90_changed_lines")
        ttfr = weekly(metrics.time_to_first_review(frames, scope, grain="week")).select(
            "week", pl.col("prs").fill_null(0), "median_hours", "p90_hours", pl.col("never_reviewed_prs").fill_null(0))
        row = _one(metrics.cycle_time(frames, scope))
        cycle = pl.DataFrame({
            "phase": list(PHASES),
            "median_hours": [_num(row, f"median_{p}_hours") for p in PHASES],
            "prs": [_int(row, "prs")] * len(PHASES),
        }, schema={"phase": pl.String, "median_hours": pl.Float64, "prs": pl.Int64})
        _, teams = review_load(frames, scope, grain="week")
        load = teams.collect().rename({"period_start": "week"})
        if filters.team is None:
            # The organisation: reviews per team as one total, Gini over every team's members.
            shares, _ = review_load(frames, scope, grain="week")
            load = (
                shares.collect().rename({"period_start": "week"})
                .group_by("week", "person_key").agg(pl.col("reviews").sum())
                .group_by("week").agg(
                    pl.len().alias("members"), pl.col("reviews").sum().alias("reviews"),
                    gini(pl.col("reviews")).alias("gini"),
                    (pl.col("reviews").max() / pl.col("reviews").sum()).alias("top_share"),
                )
            )
        load = weeks.join(load.select("week", "members", "reviews", "gini", "top_share"), on="week", how="left")
        incidents = weekly(incident_summary(frames, scope, grain="week")).select(
            "week", pl.col("incidents").fill_null(0), "mttr_median_hours", pl.col("resolved_incidents").fill_null(0))
        deploys = pl.DataFrame()
        if _dora is not None:
            deploys = weekly(_dora(frames, scope, by=None, grain="week")).select(
                "week", pl.col("deployments").fill_null(0), pl.col("failed_deployments").fill_null(0),
                "lead_time_median_hours", "time_to_restore_median_hours")
        return {"size": size, "ttfr": ttfr, "cycle": cycle, "load": load, "incidents": incidents,
                "deployments": deploys}
    return memo(wh, "team_weekly", filters)(build)


def dora_summary(wh: Warehouse, filters: Filters) -> dict[str, Any]:
    """DORA's four keys over the period for the team (or organisation): the ``dora`` row as a dict, {} when
    the metrics area has not published DORA yet or there were no deployments."""
    if _dora is None:
        return {}
    return memo(wh, "dora", filters)(lambda: _one(_dora(wh.frames, team_scope(filters.period, filters), by=None, grain=None)))


def open_prs_by_age(wh: Warehouse, filters: Filters, at: datetime) -> pl.DataFrame:
    """Human PRs open at ``at`` (created before, not yet merged or closed), per age bucket.

    Columns: age (str, ordered buckets), order (i32), state ('ready' | 'draft'), prs (u32). Draft is the PR's
    draft flag now. Team: the author's team when the PR was created.
    """
    def build() -> pl.DataFrame:
        frames = wh.frames
        facts = metrics.pr_facts(frames).filter(~pl.col("author_is_bot"))
        scope = metrics.Scope(team=filters.team, repo=filters.repo)
        facts = scope.apply(frames, facts, person="author_key", time="created_at")
        end = pl.min_horizontal("merged_at", "closed_at")
        open_ = facts.filter((pl.col("created_at") < at) & (end.is_null() | (end >= at)))
        age = (pl.lit(at) - pl.col("created_at")).dt.total_hours() / 24
        buckets = [(1, "< 1 day"), (3, "1–3 days"), (7, "3–7 days"), (14, "1–2 weeks"), (28, "2–4 weeks")]
        label = pl.when(age < buckets[0][0]).then(pl.lit(buckets[0][1]))
        order = pl.when(age < buckets[0][0]).then(0)
        for i, (limit, name) in enumerate(buckets[1:], start=1):
            label = label.when(age < limit).then(pl.lit(name))
            order = order.when(age < limit).then(i)
        label, order = label.otherwise(pl.lit("> 4 weeks")), order.otherwise(len(buckets))
        counted = (
            open_.with_columns(label.alias("age"), order.cast(pl.Int32).alias("order"),
                               pl.when(pl.col("is_draft")).then(pl.lit("draft")).otherwise(pl.lit("ready")).alias("state"))
            .group_by("age", "order", "state").agg(pl.len().cast(pl.UInt32).alias("prs"))
            .sort("order", "state").collect()
        )
        return counted
    return memo(wh, "open_prs", filters, at)(build)


def week_figures(wh: Warehouse, filters: Filters, week: date) -> list[Figure]:
    from dataclasses import replace

    """The team's figures for ``week`` (Monday, UTC) against the week before, for "moved most"."""
    def numbers(start: date) -> dict[str, dict[str, Any]]:
        p = Period(start, start + timedelta(days=6))
        scope = team_scope(p, filters)
        frames = wh.frames
        _, teams = review_load(frames, scope, grain="week")
        load = teams.collect()
        out = {
            "size": _one(metrics.pr_size(frames, scope)),
            "ttfr": _one(metrics.time_to_first_review(frames, scope)),
            "cycle": _one(metrics.cycle_time(frames, scope)),
            "throughput": _one(metrics.throughput(frames, scope, by=None, grain=None)),
            "incidents": _one(incident_summary(frames, scope)),
            "load": load.row(0, named=True) if load.height == 1 else {},
            "dora": _one(_dora(frames, scope, by=None, grain=None)) if _dora is not None else {},
        }
        return out

    def build() -> list[Figure]:
        a, b = numbers(week), numbers(week - timedelta(days=7))

        def f(key, label, section, column, unit="count", basis="", count=None, lower=False):
            return Figure(key, label, _num(a[section], column), _num(b[section], column), unit,
                          _int(a[section], count) if count else None, _int(b[section], count) if count else None,
                          basis, lower)

        cfr = f("cfr", "Change failure rate", "dora", "change_failure_rate", "share", "deployments", "deployments", True)
        figures = [
            f("commits", "Commits", "throughput", "commits"),
            f("prs_merged", "PRs merged", "throughput", "prs_merged"),
            f("reviews", "Reviews given", "throughput", "reviews_given"),
            f("median_pr_size", "Median PR size", "size", "median_changed_lines", "lines", "PRs", "prs", True),
            f("ttfr_p50", "First review p50", "ttfr", "median_hours", "hours", "PRs", "prs", True),
            f("ttfr_p90", "First review p90", "ttfr", "p90_hours", "hours", "PRs", "prs", True),
            f("cycle", "Cycle time to merge", "cycle", "median_cycle_time_to_merge_hours", "hours", "PRs", "prs", True),
            f("incidents", "Incidents", "incidents", "incidents", lower=True),
            f("mttr", "MTTR", "incidents", "mttr_median_hours", "hours", "restored", "resolved_incidents", True),
            f("deployments", "Deployments", "dora", "deployments"),
            replace(cfr, events=_int(a["dora"], "failed_deployments"), previous_events=_int(b["dora"], "failed_deployments")),
        ]
        if filters.team is not None:
            figures.append(f("gini", "Review load Gini", "load", "gini", "gini", "reviews", "reviews", True))
        return with_coverage(wh, figures, Period(week - timedelta(days=7), week - timedelta(days=1)), filters.repo)
    return memo(wh, "week_figures", filters, week)(build)


#: What a count figure counts, in the plural, for the comparison rule's reason ("3 merged PRs in both periods").
COUNT_NOUNS = {"commits": "commits", "prs_merged": "merged PRs", "reviews": "reviews", "incidents": "incidents",
               "deployments": "deployments"}


def judge(fig: Figure) -> comparison.Change:
    """The comparison rule's verdict on ``fig``'s change (:func:`impactlens.metrics.comparison.judge`): counts
    by the exact Poisson test, shares (change failure rate) by the two-proportion z-test on ``events`` of
    ``count``, medians and the Gini by their record counts and a 25% change."""
    kind = "count" if fig.unit == "count" else "rate" if fig.unit == "share" else "median"
    noun = {"count": COUNT_NOUNS.get(fig.key, "events"), "rate": "failures", "median": fig.basis or "records"}[kind]
    return comparison.judge(kind, fig.value, fig.previous, count=fig.count, previous_count=fig.previous_count,  # type: ignore[arg-type]
                            events=fig.events, previous_events=fig.previous_events, noun=noun)


def moved_most(figures: list[Figure], *, limit: int = 5) -> list[tuple[Figure, comparison.Change]]:
    """The figures that changed most, each with the comparison rule's verdict (``verdict.significant`` is the
    ⚑ flag): significant changes first, then the largest relative change (a count from 0 counts as largest).
    Figures whose previous period is not covered by their source (``comparable`` False), or without both
    values, or unchanged, are left out."""
    ranked = []
    for fig in figures:
        if not fig.comparable or fig.value is None or fig.previous is None or fig.value == fig.previous:
            continue
        if fig.change is None and not (fig.unit == "count" and fig.previous == 0):
            continue
        verdict = judge(fig)
        size = abs(fig.change) if fig.change is not None else float("inf")
        ranked.append((verdict.significant, size, fig, verdict))
    ranked.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [(fig, verdict) for _, _, fig, verdict in ranked[:limit]]
