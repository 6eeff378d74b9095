"""Which deployment shipped which commit, by the commit graph; and the direct pushes of each repository.

A deployment contains the commits its sha reaches and the previous deployment's sha (same repository and
environment) does not; a commit is deployed by the first deployment containing it. Deployments whose sha
is unknown (none recorded, or not among the stored commits) fall back to time: they ship what landed
before them. Definitions: docs/metrics.md "DORA four keys" (Deployment containment, Direct pushes).
"""

from __future__ import annotations

import polars as pl

from impactlens.metrics.frames import Frames

_UTC = pl.Datetime("us", "UTC")


def _production(frames: Frames) -> pl.DataFrame:
    return (
        frames.deployments.filter(pl.col("is_production_success"))
        .select(pl.col("repo_id").cast(pl.String), pl.col("environment").fill_null(""), "deployment_id",
                "deployed_at", pl.col("sha").str.to_lowercase().alias("sha"))
        .sort("deployed_at", "deployment_id")
        .collect()
    )


def commit_deployments(frames: Frames) -> pl.LazyFrame:
    """repo_id (str), sha, deployment_id, deployed_at (Datetime UTC): for every stored commit a deployment
    with a known sha contains, the first such deployment (by time, then id).

    Per repository and environment, deployments in time order: each contains
    :meth:`~impactlens.metrics.graph.Graph.only_reachable` ([its sha], [the previous known sha]). A
    rollback to an older sha contains nothing; the deployment after it re-contains the commits rolled back,
    but they keep their first deployment. Computed once per ``frames``.
    """

    def build() -> pl.DataFrame:
        deploys = _production(frames)
        found: dict[tuple[str, str], tuple] = {}  # (repo_id, sha) -> (deployed_at, deployment_id)
        known = deploys.filter(pl.col("sha").is_not_null() & pl.col("repo_id").is_in(list(frames.repos_with_parents)))
        for (repo_id, _env), group in known.group_by(["repo_id", "environment"], maintain_order=True):
            graph = frames.graph(repo_id)
            previous: str | None = None
            for deployment_id, deployed_at, sha in group.select("deployment_id", "deployed_at", "sha").iter_rows():
                if sha not in graph.parents:
                    continue  # unknown here: the time rule covers it
                for commit in graph.only_reachable([sha], [previous] if previous else []):
                    key = (repo_id, commit)
                    if key not in found or (deployed_at, deployment_id) < found[key]:
                        found[key] = (deployed_at, deployment_id)
                previous = sha
        rows = [(repo, sha, d, at) for (repo, sha), (at, d) in found.items()]
        return pl.DataFrame(rows, schema={"repo_id": pl.String, "sha": pl.String, "deployment_id": pl.String,
                                          "deployed_at": _UTC}, orient="row")

    return frames.derived("commit_deployments", build)


def graph_repos(frames: Frames) -> list[str]:
    """The repositories (repo_id) holding a commit placed in a deployment by the commit graph
    (:func:`commit_deployments`): only there can :func:`deployed` place a change by its shas."""
    return sorted(commit_deployments(frames).select(pl.col("repo_id").unique()).collect()["repo_id"].to_list())


def _unknown_sha_deployments(frames: Frames) -> pl.DataFrame:
    """repo_id (str), deployment_id, deployed_at of the deployments the graph cannot place (no sha, or a
    sha not among the stored commits), sorted by deployed_at."""
    deploys = _production(frames)
    with_graph = frames.repos_with_parents
    known = [d for r, s, d in deploys.select("repo_id", "sha", "deployment_id").iter_rows()
             if s is not None and r in with_graph and s in frames.graph(r).parents]
    return deploys.filter(~pl.col("deployment_id").is_in(known)).select("repo_id", "deployment_id", "deployed_at")


