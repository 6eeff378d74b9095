"""Claims: one plain function per kind of claim, each reading the metrics frames and returning claims.

Every function takes a :class:`Subject` (the person, the period, the loaded frames) and returns a list
of :class:`~impactlens.evidence.model.Claim` (empty when the data shows nothing of that kind: a claim is
never made without records). Sentences say what the data shows, never what a person is worth; every
figure carries its context (period, team and team size, the denominator of a share).

Periods: ``since`` and ``until`` are dates, both included (UTC); the *previous period* is the same number
of days just before ``since``. Definitions of each claim: docs/evidence.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from typing import Callable

import duckdb
import polars as pl

from impactlens.config import Config
from impactlens.membership import overlaps_expr
from impactlens.text import counted
from impactlens import coverage as coverage_mod
from impactlens.evidence import tables
from impactlens.evidence.model import Claim, Figure, Record
from impactlens.codeowners import owner_key
from impactlens.codeowners import parse as parse_codeowners
from impactlens.metrics.frames import EXCLUDED_CATEGORIES
from impactlens.metrics.mentoring import MENTEE_TOUCHPOINTS, MENTEE_WEEKS, mentee_touchpoints
from impactlens.metrics.pr import directory_of
from impactlens.metrics import (
    Frames, Scope, artifacts, deployment_facts, human_reviews, incident_facts, incident_roles, load, ownership, pr_facts,
)

#: A milestone is "led" by the author of at least this share of its merged PRs (and at least MIN PRs).
PROJECT_LEAD_SHARE = 0.5
PROJECT_MIN_PRS = 3
#: Areas owned: directories where the person wrote the largest share of changed lines, at least this many.
AREA_MIN_LINES = 200
#: Weeks compared for a mentee's growth (first weeks in the data vs the weeks up to the period's end), and the
#: merged PRs each window needs before a rate is shown.
GROWTH_WEEKS = 8
GROWTH_MIN_PRS = 3
#: Days compared before and after a runbook for the repository's MTTR.
RUNBOOK_WINDOW_DAYS = 90

#: Reader-facing names of the delivery medians (sentences and the packet's delivery chart).
DELIVERY_LABELS = {
    "median_cycle_time_to_merge_hours": "Median cycle time to merge",
    "median_time_to_first_review_hours": "Median time to first review",
    "median_pr_size_lines": "Median PR size",
    "others_commits_landed": "Others' commits landed",
    "others_authors_landed": "Authors whose commits they landed",
    "review_trailers": "Others' commits naming them in a review trailer",
    "others_changes_landed": "Others' changes landed",
}


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), timezone.utc)


def _level_rank(level: str | None) -> int | None:
    match = re.search(r"(\d+)", level or "")
    return int(match[1]) if match else None


@dataclass
class Subject:
    """Whose evidence, over which period, from which data.

    ``since``/``until`` are included dates (UTC). ``frames`` is :func:`impactlens.metrics.load` of the
    connection with ``config``, shared by every claim function (each table is read once).
    """

    con: duckdb.DuckDBPyConnection
    person_id: str
    since: date
    until: date
    frames: Frames = field(default=None)  # type: ignore[assignment]
    #: The effective configuration (:class:`impactlens.config.Config`); None: the defaults.
    config: Config | None = None

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise tables.EvidenceError(f"--until {self.until} is before --since {self.since}.")
        if self.frames is None:
            self.frames = load(self.con, coded=False, config=self.config)

    # -- period -----------------------------------------------------------------------------------
    @property
    def start(self) -> datetime:
        return _utc(self.since)

    @property
    def end(self) -> datetime:
        """Exclusive end instant (midnight UTC after ``until``)."""
        return _utc(self.until + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    @property
    def previous_start(self) -> datetime:
        return self.start - timedelta(days=self.days)

    @cached_property
    def data_start(self) -> datetime | None:
        """The first PR or commit in the warehouse (UTC), None when there is none."""
        firsts = [self.prs["created_at"].min(), self.commits["authored_at"].min()]
        firsts = [f for f in firsts if f is not None]
        return min(firsts) if firsts else None

    @property
    def previous_covered(self) -> bool:
        """Whether the data reaches back to the start of the previous period (else no comparison is made:
        a period before the data starts would read as zero)."""
        return self.data_start is not None and self.data_start <= self.previous_start

    def prev(self, value):
        """``value`` (a previous-period figure) when the data covers the previous period, else None."""
        return value if self.previous_covered else None

    @property
    def period_text(self) -> str:
        return f"{self.since.isoformat()} to {self.until.isoformat()}"

    def in_period(self, column: str, previous: bool = False) -> pl.Expr:
        lo, hi = (self.previous_start, self.start) if previous else (self.start, self.end)
        return (pl.col(column) >= lo) & (pl.col(column) < hi)

    # -- who --------------------------------------------------------------------------------------
    @cached_property
    def profile(self) -> dict:
        return tables.person_profile(self.con, self.person_id)

    @property
    def name(self) -> str:
        return self.profile["display_name"]

    @cached_property
    def teams(self) -> list[tuple[str, str, int]]:
        """The teams the person belonged to during the period: (team_id, name, members during the period)."""
        members = self.frames.memberships.collect()
        since, end = self.since, self.until + timedelta(days=1)
        current = members.filter(overlaps_expr(since, end))
        names = tables.team_names(self.con)
        mine = current.filter(pl.col("person_key") == self.person_id)["team_id"].unique().sort().to_list()
        return [
            (team, names.get(team, team), current.filter(pl.col("team_id") == team)["person_key"].n_unique())
            for team in mine
        ]

    @property
    def context(self) -> str:
        """``"2026-01-01 to 2026-06-30; team Core API (8 engineers)"``: the context every figure carries."""
        if not self.teams:
            return f"{self.period_text}; no team recorded"
        teams = ", ".join(f"{name} ({size} engineers)" for _, name, size in self.teams)
        return f"{self.period_text}; team {teams}"

    @cached_property
    def repo_urls(self) -> dict[str, str]:
        return tables.repo_urls(self.con)

    @cached_property
    def repos(self) -> list[str]:
        """The repositories the person has commits, PRs or reviews in (any time); every repository when none."""
        mine = (set(self.commits.filter(pl.col("author_key") == self.person_id)["repo_id"])
                | set(self.prs.filter(pl.col("author_key") == self.person_id)["repo_id"])
                | set(self.reviews.filter(pl.col("reviewer_key") == self.person_id)["repo_id"]))
        if not mine:
            mine = set(self.con.sql("SELECT repo_id FROM repositories UNION SELECT DISTINCT repo_id FROM commits "
                                    "UNION SELECT DISTINCT repo_id FROM pull_requests").pl()["repo_id"])
        return sorted(str(r) for r in mine)

    @cached_property
    def coverage(self) -> pl.DataFrame:
        """:func:`impactlens.coverage.sources` for the person's repositories (and the org-wide incidents row)."""
        cov = coverage_mod.sources(self.con)
        return cov.filter(pl.col("repo_id").is_null() | pl.col("repo_id").is_in(self.repos))

    @cached_property
    def sources(self) -> set[str]:
        """The sources collected for at least one of the person's repositories."""
        return set(self.coverage.filter(pl.col("collected"))["source"])

    @cached_property
    def missing_sources(self) -> list[str]:
        """One sentence per source not collected for the person's repositories, naming the command that adds it."""
        return coverage_mod.missing(self.con, self.repos, [src for src in coverage_mod.SOURCES if src not in self.sources])

    def unmeasured(self, name: str) -> str | None:
        """``"no pull requests"`` when ``name`` (a claim or figure) needs sources none of which is collected."""
        need = needs(name)
        if not need or any(src in self.sources for src in need):
            return None
        return "no " + " or ".join(coverage_mod.NOUNS[src] for src in need)

    # -- shared frames ----------------------------------------------------------------------------
    @cached_property
    def prs(self) -> pl.DataFrame:
        return pr_facts(self.frames).collect()

    @cached_property
    def reviews(self) -> pl.DataFrame:
        return human_reviews(self.frames).collect()

    @cached_property
    def review_urls(self) -> pl.DataFrame:
        return tables.review_urls(self.con)

    @cached_property
    def commits(self) -> pl.DataFrame:
        """Every commit with its author's person key (tables.commits: the data contract's actor key)."""
        return tables.commits(self.con)

    @cached_property
    def documents(self) -> pl.DataFrame:
        """Artifacts (metrics.artifacts: adr, design_doc, runbook, postmortem files created or edited), all
        authors and times, with the first commit's PR number and subject."""
        arts = artifacts(self.frames).collect()
        return arts.rename({"person_key": "author_key", "at": "authored_at"}).join(
            self.commits.select("repo_id", "sha", "pr_number", "subject"), on=["repo_id", "sha"], how="left"
        )

    # -- records ----------------------------------------------------------------------------------
    def pr_record(self, repo_id: str, number: int, url: str | None = None, title: str | None = None) -> Record:
        url = url or (f"{self.repo_urls[repo_id]}/pull/{number}" if repo_id in self.repo_urls else None)
        return Record("pr", str(number), f"{repo_id}#{number}", repo_id, url, title)

    def commit_record(self, repo_id: str, sha: str, subject: str | None = None) -> Record:
        base = self.repo_urls.get(repo_id)
        return Record("commit", sha, f"{repo_id}@{sha[:8]}", repo_id, f"{base}/commit/{sha}" if base else None, subject)

    def document_record(self, repo_id: str, sha: str, path: str, title: str | None = None) -> Record:
        base = self.repo_urls.get(repo_id)
        url = f"{base}/blob/{sha}/{path}" if base else None
        return Record("document", f"{sha}:{path}", f"{repo_id}:{path}", repo_id, url, title)


