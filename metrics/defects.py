"""Defects: bug-fix commits, reverts, the commits that introduced the fixed lines (SZZ), defect rate.

Shown to a person only about their own work, never as a ranking. Definitions: docs/metrics.md,
section "Defects".
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import polars as pl

from impactlens.errors import CollectionError
from impactlens.metrics.frames import Frames, GroupBy, Scope, aggregate, group_columns

#: A bug label, lower-cased and with every "debug" taken out: it contains bug, defect or regression
#: ('bug', 'bugs', 'kind/bugfix', 'type: bug', 'Regression'; not 'debug' or 'debugging').
BUG_LABEL = r"bug|defect|regression"


def bug_issues(frames: Frames) -> pl.LazyFrame:
    """The issues labelled as bugs: columns repo_id (key), number (i32).

    A label is a bug label when, lower-cased, it contains "bug", "defect" or "regression" as a substring,
    not counting the "bug" in "debug" (so `bugs`, `kind/bugfix`, `type: bug` are; `debugging` is not).
    docs/metrics.md "Defects".
    """
    label = pl.element().str.to_lowercase().str.replace_all("debug", "", literal=True)
    return frames.issues.filter(
        pl.col("labels").list.eval(label.str.contains(BUG_LABEL)).list.any().fill_null(False)
    ).select("repo_id", pl.col("number").cast(pl.Int32))


def classify_commits(frames: Frames) -> pl.LazyFrame:
    """Every non-merge commit with its defect flags.

    Columns: repo_id, sha, author_key, author_is_bot, authored_at (Datetime UTC), is_bug_fix (bool),
    fix_reason ('bug_issue' | 'message' | null), is_revert (bool).
    A bug fix references an issue of its repository labelled as a bug (:func:`bug_issues`; ``#123``
    anywhere in its message, e.g. ``Closes #123``, but not ``owner/repo#123``; or its PR links one):
    fix_reason 'bug_issue'. Otherwise its message says it fixes one (``patterns.FIX_MESSAGE``: ``fix:``,
    ``fix(scope):``, ``bugfix:`` or a hotfix prefix at the start of the message, "fixes a
    bug/crash/regression/defect", ``fix #N`` / ``fixes #N`` / ``fixed #N``): fix_reason 'message'.
    ``closes #N`` / ``resolves #N`` alone is not fix wording. A revert is never a bug fix. A revert's
    message starts ``Revert "``, or says ``This reverts commit <sha>`` or ``Reverts owner/repo#N``
    (``patterns.REVERT_MESSAGE``). docs/metrics.md "Defects".
    """

    def build() -> pl.LazyFrame:
        commits = frames.commits.filter(~pl.col("is_merge"))
        bugs = bug_issues(frames).with_columns(pl.lit(True).alias("_bug"))
        referenced = (
            commits.filter(pl.col("issue_refs").list.len() > 0)  # null (no '#') is left out too
            .select("commit_id", "repo_id", pl.col("issue_refs").alias("number"))
            .explode("number")
        )
        linked = (
            commits.filter(pl.col("pr_id").is_not_null()).select("commit_id", "repo_id", "pr_id")
            .join(frames.prs.select("pr_id", "linked_issues"), on="pr_id", how="inner")
            .explode("linked_issues").select("commit_id", "repo_id", pl.col("linked_issues").alias("number"))
        )
        fixes_bug = (
            pl.concat([referenced, linked]).filter(pl.col("number").is_not_null())
            .join(bugs, on=["repo_id", "number"], how="inner").select("commit_id").unique()
            .with_columns(pl.lit(True).alias("_bug_issue"))
        )
        return (
            commits.join(fixes_bug, on="commit_id", how="left")
            .with_columns(pl.col("_bug_issue").fill_null(False), pl.col("says_fix").alias("_message"))
            .with_columns(
                (pl.col("_bug_issue") & ~pl.col("is_revert")).alias("_bug_issue"),
                (pl.col("_message") & ~pl.col("is_revert")).alias("_message"),
            )
            .select(
                "repo_id", "sha", "author_key", "author_is_bot", "authored_at",
                (pl.col("_bug_issue") | pl.col("_message")).alias("is_bug_fix"),
                pl.when(pl.col("_bug_issue")).then(pl.lit("bug_issue"))
                .when(pl.col("_message")).then(pl.lit("message")).alias("fix_reason"),
                "is_revert",
            )
        )

    return frames.derived("classified_commits", build)


def szz(repo_path: str | Path, repo_id: str, fix_shas: Iterable[str]) -> pl.DataFrame:
    """The commits that last touched the lines each bug fix changed (SZZ, through PyDriller's
    ``Git.get_commits_last_modified_lines``). Runs ``git blame`` per fix: expensive, so it is run
    once by ``impactlens metrics --szz`` and stored in ``metric_bug_introductions``.

    Returns columns: repo_id, fix_sha, introducing_sha, path (str). A fix whose parent is missing
    (shallow clone) or whose file cannot be blamed is skipped.

    Raises:
        CollectionError: ``repo_path`` is not a git repository.
    """
    from git.exc import GitError
    from pydriller import Git

    config = _repository_config(repo_path)
    before = config.read_bytes() if config is not None and config.is_file() else None
    try:
        git = Git(str(repo_path))
    except Exception as exc:  # pydriller/gitpython raise several types for a bad path
        raise CollectionError(f"{repo_path} is not a git repository ({type(exc).__name__}).") from None
    rows: dict[str, list[str]] = {"repo_id": [], "fix_sha": [], "introducing_sha": [], "path": []}
    try:
        for sha in fix_shas:
            try:
                found = git.get_commits_last_modified_lines(git.get_commit(sha))
            except (GitError, ValueError, KeyError):
                continue
            for path, introducing in found.items():
                for intro in sorted(introducing):
                    rows["repo_id"].append(repo_id)
                    rows["fix_sha"].append(sha)
                    rows["introducing_sha"].append(intro)
                    rows["path"].append(path)
    finally:
        git.clear()
        # PyDriller's Git() writes ``blame.markUnblamableLines`` into the clone's .git/config: the
        # user's clone is read, never changed, so the file goes back to what it was.
        if before is not None and config is not None and config.read_bytes() != before:
            config.write_bytes(before)
    return pl.DataFrame(rows, schema={c: pl.String for c in rows})


def _repository_config(repo_path: str | Path) -> Path | None:
    """The repository's own config file (``<common git dir>/config``), or None outside a repository."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(repo_path), "rev-parse", "--path-format=absolute", "--git-common-dir"],
            capture_output=True, text=True, check=False,
        )
    except OSError:
        return None
    if done.returncode != 0:
        return None
    return Path(done.stdout.strip()) / "config"


def defect_rate(
    frames: Frames,
    introductions: pl.LazyFrame | pl.DataFrame | None = None,
    scope: Scope = Scope(),
    *,
    analysed_repos: Iterable[str] | None = None,
    by: GroupBy | None = "repo",
    grain=None,
) -> pl.LazyFrame:
    """Commits, bug fixes, reverts and bug-introducing commits per repository / team / person and period.

    ``introductions`` is the output of :func:`szz` (or the ``metric_bug_introductions`` table) and
    ``analysed_repos`` the repositories SZZ ran on (the ``metric_szz_repositories`` table's repo_id); by
    default the repositories that have at least one row in ``introductions`` (so an analysed repository
    in which SZZ found nothing is unknown unless named). Only commits of analysed repositories count:
    bug_introducing_commits and defect_rate are null for a group with none (a repository without a local
    clone, or no ``introductions`` at all), never 0, and a team's or person's rate spanning analysed and
    unanalysed repositories is over the analysed commits only. A person sees this only about their own work.

    Columns: group keys; commits, bug_fixes, reverts (u32, all human non-merge commits), analysed_commits
    (u32: those in analysed repositories), bug_introducing_commits (u32), defect_rate (f64:
    bug_introducing_commits / analysed_commits). Human, non-merge commits, by authored_at.
    docs/metrics.md "Defects".
    """
    frame = classify_commits(frames).filter(~pl.col("author_is_bot"))
    if introductions is not None:
        intro = introductions.lazy().select(
            pl.col("repo_id").cast(frames.key_dtype), pl.col("introducing_sha").alias("sha")
        ).unique()
        analysed = (
            intro.select("repo_id") if analysed_repos is None
            else pl.LazyFrame({"repo_id": list(analysed_repos)}, schema={"repo_id": pl.String})
            .select(pl.col("repo_id").cast(frames.key_dtype))
        ).unique().with_columns(pl.lit(True).alias("_analysed"))
        frame = (
            frame.join(analysed, on="repo_id", how="left")
            .join(intro.with_columns(pl.lit(True).alias("_introduced")), on=["repo_id", "sha"], how="left")
            .with_columns(
                pl.col("_analysed").fill_null(False),
                # Unknown (null) outside the analysed repositories.
                pl.when(pl.col("_analysed")).then(pl.col("_introduced").fill_null(False)).alias("_introduced"),
            )
        )
    else:
        frame = frame.with_columns(pl.lit(False).alias("_analysed"), pl.lit(None, pl.Boolean).alias("_introduced"))
    frame = scope.apply(frames, frame, person="author_key", time="authored_at")
    frame, keys = group_columns(frames, frame, by=by, person="author_key", time="authored_at", grain=grain)
    analysed_commits = pl.col("_analysed").sum()
    introduced = pl.col("_introduced").sum()
    return aggregate(frame, keys, [
        pl.len().alias("commits"),
        pl.col("is_bug_fix").sum().alias("bug_fixes"),
        pl.col("is_revert").sum().alias("reverts"),
        analysed_commits.alias("analysed_commits"),
        pl.when(analysed_commits > 0).then(introduced).alias("bug_introducing_commits"),
        pl.when(analysed_commits > 0).then(introduced / analysed_commits).alias("defect_rate"),
    ])
