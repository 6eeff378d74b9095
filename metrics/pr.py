"""Pull-request metrics: the per-PR facts, PR size, time to first review, and throughput.

Definitions: docs/metrics.md, sections "PR size", "Time to first review", "Throughput".
"""

from __future__ import annotations

import polars as pl

from impactlens.metrics.calendar import business_hours, hours
from impactlens.metrics.frames import (
    EXCLUDED_CATEGORIES,
    Frames,
    Grain,
    GroupBy,
    Scope,
    aggregate,
    distinct_count,
    grouped,
    group_columns,
    sort_by_repo,
)

#: The kinds of rows in :func:`activity`.
ACTIVITY_KIND = pl.Enum(["pr_merged", "pr_opened", "review", "commit", "commit_dir"])

#: A PR "under 200 changed lines" is small (docs/metrics.md, "PR size").
SMALL_PR_LINES = 200

_READY_EVENTS = ("ready_for_review", "reopened")


def _ready_times(frames: Frames, prs: pl.LazyFrame) -> pl.LazyFrame:
    """pr_id, ready_at: the last time each PR became ready for review.

    That is the latest of its creation and its ``ready_for_review`` / ``reopened`` events (events after
    the merge are ignored). A PR that is an open draft now has no ready time.
    """
    events = (
        frames.timeline.filter(pl.col("event_type").is_in(_READY_EVENTS))
        .select("pr_id", pl.col("created_at").alias("_event_at"))
    )
    last = (
        prs.select("pr_id", "merged_at")
        .join(events, on="pr_id", how="inner")
        .filter(pl.col("merged_at").is_null() | (pl.col("_event_at") <= pl.col("merged_at")))
        .group_by("pr_id")
        .agg(pl.col("_event_at").max().alias("_last_ready_event"))
    )
    return (
        prs.select("pr_id", "created_at", "is_draft", "state")
        .join(last, on="pr_id", how="left")
        .select(
            "pr_id",
            pl.when(pl.col("is_draft") & (pl.col("state") == "open"))
            .then(pl.lit(None, pl.Datetime("us", "UTC")))
            .otherwise(pl.max_horizontal("created_at", "_last_ready_event"))
            .alias("ready_at"),
        )
    )


def _first_responses(frames: Frames, prs: pl.LazyFrame) -> pl.LazyFrame:
    """pr_id, first_human_response_at, first_response_source ('review' or 'comment').

    The earliest review (any submitted state) or PR comment at or after ``ready_at`` by a human other
    than the PR's author. Bots and AI reviewers never count. A review and a comment at the same
    instant count as a review.
    """
    keys = prs.select("pr_id", "author_key", "ready_at").filter(pl.col("ready_at").is_not_null())
    reviews = frames.reviews.filter(~pl.col("reviewer_is_bot")).select(
        "pr_id", pl.col("reviewer_key").alias("_actor"), pl.col("submitted_at").alias("_at"),
        pl.lit(True).alias("_review"),
    )
    comments = frames.comments.filter(~pl.col("author_is_bot")).select(
        "pr_id", pl.col("author_key").alias("_actor"), pl.col("created_at").alias("_at"),
        pl.lit(False).alias("_review"),
    )
    responses = (
        pl.concat([reviews, comments])
        .join(keys, on="pr_id", how="inner")
        .filter(
            # A deleted account (null key) is nobody: never the author, and two are not the same person.
            pl.col("_actor").is_null() | pl.col("author_key").is_null() | (pl.col("_actor") != pl.col("author_key")),
            pl.col("_at") >= pl.col("ready_at"),
        )
    )
    return (
        responses.group_by("pr_id")
        .agg(
            pl.col("_at").min().alias("first_human_response_at"),
            pl.col("_at").filter(pl.col("_review")).min().alias("_first_review"),
        )
        .select(
            "pr_id", "first_human_response_at",
            pl.when(pl.col("_first_review") == pl.col("first_human_response_at")).then(pl.lit("review"))
            .otherwise(pl.lit("comment")).alias("first_response_source"),
        )
    )