def _pr_records(s: Subject, prs: pl.DataFrame) -> list[Record]:
    return [s.pr_record(r["repo_id"], r["number"], r["url"], r["title"])
            for r in prs.sort("repo_id", "number").iter_rows(named=True)]


def _median(values: pl.Series) -> float | None:
    values = values.drop_nulls()
    return round(float(values.median()), 1) if len(values) else None


def _names(s: Subject, keys: list[str]) -> dict[str, str]:
    people = s.frames.people.select("person_key", "display_name").collect()
    names = dict(zip(people["person_key"], people["display_name"]))
    return {k: names.get(k, k.split(":", 1)[-1]) for k in keys}


# ================================================================ scope and ownership


def projects_led(s: Subject) -> list[Claim]:
    """Projects the person led: milestones, and clusters of PRs linked to the same issue (an epic), in which
    the person authored at least PROJECT_LEAD_SHARE of the PRs merged in the period (and at least
    PROJECT_MIN_PRS), or authored an ADR or design doc merged in it. One claim per project."""
    projects = tables.pr_projects(s.con)
    if projects.is_empty():
        return []
    merged = s.prs.filter(s.in_period("merged_at") & ~pl.col("author_is_bot")).join(
        projects, on=["repo_id", "number"], how="inner"
    )
    docs = s.documents.filter(
        pl.col("category").is_in(["adr", "design_doc"]) & (pl.col("author_key") == s.person_id)
        & pl.col("pr_number").is_not_null()
    ).select("repo_id", pl.col("pr_number").alias("number")).unique()
    claims = []
    keys = ["repo_id", "project_kind", "project_number"]
    # Only the projects holding at least one of the person's PRs.
    merged = merged.join(merged.filter(pl.col("author_key") == s.person_id).select(keys).unique(), on=keys, how="semi")
    for (repo_id, kind, number), group in merged.sort(keys).group_by(keys, maintain_order=True):
        mine = group.filter(pl.col("author_key") == s.person_id)
        wrote_doc = not mine.join(docs, on=["repo_id", "number"], how="semi").is_empty()
        share = len(mine) / len(group)
        if mine.is_empty() or not (wrote_doc or (share >= PROJECT_LEAD_SHARE and len(mine) >= PROJECT_MIN_PRS)):
            continue
        row = group.row(0, named=True)
        noun = "milestone" if kind == "milestone" else "issue"
        label = f"{repo_id} milestone {number}" if kind == "milestone" else f"{repo_id}#{number}"
        title = row["project_title"] or label
        where = f"milestone \u201c{title}\u201d ({repo_id})" if kind == "milestone" else \
            f"the PRs linked to issue {label} \u201c{title}\u201d"
        sentence = (f"The data shows {s.name} authored {len(mine)} of the {len(group)} PRs merged in the period in "
                    f"{where} ({share:.0%})")
        sentence += ", including its design document or ADR." if wrote_doc else "."
        records = [Record(noun, str(number), label, repo_id, row["project_url"], title)] if row["project_exists"] else []
        claims.append(Claim(
            "projects_led", "scope_and_ownership", sentence,
            [Figure("prs_authored", len(mine), "PRs", f"{s.context}; {noun} {title}"),
             Figure("project_prs", len(group), "PRs", f"all PRs merged in the {noun}'s project, {s.period_text}"),
             Figure("share_of_project", round(share, 2), "share", "of the project's merged PRs")],
            records + _pr_records(s, mine), strength=5 + min(len(mine), 20) / 10, subjects=[title],
        ))
    return claims


def _codeowners_patterns(content: str, identities: set[str]) -> list[str]:
    """Patterns of a CODEOWNERS text (impactlens.codeowners.parse) whose owners include one of ``identities``."""
    owned = []
    for rule in parse_codeowners(content).rules:
        if any(owner_key(o) == ("identity", i) for o in rule.owners for i in identities):
            owned.append(rule.pattern)
    return owned


def codeowners_entries(s: Subject) -> list[Claim]:
    """Paths the person is named on in CODEOWNERS (the version valid at the period's end), per repository.

    Only individual entries count (``@login`` or an email); team entries (``@org/team``) name a team."""
    files = tables.codeowners_files(s.con).filter(pl.col("valid_from") < s.end)
    if files.is_empty():
        return []
    handles = set(tables.person_identities(s.con, s.person_id))
    latest = files.sort("valid_from").group_by("repo_id", "path", maintain_order=True).last()
    claims = []
    for row in latest.sort("repo_id").iter_rows(named=True):
        patterns = _codeowners_patterns(row["content"], handles)
        if not patterns:
            continue
        sha = row["commit_sha"]
        base = s.repo_urls.get(row["repo_id"])
        url = f"{base}/blob/{sha}/{row['path']}" if base and sha else None
        record = Record("codeowners", f"{row['path']}@{sha or ''}", f"{row['repo_id']}:{row['path']}",
                        row["repo_id"], url)
        claims.append(Claim(
            "codeowners", "scope_and_ownership",
            f"CODEOWNERS in {row['repo_id']} names {s.name} as an owner of {', '.join(patterns)}.",
            [Figure("owned_paths", len(patterns), "paths", f"{row['repo_id']} CODEOWNERS valid on {s.until}")],
            [record], strength=2 + len(patterns) / 10, subjects=patterns,
        ))
    return claims


