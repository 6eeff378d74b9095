"""Pull-request metrics: the per-PR facts, PR size, time to first review, and throughput.

Definitions: docs/metrics.md, sections "PR size", "Time to first review", "Throughput".
"""

from __future__ import annotations

import polars as pl

from impactlens.errors import ConfigError
from impactlens.metrics.calendar import business_hours, hours
from impactlens.metrics.containment import deployed, graph_repos
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
    not_self,
    sort_by_repo,
    utc,
)

#: What ends the wait for a first review (``[review] first_response``, docs/metrics.md "Time to first review").
FIRST_RESPONSE_MODES = ("review_or_comment", "review")

#: The kinds of rows in :func:`activity`.
ACTIVITY_KIND = pl.Enum(["pr_merged", "pr_opened", "review", "commit", "commit_dir"])

#: A PR "under 200 changed lines" is small (docs/metrics.md, "PR size").
SMALL_PR_LINES = 200

#: What each timeline event does to a PR's ready state (docs/metrics.md, "Time to first review"), as a
#: rank: events at the same instant apply in this order. The frames turn every spelling GitHub uses
#: (``ReadyForReviewEvent``, ``READY_FOR_REVIEW_EVENT``, ``ready_for_review``) into the snake-case one;
#: the GitHub collector stores ready_for_review, convert_to_draft and reopened (no ``closed`` event:
#: a ``reopened`` alone then ends the period before it at the reopen).
_CREATED, _TO_DRAFT, _CLOSED, _READY, _REOPENED, _END = range(6)
_PERIOD_EVENTS = {"convert_to_draft": _TO_DRAFT, "closed": _CLOSED, "ready_for_review": _READY,
                  "reopened": _REOPENED}


