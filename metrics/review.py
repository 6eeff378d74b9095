"""Review metrics: turnaround as a reviewer, review depth and breadth, and review load balance.

Definitions: docs/metrics.md, sections "Review turnaround", "Review depth and breadth",
"Review load balance".
"""

from __future__ import annotations

import polars as pl

from impactlens.membership import overlaps_expr
from impactlens.metrics.calendar import business_hours, hours
from impactlens.metrics.frames import (
    GRAIN_INTERVAL,
    Frames,
    Grain,
    GroupBy,
    Scope,
    aggregate,
    group_columns,
    not_self,
    period_start,
    sort_by_repo,
    utc,
    with_team,
)
from impactlens.metrics.pr import in_ready_period, ready_periods

#: Marks "no value yet" in a forward fill that must not cross from one (PR, reviewer) pair to the next.
_NONE = pl.lit(-(2**63), pl.Int64)


def human_reviews(frames: Frames) -> pl.LazyFrame:
    """Reviews by humans on someone else's PR, with the PR's author and the review's comment count.

    Columns: pr_id (u64), repo_id, review_id, pr_number (i32), reviewer_key, author_key, state, submitted_at
    (Datetime UTC), comments (i64: the review's comments in ``comments``, else ``reviews.comment_count``,
    else 0). Self-reviews (reviewer = author, after identity merging), bots and AI reviewers are left out.
    A deleted account (null key) is never the author, so its reviews are kept (docs/metrics.md, "Conventions").
    """

    def build() -> pl.LazyFrame:
        authors = frames.prs.select("pr_id", "author_key")
        counted = (
            frames.comments.filter(pl.col("review_key").is_not_null())
            .group_by("review_key").agg(pl.len().cast(pl.Int64).alias("_n"))
        )
        return (
            frames.reviews.filter(~pl.col("reviewer_is_bot"))
            .join(authors, on="pr_id", how="left")
            .filter(not_self("reviewer_key", "author_key"))
            .join(counted, on="review_key", how="left")
            .select(
                "pr_id", "repo_id", "review_id", "pr_number", "reviewer_key", "author_key", "state", "submitted_at",
                pl.coalesce(pl.col("_n"), pl.col("comment_count").cast(pl.Int64), pl.lit(0, pl.Int64)).alias("comments"),
            )
        )

    return frames.derived("human_reviews", build)


