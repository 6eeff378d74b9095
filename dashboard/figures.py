"""What the dashboard's pages show, as Polars frames and :class:`Figure` s: a person's and a team's figures.

Every figure comes from the metrics API (:mod:`impactlens.metrics`); this module only scopes,
compares periods and aggregates in Polars so no chart gets more than a few hundred points. The warehouse,
the period and the filters are :mod:`impactlens.dashboard.state`'s; results are cached on the warehouse
with :func:`impactlens.dashboard.state.memo`.
All timestamps are UTC; durations are hours; sizes are changed lines.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from impactlens import coverage, metrics, warehouse
from impactlens.dashboard.state import Filters, Period, Warehouse, all_weeks, memo
from impactlens.evidence.model import Figure
from impactlens.evidence.packet import Packet, build_packet
from impactlens.evidence.team_review import Moved, what_moved
from impactlens.identity import identity_sql
from impactlens.metrics import (
    dora as _dora, human_reviews, incident_facts, incident_roles, incident_summary, organisation_review_load,
    review_load,
    review_turnaround,
)
from impactlens.metrics import comparison

#: The phases of PR cycle time (docs/metrics.md "PR cycle time").
PHASES = ("coding", "pickup", "review", "deploy")


def data_begins(wh: Warehouse, source: str, repo: str | None) -> datetime | None:
    """When ``source``'s data begins (its first record, UTC) in ``repo`` (None: the earliest over every
    repository); None when the warehouse holds none of it."""
    rows = wh.firsts.filter(pl.col("source") == source) if wh.firsts.width else wh.firsts
    if rows.height and repo is not None and source != "incidents":
        rows = rows.filter(pl.col("repo_id") == repo)
    return rows["first_at"].min() if rows.height else None


#: The source each figure's records come from (the comparison rule checks that one's coverage).
FIGURE_SOURCES = {
    "commits": "git", "artifacts": "git",
    "prs_merged": "pull_requests", "median_pr_size": "pull_requests", "ttfr_received": "pull_requests",
    "ttfr_given": "reviews", "reviews_given": "reviews", "mentees": "reviews",
    "incidents_led": "incidents", "mttr_led": "incidents",
}


def with_coverage(wh: Warehouse, figures: list["Figure"], previous: Period, repo: str | None) -> list["Figure"]:
    """``figures`` with ``comparable``/``covered`` set by :func:`impactlens.metrics.comparison.comparable`: a
    change is shown only when the figure's source has data from ``previous.start`` on (docs/metrics.md
    "Comparisons"). Mentoring figures rest on reviews, or on co-authored commits when no reviews were collected."""
    from dataclasses import replace

    out = []
    for fig in figures:
        source = FIGURE_SOURCES.get(fig.name)
        if source == "reviews" and fig.name == "mentees" and not wh.has("reviews"):
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
    """Mentoring touchpoints ``person`` gave in ``period``, per colleague: :func:`impactlens.metrics.mentee_touchpoints`
    (the one per-mentee frame) in the repository chosen.

    Columns: mentee_key (str), touchpoints, reviews, review_comments (``comments``), pairing (``pairing_commits``),
    weeks (u32: distinct ISO weeks of the touchpoints), is_mentee (bool: at least three touchpoints over two weeks,
    docs/metrics.md "Mentoring touchpoints"); most touchpoints first.
    """
    def build() -> pl.DataFrame:
        found = metrics.mentee_touchpoints(wh.frames, period.scope(person=person, repo=repo))
        return found.select("mentee_key", "touchpoints", "reviews", pl.col("comments").alias("review_comments"),
                            pl.col("pairing_commits").alias("pairing"), "weeks", "is_mentee").collect()
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
    roles = _one(incident_summary(frames, scope))
    out["led"] = _int(roles, "led")
    out["mttr"] = _num(roles, "mttr_led_median_hours")
    out["restored"] = _int(roles, "restored_led")
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
            return Figure(key, _num(a, column), unit, previous=_num(b, column), label=label,
                          count=_int(a, count_col) if count_col else None,
                          previous_count=_int(b, count_col) if count_col else None,
                          basis=basis, lower_is_better=lower, help=help)

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
            Figure("mentees", float(now["mentees"]), "count", previous=float(before["mentees"]), label="Mentees",
                   count=now["touchpoints"], previous_count=before["touchpoints"], basis="touchpoints",
                   help="Less experienced colleagues with at least 3 touchpoints from you (reviews, review "
                   "comments, co-authored commits)."),
            Figure("incidents_led", float(now["led"]), "count", previous=float(before["led"]), label="Incidents led",
                   help="Incidents where you were the incident commander."),
            Figure("mttr_led", now["mttr"], "hours", previous=before["mttr"], label="MTTR of incidents led",
                   count=now["restored"], previous_count=before["restored"], basis="restored incidents",
                   lower_is_better=True,
                   help="Median hours from opened to resolved, over the incidents you led."),
            Figure("artifacts", float(now["artifacts"]), "count", previous=float(before["artifacts"]),
                   label="Artifacts authored",
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


def evidence_packet(wh: Warehouse, person: str, period: Period) -> Packet:
    """The evidence packet of ``person`` for ``period`` (:func:`impactlens.evidence.build_packet` with the
    dashboard's configuration), cached on the warehouse. Opens the warehouse read-only for the build and closes
    it again.

    Raises:
        Whatever ``build_packet`` raised (EvidenceError for a person it cannot resolve: a bot, a junk identity),
        again on each call.
    """
    def build():
        con = warehouse.read_only(wh.path)
        try:
            return build_packet(con, person, period.start, period.end, config=wh.frames.config,
                                frames=wh.frames)  # the derived tables built once for every packet
        except Exception as exc:  # remembered, so a person without a packet is not rebuilt on every rerun
            return exc
        finally:
            con.close()
    found = memo(wh, "evidence_packet", person, period)(build)
    if isinstance(found, Exception):
        raise found
    return found


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
        if filters.team is None:  # the organisation: every team's members as one group
            load = organisation_review_load(frames, scope, grain="week").collect().rename({"period_start": "week"})
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
    """Human PRs open at ``at`` per age bucket and state (:func:`impactlens.metrics.open_prs_by_age`) in the
    team and repository of ``filters``. Columns: age, order (i32), state ('ready' | 'draft'), prs (u32)."""
    return memo(wh, "open_prs", filters, at)(lambda: metrics.open_prs_by_age(
        wh.frames, metrics.Scope(team=filters.team, repo=filters.repo), at).collect())


def team_moved(wh: Warehouse, filters: Filters, week: date) -> list[Moved]:
    """What moved in the week of ``week`` (a Monday, UTC) for the team (None: the organisation) and repository of
    ``filters``: :func:`impactlens.evidence.team_review.what_moved`, the team review's one definition (the week
    against the mean of the 4 weeks before, the comparison rule's verdict), with each source's coverage from
    the first records of the repository chosen (of every repository without one)."""
    def build() -> list[Moved]:
        firsts = {source: data_begins(wh, source, filters.repo) for source in coverage.SOURCES}
        return what_moved(wh.frames, week, firsts, team=filters.team, repo=filters.repo)
    return memo(wh, "team_moved", filters, week)(build)
