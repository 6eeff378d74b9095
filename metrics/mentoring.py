"""Mentoring touchpoints, mentees, and how the mentees' own figures moved afterwards.

Definitions: docs/metrics.md, section "Mentoring touchpoints".
"""

from __future__ import annotations

import polars as pl

from impactlens.metrics.frames import Frames, Grain, GroupBy, Scope, aggregate, group_columns, utc
from impactlens.metrics.pr import contributions, activity, pr_facts
from impactlens.metrics.review import human_reviews

#: A PR among its author's first ONBOARDING_PRS is an onboarding PR.
ONBOARDING_PRS = 5
#: A mentee has at least MENTEE_TOUCHPOINTS touchpoints from the mentor in the period, spread over at least
#: MENTEE_WEEKS distinct ISO weeks (three comments on one PR in one afternoon are not a relationship).
MENTEE_TOUCHPOINTS = 3
MENTEE_WEEKS = 2
#: Without levels, tenure decides only for a newcomer: the mentee's experience starts at least
#: NEWCOMER_GAP_DAYS after the mentor's, and the touchpoint falls within the mentee's first NEWCOMER_DAYS.
#: Two long-standing maintainers are peers: their reviews and co-authored commits are collaboration.
NEWCOMER_GAP_DAYS = 180
NEWCOMER_DAYS = 365
#: A PR among its author's first ONBOARDING_PRS is onboarding only while the author is new: it opened within
#: ONBOARDING_DAYS of the author's experience start (roster start date, else first activity in the history).
#: Someone employed for years whose first PRs happen to open the collection is not being onboarded.
ONBOARDING_DAYS = 120


def is_mentee(touchpoints: pl.Expr = pl.col("touchpoints"), weeks: pl.Expr = pl.col("weeks")) -> pl.Expr:
    """The one mentee rule, over a per-(mentor, mentee) aggregate of :func:`touchpoints` with the count of
    touchpoints and of distinct ISO weeks they fall in: at least MENTEE_TOUCHPOINTS over MENTEE_WEEKS weeks."""
    return (touchpoints >= MENTEE_TOUCHPOINTS) & (weeks >= MENTEE_WEEKS)


def touch_weeks(at: str = "at") -> pl.Expr:
    """The number of distinct ISO weeks (Monday, UTC) of the touchpoint times in ``at``: for :func:`is_mentee`."""
    return pl.col(at).dt.truncate("1w").n_unique().cast(pl.UInt32)


def level_rank(level: pl.Expr, ladder: list[str]) -> pl.Expr:
    """The rank (i64) of a roster level: its position in ``ladder`` (``[people] ladder``, lowest first,
    case-insensitive) when one is configured, a level not on it being null (unknown); else the number in
    the level (``L5`` -> 5, ``IC3`` -> 3)."""
    if ladder:
        mapping = {name.strip().lower(): i for i, name in enumerate(ladder)}
        return level.str.strip_chars().str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.Int64)
    return level.str.extract(r"(\d+)", 1).cast(pl.Int64, strict=False)