def _ready_periods(prs: pl.LazyFrame, timeline: pl.LazyFrame) -> pl.DataFrame:
    """The ready periods of each PR (see :func:`ready_periods`) from ``prs`` (pr_id, created_at, merged_at,
    closed_at, state, is_draft) and ``timeline`` (pr_id, event_type, created_at)."""
    prs = prs.select(
        "pr_id", "created_at",
        # The PR's final end: the merge, or the close of a PR that is closed now.
        pl.when(pl.col("merged_at").is_not_null()).then(pl.col("merged_at"))
        .when(pl.col("state") == "closed").then(pl.col("closed_at")).alias("_end"),
        # The draft flag is today's; a merged PR is not a draft (GitHub cannot merge one).
        (pl.col("is_draft").fill_null(False) & pl.col("merged_at").is_null()).alias("_draft_now"),
    ).collect().lazy()
    events = (
        timeline.filter(pl.col("event_type").is_in(list(_PERIOD_EVENTS)))
        .select("pr_id", pl.col("created_at").alias("_at"),
                pl.col("event_type").replace_strict(_PERIOD_EVENTS, return_dtype=pl.Int8).alias("_kind"))
        .join(prs, on="pr_id", how="inner")
        # Events after the PR's end (or before its creation, which GitHub does not make) are ignored.
        .filter(pl.col("_end").is_null() | (pl.col("_at") <= pl.col("_end")))
        .select("pr_id", pl.max_horizontal("_at", "created_at").alias("_at"), "_kind")
        .collect()
    )
    with_events = events.select("pr_id").unique().lazy()
    periods_out = ["pr_id", "period_start", "period_end", "shared_end", "is_last"]
    # Most PRs have no such event: one period from creation to the end, unless a draft now.
    simple = (
        prs.join(with_events, on="pr_id", how="anti").filter(~pl.col("_draft_now"))
        .select("pr_id", pl.col("created_at").alias("period_start"), pl.col("_end").alias("period_end"),
                pl.lit(False).alias("shared_end"), pl.lit(True).alias("is_last"))
    )
    # The others: a stream of creation, events and end per PR, in time order; the draft and open states
    # are carried forward from the row that last set them (creation sets both, and comes first in each PR).
    # A PR was a draft at creation when its first draft event makes it ready (else today's flag decides).
    first_draft_event = (
        events.lazy().filter(pl.col("_kind").is_in([_TO_DRAFT, _READY])).sort("pr_id", "_at", "_kind")
        .unique("pr_id", keep="first").select("pr_id", (pl.col("_kind") == _READY).alias("_draft_first"))
    )
    changing = prs.join(with_events, on="pr_id", how="semi")
    created = changing.join(first_draft_event, on="pr_id", how="left").select(
        "pr_id", pl.col("created_at").alias("_at"), pl.lit(_CREATED, pl.Int8).alias("_kind"),
        pl.coalesce("_draft_first", "_draft_now").alias("_draft0"),
    )
    ended = changing.filter(pl.col("_end").is_not_null()).select(
        "pr_id", pl.col("_end").alias("_at"), pl.lit(_END, pl.Int8).alias("_kind"))
    kind = pl.col("_kind")
    draft = (pl.when(kind == _CREATED).then(pl.col("_draft0")).when(kind == _TO_DRAFT).then(True)
             .when(kind == _READY).then(False).forward_fill())
    is_open = (pl.when(kind.is_in([_CREATED, _REOPENED])).then(True).when(kind.is_in([_CLOSED, _END])).then(False)
               .forward_fill())
    first_of_pr = (pl.col("pr_id") != pl.col("pr_id").shift(1)).fill_null(True)
    ready, before = pl.col("_ready"), pl.col("_before")
    split = (kind == _REOPENED) & ready & before  # reopened with no close seen: a new period at the reopen
    stream = (
        pl.concat([created, events.lazy(), ended], how="diagonal")
        .sort("pr_id", "_at", "_kind")
        .with_columns((is_open & ~draft).alias("_ready"))
        .with_columns(pl.when(first_of_pr).then(False).otherwise(ready.shift(1)).alias("_before"))
        .with_columns((ready & (~before | split)).alias("_starts"), ((before & ~ready) | split).alias("_ends"),
                      split.alias("_split"))
        .with_columns(pl.col("_starts").cum_sum().cast(pl.Int64).alias("_period"))
        .filter(pl.col("_starts") | pl.col("_ends"))
        .collect()
    )
    starts = stream.filter(pl.col("_starts")).select("_period", "pr_id", pl.col("_at").alias("period_start"))
    ends = stream.filter(pl.col("_ends")).select(
        (pl.col("_period") - pl.col("_split").cast(pl.Int64)).alias("_period"), pl.col("_at").alias("period_end"))
    same_pr_next = (pl.col("pr_id") == pl.col("pr_id").shift(-1)).fill_null(False)
    changed = (
        starts.join(ends, on="_period", how="left").sort("_period")
        .select(
            "pr_id", "period_start", "period_end",
            (same_pr_next & (pl.col("period_end") == pl.col("period_start").shift(-1))).fill_null(False)
            .alias("shared_end"),
            (~same_pr_next).alias("is_last"),
        )
    )
    return pl.concat([simple.collect(), changed.select(periods_out)]).select(periods_out)


def ready_periods(frames: Frames) -> pl.LazyFrame:
    """The periods in which each PR was ready for review (docs/metrics.md, "Time to first review").

    A PR is ready while it is open and not a draft. A period starts at the PR's creation when it was
    not a draft then, at ``ready_for_review``, or at ``reopened`` (a reopen with no ``closed`` event
    before it also ends the period running then); it ends at ``convert_to_draft``, ``closed``, or the
    PR's merge (or its close, for a PR closed now). A PR created as a draft is one whose first draft
    event is ``ready_for_review`` (with no draft event, one that is a draft now and not merged). Events
    after the merge or close are ignored. A PR that never left draft has no period.

    Columns: pr_id (u64), period_start, period_end (``Datetime(us, UTC)``; period_end null while the PR
    is ready now), shared_end (bool: the PR's next period starts at this one's end instant, so an event
    at that instant belongs to the next period), is_last (bool: the PR's latest period). Computed once
    per ``frames``; the events are handled as one sorted stream (forward fills), not per PR.
    """
    return frames.derived("ready_periods", lambda: _ready_periods(frames.prs, frames.timeline))


def in_ready_period(time: str) -> pl.Expr:
    """True when ``time`` falls in the period of a row of :func:`ready_periods`: from its start to its end,
    both included, except an end shared with the next period's start."""
    at, end = pl.col(time), pl.col("period_end")
    return (at >= pl.col("period_start")) & (
        end.is_null() | (at < end) | ((at == end) & ~pl.col("shared_end"))
    )