def review_cycles(frames: Frames) -> pl.LazyFrame:
    """One row per review cycle of a reviewer: from the request (or the PR's ready time) to their review.

    Only reviews inside one of the PR's ready periods (:func:`~impactlens.metrics.pr.ready_periods`: open
    and not a draft) count; a review during a draft or while the PR was closed is not a cycle and is not
    the reviewer's previous review either. A cycle starts at the later of the latest ``review_requested``
    event naming the reviewer at or before the review and after their previous review on the PR, and
    the start of the ready period containing the review (a request made while a draft waits for the PR
    to be ready). A reviewer's first review on a PR with no such request starts at the start of the
    ready period containing it. A later review with no new request is not a new cycle.

    Columns: repo_id, pr_number (i32), reviewer_key, author_key, start_at, start_kind ('request' when
    the cycle starts at the request, 'ready' when at the ready period's start), reviewed_at (Datetime
    UTC), state, turnaround_hours, turnaround_business_hours (f64). docs/metrics.md "Review turnaround".
    """

    def build() -> pl.DataFrame:
        cfg = frames.config["business_hours"]
        reviews = human_reviews(frames).collect()
        # The reviews inside a ready period, with its start (periods do not overlap: one at most each).
        # Found on a narrow frame; the wide one is only filtered, in its own order.
        inside = (
            reviews.select("pr_id", "submitted_at").with_row_index("_row").lazy()
            .join(ready_periods(frames).select("pr_id", "period_start", "period_end", "shared_end"),
                  on="pr_id", how="inner")
            .filter(in_ready_period("submitted_at"))
            .select("_row", "period_start").sort("_row").collect()
        )
        keep = pl.zeros(reviews.height, pl.Boolean, eager=True).scatter(inside["_row"], True)
        reviews = reviews.filter(keep).with_columns(inside["period_start"])
        # The look-ups work on narrow numeric frames sorted by (reviewer on the PR, time): one u64 key
        # per (pr_id, reviewer_key) pair and the time in microseconds. Their results are put back in
        # the reviews' own row order (sorted by row number), so the wide frame is never joined or sorted
        # until the final gather.
        pair = pl.struct("pr_id", "reviewer_key").hash().alias("_pair")
        at = pl.col("_at")
        first_of_pair = (pl.col("_pair") != pl.col("_pair").shift(1)).fill_null(True)

        def last_before(value: pl.Expr) -> pl.Expr:
            """Forward fill of ``value`` within each pair (null before the pair's first value)."""
            filled = pl.when(value.is_not_null()).then(value).when(first_of_pair).then(_NONE).forward_fill()
            return pl.when(filled != _NONE).then(filled)

        # The same reviewer's previous review on the PR: the latest strictly earlier one.
        mine = (
            reviews.select(pair, pl.col("submitted_at").dt.epoch("us").alias("_at"))
            .with_row_index("_i").sort("_pair", "_at")
        )
        earlier = pl.when(at.shift(1) < at).then(at.shift(1))
        previous = mine.select(
            "_i", last_before(pl.when(first_of_pair).then(None).otherwise(earlier)).alias("_previous")
        ).sort("_i")["_previous"]
        # The latest request naming the reviewer at or before the review (requests sort before reviews).
        requests = (
            frames.timeline.filter((pl.col("event_type") == "review_requested") & pl.col("subject_key").is_not_null())
            .select(pl.struct("pr_id", pl.col("subject_key").alias("reviewer_key")).hash().alias("_pair"),
                    pl.col("created_at").dt.epoch("us").alias("_at"), pl.lit(None, pl.UInt32).alias("_i"),
                    pl.lit(0, pl.Int8).alias("_kind"))
            .collect()
        )
        stream = pl.concat([requests, mine.with_columns(pl.lit(1, pl.Int8).alias("_kind"))], how="diagonal")
        requested = (
            stream.sort("_pair", "_at", "_kind")
            .select("_i", "_kind", last_before(pl.when(pl.col("_kind") == 0).then(at)).alias("_requested"))
            .filter(pl.col("_kind") == 1).sort("_i")["_requested"]
        )
        to_time = lambda s: s.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")  # noqa: E731
        timing = pl.DataFrame({
            "submitted_at": reviews["submitted_at"], "_previous": to_time(previous),
            "_requested_at": to_time(requested), "period_start": reviews["period_start"],
        })
        new_request = pl.col("_requested_at").is_not_null() & (
            pl.col("_previous").is_null() | (pl.col("_requested_at") > pl.col("_previous"))
        )
        first = pl.col("_previous").is_null()
        starts = timing.select(
            pl.when(new_request).then(pl.max_horizontal("_requested_at", "period_start"))
            .when(first).then(pl.col("period_start")).alias("start_at"),
            (new_request & (pl.col("_requested_at") >= pl.col("period_start"))).alias("_by_request"),
        )
        # Strings are gathered into the final order as codes (a string gather costs 4-5x a numeric one
        # at millions of rows) and turned back into strings afterwards.
        cycles = (
            pl.concat([reviews.select("repo_id", "pr_number", "reviewer_key", "author_key", "submitted_at",
                                      pl.col("state").cast(pl.Categorical)), starts], how="horizontal")
            .filter(pl.col("start_at").is_not_null())
            .select(
                "repo_id", "pr_number", "reviewer_key", "author_key", "start_at", "_by_request",
                pl.col("submitted_at").alias("reviewed_at"), "state",
                hours("start_at", "submitted_at").alias("turnaround_hours"),
                business_hours("start_at", "submitted_at", cfg).alias("turnaround_business_hours"),
            )
        )
        return sort_by_repo(cycles, "pr_number", "reviewed_at").with_columns(
            pl.when(pl.col("_by_request")).then(pl.lit("request")).otherwise(pl.lit("ready")).alias("_by_request"),
            pl.col("state").cast(pl.String),
        ).rename({"_by_request": "start_kind"})

    return frames.derived("review_cycles", build)


def review_turnaround(
    frames: Frames, scope: Scope = Scope(), *, by: GroupBy | None = "person", grain: Grain | None = None
) -> pl.LazyFrame:
    """Review turnaround as a reviewer, per group (the reviewer, their team, the repo) and period of the review.

    Columns: group keys; cycles (u32), median_hours, p90_hours, mean_hours, median_business_hours (f64).
    Cycles as in :func:`review_cycles`. A deleted account's cycles (null reviewer) have no person row
    but count for the repo and the organisation. docs/metrics.md "Review turnaround".
    """
    frame = scope.apply(frames, review_cycles(frames), person="reviewer_key", time="reviewed_at")
    frame, keys = group_columns(frames, frame, by=by, person="reviewer_key", time="reviewed_at", grain=grain)
    return aggregate(frame, keys, [
        pl.len().alias("cycles"),
        pl.col("turnaround_hours").median().alias("median_hours"),
        pl.col("turnaround_hours").quantile(0.9, "linear").alias("p90_hours"),
        pl.col("turnaround_hours").mean().alias("mean_hours"),
        pl.col("turnaround_business_hours").median().alias("median_business_hours"),
    ])