def _sizes(frames: Frames) -> pl.LazyFrame:
    """pr_id, _changed, _excluded, _files: lines and files of the PR's own non-merge commits."""
    commits = frames.commits.filter(pl.col("pr_id").is_not_null() & ~pl.col("is_merge")).select("commit_id", "pr_id")
    excluded = pl.col("category").is_in(EXCLUDED_CATEGORIES)
    lines = pl.col("additions").fill_null(0) + pl.col("deletions").fill_null(0)
    return (
        frames.commit_files.select("commit_id", "path", "additions", "deletions", "category")
        .join(commits, on="commit_id", how="inner")
        .group_by("pr_id")
        .agg(
            lines.filter(~excluded).sum().cast(pl.Int64).alias("_changed"),
            lines.filter(excluded).sum().cast(pl.Int64).alias("_excluded"),
            pl.col("path").filter(~excluded).n_unique().cast(pl.Int64).alias("_files"),
        )
    )


def _deployments_after(frames: Frames, frame: pl.LazyFrame, time: str, alias: str) -> pl.LazyFrame:
    """``frame`` with ``alias`` (the first successful production deployment of the repo at or after ``time``)
    and ``{alias}_id``. Rows with a null ``time`` get nulls."""
    deploys = (
        frames.deployments.filter(pl.col("is_production_success"))
        .select("repo_id", pl.col("deployed_at").alias(alias), pl.col("deployment_id").alias(f"{alias}_id"))
        .sort(alias)
    )
    # Materialised first: the row numbers must name the same rows in both branches below, and a lazy
    # frame built from joins need not come out in the same order twice.
    keyed = frame.with_row_index("_row").collect().lazy()
    # The as-of join runs on three columns; only its result is joined back to the (wide) frame.
    found = (
        keyed.select("_row", "repo_id", time).filter(pl.col(time).is_not_null()).sort(time)
        .join_asof(deploys, left_on=time, right_on=alias, by="repo_id", strategy="forward", check_sortedness=False)
        .select("_row", alias, f"{alias}_id")
    )
    return keyed.join(found, on="_row", how="left").drop("_row")


def pr_facts(frames: Frames) -> pl.LazyFrame:
    """One row per pull request with every timing and size fact the PR metrics use.

    Columns: pr_id (u64, hash of repo_id and number), repo_id (key), number (i32), url, title, author_key (key), author_is_bot (bool), state
    (open/closed/merged), is_draft (bool), created_at, ready_at, first_human_response_at,
    first_response_at, first_response_kind ('review' | 'comment' | 'merge' | null), never_reviewed
    (bool), merged_at, closed_at, deployed_at, deployment_id, coding_start_at (all timestamps
    ``Datetime(us, UTC)``); changed_lines, excluded_lines, files_changed (i64), size_source
    ('commits' | 'github'); time_to_first_review_hours, time_to_first_review_business_hours,
    coding_hours, pickup_hours, review_hours, deploy_hours, cycle_time_to_merge_hours,
    cycle_time_hours (f64, hours; null when the phase has not happened).

    Definitions: docs/metrics.md "PR size", "Time to first review", "PR cycle time". The result is
    computed once per ``frames`` and reused.
    """

    def build() -> pl.LazyFrame:
        cfg = frames.config["business_hours"]
        prs = frames.prs.with_columns(
            pl.when(pl.col("merged_at").is_not_null()).then(pl.lit("merged")).otherwise(pl.col("state")).alias("state")
        )
        prs = prs.join(_ready_times(frames, prs), on="pr_id", how="left")
        prs = prs.join(_first_responses(frames, prs), on="pr_id", how="left")
        prs = prs.join(_sizes(frames), on="pr_id", how="left")
        first_response = pl.min_horizontal("first_human_response_at", "merged_at")
        prs = prs.with_columns(
            pl.when(pl.col("ready_at").is_not_null()).then(first_response).alias("first_response_at"),
            pl.when(pl.col("ready_at").is_null()).then(pl.lit(None, pl.String))
            .when(pl.col("first_human_response_at").is_not_null()
                  & (pl.col("merged_at").is_null() | (pl.col("first_human_response_at") <= pl.col("merged_at"))))
            .then(pl.col("first_response_source"))
            .when(pl.col("merged_at").is_not_null()).then(pl.lit("merge"))
            .alias("first_response_kind"),
            pl.col("first_human_response_at").is_null().alias("never_reviewed"),
            pl.when(pl.col("_changed").is_not_null()).then(pl.col("_changed"))
            .otherwise(pl.col("additions").cast(pl.Int64) + pl.col("deletions").cast(pl.Int64)).alias("changed_lines"),
            pl.col("_excluded").alias("excluded_lines"),
            pl.when(pl.col("_changed").is_not_null()).then(pl.col("_files"))
            .otherwise(pl.col("changed_files").cast(pl.Int64)).alias("files_changed"),
            pl.when(pl.col("_changed").is_not_null()).then(pl.lit("commits"))
            .when(pl.col("additions").is_not_null()).then(pl.lit("github")).alias("size_source"),
            pl.min_horizontal(pl.coalesce("first_commit_at", "created_at"), "created_at", "ready_at").alias("coding_start_at"),
        )
        prs = _deployments_after(frames, prs, "merged_at", "deployed_at")
        merged = pl.col("merged_at").is_not_null()
        prs = prs.with_columns(
            hours("ready_at", "first_response_at").alias("time_to_first_review_hours"),
            business_hours("ready_at", "first_response_at", cfg).alias("time_to_first_review_business_hours"),
            pl.when(merged).then(hours("coding_start_at", "ready_at")).alias("coding_hours"),
            pl.when(merged).then(hours("ready_at", "first_response_at")).alias("pickup_hours"),
            pl.when(merged).then(hours("first_response_at", "merged_at")).alias("review_hours"),
            hours("merged_at", "deployed_at").alias("deploy_hours"),
            pl.when(merged).then(hours("coding_start_at", "merged_at")).alias("cycle_time_to_merge_hours"),
            pl.when(merged).then(hours("coding_start_at", "deployed_at")).alias("cycle_time_hours"),
        )
        prs = prs.select(
            "pr_id", "repo_id", "number", "url", "title", "author_key", "author_is_bot", "state", "is_draft",
            "created_at", "ready_at", "first_human_response_at", "first_response_at", "first_response_kind",
            "never_reviewed", "merged_at", "closed_at", "deployed_at", pl.col("deployed_at_id").alias("deployment_id"),
            "coding_start_at", "changed_lines", "excluded_lines", "files_changed", "size_source",
            "time_to_first_review_hours", "time_to_first_review_business_hours", "coding_hours",
            "pickup_hours", "review_hours", "deploy_hours", "cycle_time_to_merge_hours", "cycle_time_hours",
        )
        return sort_by_repo(prs.collect(), "number")

    return frames.derived("pr_facts", build)