def areas_owned(s: Subject) -> list[Claim]:
    """Directories (two levels) where the person wrote the largest share of the changed lines in the period
    (metrics.ownership: generated, lockfile and vendored files excluded; at least AREA_MIN_LINES lines).
    One claim listing the top five, with the person's three largest commits in each as records."""
    owned = ownership(s.frames, Scope(start=s.start, end=s.end)).collect()
    totals = owned.group_by("repo_id", "directory").agg(pl.col("lines").sum().alias("total"))
    mine = (owned.filter((pl.col("person_key") == s.person_id) & (pl.col("rank") == 1)
                         & (pl.col("lines") >= AREA_MIN_LINES))
            .join(totals, on=["repo_id", "directory"])
            .sort(["lines", "repo_id", "directory"], descending=[True, False, False]).head(5))
    # A directory whose changed lines in the period are all tests is not an area of the codebase (lockfile,
    # generated and vendored files are already out of ownership's lines).
    period = s.frames.commits.filter(~pl.col("is_merge") & ~pl.col("author_is_bot") & s.in_period("authored_at"))
    kinds = (s.frames.commit_files.filter(~pl.col("category").is_in(list(EXCLUDED_CATEGORIES)))
             .join(period.select("commit_id"), on="commit_id", how="semi")
             .group_by(pl.col("repo_id").cast(pl.String), directory_of("path").alias("directory"))
             .agg((pl.col("category") != "test").any().alias("beyond_tests")).collect())
    mine = mine.join(kinds, on=["repo_id", "directory"], how="left").filter(pl.col("beyond_tests").fill_null(True))
    if mine.is_empty():
        return []
    commits = s.commits.filter(s.in_period("authored_at") & (pl.col("author_key") == s.person_id) & ~pl.col("is_merge"))
    files = tables.commit_file_lines(s.con, EXCLUDED_CATEGORIES)
    lines = files.join(commits.select("repo_id", "sha", "subject"), on=["repo_id", "sha"]).with_columns(
        directory_of("path").alias("directory"),
    )
    figures, records, parts, wheres = [], [], [], []
    for row in mine.iter_rows(named=True):
        where = f"{row['repo_id']}:{row['directory']}/"
        wheres.append(where)
        shown = (f"the top-level files of {row['repo_id']}" if row["directory"] == "."
                 else f"{row['directory']}/ of {row['repo_id']}")
        parts.append(f"{shown} ({row['share']:.0%} of {row['total']:,} changed lines)")
        figures.append(Figure(f"share_of_lines:{where}", round(row["share"], 2), "share",
                              f"of the {row['total']:,} lines changed in {shown} by all authors, {s.period_text}"))
        top = (lines.filter((pl.col("repo_id") == row["repo_id"]) & (pl.col("directory") == row["directory"]))
               .group_by("repo_id", "sha", "subject").agg(pl.col("lines").sum()).sort(["lines", "sha"], descending=[True, False]).head(3))
        records += [s.commit_record(r["repo_id"], r["sha"], r["subject"]) for r in top.iter_rows(named=True)]
    return [Claim(
        "areas_owned", "scope_and_ownership",
        f"The data shows {s.name} wrote the largest share of changed lines in {len(parts)} "
        f"director{'y' if len(parts) == 1 else 'ies'}: {'; '.join(parts)}.",
        figures, records, strength=2 + len(parts) / 5, subjects=wheres,
    )]


# ================================================================ technical leadership


def _documents_claim(s: Subject, categories: tuple[str, ...], kind: str, noun: str, plural: str,
                     weight: float) -> list[Claim]:
    docs = s.documents.filter(
        pl.col("category").is_in(categories) & (pl.col("author_key") == s.person_id) & s.in_period("authored_at")
        & (pl.col("action") == "created")
    ).sort("authored_at").unique(["repo_id", "path"], keep="first", maintain_order=True)
    if docs.is_empty():
        return []
    records = [s.document_record(r["repo_id"], r["sha"], r["path"], r["subject"]) for r in docs.iter_rows(named=True)]
    prs = docs.filter(pl.col("pr_number").is_not_null()).select("repo_id", pl.col("pr_number").alias("number")).unique()
    pr_rows = s.prs.join(prs, on=["repo_id", "number"], how="semi")
    previous = s.documents.filter(
        pl.col("category").is_in(categories) & (pl.col("author_key") == s.person_id)
        & s.in_period("authored_at", previous=True) & (pl.col("action") == "created")
    ).select("repo_id", "path").n_unique()
    paths = docs["path"].to_list()
    return [Claim(
        kind, "technical_leadership",
        f"The data shows {s.name} added {len(docs)} {noun if len(docs) == 1 else plural} in the period: "
        + ", ".join(f"{r} ({p})" for r, p in zip(docs["repo_id"], paths)) + ".",
        [Figure(f"{kind}", len(docs), "documents", s.context, previous=s.prev(previous))],
        records + _pr_records(s, pr_rows), strength=weight + len(docs) / 2, subjects=paths,
    )]


def adrs_authored(s: Subject) -> list[Claim]:
    """Architecture decision records the person added in the period (files of category ``adr``)."""
    return _documents_claim(s, ("adr",), "adrs_authored", "architecture decision record",
                            "architecture decision records", 4)


def design_docs_authored(s: Subject) -> list[Claim]:
    """Design docs and RFCs the person added in the period (files of category ``design_doc``)."""
    return _documents_claim(s, ("design_doc",), "design_docs_authored", "design document or RFC",
                            "design documents or RFCs", 3.5)


def design_reviews(s: Subject) -> list[Claim]:
    """Reviews the person gave in the period on others' PRs that change an ADR or design doc."""
    doc_prs = s.documents.filter(pl.col("category").is_in(["adr", "design_doc"]) & pl.col("pr_number").is_not_null())
    doc_prs = doc_prs.select("repo_id", pl.col("pr_number")).unique()
    reviews = s.reviews.filter((pl.col("reviewer_key") == s.person_id) & s.in_period("submitted_at")).join(
        doc_prs, on=["repo_id", "pr_number"], how="semi"
    )
    if reviews.is_empty():
        return []
    changes = int((reviews["state"] == "changes_requested").sum())
    reviews = reviews.join(s.review_urls, on=["repo_id", "review_id"], how="left")
    records = [Record("review", r["review_id"], f"{r['repo_id']}#{r['pr_number']} review", r["repo_id"], r["url"])
               for r in reviews.sort("submitted_at").iter_rows(named=True)]
    prs = reviews.select("repo_id", pl.col("pr_number").alias("number")).unique()
    return [Claim(
        "design_reviews", "technical_leadership",
        f"The data shows {s.name} reviewed {prs.height} PR{'s' if prs.height != 1 else ''} by others that change an "
        f"ADR or design doc ({len(reviews)} reviews, {changes} requesting changes).",
        [Figure("design_reviews", len(reviews), "reviews", s.context),
         Figure("design_changes_requested", changes, "reviews", "reviews that requested changes")],
        records + _pr_records(s, s.prs.join(prs, on=["repo_id", "number"], how="semi")),
        strength=2 + len(reviews) / 10,
    )]


# ================================================================ mentoring


def _mentees(s: Subject, start: datetime | None = None, end: datetime | None = None) -> pl.DataFrame:
    """The subject's mentees in [start, end) (default the period): :func:`impactlens.metrics.mentee_touchpoints`,
    the one per-mentee frame, kept where ``is_mentee`` (three touchpoints over two weeks)."""
    found = mentee_touchpoints(s.frames, Scope(person=s.person_id, start=start or s.start, end=end or s.end))
    return found.filter(pl.col("is_mentee")).collect()