def _first_responses(frames: Frames, prs: pl.LazyFrame, periods: pl.LazyFrame) -> pl.LazyFrame:
    """pr_id, first_human_response_at, first_response_source ('review' or 'comment'), _response_period
    (the start of the ready period it fell in).

    The earliest review (any submitted state) or PR comment inside one of the PR's ready periods by a
    human other than the PR's author (reviews only with ``[review] first_response = "review"``). Bots and AI reviewers never count; a deleted account (null key)
    is never the author. A review and a comment at the same instant count as a review.
    """
    windows = periods.select("pr_id", "period_start", "period_end", "shared_end").join(
        prs.select("pr_id", "author_key"), on="pr_id", how="inner")
    reviews = frames.reviews.filter(~pl.col("reviewer_is_bot")).select(
        "pr_id", pl.col("reviewer_key").alias("_actor"), pl.col("submitted_at").alias("_at"),
        pl.lit(True).alias("_review"),
    )
    comments = frames.comments.filter(~pl.col("author_is_bot")).select(
        "pr_id", pl.col("author_key").alias("_actor"), pl.col("created_at").alias("_at"),
        pl.lit(False).alias("_review"),
    )
    mode = frames.config.get("review", {}).get("first_response", "review_or_comment")
    if mode not in FIRST_RESPONSE_MODES:
        raise ConfigError(f"review.first_response must be one of {', '.join(FIRST_RESPONSE_MODES)} (got {mode!r}).")
    responses = (
        (pl.concat([reviews, comments]) if mode == "review_or_comment" else reviews)
        .join(windows, on="pr_id", how="inner")
        .filter(
            not_self("_actor", "author_key"),
            in_ready_period("_at"),
        )
    )
    return (
        responses.group_by("pr_id")
        .agg(
            pl.col("_at").min().alias("first_human_response_at"),
            pl.col("_at").filter(pl.col("_review")).min().alias("_first_review"),
            # Periods do not overlap and each response is in one at most, so the earliest response is in
            # the earliest period that has one.
            pl.col("period_start").min().alias("_response_period"),
        )
        .select(
            "pr_id", "first_human_response_at", "_response_period",
            pl.when(pl.col("_first_review") == pl.col("first_human_response_at")).then(pl.lit("review"))
            .otherwise(pl.lit("comment")).alias("first_response_source"),
        )
    )


def merge_commits(frames: Frames) -> pl.LazyFrame:
    """pr_id (u64), repo_id (str), merge_sha: each merged PR's merge commit, when the warehouse holds it as a
    merge commit: GitHub's ``merge_commit_sha``, else the merge commit whose message names the PR ("Merge
    pull request #12 from ..."). Squash and rebase merges have none. Computed once per ``frames``."""

    def build() -> pl.DataFrame:
        merges = frames.commits.filter(pl.col("is_merge")).select("repo_id", "sha", "pr_id")
        prs = frames.prs.filter(pl.col("merged_at").is_not_null()).select(
            "pr_id", "repo_id", pl.col("merge_commit_sha").str.to_lowercase().alias("_sha"))
        by_sha = prs.join(merges.select("repo_id", pl.col("sha").alias("_sha"), pl.col("sha").alias("_by_sha")),
                          on=["repo_id", "_sha"], how="left")
        by_message = merges.filter(pl.col("pr_id").is_not_null()).group_by("pr_id").agg(
            pl.col("sha").sort().last().alias("_by_message"))
        return (
            by_sha.join(by_message, on="pr_id", how="left")
            .select("pr_id", pl.col("repo_id").cast(pl.String), pl.coalesce("_by_sha", "_by_message").alias("merge_sha"))
            .filter(pl.col("merge_sha").is_not_null())
            .collect()
        )

    return frames.derived("merge_commits", build)


def _merge_walk(frames: Frames, named: pl.LazyFrame) -> pl.DataFrame:
    """pr_id, repo_id, sha of merged PRs with no commit of their own in ``named``, walked from their merge
    commit (:func:`merge_commits`): the commits its second (and further) parents reach and its first parent
    does not. Merge commits found by the walk (main merged into the branch) are left out: they have no
    files of their own.
    """
    found = (
        merge_commits(frames).join(named.select("pr_id").unique(), on="pr_id", how="anti")
        .filter(pl.col("repo_id").is_in(list(frames.repos_with_parents))).collect()
    )
    rows: list[tuple[int, str, str]] = []
    for (repo_id,), group in found.group_by(["repo_id"], maintain_order=True):
        graph = frames.graph(repo_id)
        for pr_id, merge_sha in group.select("pr_id", "merge_sha").iter_rows():
            parents = graph.parents.get(merge_sha, [])
            if len(parents) < 2:
                continue
            for sha in graph.only_reachable(parents[1:], parents[:1]):
                if len(graph.parents.get(sha, [])) < 2:
                    rows.append((pr_id, repo_id, sha))
    return pl.DataFrame(rows, schema={"pr_id": pl.UInt64, "repo_id": pl.String, "sha": pl.String}, orient="row")