def _human_prs(frames: Frames, scope: Scope, time: str) -> pl.LazyFrame:
    facts = pr_facts(frames).filter(~pl.col("author_is_bot") & pl.col(time).is_not_null())
    return scope.apply(frames, facts, person="author_key", time=time)


def pr_size(
    frames: Frames, scope: Scope = Scope(), *, by: GroupBy | None = None, grain: Grain | None = None
) -> pl.LazyFrame:
    """PR size of merged PRs by human authors, per group and period of ``merged_at``.

    Columns: the group keys (period_start ``Datetime(us, UTC)``, person_key / team_id / repo_id keys),
    prs (u32), median_changed_lines, p90_changed_lines, median_files_changed (f64, lines / files),
    share_under_200 (f64, 0-1: PRs with fewer than 200 changed lines), total_changed_lines (i64).
    Changed lines exclude generated, lockfile and vendored files. docs/metrics.md "PR size".
    """
    frame, keys = group_columns(frames, _human_prs(frames, scope, "merged_at"), by=by, person="author_key",
                                time="merged_at", grain=grain)
    frame = frame.filter(pl.col("changed_lines").is_not_null())
    return aggregate(frame, keys, [
        pl.len().alias("prs"),
        pl.col("changed_lines").median().alias("median_changed_lines"),
        pl.col("changed_lines").quantile(0.9, "linear").alias("p90_changed_lines"),
        pl.col("files_changed").median().alias("median_files_changed"),
        (pl.col("changed_lines") < SMALL_PR_LINES).mean().alias("share_under_200"),
        pl.col("changed_lines").sum().alias("total_changed_lines"),
    ])