def experience(frames: Frames) -> pl.LazyFrame:
    """How long each person has been around, for :func:`touchpoints`.

    Columns: person_key (key), first_contribution_at (Datetime UTC: the earlier of the roster's start
    date, ``people.start_date`` at midnight UTC, and the first contribution in the data: a non-merge
    commit authored or co-authored, a PR opened or a review given, bots left out), level_rank (i64:
    :func:`level_rank` of people.level under ``[people] ladder``; null when unknown). One row per person with a contribution or
    a start date. docs/metrics.md "Mentoring touchpoints".
    """

    def build() -> pl.LazyFrame:
        kinds = contributions(frames)
        coauthored = (
            frames.coauthors.filter(~pl.col("coauthor_is_bot"))
            .join(frames.commits.filter(~pl.col("is_merge")).select("commit_id", "authored_at"), on="commit_id")
            .select(pl.col("coauthor_key").alias("actor_key"), pl.col("authored_at").alias("at"))
        )
        starts = pl.concat([  # PRs opened, not merged: a PR merges after it opens
            kinds["pr_opened"].select("actor_key", "at"), kinds["review"].select("actor_key", "at"),
            kinds["commit"].select("actor_key", "at"), coauthored,
        ])
        first = starts.group_by(pl.col("actor_key").alias("person_key")).agg(pl.col("at").min().alias("_data"))
        roster = frames.people.select(
            "person_key",
            pl.col("start_date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("_roster"),
            level_rank(pl.col("level"), frames.config["people"].get("ladder", [])).alias("level_rank"),
        )
        return (
            first.join(roster, on="person_key", how="full", coalesce=True)
            .filter(pl.col("_data").is_not_null() | pl.col("_roster").is_not_null())
            .select("person_key", pl.min_horizontal("_roster", "_data").alias("first_contribution_at"), "level_rank")
        )

    return frames.derived("experience", build)


def merge_experience(parts: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person from rows of :func:`experience` computed over parts of the data (e.g. one per
    repository): the earliest first_contribution_at of each person (a minimum of minima is the minimum).
    Same columns as :func:`experience`; the level is the person's, the same in every part."""
    return parts.group_by("person_key").agg(pl.col("first_contribution_at").min(), pl.col("level_rank").first())


def first_prs(prs: pl.LazyFrame) -> pl.LazyFrame:
    """Each author's first ONBOARDING_PRS PRs among ``prs`` (pr_id, author_key, created_at, repo_id, number:
    human PRs): the same columns. First by creation time, ties by repository, then PR number.

    The first five in the organisation are among the union of each repository's first five, so the rows of
    several parts can be merged and passed to :func:`onboarding` again (``--engine spark``)."""
    return (
        prs.filter(pl.col("author_key").is_not_null())
        .select("pr_id", "author_key", "created_at", "repo_id", "number")
        .sort("created_at", pl.col("repo_id").cast(pl.String), "number", nulls_last=True)
        .filter(pl.int_range(pl.len()).over("author_key") < ONBOARDING_PRS)
    )


def onboarding(candidates: pl.LazyFrame, starts: pl.LazyFrame) -> pl.LazyFrame:
    """The onboarding PRs: pr_id, _onboarding (bool, true on each row) of each author's first ONBOARDING_PRS
    PRs (:func:`first_prs` of ``candidates``) opened within ONBOARDING_DAYS of the author's experience start
    (``starts``: :func:`experience`'s rows). docs/metrics.md "Mentoring touchpoints"."""
    return (
        first_prs(candidates)
        .join(starts.select("person_key", "first_contribution_at"), left_on="author_key", right_on="person_key",
              how="inner")
        .filter(pl.col("created_at") - pl.col("first_contribution_at") < pl.duration(days=ONBOARDING_DAYS))
        .select("pr_id", pl.lit(True).alias("_onboarding"))
    )


def onboarding_prs(frames: Frames) -> pl.LazyFrame:
    """pr_id, _onboarding (true): the PRs a review or comment on is an onboarding touchpoint (:func:`onboarding`
    over every human PR); a PR not listed is not one."""
    return frames.derived("onboarding_prs", lambda: onboarding(human_prs(frames), experience(frames)))


def human_prs(frames: Frames) -> pl.LazyFrame:
    """The PRs of humans, as :func:`first_prs` reads them: pr_id, author_key, created_at, repo_id, number."""
    return pr_facts(frames).filter(~pl.col("author_is_bot")).select("pr_id", "author_key", "created_at", "repo_id",
                                                                     "number")


def touchpoints(frames: Frames) -> pl.LazyFrame:
    """Every mentoring touchpoint: a more experienced person's review, PR comment or pairing with a less
    experienced one, and any review or comment on someone's first five PRs (unless the reviewer is the
    less experienced of the two).

    Columns: mentor_key, mentee_key, at (Datetime UTC), kind ('review' | 'comment' | 'onboarding_review'
    | 'onboarding_comment' | 'pairing'), repo_id, ref (PR number or commit sha, str), basis ('level' |
    'tenure' | 'onboarding'). Less experienced: when both have a level in the roster, a lower level
    number (equal levels are peers: neither is less experienced, only onboarding touchpoints pass between
    them); when either has none, a later ``first_contribution_at`` (:func:`experience`: roster start date
    or first contribution, whichever is earlier). Comments that belong to a review are part of that
    review's touchpoint; a pairing counts once per commit and pair of people (after identity merging);
    bots never count. docs/metrics.md "Mentoring touchpoints".
    """

    def build() -> pl.LazyFrame:
        order = onboarding_prs(frames)
        # A routine approval (approved, no comment) is not mentoring: routine_approvals() counts them apart.
        reviews = human_reviews(frames).filter(~_routine()).select(
            pl.col("reviewer_key").alias("mentor_key"), pl.col("author_key").alias("mentee_key"),
            pl.col("submitted_at").alias("at"), pl.lit("review").alias("kind"), "repo_id", "pr_number", "pr_id",
        )
        authors = frames.prs.select("pr_id", "author_key", "author_is_bot")
        comments = (
            frames.comments.filter(~pl.col("author_is_bot") & pl.col("review_key").is_null())
            .join(authors, on="pr_id", how="inner")
            .filter(~pl.col("author_is_bot_right") & (pl.col("author_key") != pl.col("author_key_right")))
            .select(pl.col("author_key").alias("mentor_key"), pl.col("author_key_right").alias("mentee_key"),
                    pl.col("created_at").alias("at"), pl.lit("comment").alias("kind"), "repo_id", "pr_number", "pr_id")
        )
        on_prs = (
            pl.concat([reviews, comments]).filter(pl.col("mentee_key").is_not_null())
            .join(order, on="pr_id", how="left")
            .with_columns(pl.col("_onboarding").fill_null(False), pl.col("pr_number").cast(pl.String).alias("ref"))
            .drop("pr_number", "pr_id")
        )
        commits = frames.commits.filter(~pl.col("author_is_bot")).select("commit_id", "repo_id", "sha", "author_key", "authored_at")
        # One pairing per commit and pair of people: a co-author named under two emails is one person.
        pairs = (
            frames.coauthors.filter(~pl.col("coauthor_is_bot")).select("commit_id", "coauthor_key")
            .unique(["commit_id", "coauthor_key"])
            .join(commits, on="commit_id", how="inner")
            .filter(pl.col("coauthor_key") != pl.col("author_key"))
        )
        pairing = pl.concat([
            pairs.select(pl.col("author_key").alias("mentor_key"), pl.col("coauthor_key").alias("mentee_key"),
                         pl.col("authored_at").alias("at"), "repo_id", pl.col("sha").alias("ref")),
            pairs.select(pl.col("coauthor_key").alias("mentor_key"), pl.col("author_key").alias("mentee_key"),
                         pl.col("authored_at").alias("at"), "repo_id", pl.col("sha").alias("ref")),
        ]).with_columns(pl.lit("pairing").alias("kind"), pl.lit(False).alias("_onboarding"))
        both = pl.concat([on_prs, pairing.select(on_prs.collect_schema().names())])
        exp = experience(frames)
        both = (
            both.join(exp.rename({"person_key": "mentor_key", "first_contribution_at": "_mentor_first",
                                  "level_rank": "_mentor_level"}), on="mentor_key", how="left")
            .join(exp.rename({"person_key": "mentee_key", "first_contribution_at": "_mentee_first",
                              "level_rank": "_mentee_level"}), on="mentee_key", how="left")
        )
        levels_known = pl.col("_mentor_level").is_not_null() & pl.col("_mentee_level").is_not_null()
        newcomer = ((pl.col("_mentee_first") - pl.col("_mentor_first") >= pl.duration(days=NEWCOMER_GAP_DAYS))
                    & (pl.col("at") - pl.col("_mentee_first") < pl.duration(days=NEWCOMER_DAYS)))
        junior = (
            pl.when(levels_known).then(pl.col("_mentee_level") < pl.col("_mentor_level"))
            .otherwise(newcomer)
        ).fill_null(False)
        senior = (
            pl.when(levels_known).then(pl.col("_mentee_level") > pl.col("_mentor_level"))
            .otherwise(pl.col("_mentee_first") < pl.col("_mentor_first"))
        ).fill_null(False)
        # A review on someone's first PRs is onboarding, unless the reviewer is the less experienced one.
        onboarding = pl.col("_onboarding") & (pl.col("kind") != "pairing") & ~senior
        return (
            both.filter(onboarding | junior)
            .with_columns(
                pl.when(onboarding).then(pl.lit("onboarding_") + pl.col("kind")).otherwise(pl.col("kind")).alias("kind"),
                pl.when(onboarding).then(pl.lit("onboarding")).when(levels_known).then(pl.lit("level"))
                .otherwise(pl.lit("tenure")).alias("basis"),
            )
            .select("mentor_key", "mentee_key", "at", "kind", "repo_id", "ref", "basis")
            .sort("at", "mentor_key", "mentee_key")
        )

    return frames.derived("touchpoints", build)


def _routine() -> pl.Expr:
    return (pl.col("state") == "approved") & (pl.col("comments").fill_null(0) == 0)


def routine_approvals(frames: Frames, scope: Scope = Scope(), *, by: GroupBy | None = "person",
                      grain: Grain | None = None) -> pl.LazyFrame:
    """Approvals with no comment (routine reviews), which are never touchpoints: counted
    apart so a mentor's routine reviews are visible without inflating mentoring.

    Columns: group keys (the reviewer as person); routine_approvals (u32). docs/metrics.md "Mentoring touchpoints".
    """
    frame = human_reviews(frames).filter(_routine()).select(
        pl.col("reviewer_key").alias("mentor_key"), pl.col("submitted_at").alias("at"), "repo_id")
    frame = scope.apply(frames, frame, person="mentor_key", time="at")
    frame, keys = group_columns(frames, frame, by=by, person="mentor_key", time="at", grain=grain)
    return aggregate(frame, keys, [pl.len().cast(pl.UInt32).alias("routine_approvals")])


def mentoring_summary(
    frames: Frames, scope: Scope = Scope(), *, by: GroupBy | None = "person", grain: Grain | None = None
) -> pl.LazyFrame:
    """Mentoring touchpoints given, per mentor (or the mentors' team) and period of the touchpoint.

    Columns: group keys; touchpoints, reviews, comments, onboarding (reviews and comments on first PRs),
    pairing_commits (u32), people_helped (u32: distinct mentees with any touchpoint), mentees (u32:
    with at least three touchpoints from the same mentor in the group's period). docs/metrics.md
    "Mentoring touchpoints" (Figures).
    """
    frame = scope.apply(frames, touchpoints(frames), person="mentor_key", time="at")
    frame, keys = group_columns(frames, frame, by=by, person="mentor_key", time="at", grain=grain)
    kind = pl.col("kind")
    figures = aggregate(frame, keys, [
        pl.len().alias("touchpoints"),
        (kind == "review").sum().alias("reviews"),
        (kind == "comment").sum().alias("comments"),
        kind.str.starts_with("onboarding").sum().alias("onboarding"),
        (kind == "pairing").sum().alias("pairing_commits"),
        pl.col("mentee_key").n_unique().cast(pl.UInt32).alias("people_helped"),
    ])
    # Mentees: the (mentor, mentee) pairs of the group whose touchpoints in it pass is_mentee, counted from
    # one row per pair (a window count of the weeks over every touchpoint cost several times more).
    pairs = frame.group_by([*keys, "mentor_key", "mentee_key"]).agg(
        pl.len().alias("_pair_n"), touch_weeks().alias("_pair_weeks"))
    mentees = is_mentee(pl.col("_pair_n"), pl.col("_pair_weeks")).sum().cast(pl.UInt32).alias("mentees")
    if not keys:
        return figures.join(pairs.select(mentees), how="cross")
    return figures.join(pairs.group_by(keys).agg(mentees), on=keys, how="left", nulls_equal=True,
                        maintain_order="left")


def mentee_touchpoints(frames: Frames, scope: Scope = Scope()) -> pl.LazyFrame:
    """The per-mentee frame: a mentor's :func:`touchpoints` in ``scope`` (``scope.person`` the mentor; its
    window, repository and team over the touchpoint's time and the mentor), per (mentor, mentee) pair.

    Columns: mentor_key, mentee_key (str); touchpoints, weeks (distinct ISO weeks of the touchpoints),
    reviews (reviews, onboarding ones included), comments (PR comments, onboarding ones included),
    onboarding (reviews and comments on the mentee's first PRs), pairing_commits (u32); first_at, last_at
    (Datetime UTC); prs (list of struct repo_id, number (i32): the PRs of the review and comment touchpoints),
    commits (list of struct repo_id, sha: the co-authored commits), both sorted; is_mentee (bool:
    :func:`is_mentee`, at least MENTEE_TOUCHPOINTS over MENTEE_WEEKS weeks). Sorted by mentor, most
    touchpoints first, then mentee. docs/metrics.md "Mentoring touchpoints" (Mentees).
    """
    found = scope.apply(frames, touchpoints(frames), person="mentor_key", time="at")
    kind = pl.col("kind")
    is_pr = kind != "pairing"
    return (
        found.group_by("mentor_key", "mentee_key").agg(
            pl.len().cast(pl.UInt32).alias("touchpoints"),
            touch_weeks().alias("weeks"),
            kind.is_in(["review", "onboarding_review"]).sum().cast(pl.UInt32).alias("reviews"),
            kind.is_in(["comment", "onboarding_comment"]).sum().cast(pl.UInt32).alias("comments"),
            kind.str.starts_with("onboarding").sum().cast(pl.UInt32).alias("onboarding"),
            (kind == "pairing").sum().cast(pl.UInt32).alias("pairing_commits"),
            pl.col("at").min().alias("first_at"), pl.col("at").max().alias("last_at"),
            pl.struct("repo_id", pl.col("ref").cast(pl.Int32, strict=False).alias("number")).filter(is_pr)
            .unique().sort().alias("prs"),
            pl.struct("repo_id", pl.col("ref").alias("sha")).filter(~is_pr).unique().sort().alias("commits"),
        )
        .with_columns(is_mentee().alias("is_mentee"))
        .sort(["mentor_key", "touchpoints", "mentee_key"], descending=[False, True, False])
    )


def mentees(frames: Frames, mentor: str, start, end) -> pl.LazyFrame:
    """The mentor's mentees in [start, end) and how their own figures moved afterwards.

    For each mentee with at least three touchpoints from ``mentor`` in the window, their PRs merged,
    reviews given and median PR cycle time (to merge) in the window before it ([start - L, start)) and
    the window after it ([end, end + L)), L = end - start.

    Columns: mentee_key, touchpoints (u32), first_at, last_at (Datetime UTC), prs_merged_before,
    prs_merged_after, reviews_given_before, reviews_given_after (u32),
    median_cycle_time_before_hours, median_cycle_time_after_hours (f64).
    docs/metrics.md "Mentoring touchpoints" (Mentees).

    Raises:
        ValueError: ``start`` or ``end`` is missing, or ``end`` is not after ``start``.
    """
    s, e = utc(start), utc(end)
    if s is None or e is None or e <= s:
        raise ValueError("mentees: give start < end")
    length = e - s
    found = (
        mentee_touchpoints(frames, Scope(person=mentor, start=s, end=e))
        .filter(pl.col("is_mentee")).select("mentee_key", "touchpoints", "first_at", "last_at")
    )
    acts = activity(frames)
    facts = pr_facts(frames).filter(pl.col("merged_at").is_not_null())

    def window(lo, hi, suffix: str) -> pl.LazyFrame:
        a = acts.filter((pl.col("at") >= lo) & (pl.col("at") < hi)).group_by(pl.col("actor_key").alias("mentee_key")).agg(
            (pl.col("kind") == "pr_merged").sum().alias(f"prs_merged_{suffix}"),
            (pl.col("kind") == "review").sum().alias(f"reviews_given_{suffix}"),
        )
        c = facts.filter((pl.col("merged_at") >= lo) & (pl.col("merged_at") < hi)).group_by(
            pl.col("author_key").alias("mentee_key")
        ).agg(pl.col("cycle_time_to_merge_hours").median().alias(f"median_cycle_time_{suffix}_hours"))
        return a.join(c, on="mentee_key", how="full", coalesce=True)

    out = found.join(window(s - length, s, "before"), on="mentee_key", how="left").join(
        window(e, e + length, "after"), on="mentee_key", how="left"
    )
    counts = ["prs_merged_before", "prs_merged_after", "reviews_given_before", "reviews_given_after"]
    return out.with_columns([pl.col(c).fill_null(0).cast(pl.UInt32) for c in counts]).select(
        "mentee_key", "touchpoints", "first_at", "last_at", "prs_merged_before", "prs_merged_after",
        "reviews_given_before", "reviews_given_after", "median_cycle_time_before_hours",
        "median_cycle_time_after_hours",
    ).sort("mentee_key")

