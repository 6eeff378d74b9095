"""Ownership: who wrote which directories, bus factor per directory (CHAOSS), and artifacts authored.

Definitions: docs/metrics.md, sections "Ownership", "Bus factor", "Artifacts authored".
"""

from __future__ import annotations

import polars as pl

from impactlens.categories import categorizer
from impactlens.metrics.frames import ARTIFACT_CATEGORIES, EXCLUDED_CATEGORIES, Frames, Scope
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


def _moved_artifacts(frames: Frames) -> pl.LazyFrame:
    """commit_id, path: the renames ('R') into an artifact path whose old path was an artifact already
    (any of :data:`ARTIFACT_CATEGORIES` under the configured ``[categories]``). Computed once per frames:
    only renames into artifact paths are categorised, a handful of paths."""

    def build() -> pl.DataFrame:
        moved = frames.renames.filter(
            pl.col("category").is_in(ARTIFACT_CATEGORIES) & pl.col("change_type").str.starts_with("R")
        ).select("commit_id", "path", "old_path").collect()
        if moved.is_empty():  # no rename into an artifact path: the globs need not be compiled
            return moved.select("commit_id", "path")
        categorize = categorizer(frames.config)
        was = [old for old in moved["old_path"].unique().to_list() if categorize(old) in ARTIFACT_CATEGORIES]
        return moved.filter(pl.col("old_path").is_in(was)).select("commit_id", "path")

    return frames.derived("moved_artifacts", build)


def artifacts(frames: Frames, scope: Scope = Scope()) -> pl.LazyFrame:
    """ADRs, design docs, runbooks and postmortems each person created or edited.

    One row per (person, file, action) with the first commit doing it (change types as git's
    ``--name-status`` letters, :mod:`collectors.git`):

    * *created*: the commit added the file ('A') or copied it there ('C'), or renamed into the artifact
      path a file that was not an artifact before (e.g. notes moved into ``docs/adr/``; 'R');
    * *edited*: the commit changed it ('M', 'T'), or renamed an existing artifact and changed lines in
      the same commit;
    * neither: a deletion ('D'), or a rename of an existing artifact that changed no line (nothing
      authored: the file keeps its creator under its old path).

    Bots and merge commits are left out. Columns: person_key, repo_id, path, category ('adr' |
    'design_doc' | 'runbook' | 'postmortem'), action ('created' | 'edited'), at (Datetime UTC), sha,
    commits (u32). docs/metrics.md "Artifacts authored".
    """
    commits = frames.commits.filter(~pl.col("author_is_bot") & ~pl.col("is_merge")).select(
        "commit_id", "repo_id", "sha", "author_key", "authored_at"
    )
    commits = scope.apply(frames, commits, person="author_key", time="authored_at")
    kind = pl.col("change_type").str.slice(0, 1)
    lines = pl.col("additions").fill_null(0) + pl.col("deletions").fill_null(0)
    was_artifact = pl.col("_was_artifact").fill_null(False)
    action = (
        pl.when(kind.is_in(["A", "C"])).then(pl.lit("created"))
        .when(kind == "R").then(pl.when(~was_artifact).then(pl.lit("created")).when(lines > 0).then(pl.lit("edited")))
        .otherwise(pl.lit("edited"))
    )
    files = (
        frames.commit_files.filter(pl.col("category").is_in(ARTIFACT_CATEGORIES) & (kind != "D"))
        .join(_moved_artifacts(frames).with_columns(pl.lit(True).alias("_was_artifact")),
              on=["commit_id", "path"], how="left")
        .select("commit_id", "path", "category", action.alias("action"))
        .filter(pl.col("action").is_not_null())
    )
    return (
        files.join(commits, on="commit_id", how="inner")
        .group_by(pl.col("author_key").alias("person_key"), "repo_id", "path", "category", "action")
        .agg(
            pl.col("authored_at").min().alias("at"),
            pl.col("sha").sort_by("authored_at").first().alias("sha"),
            pl.len().alias("commits"),
        )
        .sort("person_key", "at", "path")
    )


def artifact_summary(frames: Frames, scope: Scope = Scope()) -> pl.LazyFrame:
    """Per person: created and edited counts of each artifact category (files, as :func:`artifacts` counts them).

    Columns: person_key, category, created (u32), edited (u32). docs/metrics.md "Artifacts authored".
    """
    return (
        artifacts(frames, scope).group_by("person_key", "category")
        .agg((pl.col("action") == "created").sum().alias("created"), (pl.col("action") == "edited").sum().alias("edited"))
        .sort("person_key", "category")
    )