def mentees(s: Subject) -> list[Claim]:
    """The person's mentees in the period (metrics' definition: at least three touchpoints each), with
    the touchpoints behind each. Mentees the person onboarded (reviews or comments on their first five
    PRs) or paired with (co-authored commits) are named apart from those reached through reviews only."""
    found = _mentees(s)
    if found.is_empty():
        return []
    names = _names(s, found["mentee_key"].to_list())
    previous = _mentees(s, s.previous_start, s.start).height
    close = found.filter((pl.col("onboarding") > 0) | (pl.col("pairing_commits") > 0))
    figures = [
        Figure("mentees", found.height, "engineers", s.context, previous=s.prev(previous)),
        Figure("mentees_onboarded_or_paired", close.height, "engineers",
               f"mentees with onboarding reviews or co-authored commits, {s.period_text}"),
        Figure("touchpoints", int(found["touchpoints"].sum()), "touchpoints",
               f"reviews, PR comments and co-authored commits with mentees, {s.period_text}"),
    ]
    # Only the PRs and commits behind the touchpoints (a dict of every PR and commit cost 0.15 s on the demo).
    wanted_prs = found.select(pl.col("prs").explode()).unnest("prs").drop_nulls().unique()
    wanted_prs = wanted_prs.cast({"repo_id": s.prs.schema["repo_id"], "number": s.prs.schema["number"]})
    by_key = {(r["repo_id"], r["number"]): r
              for r in s.prs.join(wanted_prs, on=["repo_id", "number"], how="semi").iter_rows(named=True)}
    wanted_commits = found.select(pl.col("commits").explode()).unnest("commits").drop_nulls().unique()
    wanted_commits = wanted_commits.cast({"repo_id": s.commits.schema["repo_id"], "sha": s.commits.schema["sha"]})
    shown = s.commits.join(wanted_commits, on=["repo_id", "sha"], how="semi")
    commit_subjects = dict(zip(zip(shown["repo_id"], shown["sha"]), shown["subject"]))
    records: list[Record] = []

    def describe(r: dict) -> str:
        return (f"{names[r['mentee_key']]} ({counted(r['touchpoints'], 'touchpoints')}: "
                f"{counted(r['reviews'], 'reviews')}, {counted(r['comments'], 'PR comments')}, "
                f"{counted(r['pairing_commits'], 'co-authored commits')}, "
                f"{r['onboarding']} on their first five PRs)")

    for r in found.iter_rows(named=True):
        figures.append(Figure(f"touchpoints:{r['mentee_key']}", r["touchpoints"], "touchpoints",
                              f"with {names[r['mentee_key']]}, {s.period_text}"))
        for p in r["prs"]:
            pr = by_key.get((p["repo_id"], p["number"]), {})
            records.append(s.pr_record(p["repo_id"], p["number"], pr.get("url"), pr.get("title")))
        records += [s.commit_record(c["repo_id"], c["sha"], commit_subjects.get((c["repo_id"], c["sha"])))
                    for c in r["commits"]]
    rest = found.filter(~pl.col("mentee_key").is_in(close["mentee_key"].implode()))
    sentence = (f"The data shows {found.height} less-experienced engineer{'s' if found.height != 1 else ''} had at least "
                f"{MENTEE_TOUCHPOINTS} mentoring touchpoints from {s.name} over at least {MENTEE_WEEKS} weeks in the period.")
    if not close.is_empty():
        sentence += " Onboarded or paired with: " + "; ".join(describe(r) for r in close.iter_rows(named=True)) + "."
    if not rest.is_empty():
        sentence += " Through reviews and comments only: " + "; ".join(describe(r) for r in rest.iter_rows(named=True)) + "."
    return [Claim("mentees", "mentoring", sentence, figures, records,
                  strength=4 + close.height + rest.height / 5, subjects=found["mentee_key"].to_list())]


def mentee_growth(s: Subject) -> list[Claim]:
    """For each mentee the person onboarded or paired with: merged PRs per week in their first GROWTH_WEEKS weeks in the data and in the
    GROWTH_WEEKS weeks up to the period's end. One claim per mentee with at least GROWTH_MIN_PRS merged PRs in each
    window (the counts are in the sentence).
    The data shows the two rates side by side; it does not show that the mentoring caused the change."""
    found = _mentees(s).filter((pl.col("onboarding") > 0) | (pl.col("pairing_commits") > 0))
    claims = []
    span = timedelta(weeks=GROWTH_WEEKS)
    names = _names(s, found["mentee_key"].to_list())
    for key in found["mentee_key"]:
        theirs = s.prs.filter((pl.col("author_key") == key))
        if theirs.is_empty():
            continue
        first = theirs["created_at"].min()
        early = theirs.filter(pl.col("merged_at").is_not_null() & (pl.col("merged_at") >= first)
                              & (pl.col("merged_at") < first + span))
        late_start = max(s.end - span, first + span)
        late = theirs.filter(pl.col("merged_at").is_not_null() & (pl.col("merged_at") >= late_start)
                             & (pl.col("merged_at") < s.end))
        if late_start >= s.end or min(len(early), len(late)) < GROWTH_MIN_PRS:
            continue  # a rate over one or two PRs is noise, not growth
        late_weeks = (s.end - late_start).days / 7
        early_rate, late_rate = round(len(early) / GROWTH_WEEKS, 1), round(len(late) / late_weeks, 1)
        claims.append(Claim(
            "mentee_growth", "mentoring",
            f"The data shows {names[key]}, mentored by {s.name}, merged {early_rate} PRs per week in their first "
            f"{GROWTH_WEEKS} weeks in the data (from {first:%Y-%m-%d}; {counted(len(early), 'PRs')}) and {late_rate} "
            f"per week in the {late_weeks:.0f} weeks to {s.until} ({counted(len(late), 'PRs')}).",
            [Figure(f"mentee_prs_per_week:{key}", late_rate, "PRs per week",
                    f"{names[key]}'s merged PRs, {late_start:%Y-%m-%d} to {s.until}", previous=early_rate,
                    previous_label=f"first {GROWTH_WEEKS} weeks in the data")],
            _pr_records(s, late), strength=2 + max(late_rate - early_rate, 0), subjects=[key],
        ))
    return claims


# ================================================================ operational excellence


def _incidents_with_role(s: Subject, role: str, previous: bool = False) -> pl.DataFrame:
    roles = incident_roles(s.frames).filter((pl.col("person_key") == s.person_id) & (pl.col("role") == role))
    facts = incident_facts(s.frames).join(roles.select("incident_id"), on="incident_id", how="semi").collect()
    return facts.filter(s.in_period("opened_at", previous))


def _incident_records(frame: pl.DataFrame) -> list[Record]:
    return [Record("incident", r["incident_id"], r["incident_id"], r["repo_id"], r["url"], r["title"])
            for r in frame.sort("opened_at").iter_rows(named=True)]


def _team_incidents(s: Subject) -> int:
    """Incidents opened in the period that any member of the person's teams led or responded to."""
    team_ids = [t for t, _, _ in s.teams]
    if not team_ids:
        return 0
    members = s.frames.memberships.filter(pl.col("team_id").is_in(team_ids)).collect()["person_key"].unique()
    roles = incident_roles(s.frames).filter(pl.col("person_key").is_in(members.to_list())).collect()
    return roles.filter(s.in_period("opened_at"))["incident_id"].n_unique()