def review_depth(
    frames: Frames, scope: Scope = Scope(), *, by: GroupBy | None = "person", grain: Grain | None = None
) -> pl.LazyFrame:
    """Review depth and breadth of reviewers, per group and period of the review.

    Columns: group keys; reviews (u32), review_comments (i64), comments_per_review (f64),
    prs_reviewed (u32: distinct PRs), authors_reviewed (u32: distinct PR authors), approvals,
    changes_requested (u32). docs/metrics.md "Review depth and breadth".
    """
    frame = scope.apply(frames, human_reviews(frames), person="reviewer_key", time="submitted_at")
    frame, keys = group_columns(frames, frame, by=by, person="reviewer_key", time="submitted_at", grain=grain)
    return aggregate(frame, keys, [
        pl.len().alias("reviews"),
        pl.col("comments").sum().alias("review_comments"),
        pl.col("comments").mean().alias("comments_per_review"),
        pl.col("pr_id").n_unique().cast(pl.UInt32).alias("prs_reviewed"),
        pl.col("author_key").drop_nulls().n_unique().cast(pl.UInt32).alias("authors_reviewed"),
        (pl.col("state") == "approved").sum().alias("approvals"),
        (pl.col("state") == "changes_requested").sum().alias("changes_requested"),
    ])


def gini(values: pl.Expr) -> pl.Expr:
    """Gini coefficient of non-negative ``values`` (0 = equal shares, towards 1 = one does all).

    G = sum_i (2i - n - 1) x_(i) / (n sum x), x sorted ascending, i from 1. Null when the sum is 0.
    """
    x = values.sort()
    n = values.len().cast(pl.Float64)
    i = pl.int_range(1, values.len() + 1, dtype=pl.Int64).cast(pl.Float64)
    total = values.sum().cast(pl.Float64)
    return pl.when(total > 0).then(((2 * i - n - 1) * x.cast(pl.Float64)).sum() / (n * total))


