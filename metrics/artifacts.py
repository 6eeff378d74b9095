"""Artifacts authored: the ADRs, design docs, runbooks and postmortems each person created or edited.

Definition: docs/metrics.md, section "Artifacts authored".
"""

from __future__ import annotations

import polars as pl

from impactlens.categories import categorizer
from impactlens.metrics.frames import ARTIFACT_CATEGORIES, Frames, Scope


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