def incidents_led(s: Subject) -> list[Claim]:
    """Incidents opened in the period with the person as commander (incident lead), their time to restore
    and how many have a postmortem; context: the incidents the person's team(s) took part in."""
    led = _incidents_with_role(s, "commander")
    if led.is_empty():
        return []
    before = _incidents_with_role(s, "commander", previous=True)
    team_total = _team_incidents(s)
    postmortems = int(led["has_postmortem"].sum())
    mttr, mttr_before = _median(led["time_to_restore_hours"]), _median(before["time_to_restore_hours"])
    open_now = int(led["is_open"].sum())
    sentence = (f"The data shows {s.name} led {len(led)} incident response{'s' if len(led) != 1 else ''} in the period "
                f"(of {team_total} incidents the team took part in), {postmortems} with a postmortem; median time to "
                f"restore {mttr if mttr is not None else 'n/a'} hours")
    sentence += f" ({open_now} still open)." if open_now else "."
    return [Claim(
        "incidents_led", "operational_excellence", sentence,
        [Figure("incidents_led", len(led), "incidents", f"{s.context}; on-call share: {len(led)} of {team_total} "
                "team incidents", previous=s.prev(len(before))),
         Figure("incidents_led_with_postmortem", postmortems, "incidents", "led incidents with a postmortem link"),
         Figure("incidents_led_mttr_median", mttr, "hours", "median time to restore of the incidents led",
                previous=s.prev(mttr_before))],
        _incident_records(led), strength=3 + len(led) / 5 + postmortems / 5,
    )]


def incidents_responded(s: Subject) -> list[Claim]:
    """Incidents opened in the period in which the person was a responder (not the commander)."""
    responded = _incidents_with_role(s, "responder")
    if responded.is_empty():
        return []
    before = _incidents_with_role(s, "responder", previous=True)
    return [Claim(
        "incidents_responded", "operational_excellence",
        f"The data shows {s.name} responded to {len(responded)} incident{'s' if len(responded) != 1 else ''} "
        f"led by someone else in the period (of {_team_incidents(s)} incidents the team took part in).",
        [Figure("incidents_responded", len(responded), "incidents", s.context, previous=s.prev(len(before)))],
        _incident_records(responded), strength=1.5 + len(responded) / 10,
    )]


def postmortems_written(s: Subject) -> list[Claim]:
    """Postmortem documents the person added in the period (files of category ``postmortem``)."""
    claims = _documents_claim(s, ("postmortem",), "postmortems_written", "postmortem", "postmortems", 2.5)
    for claim in claims:
        claim.section = "operational_excellence"
    return claims


def runbooks_written(s: Subject) -> list[Claim]:
    """Runbooks the person added or changed in the period, and the MTTR of their repository's incidents in
    the RUNBOOK_WINDOW_DAYS days before and after the first of them (the after-window ends at the period's
    end). The data shows the two figures side by side; it does not show that the runbook caused the change."""
    docs = s.documents.filter(
        (pl.col("category") == "runbook") & (pl.col("author_key") == s.person_id) & s.in_period("authored_at")
    ).sort("authored_at").unique(["repo_id", "path"], keep="first", maintain_order=True)
    if docs.is_empty():
        return []
    records = [s.document_record(r["repo_id"], r["sha"], r["path"], r["subject"]) for r in docs.iter_rows(named=True)]
    first = docs.row(0, named=True)
    repo, at = first["repo_id"], first["authored_at"]
    window = timedelta(days=RUNBOOK_WINDOW_DAYS)
    facts = incident_facts(s.frames).filter(pl.col("repo_id") == repo).collect()
    before = facts.filter((pl.col("opened_at") >= at - window) & (pl.col("opened_at") < at))
    after = facts.filter((pl.col("opened_at") >= at) & (pl.col("opened_at") < min(at + window, s.end)))
    figures = [Figure("runbooks", len(docs), "documents", s.context)]
    sentence = (f"The data shows {s.name} added or changed {len(docs)} runbook file{'s' if len(docs) != 1 else ''} in the period: "
                + ", ".join(f"{r}:{p}" for r, p in zip(docs["repo_id"], docs["path"])) + ".")
    m_before, m_after = _median(before["time_to_restore_hours"]), _median(after["time_to_restore_hours"])
    if m_before is not None and m_after is not None:
        sentence += (f" Median time to restore of {repo}'s incidents was {m_before} hours over {len(before)} incidents "
                     f"in the {RUNBOOK_WINDOW_DAYS} days before {at:%Y-%m-%d} and {m_after} hours over {len(after)} "
                     "incidents after it" + (" (few incidents: within the noise)." if min(len(before), len(after)) < 3 else "."))
        figures.append(Figure("repo_mttr_after_runbook", m_after, "hours",
                              f"median time to restore, {repo}, {len(after)} incidents after {at:%Y-%m-%d} "
                              f"vs {len(before)} before", previous=m_before,
                              previous_label=f"{RUNBOOK_WINDOW_DAYS} days before"))
        records += _incident_records(pl.concat([before, after]))
    return [Claim("runbooks_written", "operational_excellence", sentence, figures, records,
                  strength=3 + len(docs) / 4, subjects=docs["path"].to_list())]


# ================================================================ delivery outcomes


def delivery_figures(s: Subject) -> list[Claim]:
    """The person's merged PRs in the period with their median cycle time to merge, time to first review
    and size (changed lines), beside the same figures for the previous period (metrics.pr_facts)."""
    mine = s.prs.filter((pl.col("author_key") == s.person_id) & pl.col("merged_at").is_not_null())
    now, before = mine.filter(s.in_period("merged_at")), mine.filter(s.in_period("merged_at", previous=True))
    if now.is_empty():
        return []
    weeks = s.days / 7

    def med(frame: pl.DataFrame, col: str) -> float | None:
        return _median(frame[col])

    figures = [
        Figure("prs_merged", len(now), "PRs", s.context, previous=s.prev(len(before))),
        Figure("prs_merged_per_week", round(len(now) / weeks, 1), "PRs per week", s.context,
               previous=s.prev(round(len(before) / weeks, 1))),
        Figure("median_cycle_time_to_merge_hours", med(now, "cycle_time_to_merge_hours"), "hours",
               "median, first commit to merge, the person's PRs", previous=s.prev(med(before, "cycle_time_to_merge_hours"))),
        Figure("median_time_to_first_review_hours", med(now, "time_to_first_review_hours"), "hours",
               "median wait for a first human review of the person's PRs",
               previous=s.prev(med(before, "time_to_first_review_hours"))),
        Figure("median_pr_size_lines", med(now, "changed_lines"), "lines",
               "median changed lines per PR (generated, lockfile and vendored files excluded)",
               previous=s.prev(med(before, "changed_lines"))),
    ]
    text = "; ".join(f"median {DELIVERY_LABELS[f.name].removeprefix('Median ')}: {f.text()}" for f in figures[2:])
    return [Claim(
        "delivery_figures", "delivery_outcomes",
        f"The data shows {s.name} merged {len(now)} PRs in the period"
        + (f" ({len(before)} in the previous period of equal length)" if s.previous_covered else "")
        + f"; {text}.",
        figures, _pr_records(s, now), strength=1.5 + min(len(now), 50) / 50,
    )]