def pr_commits(frames: Frames) -> pl.LazyFrame:
    """The PR's own commits: pr_id (u64), commit_id (u64), source ('commits' | 'merge_walk').

    'commits': non-merge commits whose message names the PR (a squash commit "Title (#12)", or each commit
    of the PR in a repository that writes the number). 'merge_walk': for a merged PR with none, the commits
    of its merge commit's side branch (:func:`_merge_walk`). Merge commits are never a PR's own commits.
    docs/metrics.md "PR size". Computed once per ``frames``.
    """

    def build() -> pl.DataFrame:
        named = frames.commits.filter(pl.col("pr_id").is_not_null() & ~pl.col("is_merge")).select(
            "pr_id", "commit_id", pl.lit("commits").alias("source"))
        walked = _merge_walk(frames, named)
        if walked.is_empty():
            return named.collect()
        # commit_id is the warehouse's hash(repo_id, sha): join the walked shas back to the commits frame.
        ids = frames.commits.select("commit_id", pl.col("repo_id").cast(pl.String), "sha").join(
            walked.lazy().select("pr_id", "repo_id", "sha"), on=["repo_id", "sha"], how="inner")
        return pl.concat([named, ids.select("pr_id", "commit_id", pl.lit("merge_walk").alias("source"))]).collect()

    return frames.derived("pr_commits", build)


def _sizes(frames: Frames) -> pl.LazyFrame:
    """pr_id, _changed, _excluded, _files, _source: lines and files of the PR's own commits
    (:func:`pr_commits`)."""
    return sizes_of(frames.commit_files, pr_commits(frames))


