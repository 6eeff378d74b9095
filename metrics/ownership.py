"""Ownership: who wrote which directories, and the bus factor per directory (CHAOSS).

Definitions: docs/metrics.md, sections "Ownership" and "Bus factor". (Artifacts authored:
:mod:`impactlens.metrics.artifacts`; who CODEOWNERS names: :mod:`impactlens.codeowners`.)
"""

from __future__ import annotations

import polars as pl

from impactlens.metrics.frames import EXCLUDED_CATEGORIES, Frames, Scope
from impactlens.metrics.pr import directory_of

#: Bus factor: the fewest people who together wrote at least this share of a directory's changed lines.
BUS_FACTOR_SHARE = 0.5


def _authored_lines(frames: Frames, scope: Scope, depth: int) -> pl.LazyFrame:
    """commit_id, repo_id, directory, lines, author_key, authored_at: each counted file change in the
    scope's repository and dates, by members of its team at the time of the commit (not its person)."""
    commits = frames.commits.filter(~pl.col("author_is_bot") & ~pl.col("is_merge")).select(
        "commit_id", "author_key", "authored_at"
    )
    commits = Scope(team=scope.team, start=scope.start, end=scope.end).apply(
        frames, commits, person="author_key", time="authored_at", repo=None
    ).select("commit_id", "author_key", "authored_at")
    files = frames.commit_files.filter(~pl.col("category").is_in(EXCLUDED_CATEGORIES)).select(
        "commit_id", "repo_id", directory_of("path", depth).alias("directory"),
        (pl.col("additions").fill_null(0) + pl.col("deletions").fill_null(0)).cast(pl.Int64).alias("lines"),
    )
    if scope.repo is not None:
        files = files.filter(pl.col("repo_id") == scope.repo)
    return files.join(commits, on="commit_id", how="inner")


def ownership(frames: Frames, scope: Scope = Scope(), *, depth: int = 2) -> pl.LazyFrame:
    """Each person's share of the changed lines of each directory (``depth`` folder levels).

    Counts added + deleted lines of non-merge commits by humans in the scope's date range, excluding
    generated, lockfile and vendored files (a pure rename changes 0 lines). ``scope.team`` counts only
    the lines its members wrote while in the team (shares, ranks and the bus factor are then the team's);
    ``scope.person`` keeps that person's rows (shares stay shares of the directory's lines in the scope).

    Columns: repo_id, directory, person_key (key), lines (i64), share (f64, 0-1), rank (u32, 1 = wrote
    the most; equal lines are ranked by person_key). docs/metrics.md "Ownership".
    """
    def build() -> pl.LazyFrame:
        lines = _authored_lines(frames, scope, depth)
        per = lines.group_by("repo_id", "directory", pl.col("author_key").alias("person_key")).agg(pl.col("lines").sum())
        # Sorted by person first, so people with equal lines are ranked by their key, the same on every run.
        per = per.filter(pl.col("lines") > 0).sort("person_key").with_columns(
            (pl.col("lines") / pl.col("lines").sum().over("repo_id", "directory")).alias("share"),
            pl.col("lines").rank("ordinal", descending=True).over("repo_id", "directory").cast(pl.UInt32).alias("rank"),
        )
        return per.sort("repo_id", "directory", "rank")

    # The whole history's shares are computed once per frames (bus_factor reads them too).
    whole = scope.repo is None and scope.team is None and scope.start is None and scope.end is None
    per = frames.derived(f"ownership_depth{depth}", build) if whole else build()
    if scope.person is not None:
        per = per.filter(pl.col("person_key") == scope.person)
    return per


def bus_factor(frames: Frames, scope: Scope = Scope(), *, depth: int = 2) -> pl.LazyFrame:
    """Bus factor per directory: the smallest number of people who together wrote at least 50% of its
    changed lines (CHAOSS "Bus Factor" / "Contributor Absence Factor"), counted as :func:`ownership`
    counts them in the scope's repository, dates and team (``scope.person`` is not used).

    Columns: repo_id, directory (str), contributors (u32), lines (i64), bus_factor (u32), top_person_key
    (key), top_share (f64). docs/metrics.md "Bus factor".
    """
    shares = ownership(frames, Scope(repo=scope.repo, team=scope.team, start=scope.start, end=scope.end), depth=depth)
    ranked = shares.sort("repo_id", "directory", "rank").with_columns(
        (pl.col("share").cum_sum().over("repo_id", "directory") - pl.col("share")).alias("_before")
    )
    return (
        ranked.group_by("repo_id", "directory")
        .agg(
            pl.len().alias("contributors"),
            pl.col("lines").sum().alias("lines"),
            # people needed: those ranked before the share reached 50%, plus the one who crosses it
            (pl.col("_before") < BUS_FACTOR_SHARE - 1e-12).sum().cast(pl.UInt32).alias("bus_factor"),
            pl.col("person_key").sort_by("rank").first().alias("top_person_key"),
            pl.col("share").max().alias("top_share"),
        )
        .sort("repo_id", "directory")
    )