def owned_repo_delivery(s: Subject) -> list[Claim]:
    """DORA deployment frequency and change failure rate (metrics.deployment_facts) of the person's main
    repository: the one holding most of the person's merged PRs in the period (at least PROJECT_MIN_PRS),
    beside the previous period. The data shows the figures of the repository the person works in most,
    not that the person caused them."""
    merged = s.prs.filter(s.in_period("merged_at") & (pl.col("author_key") == s.person_id))
    if merged.height < PROJECT_MIN_PRS:
        return []
    counts = merged.group_by("repo_id").agg(pl.len().alias("prs")).sort(["prs", "repo_id"], descending=[True, False])
    mine = counts.head(1).with_columns(pl.lit(merged.height).alias("total"))
    facts = deployment_facts(s.frames).collect()
    urls = dict(zip(*tables.deployment_urls(s.con).to_dict(as_series=False).values()))
    weeks = s.days / 7
    claims = []
    for row in mine.iter_rows(named=True):
        repo = row["repo_id"]
        now = facts.filter((pl.col("repo_id") == repo) & s.in_period("deployed_at"))
        before = facts.filter((pl.col("repo_id") == repo) & s.in_period("deployed_at", previous=True))
        if now.is_empty():
            continue

        def cfr(frame: pl.DataFrame) -> float | None:
            return round(float(frame["failed"].mean()), 3) if len(frame) else None

        context = (f"{repo}, successful production deployments, {s.period_text}; {row['prs']} of the person's "
                   f"{row['total']} merged PRs are in it")
        figures = [
            Figure("deployments_per_week", round(len(now) / weeks, 1), "deployments per week", context,
                   previous=s.prev(round(len(before) / weeks, 1))),
            Figure("change_failure_rate", cfr(now), "share", "deployments with an attributed incident, revert or "
                   f"hotfix over all deployments, {repo}", previous=s.prev(cfr(before))),
        ]
        ordered = now.sort(["failed", "deployed_at"], descending=[True, False])
        records = [Record("deployment", d["deployment_id"], f"{repo} deployment {d['deployment_id']}", repo,
                          urls.get(d["deployment_id"]), "failed" if d["failed"] else None)
                   for d in ordered.iter_rows(named=True)]
        claims.append(Claim(
            "owned_repo_delivery", "delivery_outcomes",
            f"In {repo}, where {s.name} merged {row['prs']} of their {row['total']} PRs in the period, the data shows "
            f"{figures[0].text()} to production and a change failure rate of {figures[1].text()}.",
            figures, records, strength=1.5 + min(row["prs"] / row["total"], 1), subjects=[repo],
        ))
    return claims


def commits_landed(s: Subject) -> list[Claim]:
    """Git delivery evidence, for every warehouse (first-class when no PR data was collected): the person's
    non-merge commits on the collected branch authored in the period (author date, UTC), commits per week
    (over the period's weeks), weeks with a commit, changed lines by file category (generated, lockfile and
    vendored files left out), and commits co-authored with other people (``Co-authored-by`` trailers either
    way). Bots' commits are never the person's. Definition: docs/metrics.md, "Commits landed"."""
    commits = s.frames.commits.filter(~pl.col("is_merge") & ~pl.col("author_is_bot")).collect()
    mine = commits.filter((pl.col("author_key") == s.person_id) & s.in_period("authored_at"))
    if mine.is_empty():
        return []
    before = commits.filter((pl.col("author_key") == s.person_id) & s.in_period("authored_at", previous=True))
    files = s.frames.commit_files.filter(~pl.col("category").is_in(list(EXCLUDED_CATEGORIES))).join(
        mine.lazy().select("commit_id"), on="commit_id", how="semi").collect()
    lines = files.group_by("category").agg((pl.col("additions").fill_null(0) + pl.col("deletions").fill_null(0))
                                            .sum().alias("lines")).sort(["lines", "category"], descending=[True, False])
    per_commit = files.group_by("commit_id").agg((pl.col("additions").fill_null(0) + pl.col("deletions").fill_null(0))
                                                 .sum().alias("lines"))
    weeks = s.days / 7
    active = mine.select(pl.col("authored_at").dt.truncate("1w")).n_unique()
    coauthors = s.frames.coauthors.filter(~pl.col("coauthor_is_bot")).collect()
    period_commits = commits.filter(s.in_period("authored_at")).select("commit_id", "author_key")
    with_me = coauthors.join(period_commits, on="commit_id")
    partners = set(with_me.filter(pl.col("author_key") == s.person_id)["coauthor_key"].drop_nulls()) | set(
        with_me.filter(pl.col("coauthor_key") == s.person_id)["author_key"].drop_nulls())
    partners.discard(s.person_id)
    shared = with_me.filter(((pl.col("author_key") == s.person_id) & (pl.col("coauthor_key") != s.person_id))
                            | (pl.col("coauthor_key") == s.person_id) & (pl.col("author_key") != s.person_id))
    total_lines = int(lines["lines"].sum()) if len(lines) else 0
    by_category = ", ".join(f"{r['category']} {r['lines']:,}" for r in lines.iter_rows(named=True))
    repos = sorted(set(mine["repo_id"]))
    context = f"{s.context}; non-merge commits on the collected branch of {', '.join(repos)}"
    figures = [
        Figure("commits_landed", len(mine), "commits", context, previous=s.prev(len(before))),
        Figure("commits_landed_per_week", round(len(mine) / weeks, 1), "commits per week", context,
               previous=s.prev(round(len(before) / weeks, 1))),
        Figure("active_weeks", active, "weeks", f"weeks with at least one commit, of {weeks:.0f} in the period"),
        Figure("lines_changed", total_lines, "lines", "additions + deletions of those commits, generated, "
               "lockfile and vendored files excluded"),
    ]
    if partners:
        figures.append(Figure("coauthored_commits", shared["commit_id"].n_unique(), "commits",
                              f"commits with a Co-authored-by trailer shared with {len(partners)} other "
                              f"{'person' if len(partners) == 1 else 'people'}"))
    subjects = s.commits.select("repo_id", "sha", "subject")
    ranked = mine.join(per_commit, on="commit_id", how="left").join(subjects, on=["repo_id", "sha"], how="left").sort(
        [pl.col("lines").fill_null(0), "authored_at", "sha"], descending=[True, False, False])
    records = [s.commit_record(r["repo_id"], r["sha"], r["subject"]) for r in ranked.iter_rows(named=True)]
    sentence = (f"The data shows {s.name} landed {counted(len(mine), 'commits')} in {', '.join(repos)} in the period"
                + (f" ({len(before):,} in the previous period of equal length)" if s.previous_covered else "")
                + f", {figures[1].value:g} per week, in {active} of {weeks:.0f} weeks"
                + (f"; changed lines by kind: {by_category}" if by_category else "")
                + (f"; {figures[-1].value} of them co-authored with {len(partners)} other "
                   f"{'person' if len(partners) == 1 else 'people'}" if partners else "") + ".")
    return [Claim("commits_landed", "delivery_outcomes", sentence, figures, records,
                  strength=1.2 + min(len(mine), 100) / 100, subjects=repos)]