def time_to_first_review(
    frames: Frames, scope: Scope = Scope(), *, by: GroupBy | None = None, grain: Grain | None = None
) -> pl.LazyFrame:
    """Time to first review of human authors' PRs, per group and period of ``ready_at``.

    Columns: group keys; prs (u32: PRs that became ready), reviewed_prs (u32: with a human response),
    ended_by_merge (u32: merged with no response first), never_reviewed_prs (u32), waiting_prs (u32:
    open, no response yet), median_hours, p90_hours, mean_hours, median_business_hours (f64, over PRs
    whose wait has ended). docs/metrics.md "Time to first review".
    """
    frame, keys = group_columns(frames, _human_prs(frames, scope, "ready_at"), by=by, person="author_key",
                                time="ready_at", grain=grain)
    wait = pl.col("time_to_first_review_hours")
    return aggregate(frame, keys, [
        pl.len().alias("prs"),
        (~pl.col("never_reviewed")).sum().alias("reviewed_prs"),
        (pl.col("first_response_kind") == "merge").sum().alias("ended_by_merge"),
        pl.col("never_reviewed").sum().alias("never_reviewed_prs"),
        (pl.col("first_response_at").is_null() & (pl.col("state") == "open")).sum().alias("waiting_prs"),
        wait.median().alias("median_hours"),
        wait.quantile(0.9, "linear").alias("p90_hours"),
        wait.mean().alias("mean_hours"),
        pl.col("time_to_first_review_business_hours").median().alias("median_business_hours"),
    ])


def cycle_time(
    frames: Frames, scope: Scope = Scope(), *, by: GroupBy | None = None, grain: Grain | None = None
) -> pl.LazyFrame:
    """PR cycle time and its four phases for merged PRs by human authors, per period of ``merged_at``.

    Columns: group keys; prs (u32), deployed_prs (u32), median_coding_hours, median_pickup_hours,
    median_review_hours, median_deploy_hours, median_cycle_time_to_merge_hours, median_cycle_time_hours,
    mean_cycle_time_to_merge_hours (f64, hours). Medians of phases do not add up to the median cycle
    time (medians are not additive); per PR they do. docs/metrics.md "PR cycle time".
    """
    frame, keys = group_columns(frames, _human_prs(frames, scope, "merged_at"), by=by, person="author_key",
                                time="merged_at", grain=grain)
    return aggregate(frame, keys, [
        pl.len().alias("prs"),
        pl.col("deployed_at").is_not_null().sum().alias("deployed_prs"),
        *[pl.col(f"{p}_hours").median().alias(f"median_{p}_hours")
          for p in ("coding", "pickup", "review", "deploy", "cycle_time_to_merge", "cycle_time")],
        pl.col("cycle_time_to_merge_hours").mean().alias("mean_cycle_time_to_merge_hours"),
    ])


def directory_of(path: str | pl.Expr, depth: int = 2) -> pl.Expr:
    """The folder of a file path, cut to its first ``depth`` components ('.' for files at the root).

    ``src/app/models/user.py`` -> ``src/app``; ``docs/a.md`` -> ``docs``; ``setup.py`` -> ``.``.
    """
    expr = pl.col(path) if isinstance(path, str) else path
    # The longest run of up to ``depth`` components that a "/" follows: one regex pass, no lists.
    return expr.str.extract(rf"^([^/]*(?:/[^/]*){{0,{depth - 1}}})/", 1).fill_null(".")


def contributions(frames: Frames) -> dict[str, pl.LazyFrame]:
    """Each kind of human contribution of :func:`activity` ('pr_merged', 'pr_opened', 'review', 'commit')
    as its own frame of actor_key, at (Datetime UTC), repo_id."""
    from impactlens.metrics.review import human_reviews  # the review module reads pr_facts from here

    facts = pr_facts(frames).filter(~pl.col("author_is_bot"))
    commits = frames.commits.filter(~pl.col("author_is_bot") & ~pl.col("is_merge"))
    return {
        "pr_merged": facts.filter(pl.col("merged_at").is_not_null()).select(
            pl.col("author_key").alias("actor_key"), pl.col("merged_at").alias("at"), "repo_id"),
        "pr_opened": facts.select(pl.col("author_key").alias("actor_key"), pl.col("created_at").alias("at"), "repo_id"),
        "review": human_reviews(frames).select(
            pl.col("reviewer_key").alias("actor_key"), pl.col("submitted_at").alias("at"), "repo_id"),
        "commit": commits.select(pl.col("author_key").alias("actor_key"), pl.col("authored_at").alias("at"), "repo_id"),
    }