def sizes_of(commit_files: pl.LazyFrame, commits: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`_sizes` from ``commit_files`` (commit_id, path, additions, deletions, category) and the PRs'
    own commits ``commits`` (pr_id, commit_id, source, as :func:`pr_commits`)."""
    excluded = pl.col("category").is_in(EXCLUDED_CATEGORIES)
    lines = pl.col("additions").fill_null(0) + pl.col("deletions").fill_null(0)
    return (
        commit_files.select("commit_id", "path", "additions", "deletions", "category")
        .join(commits, on="commit_id", how="inner")
        .group_by("pr_id")
        .agg(
            lines.filter(~excluded).sum().cast(pl.Int64).alias("_changed"),
            lines.filter(excluded).sum().cast(pl.Int64).alias("_excluded"),
            pl.col("path").filter(~excluded).n_unique().cast(pl.Int64).alias("_files"),
            pl.col("source").first().alias("_source"),
        )
    )


def reverted_prs(frames: Frames) -> pl.LazyFrame:
    """The merged PRs a revert undid: pr_id (u64), reverted_by (str: 'pr:<n>' of the reverting PR, else
    'commit:<sha>').

    A revert names what it undoes as git writes it ('This reverts commit <sha>': the sha, or a prefix of at
    least 7 characters, of one of the PR's own commits (:func:`pr_commits`) or of its merge commit) or as
    GitHub's Revert button does ('Reverts owner/repo#12' of this repository). A revert that was itself
    reverted (the change landed again) undoes nothing. docs/metrics.md "Throughput".
    """

    def build() -> pl.DataFrame:
        commits = frames.commits
        # Every sha that stands for a PR: its own commits, its merge commit (by GitHub's sha or its message).
        own = pr_commits(frames).join(commits.select("commit_id", "repo_id", "sha"), on="commit_id").select(
            "pr_id", "repo_id", "sha")
        merges = commits.filter(pl.col("is_merge") & pl.col("pr_id").is_not_null()).select("pr_id", "repo_id", "sha")
        by_github = frames.prs.filter(pl.col("merge_commit_sha").is_not_null()).select(
            "pr_id", "repo_id", pl.col("merge_commit_sha").str.to_lowercase().alias("sha"))
        pr_shas = pl.concat([own, merges, by_github]).unique()
        # The PR a revert commit belongs to (its own commit, or the merge of its branch).
        revert_pr = pr_commits(frames).select("commit_id", pl.col("pr_id").alias("_revert_pr"))
        reverts = (
            commits.filter(pl.col("is_revert"))
            .join(revert_pr, on="commit_id", how="left")
            .select("repo_id", "sha", "reverted_sha", "reverted_pr",
                    pl.coalesce("_revert_pr", "pr_id").alias("_revert_pr"))
            .collect()
        )
        if reverts.is_empty():
            return pl.DataFrame(schema={"pr_id": pl.UInt64, "reverted_by": pl.String})
        by_sha = (
            reverts.lazy().filter(pl.col("reverted_sha").is_not_null())
            .join(pr_shas.select("repo_id", pl.col("sha").alias("_target_sha"), "pr_id",
                                 pl.col("sha").str.slice(0, 7).alias("_sha7")),
                  left_on=["repo_id", pl.col("reverted_sha").str.slice(0, 7)], right_on=["repo_id", "_sha7"])
            .filter(pl.col("_target_sha").str.starts_with(pl.col("reverted_sha")))
            .select("pr_id", "sha", "_revert_pr")
        )
        by_number = (
            reverts.lazy().filter(pl.col("reverted_pr").is_not_null())
            .join(frames.prs.select("repo_id", "number", "pr_id"), left_on=["repo_id", "reverted_pr"],
                  right_on=["repo_id", "number"])
            .select("pr_id", "sha", "_revert_pr")
        )
        pairs = pl.concat([by_sha, by_number]).filter(
            pl.col("_revert_pr").is_null() | (pl.col("_revert_pr") != pl.col("pr_id"))).unique().collect()
        # A revert whose own PR (or commit) was reverted undid nothing: the change landed again.
        undone = set(pairs["pr_id"].to_list())
        pairs = pairs.filter(~pl.col("_revert_pr").is_in(list(undone)).fill_null(False))
        numbers = frames.prs.select("pr_id", "number").collect()
        return (
            pairs.join(numbers.rename({"pr_id": "_revert_pr", "number": "_revert_number"}), on="_revert_pr", how="left")
            .sort("_revert_number", "sha", nulls_last=True)
            .group_by("pr_id", maintain_order=True)
            .agg(pl.when(pl.col("_revert_number").is_not_null())
                 .then(pl.lit("pr:") + pl.col("_revert_number").cast(pl.String))
                 .otherwise(pl.lit("commit:") + pl.col("sha")).first().alias("reverted_by"))
        )

    return frames.derived("reverted_prs", build)


def landing_shas(frames: Frames, prs: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """pr_id, _shas (list[str]): the commits that carry a merged PR to a deployment: its merge commit, else
    its own commits (:func:`pr_commits`). Only for the PRs of ``prs`` (pr_id) when given."""
    merges, own_commits = merge_commits(frames), pr_commits(frames)
    if prs is not None:
        merges = merges.join(prs.select("pr_id"), on="pr_id", how="semi")
        own_commits = own_commits.join(prs.select("pr_id"), on="pr_id", how="semi")
    merge = merges.select("pr_id", pl.concat_list("merge_sha").alias("_merge"))
    own = (
        own_commits.join(frames.commits.select("commit_id", "sha"), on="commit_id", how="inner")
        .group_by("pr_id").agg(pl.col("sha").alias("_own"))
    )
    return (
        own.join(merge, on="pr_id", how="full", coalesce=True)
        .select("pr_id", pl.coalesce("_merge", "_own").alias("_shas"))
    )


def pr_facts(frames: Frames) -> pl.LazyFrame:
    """One row per pull request with every timing and size fact the PR metrics use.

    Columns: pr_id (u64, hash of repo_id and number), repo_id (key), number (i32), url, title, author_key (key), author_is_bot (bool), state
    (open/closed/merged), is_draft (bool), created_at, ready_at, first_human_response_at,
    first_response_at, first_response_kind ('review' | 'comment' | 'merge' | null), never_reviewed
    (bool), merged_unreviewed (bool: merged with no human response; null with no ready time), merged_at,
    closed_at, reverted (bool: merged and undone by a revert, :func:`reverted_prs`), reverted_by ('pr:<n>' |
    'commit:<sha>' | null), deployed_at, deployment_id, coding_start_at (all timestamps
    ``Datetime(us, UTC)``); changed_lines, excluded_lines, files_changed (i64), size_source
    ('commits' | 'merge_walk' | 'github_totals' | null: see :func:`pr_commits`; GitHub's totals only when
    the PR has no commit files of its own); time_to_first_review_hours, time_to_first_review_business_hours
    (null for a PR merged unreviewed: it never waited for a review that came), coding_hours, pickup_hours, review_hours, deploy_hours, cycle_time_to_merge_hours,
    cycle_time_hours (f64, hours; null when the phase has not happened).

    Waits follow the PR's ready periods (:func:`ready_periods`): ``first_human_response_at`` is the first
    human non-author response inside one (never during a draft, while closed, or after the merge);
    ``ready_at`` is the start of the ready period it fell in, else of the PR's last ready period. A PR
    that never left draft, or is an open draft now with no response, has ``ready_at`` null and
    ``never_reviewed`` null (it has not waited: not false, since nobody reviewed it, and not true, which
    would count it in ``never_reviewed_prs``). Otherwise ``never_reviewed`` is true when no response came
    (merged or closed unreviewed, or waiting now), and a merged PR with no response has
    ``first_response_kind`` 'merge'. ``coding_start_at`` is the earliest of the first commit, the creation
    and ``ready_at``.

    Definitions: docs/metrics.md "PR size", "Time to first review", "PR cycle time". The result is
    computed once per ``frames`` and reused.
    """

    def build() -> pl.LazyFrame:
        cfg = frames.config["business_hours"]
        prs = frames.prs.with_columns(
            pl.when(pl.col("merged_at").is_not_null()).then(pl.lit("merged")).otherwise(pl.col("state")).alias("state")
        )
        periods = ready_periods(frames)
        last = periods.filter(pl.col("is_last")).select(
            "pr_id", pl.col("period_start").alias("_last_start"), pl.col("period_end").is_null().alias("_ready_now"))
        prs = prs.join(last, on="pr_id", how="left")
        prs = prs.join(_first_responses(frames, prs, periods), on="pr_id", how="left")
        prs = prs.join(_sizes(frames), on="pr_id", how="left")
        # The wait is timed from the ready period of the first response; with none, from the last ready
        # period, unless the PR is an open draft now (its wait is paused: no ready time).
        prs = prs.with_columns(
            pl.coalesce(
                "_response_period",
                pl.when(pl.col("_ready_now") | (pl.col("state") != "open")).then(pl.col("_last_start")),
            ).alias("ready_at")
        )
        # Responses fall inside ready periods, which end at the merge: never after it.
        first_response = pl.min_horizontal("first_human_response_at", "merged_at")
        prs = prs.with_columns(
            pl.when(pl.col("ready_at").is_not_null()).then(first_response).alias("first_response_at"),
            pl.when(pl.col("ready_at").is_null()).then(pl.lit(None, pl.String))
            .when(pl.col("first_human_response_at").is_not_null()).then(pl.col("first_response_source"))
            .when(pl.col("merged_at").is_not_null()).then(pl.lit("merge"))
            .alias("first_response_kind"),
            pl.when(pl.col("ready_at").is_not_null()).then(pl.col("first_human_response_at").is_null())
            .alias("never_reviewed"),
            pl.when(pl.col("_changed").is_not_null()).then(pl.col("_changed"))
            .otherwise(pl.col("additions").cast(pl.Int64) + pl.col("deletions").cast(pl.Int64)).alias("changed_lines"),
            pl.col("_excluded").alias("excluded_lines"),
            pl.when(pl.col("_changed").is_not_null()).then(pl.col("_files"))
            .otherwise(pl.col("changed_files").cast(pl.Int64)).alias("files_changed"),
            pl.when(pl.col("_changed").is_not_null()).then(pl.col("_source"))
            .when(pl.col("additions").is_not_null()).then(pl.lit("github_totals")).alias("size_source"),
            pl.min_horizontal(pl.coalesce("first_commit_at", "created_at"), "created_at", "ready_at").alias("coding_start_at"),
        )
        # Deployments are found on the few columns they need and joined by pr_id: handing deployed() this
        # frame would collect it half-built, with every column (those dropped below too), and copy them.
        # Shas matter only where the commit graph placed a deployment (containment.graph_repos).
        located = frames.prs.select("pr_id", "repo_id", "merged_at")
        in_graph = located.filter(pl.col("repo_id").cast(pl.String).is_in(graph_repos(frames)))
        shipped = deployed(
            frames, located.join(landing_shas(frames, in_graph), on="pr_id", how="left"), "merged_at", "_shas",
        ).select("pr_id", "deployed_at", "deployed_at_id")
        prs = prs.join(shipped, on="pr_id", how="left")
        prs = prs.join(reverted_prs(frames), on="pr_id", how="left")
        merged = pl.col("merged_at").is_not_null()
        # A PR merged without a human response has no wait for a first review (it is counted apart); its
        # pickup phase still ends at the merge (LinearB).
        reviewed_wait = pl.col("first_response_kind") != "merge"
        prs = prs.with_columns(
            (pl.col("first_response_kind") == "merge").alias("merged_unreviewed"),
            (merged & pl.col("reverted_by").is_not_null()).alias("reverted"),
            pl.when(reviewed_wait).then(hours("ready_at", "first_response_at")).alias("time_to_first_review_hours"),
            pl.when(reviewed_wait).then(business_hours("ready_at", "first_response_at", cfg))
            .alias("time_to_first_review_business_hours"),
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
            "never_reviewed", "merged_unreviewed", "merged_at", "closed_at", "reverted", "reverted_by", "deployed_at", pl.col("deployed_at_id").alias("deployment_id"),
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
    prs (u32: merged PRs with a size), prs_without_size (u32: merged PRs with neither commit files nor
    GitHub's totals; left out of every other column), median_changed_lines, p90_changed_lines,
    median_files_changed (f64, lines / files; null when no PR has a size), share_under_200 (f64, 0-1: PRs
    with fewer than 200 changed lines), total_changed_lines (i64). Changed lines exclude generated,
    lockfile and vendored files. A deleted account's PRs have no person row but count for their repo
    and the organisation. docs/metrics.md "PR size".
    """
    frame, keys = group_columns(frames, _human_prs(frames, scope, "merged_at"), by=by, person="author_key",
                                time="merged_at", grain=grain)
    # Null sizes are skipped by every statistic below (the share too: the mean of a boolean skips nulls).
    return aggregate(frame, keys, [
        pl.col("changed_lines").is_not_null().sum().alias("prs"),
        pl.col("changed_lines").is_null().sum().alias("prs_without_size"),
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

    Columns: group keys; prs (u32: PRs with a ready time), reviewed_prs (u32: with a human response
    inside a ready period), ended_by_merge (u32: merged with no such response, "merged unreviewed"),
    merged_prs (u32: merged PRs among ``prs``), unreviewed_merge_share (f64, 0-1: ended_by_merge /
    merged_prs; null without merged PRs), never_reviewed_prs (u32: prs - reviewed_prs), waiting_prs (u32:
    open, no response yet), median_hours, p90_hours, mean_hours, median_business_hours (f64, over the
    reviewed PRs only: a PR merged unreviewed is counted apart, never as a short wait). A PR that never
    left draft is in no figure. docs/metrics.md "Time to first review".
    """
    frame, keys = group_columns(frames, _human_prs(frames, scope, "ready_at"), by=by, person="author_key",
                                time="ready_at", grain=grain)
    wait = pl.col("time_to_first_review_hours")
    unreviewed = (pl.col("first_response_kind") == "merge").sum()
    merged = pl.col("merged_at").is_not_null().sum()
    return aggregate(frame, keys, [
        pl.len().alias("prs"),
        (~pl.col("never_reviewed")).sum().alias("reviewed_prs"),
        unreviewed.alias("ended_by_merge"),
        merged.alias("merged_prs"),
        pl.when(merged > 0).then(unreviewed / merged).alias("unreviewed_merge_share"),
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
        # A reverted PR is not delivered work (docs/metrics.md "Throughput").
        "pr_merged": facts.filter(pl.col("merged_at").is_not_null() & ~pl.col("reverted")).select(
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

    kind (Enum) is 'pr_merged' (the PR's author, at merge; reverted PRs left out), 'commit' (a non-merge commit's author, at
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
    directories_touched (u32). Human work only; a review on one's own PR is not counted. A deleted
    account's work (null key) has no person row but counts for the repo and the organisation.
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
        places.append(frame.select(*dict.fromkeys([*keys, "repo_id"])))
    counts = list(_THROUGHPUT_COUNTS.values())
    totals = aggregate(pl.concat(per_kind, how="diagonal"), keys,
                       [pl.col(c).sum().cast(pl.UInt32).alias(c) for c in counts])
    repos = distinct_count(pl.concat(places), keys, "repo_id", "repos_touched")
    totals = (pl.concat([totals, repos], how="horizontal") if not keys
              else totals.join(repos, on=keys, how="left")
              .with_columns(pl.col("repos_touched").fill_null(0)))
    folders, _ = group_columns(frames, scope.apply(frames, _commit_folders(frames), person="actor_key", time="at"),
                               by=by, person="actor_key", time="at", grain=grain)
    dirs = aggregate(folders.select(*dict.fromkeys([*keys, "repo_id", "directory"])).unique(), keys,
                     [pl.len().cast(pl.UInt32).alias("directories_touched")])
    columns = ["prs_merged", "prs_opened", "commits", "reviews_given", "repos_touched", "directories_touched"]
    if not keys:
        return pl.concat([totals, dirs], how="horizontal").select(columns)
    return (
        totals.join(dirs, on=keys, how="left")
        .with_columns(pl.col("directories_touched").fill_null(0))
        .select(*keys, *columns)
        .sort(keys)
    )


#: The age buckets of :func:`open_prs_by_age`: (upper bound in days, label), then "> 4 weeks".
OPEN_PR_AGES = ((1, "< 1 day"), (3, "1–3 days"), (7, "3–7 days"), (14, "1–2 weeks"), (28, "2–4 weeks"))


def open_prs_by_age(frames: Frames, scope: Scope, at) -> pl.LazyFrame:
    """Human PRs open at ``at`` (a UTC datetime: created before it, not merged or closed by then), per age bucket
    and state, in ``scope``'s team (the author's team when the PR was created) and repository; ``scope``'s
    dates are not used (the PRs open at one moment).

    Columns: age (str: a label of :data:`OPEN_PR_AGES`, else "> 4 weeks"), order (i32: the bucket's position,
    youngest 0), state ('ready' | 'draft': the PR's draft flag now), prs (u32); sorted by order and state.
    """
    moment = utc(at)
    facts = pr_facts(frames).filter(~pl.col("author_is_bot"))
    facts = Scope(team=scope.team, repo=scope.repo).apply(frames, facts, person="author_key", time="created_at")
    end = pl.min_horizontal("merged_at", "closed_at")
    open_ = facts.filter((pl.col("created_at") < moment) & (end.is_null() | (end >= moment)))
    age = (pl.lit(moment) - pl.col("created_at")).dt.total_hours() / 24
    label = pl.when(age < OPEN_PR_AGES[0][0]).then(pl.lit(OPEN_PR_AGES[0][1]))
    order = pl.when(age < OPEN_PR_AGES[0][0]).then(0)
    for i, (limit, name) in enumerate(OPEN_PR_AGES[1:], start=1):
        label = label.when(age < limit).then(pl.lit(name))
        order = order.when(age < limit).then(i)
    label, order = label.otherwise(pl.lit("> 4 weeks")), order.otherwise(len(OPEN_PR_AGES))
    return (
        open_.with_columns(label.alias("age"), order.cast(pl.Int32).alias("order"),
                           pl.when(pl.col("is_draft")).then(pl.lit("draft")).otherwise(pl.lit("ready")).alias("state"))
        .group_by("age", "order", "state").agg(pl.len().cast(pl.UInt32).alias("prs"))
        .sort("order", "state")
    )


def active_people(frames: Frames, scope: Scope = Scope()) -> int:
    """People in a period (docs/metrics.md "Comparisons"): how many humans (bots left out, junk identities in)
    have a contribution of :func:`activity` (a commit, a PR opened or merged, a review) in ``scope`` (its
    dates, repository, team at the time of the contribution)."""
    found = scope.apply(frames, activity(frames), person="actor_key", time="at")
    return int(found.select(pl.col("actor_key").drop_nulls().n_unique()).collect().item())