def changes_landed(s: Subject) -> list[Claim]:
    """Delivery in repositories whose pull requests were collected, however the changes landed: the person's
    merged PRs (merge time in the period) plus their *direct commits*, non-merge commits authored in the period
    (UTC) that belong to no PR (:func:`impactlens.metrics.pr.pr_commits`: neither naming a PR number nor on a
    merged PR's side branch), counted only from the repository's first collected PR onwards (earlier commits
    may belong to PRs that were not collected). Bots' commits are never the person's. A maintainer who pushes
    most changes straight to the default branch is judged on those too, not only on the PRs they opened.
    Figures: changes_landed (changes), changes_landed_per_week (changes / (days / 7)), direct_commits
    (commits). Definition: docs/metrics.md, "Changes landed"."""
    from impactlens.metrics.pr import pr_commits

    cov = s.coverage.filter((pl.col("source") == "pull_requests") & pl.col("collected") & pl.col("first_at").is_not_null())
    since = dict(zip(cov["repo_id"], cov["first_at"]))
    if not since:
        return []
    repos = sorted(since)
    merged = s.prs.filter((pl.col("author_key") == s.person_id) & pl.col("merged_at").is_not_null()
                          & pl.col("repo_id").cast(pl.String).is_in(repos))
    prs_now, prs_before = merged.filter(s.in_period("merged_at")), merged.filter(s.in_period("merged_at", previous=True))
    starts = pl.DataFrame({"repo_id": repos, "_from": [since[r] for r in repos]})
    direct = (
        s.frames.commits.filter(~pl.col("is_merge") & ~pl.col("author_is_bot") & (pl.col("author_key") == s.person_id))
        .join(pr_commits(s.frames).select("commit_id"), on="commit_id", how="anti")
        .with_columns(pl.col("repo_id").cast(pl.String))
        .join(starts.lazy(), on="repo_id", how="inner").filter(pl.col("authored_at") >= pl.col("_from"))
        .collect()
    )
    direct_now, direct_before = direct.filter(s.in_period("authored_at")), direct.filter(s.in_period("authored_at", previous=True))
    changes, changes_before = prs_now.height + direct_now.height, prs_before.height + direct_before.height
    if changes == 0:
        return []
    weeks = s.days / 7
    context = f"{s.context}; merged PRs and commits without a PR in {', '.join(repos)}"
    figures = [
        Figure("changes_landed", changes, "changes", context, previous=s.prev(changes_before)),
        Figure("changes_landed_per_week", round(changes / weeks, 1), "changes per week", context,
               previous=s.prev(round(changes_before / weeks, 1))),
        Figure("direct_commits", direct_now.height, "commits", "non-merge commits that belong to no PR",
               previous=s.prev(direct_before.height)),
    ]
    subjects = s.commits.select("repo_id", "sha", "subject")
    records = _pr_records(s, prs_now) + [
        s.commit_record(r["repo_id"], r["sha"], r["subject"])
        for r in direct_now.join(subjects, on=["repo_id", "sha"], how="left").sort("authored_at", "sha").iter_rows(named=True)]
    sentence = (f"The data shows {s.name} landed {counted(changes, 'changes')} in the period"
                + (f" ({changes_before:,} in the previous period of equal length)" if s.previous_covered else "")
                + f", {figures[1].value:g} per week: {counted(prs_now.height, 'merged PRs')} and "
                + f"{counted(direct_now.height, 'commits')} pushed without a PR.")
    return [Claim("changes_landed", "delivery_outcomes", sentence, figures, records,
                  strength=1.3 + min(changes, 100) / 100, subjects=repos)]


def others_changes_landed(s: Subject) -> list[Claim]:
    """Git review evidence, for every warehouse (first-class when no review data was collected): other
    people's non-merge commits the person committed in the period (committer date, UTC; a maintainer who
    applies, rebases or cherry-picks a contributor's change is its committer, GitHub's web merges are
    committed by the bot ``noreply@github.com`` and count for nobody), and commits by others whose message
    names the person in a ``Reviewed-by:``, ``Acked-by:`` or ``Tested-by:`` trailer (by author date). Bots'
    commits are left out. Definition: docs/metrics.md, "Changes landed for others"."""
    commits = s.frames.commits.filter(~pl.col("is_merge") & ~pl.col("author_is_bot")
                                      & (pl.col("author_key") != s.person_id)).collect()
    committed = commits.filter((pl.col("committer_key") == s.person_id) & s.in_period("committed_at"))
    named = s.frames.trailer_reviewers.filter(pl.col("reviewer_key") == s.person_id).collect()
    trailed = commits.filter(s.in_period("authored_at")).join(named.select("commit_id", "trailer"), on="commit_id")
    if committed.is_empty() and trailed.is_empty():
        return []
    authors = set(committed["author_key"].drop_nulls()) | set(trailed["author_key"].drop_nulls())
    repos = sorted(set(committed["repo_id"]) | set(trailed["repo_id"]))
    figures = []
    parts = []
    if len(committed):
        before = commits.filter((pl.col("committer_key") == s.person_id) & s.in_period("committed_at", previous=True))
        figures.append(Figure("others_commits_landed", len(committed), "commits",
                              f"{s.context}; other people's commits with {s.name} as committer (git)",
                              previous=s.prev(len(before))))
        parts.append(f"landed {counted(len(committed), 'commits')} by "
                     f"{counted(committed['author_key'].n_unique(), 'other people')} as their committer")
    if len(trailed):
        kinds = ", ".join(f"{k} {n}" for k, n in trailed.group_by("trailer").len().sort("trailer").iter_rows())
        figures.append(Figure("review_trailers", trailed["commit_id"].n_unique(), "commits",
                              f"{s.context}; others' commits naming {s.name} in a trailer ({kinds})"))
        parts.append(f"is named in a review trailer ({kinds}) of {counted(trailed['commit_id'].n_unique(), 'commits')} "
                     f"by {counted(trailed['author_key'].n_unique(), 'other people')}")
    figures.append(Figure("others_authors_landed", len(authors), "people",
                          "distinct authors of those commits (bots left out)"))
    subjects = s.commits.select("repo_id", "sha", "subject")
    chosen = pl.concat([committed.select("repo_id", "sha", "committed_at"),
                        trailed.select("repo_id", "sha", pl.col("authored_at").alias("committed_at"))]
                       ).unique(["repo_id", "sha"])
    records = [s.commit_record(r["repo_id"], r["sha"], r["subject"])
               for r in chosen.join(subjects, on=["repo_id", "sha"], how="left").sort("committed_at", "sha")
               .iter_rows(named=True)]
    sentence = (f"The data shows {s.name} " + "; and ".join(parts) + f" in {', '.join(repos)} in the period"
                + (f" ({counted(len(authors), 'people')} in all)" if len(parts) > 1 else "") + ".")
    return [Claim("others_changes_landed", "collaboration_breadth", sentence, figures, records,
                  strength=1 + min(len(authors), 20) / 20, subjects=repos)]


# ================================================================ collaboration breadth


def collaboration_breadth(s: Subject) -> list[Claim]:
    """Repositories the person merged PRs in or reviewed in, distinct authors reviewed and their teams
    (reviews on bots' PRs are left out)."""
    merged = s.prs.filter((pl.col("author_key") == s.person_id) & s.in_period("merged_at"))
    human_prs = s.prs.filter(~pl.col("author_is_bot")).select("repo_id", pl.col("number").alias("pr_number"))
    reviews = s.reviews.filter((pl.col("reviewer_key") == s.person_id) & s.in_period("submitted_at")).join(
        human_prs, on=["repo_id", "pr_number"], how="semi")
    repos = sorted(set(merged["repo_id"]) | set(reviews["repo_id"]))
    if not repos:
        return []
    authors = sorted(set(reviews["author_key"].drop_nulls()))
    members = s.frames.memberships.collect()
    reviewed_teams = sorted(set(members.filter(pl.col("person_key").is_in(authors))["team_id"]))
    names = tables.team_names(s.con)
    # One record per repository (a merged PR or a review) and one reviewed PR per author.
    records: list[Record] = []
    seen: set[tuple[str, int]] = set()
    picks = reviews.sort("submitted_at").unique("author_key", keep="first", maintain_order=True)
    for repo in repos:
        pr = merged.filter(pl.col("repo_id") == repo).head(1)
        if pr.is_empty():
            pr = s.prs.join(reviews.filter(pl.col("repo_id") == repo).head(1)
                            .select("repo_id", pl.col("pr_number").alias("number")), on=["repo_id", "number"])
        picks_repo = pr.select("repo_id", "number")
        for r in picks_repo.iter_rows(named=True):
            seen.add((r["repo_id"], r["number"]))
    for r in picks.iter_rows(named=True):
        seen.add((r["repo_id"], r["pr_number"]))
    chosen = s.prs.join(pl.DataFrame(list(seen), schema={"repo_id": pl.String, "number": pl.Int32}, orient="row"),
                        on=["repo_id", "number"], how="semi")
    records = _pr_records(s, chosen)
    return [Claim(
        "collaboration_breadth", "collaboration_breadth",
        f"The data shows {s.name} merged or reviewed PRs in {len(repos)} repositor{'y' if len(repos) == 1 else 'ies'} "
        f"({', '.join(repos)}) and reviewed the work of {len(authors)} people in {len(reviewed_teams)} "
        f"team{'s' if len(reviewed_teams) != 1 else ''} ({', '.join(names.get(t, t) for t in reviewed_teams) or 'none'}).",
        [Figure("repositories", len(repos), "repositories", s.context),
         Figure("authors_reviewed", len(authors), "people", s.context, previous=s.prev(s.reviews.filter(
             (pl.col("reviewer_key") == s.person_id) & s.in_period("submitted_at", previous=True)).join(
             human_prs, on=["repo_id", "pr_number"], how="semi")["author_key"].drop_nulls().n_unique())),
         Figure("teams_reviewed", len(reviewed_teams), "teams", f"teams of the authors reviewed, {s.period_text}")],
        records, strength=1 + len(authors) / 20,
    )]


