"""The person and team stage of ``--engine spark``: the cross-repository tables, computed per bucket of people or
teams by the unchanged metric functions (docs/scale.md "The bucket stage").

A person's throughput and mentoring, a team's review load and DORA keys read several repositories. They group by
one person or one team, so they shard by ``hash(key) % n`` (:func:`bucket_of`), once each bucket holds every row
its people or teams need and the few facts that need the whole organisation are given to it whole:

1. **Per repository** (the first stage, next to the repo-local tables): :func:`route` cuts the frames these
   tables read into buckets (a row goes to every bucket that needs it), and :func:`partials` computes the three
   organisation-wide facts over the repository's rows: each person's experience start, each author's first
   PRs, the periods with a review.
2. **Reduced once** (:func:`reduce`, on the driver): experience is the minimum of the repositories' minima; the
   onboarding PRs are the first five of the union of each repository's first five; the review periods are the
   union. These are small (a row per person, at most five per author, a row per month).
3. **Per bucket**: :func:`bucket_frames` builds :class:`~impactlens.metrics.frames.Frames` whose frames are the
   bucket's rows and the reduced facts (:meth:`~impactlens.metrics.frames.Frames.seed`), and :func:`run` runs
   the tables' builds (metrics/job.py) and keeps the rows of the bucket's people or teams.

Which rows a bucket needs, by table (``p`` buckets by person, ``t`` by team):

- throughput (person): the PRs they authored (``pr_facts``, with ``reverted`` worked out per repository), the
  reviews they gave (``human_reviews``: the self-review rule already applied per repository), the commits they
  authored and those commits' files;
- touchpoints and mentoring (the mentor): their reviews and PR comments, the PRs they commented on (for the
  author), the commits they authored or co-authored with every co-author; experience and the onboarding PRs
  whole;
- review load and shares (team): the reviews given by the team's members at the time (team history), the
  review periods whole;
- DORA per team: the deployed changes of the team's members at landing time, the deployments that shipped them
  and the incidents of those deployments. Only while incidents are repo-local
  (:func:`~impactlens.metrics.job.incidents_cross_repositories`); else the job computes it in the driver.

Spark-free: :mod:`impactlens.metrics.spark` moves these frames as Arrow batches.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import polars as pl

from impactlens import config as config_mod
from impactlens.metrics.dora import changes, deployment_facts
from impactlens.metrics.frames import Frames, from_arrow, with_team
from impactlens.metrics.incidents import incident_facts
from impactlens.metrics.mentoring import experience, first_prs, human_prs, merge_experience, onboarding
from impactlens.metrics.pr import pr_facts
from impactlens.metrics.review import human_reviews, review_periods

#: The person tables and the column naming the person a row is of.
PERSON_TABLES = {
    "metric_throughput_weekly": "person_key", "metric_touchpoints": "mentor_key",
    "metric_mentoring_monthly": "person_key",
}
#: The team tables and their team column.
TEAM_TABLES = {
    "metric_review_load_monthly": "team_id", "metric_review_shares_monthly": "team_id",
    "metric_dora_team_monthly": "team_id",
}
#: Every table this stage computes: table -> the key column its rows are bucketed by.
BUCKETED = {**PERSON_TABLES, **TEAM_TABLES}

def bucket_of(column: str, n: int) -> pl.Expr:
    """The bucket (u32, 0..n-1) of the key in ``column`` (a person key or team id, coded or str): a hash of its
    text modulo ``n``; a null key (a deleted account) is in bucket 0. Stable within one Polars version, which the
    driver and every task share."""
    key = pl.col(column).cast(pl.String)
    return pl.when(key.is_null()).then(pl.lit(0, pl.UInt64)).otherwise(key.hash(seed=0) % n).cast(pl.UInt32)


def _bucketed(frame: pl.LazyFrame, kind: str, targets: Callable[[pl.LazyFrame], pl.LazyFrame]) -> pl.LazyFrame:
    """``frame``'s rows once per bucket ``targets`` names for them, with ``_bucket`` (str: kind and number, e.g.
    'p2'). ``targets`` maps ``frame`` with ``_row`` (its row index) to rows (_row, _b: a bucket)."""
    indexed = frame.with_row_index("_row").collect().lazy()
    return indexed.join(targets(indexed).unique(), on="_row", how="inner").with_columns(_label(kind)).drop("_row", "_b")


def _label(kind: str) -> pl.Expr:
    """``_bucket`` (str, e.g. 'p2'): the bucket kind and the number in ``_b``."""
    return (pl.lit(kind) + pl.col("_b").cast(pl.String)).alias("_bucket")


def _of(column: str, n: int) -> Callable[[pl.LazyFrame], pl.LazyFrame]:
    """The targets of :func:`_bucketed` that send each row to the bucket of its key in ``column``."""
    return lambda indexed: indexed.select("_row", bucket_of(column, n).alias("_b"))


def route(frames: Frames, n: int, *, dora_team: bool = True) -> dict[str, pl.DataFrame]:
    """The rows of ``frames`` (one repository's, in the first stage) each bucket needs (module docstring).

    Args:
        frames: a repository's frames (its identities resolved, team history whole).
        n: the number of buckets of each kind.
        dora_team: also route what DORA per team reads (False when incidents cross repositories).

    Returns frame name (a :class:`Frames` attribute such as ``commits``, or a derived frame such as
    ``pr_facts``) -> its rows with ``_bucket`` (str: 'p0'..'p{n-1}' for person buckets, 't0'.. for team
    buckets); a row is repeated once per bucket that needs it. Frames without rows are left out.
    """
    out: dict[str, list[pl.LazyFrame]] = {}

    def add(name: str, frame: pl.LazyFrame) -> None:
        out.setdefault(name, []).append(frame)

    # Person buckets.
    add("pr_facts", _bucketed(pr_facts(frames), "p", _of("author_key", n)))
    reviews = human_reviews(frames)
    add("human_reviews", _bucketed(reviews, "p", _of("reviewer_key", n)))
    comments = frames.comments.filter(~pl.col("author_is_bot") & pl.col("review_key").is_null())
    comments_p = _bucketed(comments, "p", _of("author_key", n))
    add("comments", comments_p)
    add("prs", frames.prs.join(comments_p.select("pr_id", "_bucket").unique(), on="pr_id", how="inner"))
    commits = frames.commits.filter(~pl.col("author_is_bot"))
    authored = commits.select("commit_id", bucket_of("author_key", n).alias("_b"))
    coauthored = frames.coauthors.filter(~pl.col("coauthor_is_bot")).select(
        "commit_id", bucket_of("coauthor_key", n).alias("_b"))
    into = pl.concat([authored, coauthored]).unique().with_columns(_label("p")).drop("_b")
    add("commits", commits.join(into, on="commit_id", how="inner"))
    add("coauthors", frames.coauthors.join(into, on="commit_id", how="inner"))
    files_into = authored.with_columns(_label("p")).drop("_b")
    add("commit_files", frames.commit_files.join(files_into, on="commit_id", how="inner"))

    # Team buckets: by the team(s) of the reviewer / the change's author at the time (team history).
    def teams(person: str, time: str) -> Callable[[pl.LazyFrame], pl.LazyFrame]:
        return lambda indexed: with_team(frames, indexed, person, time).select("_row", bucket_of("team_id", n).alias("_b"))

    add("human_reviews", _bucketed(reviews, "t", teams("reviewer_key", "submitted_at")))
    if dora_team:
        deployed = changes(frames).filter(pl.col("deployed_at").is_not_null())
        chg = _bucketed(deployed, "t", teams("author_key", "landed_at"))
        add("changes", chg)
        shipped = chg.select("deployment_id", "_bucket").unique()
        add("deployment_facts", deployment_facts(frames).join(shipped, on="deployment_id", how="inner"))
        add("incident_facts", incident_facts(frames).join(shipped, on="deployment_id", how="inner"))
        add("deployments", frames.deployments.join(shipped, on="deployment_id", how="inner"))
    found = {}
    for name, parts in out.items():
        frame = pl.concat(parts).collect()
        if frame.height:
            found[name] = frame
    return found


def partials(frames: Frames) -> dict[str, pl.DataFrame]:
    """The organisation-wide facts over ``frames``' rows (one repository's), for :func:`reduce`:
    ``experience`` (:func:`~impactlens.metrics.mentoring.experience`'s columns), ``first_prs``
    (:func:`~impactlens.metrics.mentoring.first_prs`' columns) and ``review_periods_month`` (period_start)."""
    return {
        "experience": experience(frames).collect(),
        "first_prs": first_prs(human_prs(frames)).collect(),
        "review_periods_month": review_periods(frames, "month").collect(),
    }


def reduce(parts: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The organisation's facts from every repository's :func:`partials` (each name's rows concatenated; a name
    may be missing when no repository had rows): derived frame name -> rows, to seed every bucket with.

    Returns ``experience`` (one row per person: the earliest start), ``onboarding_prs`` (pr_id, _onboarding:
    :func:`~impactlens.metrics.mentoring.onboarding` of the union of first PRs) and ``review_periods_month``."""
    def part(name: str) -> pl.LazyFrame:  # typed: a part may have a column of nulls only (Polars' Null type)
        schema = _PARTIAL_SCHEMAS[name]
        given = parts.get(name)
        return (pl.DataFrame(schema=schema) if given is None else given.select(list(schema)).cast(schema)).lazy()

    exp = merge_experience(part("experience")).collect()
    onboard = onboarding(part("first_prs"), exp.lazy()).collect()
    return {"experience": exp, "onboarding_prs": onboard, "review_periods_month": part("review_periods_month").unique()
            .collect()}


_UTC = pl.Datetime("us", "UTC")
_PARTIAL_SCHEMAS: dict[str, dict[str, Any]] = {
    "experience": {"person_key": pl.Categorical(), "first_contribution_at": _UTC, "level_rank": pl.Int64},
    "first_prs": {"pr_id": pl.UInt64, "author_key": pl.Categorical(), "created_at": _UTC,
                  "repo_id": pl.Categorical(), "number": pl.Int32},
    "review_periods_month": {"period_start": _UTC},
}


def bucket_frames(tables: dict[str, Any], rows: dict[str, pl.DataFrame], seeds: dict[str, pl.DataFrame], *,
                  config: config_mod.Config | None = None) -> Frames:
    """The Frames of one bucket: the people tables (``tables``: Arrow tables of people, identities,
    team_memberships and the actors rows, as :func:`~impactlens.metrics.frames.from_arrow` takes them), the
    bucket's rows (:func:`route`'s frames without ``_bucket``) and the organisation's facts (:func:`reduce`),
    every frame coded. Everything else is empty."""
    frames = from_arrow(tables, config=config)
    for name, frame in {**rows, **seeds}.items():
        frames.seed(name, frame)
    return frames


def run(frames: Frames, bucket: str, n: int, names: Iterable[str]) -> dict[str, pl.DataFrame]:
    """The rows of the tables ``names`` (of :data:`BUCKETED`) for the people or teams of ``bucket`` ('p3', 't0'):
    each table's build (:func:`impactlens.metrics.job.builds`) over the bucket's :func:`bucket_frames`, keeping
    the rows whose key (:data:`BUCKETED`) is in the bucket (a bucket also holds other people's rows, e.g. the
    author of a commit a bucket's person co-authored, whose figures it cannot complete)."""
    from impactlens.metrics.job import builds

    tables = PERSON_TABLES if bucket.startswith("p") else TEAM_TABLES
    number = int(bucket[1:])
    return {name: build().filter(bucket_of(tables[name], n) == number)
            for name, build in builds(frames, [t for t in names if t in tables]).items()}