def _commit_folders(frames: Frames) -> pl.LazyFrame:
    """actor_key, at, repo_id, directory: one row per human non-merge commit and folder it changed (two
    levels; generated, lockfile and vendored files left out)."""
    commits = frames.commits.filter(~pl.col("author_is_bot") & ~pl.col("is_merge")).select(
        "commit_id", "repo_id", pl.col("author_key").alias("actor_key"), pl.col("authored_at").alias("at"))
    return (
        frames.commit_files.filter(~pl.col("category").is_in(EXCLUDED_CATEGORIES))
        .select("commit_id", directory_of("path").alias("directory")).unique()
        .join(commits, on="commit_id", how="inner")
        .select("actor_key", "at", "repo_id", "directory")
    )


def activity(frames: Frames) -> pl.LazyFrame:
    """Every human contribution as one row: actor_key, at (UTC), repo_id, kind, directory.

    kind (Enum) is 'pr_merged' (the PR's author, at merge), 'commit' (a non-merge commit's author, at
    authoring), 'review' (a review on someone else's PR), 'pr_opened'. ``directory`` (str, null except for
    'commit_dir' rows) is each changed file's folder (two levels; generated, lockfile and vendored files
    left out), one 'commit_dir' row per commit and folder. Bots are left out. Not cached: at 10M commits
    it is the largest frame.
    """
    parts = [
        frame.with_columns(pl.lit(kind, ACTIVITY_KIND).alias("kind"), pl.lit(None, pl.String).alias("directory"))
        for kind, frame in contributions(frames).items()
    ]
    folders = _commit_folders(frames).select("actor_key", "at", "repo_id", pl.lit("commit_dir", ACTIVITY_KIND)
                                             .alias("kind"), "directory")
    return pl.concat([*parts, folders])


#: The column of :func:`throughput` counting each kind of contribution.
_THROUGHPUT_COUNTS = {"pr_merged": "prs_merged", "pr_opened": "prs_opened", "commit": "commits",
                      "review": "reviews_given"}


def throughput(
    frames: Frames, scope: Scope = Scope(), *, by: GroupBy | None = "person", grain: Grain | None = "week"
) -> pl.LazyFrame:
    """Throughput: PRs merged, commits and reviews given, repositories and directories touched.

    Columns: group keys; prs_merged, prs_opened, commits, reviews_given, repos_touched,
    directories_touched (u32). Human work only; a review on one's own PR is not counted.
    docs/metrics.md "Throughput".

    Counts the rows of :func:`activity`, but each kind is counted on its own before the kinds are
    combined, and repositories are counted by :func:`~impactlens.metrics.frames.distinct_count`, so no
    frame of every contribution is built.
    """
    keys: list[str] = []
    per_kind, places = [], []
    for kind, frame in contributions(frames).items():
        frame, keys = group_columns(frames, scope.apply(frames, frame, person="actor_key", time="at"), by=by,
                                    person="actor_key", time="at", grain=grain)
        per_kind.append(grouped(frame, keys, [pl.len().alias(_THROUGHPUT_COUNTS[kind])]) if keys
                        else frame.select(pl.len().alias(_THROUGHPUT_COUNTS[kind])))
        places.append(frame.select(*keys, "repo_id") if "repo_id" not in keys else frame.select(keys))
    counts = list(_THROUGHPUT_COUNTS.values())
    totals = aggregate(pl.concat(per_kind, how="diagonal"), keys,
                       [pl.col(c).sum().cast(pl.UInt32).alias(c) for c in counts])
    repos = distinct_count(pl.concat(places), keys, "repo_id", "repos_touched")
    totals = (pl.concat([totals, repos], how="horizontal") if not keys
              else totals.join(repos, on=keys, how="left", nulls_equal=True)
              .with_columns(pl.col("repos_touched").fill_null(0)))
    folders, _ = group_columns(frames, scope.apply(frames, _commit_folders(frames), person="actor_key", time="at"),
                               by=by, person="actor_key", time="at", grain=grain)
    dirs = aggregate(folders.select(*dict.fromkeys([*keys, "repo_id", "directory"])).unique(), keys,
                     [pl.len().cast(pl.UInt32).alias("directories_touched")])
    columns = ["prs_merged", "prs_opened", "commits", "reviews_given", "repos_touched", "directories_touched"]
    if not keys:
        return pl.concat([totals, dirs], how="horizontal").select(columns)
    return (
        totals.join(dirs, on=keys, how="left", nulls_equal=True)
        .with_columns(pl.col("directories_touched").fill_null(0))
        .select(*keys, *columns)
        .sort(keys)
    )