#: Every figure name a claim can carry (a rubric names figures by these), with what it counts.
#: Names ending in ":" are prefixes followed by a key (a mentee, a directory).
FIGURES: dict[str, str] = {
    "prs_authored": "PRs the person authored in a project they led (projects_led)",
    "project_prs": "PRs merged in that project (milestone or issue) by everyone",
    "share_of_project": "the person's share of the project's merged PRs (0-1)",
    "owned_paths": "CODEOWNERS patterns naming the person",
    "share_of_lines:": "the person's share of a directory's changed lines (0-1)",
    "adrs_authored": "ADRs the person added",
    "design_docs_authored": "design docs and RFCs the person added",
    "design_reviews": "reviews on others' PRs that change an ADR or design doc",
    "design_changes_requested": "of those, reviews requesting changes",
    "mentees": "people with at least three mentoring touchpoints from the person",
    "mentees_onboarded_or_paired": "mentees the person onboarded or paired with",
    "touchpoints": "mentoring touchpoints with mentees",
    "touchpoints:": "touchpoints with one mentee",
    "mentee_prs_per_week:": "a mentee's merged PRs per week in the weeks to the period's end",
    "incidents_led": "incidents the person commanded",
    "incidents_led_with_postmortem": "incidents commanded that have a postmortem link",
    "incidents_led_mttr_median": "median time to restore of the incidents commanded (hours)",
    "incidents_responded": "incidents the person responded to (not as commander)",
    "postmortems_written": "postmortem documents the person added",
    "runbooks": "runbook files the person added or changed",
    "repo_mttr_after_runbook": "median time to restore in the runbook's repository after it (hours)",
    "prs_merged": "the person's merged PRs",
    "commits_landed": "the person's non-merge commits on the collected branch (git)",
    "commits_landed_per_week": "those commits per week of the period",
    "active_weeks": "weeks with at least one of those commits",
    "lines_changed": "changed lines of those commits (generated, lockfile, vendored excluded)",
    "coauthored_commits": "commits co-authored with other people (Co-authored-by trailers)",
    "others_commits_landed": "other people's commits with the person as committer (git)",
    "review_trailers": "others' commits naming the person in a Reviewed-by, Acked-by or Tested-by trailer",
    "others_authors_landed": "distinct authors of those commits",
    "prs_merged_per_week": "the person's merged PRs per week",
    "changes_landed": "merged PRs plus commits without a PR, in repositories whose PRs were collected",
    "changes_landed_per_week": "those changes per week of the period",
    "direct_commits": "non-merge commits that belong to no PR, in repositories whose PRs were collected",
    "median_cycle_time_to_merge_hours": "median cycle time to merge of the person's PRs (hours)",
    "median_time_to_first_review_hours": "median wait for a first review of the person's PRs (hours)",
    "median_pr_size_lines": "median changed lines of the person's PRs",
    "deployments_per_week": "production deployments per week of a repository the person authored most PRs in",
    "change_failure_rate": "change failure rate of that repository (0-1)",
    "repositories": "repositories the person merged or reviewed PRs in",
    "authors_reviewed": "distinct people whose PRs the person reviewed",
    "teams_reviewed": "teams of the authors reviewed",
}


def known_figure(name: str) -> bool:
    """Whether ``name`` is a figure of :data:`FIGURES` (or a prefixed one such as ``touchpoints:leo``)."""
    return name in FIGURES or any(p.endswith(":") and name.startswith(p) for p in FIGURES)


#: The sources (impactlens.coverage.SOURCES) a claim or figure is measured from: it can be judged when
#: the warehouse holds any of them for the person's repositories. Names not listed need nothing special.
NEEDS: dict[str, tuple[str, ...]] = {
    **{name: ("pull_requests",) for name in (
        "projects_led", "prs_authored", "project_prs", "share_of_project", "prs_merged", "prs_merged_per_week",
        "median_cycle_time_to_merge_hours", "median_pr_size_lines", "delivery_figures", "mentee_prs_per_week:",
        "changes_landed", "changes_landed_per_week", "direct_commits",
        "mentee_growth", "repositories")},
    **{name: ("reviews",) for name in (
        "design_reviews", "design_changes_requested", "mentees", "mentees_onboarded_or_paired", "touchpoints",
        "touchpoints:", "median_time_to_first_review_hours", "authors_reviewed", "teams_reviewed",
        "collaboration_breadth")},
    **{name: ("incidents",) for name in (
        "incidents_led", "incidents_led_with_postmortem", "incidents_led_mttr_median", "incidents_responded",
        "repo_mttr_after_runbook")},
    **{name: ("deployments",) for name in ("deployments_per_week", "change_failure_rate", "owned_repo_delivery")},
    **{name: ("git",) for name in (
        "areas_owned", "share_of_lines:", "adrs_authored", "design_docs_authored", "postmortems_written", "runbooks",
        "runbooks_written", "commits_landed", "commits_landed_per_week", "active_weeks", "lines_changed",
        "coauthored_commits", "others_changes_landed", "others_commits_landed", "review_trailers",
        "others_authors_landed")},
}
#: Sources each packet section draws on (a section with no claim says which of them are missing).
SECTION_NEEDS: dict[str, tuple[str, ...]] = {
    "scope_and_ownership": ("git", "pull_requests"), "technical_leadership": ("git", "reviews"),
    "mentoring": ("reviews",), "operational_excellence": ("incidents", "git"),
    "delivery_outcomes": ("git", "pull_requests", "deployments"), "collaboration_breadth": ("git", "pull_requests", "reviews"),
}


def needs(name: str) -> tuple[str, ...]:
    """The sources :data:`NEEDS` gives ``name`` (prefixed names such as ``touchpoints:leo`` by their prefix)."""
    if name in NEEDS:
        return NEEDS[name]
    return next((v for k, v in NEEDS.items() if k.endswith(":") and name.startswith(k)), ())


#: Every claim function, in packet order. A rubric names claims by these keys.
CLAIM_FUNCTIONS: dict[str, Callable[[Subject], list[Claim]]] = {
    "projects_led": projects_led,
    "codeowners": codeowners_entries,
    "areas_owned": areas_owned,
    "adrs_authored": adrs_authored,
    "design_docs_authored": design_docs_authored,
    "design_reviews": design_reviews,
    "mentees": mentees,
    "mentee_growth": mentee_growth,
    "incidents_led": incidents_led,
    "incidents_responded": incidents_responded,
    "postmortems_written": postmortems_written,
    "runbooks_written": runbooks_written,
    "delivery_figures": delivery_figures,
    "owned_repo_delivery": owned_repo_delivery,
    "commits_landed": commits_landed,
    "changes_landed": changes_landed,
    "others_changes_landed": others_changes_landed,
    "collaboration_breadth": collaboration_breadth,
}


def all_claims(s: Subject) -> list[Claim]:
    """Every claim the data supports for ``s``, in packet order."""
    out: list[Claim] = []
    for build in CLAIM_FUNCTIONS.values():
        out += build(s)
    return out