def _reviews_by_team(frames: Frames, scope: Scope, grain: Grain) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The human reviews in the scope's repository and dates (repo_id, review_id, reviewer_key, period_start,
    submitted_at), and the same rows once per team the reviewer was in at the time (plus team_id; only
    ``scope.team``'s when set)."""
    in_scope = Scope(repo=scope.repo, start=scope.start, end=scope.end).apply(
        frames, human_reviews(frames), person=None, time="submitted_at"
    ).select("repo_id", "review_id", "reviewer_key", period_start("submitted_at", grain).alias("period_start"),
             "submitted_at")
    reviews = with_team(frames, in_scope, "reviewer_key", "submitted_at")
    if scope.team is not None:
        reviews = reviews.filter(pl.col("team_id") == scope.team)
    return in_scope, reviews


def review_periods(frames: Frames, grain: Grain = "month") -> pl.LazyFrame:
    """period_start (Datetime UTC): each period (of ``grain``) in which any human review was submitted
    (:func:`human_reviews`), once: the periods :func:`review_load` gives every team a row in. Unsorted."""
    return frames.derived(f"review_periods_{grain}", lambda: human_reviews(frames).select(
        period_start("submitted_at", grain).alias("period_start")).unique())


def review_load(frames: Frames, scope: Scope = Scope(), *, grain: Grain = "month") -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Review load balance in each team: each member's share of the team's reviews, and the team's Gini.

    Reviews (human, not self-reviews) count for the reviewer's team(s) at the time of the review. The
    members of a team in a period are the people (never bots or AI reviewers) whose membership overlaps
    the period and the scope's date range; members who gave no review count with 0 (a team where one
    person reviews everything has a high Gini). A period has rows when any human review in the scope's
    dates and repository was submitted in it (whatever the team); then every team with members has a
    row, and a team whose members gave no review has reviews 0 and a null share, gini and top_share.
    ``scope.repo`` counts only that repository's reviews but keeps every member; ``scope.team`` keeps
    that team's rows.

    Returns (shares, teams):
      shares: period_start (Datetime UTC), team_id, person_key (key), reviews (u32), share (f64, 0-1: of
      the team's reviews in the period; null when the team gave none);
      teams: period_start, team_id, members (u32), reviews (u32), gini (f64, 0-1, null with no reviews),
      top_share (f64: the largest member's share, null with no reviews). docs/metrics.md "Review load
      balance".

    Raises:
        ValueError: ``scope.person`` is set (load balance is per team), or ``grain`` is not week, month or
        quarter.
    """
    if scope.person is not None:
        raise ValueError("review_load: load balance is per team (each member's share of the team's reviews); "
                         "scope it by team, repository or dates, not by person")
    in_scope, reviews = _reviews_by_team(frames, scope, grain)
    counted = (
        reviews.group_by("period_start", "team_id", pl.col("reviewer_key").alias("person_key"))
        .agg(pl.len().cast(pl.UInt32).alias("reviews"))
    )
    # Each period with a review, clipped to the scope's dates: members are those in the team at any time in it.
    lo, hi = utc(scope.start), utc(scope.end)
    until = pl.col("period_start").dt.offset_by(GRAIN_INTERVAL[grain])
    periods = (in_scope.select("period_start").unique() if (scope.repo, scope.start, scope.end) != (None, None, None)
               else review_periods(frames, grain))
    windows = periods.with_columns(
        (pl.max_horizontal("period_start", pl.lit(lo)) if lo is not None else pl.col("period_start")).alias("_from"),
        (pl.min_horizontal(until, pl.lit(hi)) if hi is not None else until).alias("_to"),
    )
    bots = frames.people.filter(pl.col("is_bot").fill_null(False)).select("person_key")
    roster = frames.memberships.join(bots, on="person_key", how="anti")
    if scope.team is not None:
        roster = roster.filter(pl.col("team_id") == scope.team)
    midnight = lambda column: pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")  # noqa: E731
    members = (
        roster.join(windows, how="cross")
        .filter(overlaps_expr(pl.col("_from"), pl.col("_to"), midnight("valid_from"), midnight("valid_to")))
        .select("period_start", "team_id", "person_key").unique()
    )
    total = pl.col("reviews").sum().over("period_start", "team_id")
    shares = (
        members.join(counted, on=["period_start", "team_id", "person_key"], how="full", coalesce=True)
        .with_columns(pl.col("reviews").fill_null(0).cast(pl.UInt32))
        .with_columns(pl.when(total > 0).then(pl.col("reviews") / total).alias("share"))
        .sort("period_start", "team_id", "person_key")
    )
    teams = (
        shares.group_by("period_start", "team_id")
        .agg(
            pl.len().alias("members"),
            pl.col("reviews").sum().cast(pl.UInt32).alias("reviews"),
            gini(pl.col("reviews")).alias("gini"),
            pl.col("share").max().alias("top_share"),
        )
        .sort("period_start", "team_id")
    )
    return shares, teams


def organisation_review_load(frames: Frames, scope: Scope = Scope(), *, grain: Grain = "month") -> pl.LazyFrame:
    """Review load balance of the whole organisation: every team's members (:func:`review_load`'s shares) as
    one group, per period.

    Columns: period_start (Datetime UTC), members (u32: people in some team in the period), reviews (u32),
    gini (f64, 0-1: over the members' reviews, null with no reviews), top_share (f64: the busiest member's
    share). Each review counts once, for its reviewer, when the reviewer was in some team at the time: someone
    in two teams at once is one member whose review counts once here (:func:`review_load` counts it for both
    teams, each team's own figure). docs/metrics.md "Review load balance".

    Raises:
        ValueError: as :func:`review_load`.
    """
    shares, _ = review_load(frames, scope, grain=grain)
    members = shares.select("period_start", "person_key").unique()
    _, reviews = _reviews_by_team(frames, scope, grain)
    counted = (
        reviews.select("period_start", "repo_id", "review_id", pl.col("reviewer_key").alias("person_key")).unique()
        .group_by("period_start", "person_key").agg(pl.len().cast(pl.UInt32).alias("reviews"))
    )
    return (
        members.join(counted, on=["period_start", "person_key"], how="left")
        .with_columns(pl.col("reviews").fill_null(0))
        .group_by("period_start").agg(
            pl.len().cast(pl.UInt32).alias("members"), pl.col("reviews").sum().cast(pl.UInt32).alias("reviews"),
            gini(pl.col("reviews")).alias("gini"),
            (pl.col("reviews").max() / pl.col("reviews").sum()).alias("top_share"),
        )
        .sort("period_start")
    )