def deployed(frames: Frames, frame: pl.LazyFrame, landed: str, shas: str, alias: str = "deployed_at") -> pl.LazyFrame:
    """``frame`` with ``alias`` (Datetime UTC) and ``{alias}_id``: the deployment that shipped each row.

    ``frame`` has ``repo_id``, ``landed`` (when the change landed: a merge, a commit) and ``shas``
    (list[str]: the commits that carry the change: a PR's merge commit, else its own commits; a pushed
    commit). The change is shipped by the earlier of: the first deployment containing every one of its
    ``shas`` (:func:`commit_deployments`; null when one is in none yet), and the first deployment with an
    unknown sha at or after ``landed`` (the time rule). Rows with neither get nulls.
    """
    keyed = frame.with_row_index("_dep_row").collect()
    placed = commit_deployments(frames)
    # Only rows of a repository with a deployment placed by the graph can be placed by it: the others
    # would meet no match in the join below (no shas, or a sha in no deployment: null either way).
    by_graph = (
        keyed.lazy().filter(pl.col("repo_id").cast(pl.String).is_in(graph_repos(frames)))
        .select("_dep_row", pl.col("repo_id").cast(pl.String).alias("_repo"), pl.col(shas).alias("_sha"))
        .explode("_sha").filter(pl.col("_sha").is_not_null())
        .join(placed.rename({"repo_id": "_repo", "sha": "_sha"}), on=["_repo", "_sha"], how="left")
        .group_by("_dep_row")
        .agg(
            pl.when(pl.col("deployed_at").is_not_null().all()).then(pl.col("deployed_at").max()).alias("_g_at"),
            pl.when(pl.col("deployed_at").is_not_null().all())
            .then(pl.col("deployment_id").sort_by("deployed_at", "deployment_id").last()).alias("_g_id"),
        )
    )
    # The few deployments take the frame's repo_id type (a Categorical when coded), not the frame's rows a string.
    unknown = _unknown_sha_deployments(frames).lazy().select(
        pl.col("repo_id").cast(keyed.schema["repo_id"]).alias("_repo"), pl.col("deployed_at").alias("_t_at"),
        pl.col("deployment_id").alias("_t_id"))
    by_time = (
        keyed.lazy().select("_dep_row", pl.col("repo_id").alias("_repo"), landed)
        .filter(pl.col(landed).is_not_null()).sort(landed)
        .join_asof(unknown.sort("_t_at"), left_on=landed, right_on="_t_at", by="_repo", strategy="forward",
                   check_sortedness=False)
        .select("_dep_row", "_t_at", "_t_id")
    )
    graph_first = pl.col("_g_at").is_not_null() & (pl.col("_t_at").is_null() | (pl.col("_g_at") <= pl.col("_t_at")))
    # The two columns are found on the row numbers alone and put beside the (possibly wide) frame in its
    # row order: joining the frame itself would copy every one of its columns twice, and joining the row
    # numbers in order cost more than placing each value at its row.
    n = keyed.height
    spread = [
        pl.repeat(None, n, dtype=column.dtype, eager=True).alias(column.name).scatter(part["_dep_row"], column)
        for part in (by_graph.collect(), by_time.collect()) for column in part.drop("_dep_row").get_columns()
    ]
    found = pl.DataFrame(spread).select(
        pl.when(graph_first).then(pl.col("_g_at")).otherwise(pl.col("_t_at")).alias(alias),
        pl.when(graph_first).then(pl.col("_g_id")).otherwise(pl.col("_t_id")).alias(f"{alias}_id"),
    )
    return keyed.drop("_dep_row").with_columns(found.get_columns()).lazy()


def direct_pushes(frames: Frames) -> pl.LazyFrame:
    """repo_id (str), sha: the non-merge commits pushed straight to the branch in repositories with
    pull-request data: on the first-parent history of the branch's tip (the newest commit no stored
    commit has as a parent) and part of no PR (not a PR's own commit, :func:`~impactlens.metrics.pr.pr_commits`,
    nor a commit whose message names a PR, nor a PR's ``merge_commit_sha``). Computed once per ``frames``.
    """

    def build() -> pl.DataFrame:
        from impactlens.metrics.pr import pr_commits

        with_prs = set(frames.prs.select(pl.col("repo_id").cast(pl.String)).unique().collect()["repo_id"].to_list())
        repos = sorted(with_prs & frames.repos_with_parents)
        rows: list[tuple[str, str]] = []
        if repos:
            commits = frames.commits.select("commit_id", pl.col("repo_id").cast(pl.String), "sha", "pr_id", "is_merge")
            in_pr = pl.concat([
                commits.join(pr_commits(frames), on="commit_id", how="semi").select("repo_id", "sha"),
                commits.filter(pl.col("pr_id").is_not_null()).select("repo_id", "sha"),
                frames.prs.filter(pl.col("merge_commit_sha").is_not_null())
                .select(pl.col("repo_id").cast(pl.String), pl.col("merge_commit_sha").str.to_lowercase().alias("sha")),
            ]).unique().collect()
            taken = set(in_pr.select("repo_id", "sha").iter_rows())
            for repo_id in repos:
                graph = frames.graph(repo_id)
                children = {p for parents in graph.parents.values() for p in parents}
                tips = [sha for sha in graph.parents if sha not in children]
                if not tips:
                    continue
                tip = max(tips, key=lambda sha: (graph.times[sha], sha))
                for sha in graph.first_parent_chain(tip):
                    if len(graph.parents[sha]) < 2 and (repo_id, sha) not in taken:
                        rows.append((repo_id, sha))
        return pl.DataFrame(rows, schema={"repo_id": pl.String, "sha": pl.String}, orient="row")

    return frames.derived("direct_pushes", build)
