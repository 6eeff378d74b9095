"""DORA's four keys per repository, team or organisation, with the 2023 report's performance bands.

Definitions: docs/metrics.md, section "DORA four keys".
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from impactlens.metrics.calendar import hours
from impactlens.metrics.frames import GRAIN_INTERVAL, Frames, Grain, Scope, period_start, utc, with_team
from impactlens.metrics import patterns
from impactlens.metrics.incidents import incident_facts
from impactlens.metrics.pr import pr_facts

#: The 2023 State of DevOps bands, as DevLake computes them (docs/metrics.md "DORA four keys").
LEAD_TIME_BANDS_HOURS = ((24.0, "elite"), (24.0 * 7, "high"), (24.0 * 30, "medium"))
RESTORE_BANDS_HOURS = ((1.0, "elite"), (24.0, "high"), (24.0 * 7, "medium"))
CHANGE_FAILURE_BANDS = ((0.05, "elite"), (0.10, "high"), (0.15, "medium"))

def _band(value: pl.Expr, bands: tuple[tuple[float, str], ...], *, inclusive: bool) -> pl.Expr:
    expr = pl.when(value.is_null()).then(pl.lit(None, pl.String))
    for limit, name in bands:
        expr = expr.when(value <= limit if inclusive else value < limit).then(pl.lit(name))
    return expr.otherwise(pl.lit("low"))


def deployment_frequency_band(median_days_per_week: pl.Expr, days_per_month: pl.Expr) -> pl.Expr:
    """elite: median deployment days per week >= 5 (on demand); high: >= 1; medium: at least one
    deployment day per month on average; low: less (DevLake's reading of the 2023 report)."""
    return (
        pl.when(median_days_per_week.is_null()).then(pl.lit(None, pl.String))
        .when(median_days_per_week >= 5).then(pl.lit("elite"))
        .when(median_days_per_week >= 1).then(pl.lit("high"))
        .when(days_per_month >= 1).then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )


def changes(frames: Frames) -> pl.LazyFrame:
    """Each change delivered, with its lead time: merged PRs (all authors, bots included: DORA measures
    the delivery system) and, for repositories without pull-request data, non-merge commits.

    Columns: repo_id, change_id ('pr:<n>' | 'commit:<sha>'), author_key, started_at (the PR's own first
    commit, so squash merges are measured from the work's start; else creation; a commit's authoring
    time), landed_at (merge / commit time), deployed_at, deployment_id, lead_time_hours (f64, null when
    not deployed yet).
    """

    def build() -> pl.LazyFrame:
        from impactlens.metrics.pr import _deployments_after

        prs = pr_facts(frames).filter(pl.col("merged_at").is_not_null()).select(
            "repo_id", (pl.lit("pr:") + pl.col("number").cast(pl.String)).alias("change_id"), "author_key",
            pl.col("coding_start_at").alias("started_at"), pl.col("merged_at").alias("landed_at"),
            "deployed_at", "deployment_id",
        )
        with_prs = frames.prs.select("repo_id").unique()
        commits = (
            frames.commits.filter(~pl.col("is_merge"))
            .join(with_prs, on="repo_id", how="anti")
            .select("repo_id", (pl.lit("commit:") + pl.col("sha")).alias("change_id"), "author_key",
                    pl.col("authored_at").alias("started_at"), pl.col("committed_at").alias("landed_at"))
        )
        commits = _deployments_after(frames, commits, "landed_at", "deployed_at").rename(
            {"deployed_at_id": "deployment_id"}
        )
        both = pl.concat([prs, commits.select(prs.collect_schema().names())])
        return both.with_columns(hours("started_at", "deployed_at").clip(lower_bound=0).alias("lead_time_hours"))

    return frames.derived("changes", build)


def _failures(frames: Frames) -> pl.LazyFrame:
    """deployment_id, reason ('incident' | 'revert' | 'hotfix'): why a deployment counts as failed."""
    deploys = (
        frames.deployments.filter(pl.col("is_production_success"))
        .select("repo_id", "deployment_id", "deployed_at").sort("deployed_at")
    )
    incidents = incident_facts(frames).filter(pl.col("deployment_id").is_not_null()).select(
        "deployment_id", pl.lit("incident").alias("reason")
    )
    # Reverts: the deployment that first shipped the reverted change failed, unless that change is itself a
    # revert (reverting a revert re-applies a change: no failure). A commit lands with its PR's merge when it
    # belongs to one (a merge-commit workflow's branch commits are written days before), else when committed.
    commits, prs = frames.commits, frames.prs
    revert_prs = pl.concat([
        prs.filter(pl.col("title").fill_null("").str.contains(patterns.REVERT_MESSAGE)).select("pr_id"),
        commits.filter(pl.col("is_revert") & pl.col("pr_id").is_not_null()).select("pr_id"),
    ]).unique().with_columns(pl.lit(True).alias("_pr_is_revert"))
    reverted_sha = (
        commits.filter(pl.col("reverted_sha").is_not_null())
        .select("repo_id", pl.col("reverted_sha").alias("_prefix"), pl.col("reverted_sha").str.slice(0, 7).alias("_sha7"))
        .collect()  # a handful of rows: match them against the commits only when there are any
    )
    shipped = (
        reverted_sha.lazy().join(
            commits.filter(pl.col("sha").str.slice(0, 7).is_in(reverted_sha["_sha7"].unique().implode()))
            .select("repo_id", "sha", pl.col("sha").str.slice(0, 7).alias("_sha7"), "committed_at", "is_revert",
                    "pr_id"),
            on=["repo_id", "_sha7"],
        )
        .filter(pl.col("sha").str.starts_with(pl.col("_prefix")))
        .join(prs.select("pr_id", "merged_at"), on="pr_id", how="left")
        .join(revert_prs, on="pr_id", how="left")
        .filter(~pl.col("is_revert") & ~pl.col("_pr_is_revert").fill_null(False))
        .select("repo_id", pl.coalesce("merged_at", "committed_at").alias("_landed"))
    ) if reverted_sha.height else pl.LazyFrame(schema={"repo_id": frames.key_dtype, "_landed": pl.Datetime("us", "UTC")})
    # 'Reverts owner/repo#N' of this repository, read from commit messages (frames: reverted_pr).
    reverted_pr = (
        commits.filter(pl.col("reverted_pr").is_not_null())
        .select("repo_id", pl.col("reverted_pr").alias("number"))
        .join(prs.select("repo_id", "number", "pr_id", pl.col("merged_at").alias("_landed")), on=["repo_id", "number"])
        .filter(pl.col("_landed").is_not_null())
        .join(revert_prs, on="pr_id", how="anti")
        .select("repo_id", "_landed")
    )
    reverts = (
        pl.concat([shipped, reverted_pr]).sort("_landed")
        .join_asof(deploys, left_on="_landed", right_on="deployed_at", by="repo_id", strategy="forward",
                   check_sortedness=False)
        .filter(pl.col("deployment_id").is_not_null())
        .select("deployment_id", pl.lit("revert").alias("reason"))
    )
    # Hotfixes: the deployment running when the hotfix landed failed.
    hotfix_prs = frames.prs.filter(pl.col("merged_at").is_not_null() & patterns.is_hotfix_pr()).select(
        "repo_id", pl.col("merged_at").alias("_landed")
    )
    with_prs = frames.prs.select("repo_id").unique()
    hotfix_commits = (
        commits.filter(pl.col("subject_says_hotfix") & ~pl.col("is_merge"))
        .join(with_prs, on="repo_id", how="anti").select("repo_id", pl.col("committed_at").alias("_landed"))
    )
    hotfixes = (
        pl.concat([hotfix_prs, hotfix_commits]).sort("_landed")
        .join_asof(deploys, left_on="_landed", right_on="deployed_at", by="repo_id", strategy="backward",
                   check_sortedness=False, allow_exact_matches=False)
        .filter(pl.col("deployment_id").is_not_null())
        .select("deployment_id", pl.lit("hotfix").alias("reason"))
    )
    return pl.concat([incidents, reverts, hotfixes]).unique()


def deployment_facts(frames: Frames) -> pl.LazyFrame:
    """One row per successful production deployment.

    Columns: deployment_id, repo_id, deployed_at (Datetime UTC), changes (u32: changes it first
    shipped), failed (bool), failure_reasons (list[str] of 'incident', 'revert', 'hotfix').
    """

    def build() -> pl.LazyFrame:
        deploys = frames.deployments.filter(pl.col("is_production_success")).select(
            "deployment_id", "repo_id", "deployed_at"
        )
        shipped = changes(frames).filter(pl.col("deployment_id").is_not_null()).group_by("deployment_id").agg(
            pl.len().alias("changes")
        )
        reasons = _failures(frames).group_by("deployment_id").agg(pl.col("reason").unique().sort().alias("failure_reasons"))
        return (
            deploys.join(shipped, on="deployment_id", how="left")
            .join(reasons, on="deployment_id", how="left")
            .with_columns(
                pl.col("changes").fill_null(0).cast(pl.UInt32),
                pl.col("failure_reasons").is_not_null().alias("failed"),
                pl.col("failure_reasons").fill_null(pl.lit([], pl.List(pl.String))),
            )
            .sort("deployed_at", "deployment_id")
        )

    return frames.derived("deployment_facts", build)


def _weeks(groups: pl.LazyFrame, keys: list[str], grain: Grain | None, lo, hi) -> pl.LazyFrame:
    """The weeks (their Mondays, Datetime UTC) of each group in ``groups``: with a ``grain``, the weeks whose
    Monday falls in the group's period [period_start, next period_start); without, those whose Monday falls
    in [lo, hi) (no weeks when either is None). A range holding no Monday has one week, the one holding its
    start. Columns: keys..., week."""
    utc_type = pl.Datetime("us", "UTC")
    if grain is not None:
        base = groups.select(keys).with_columns(
            pl.col("period_start").alias("_lo"), pl.col("period_start").dt.offset_by(GRAIN_INTERVAL[grain]).alias("_hi")
        )
    elif lo is None or hi is None:
        return groups.select(*keys, pl.lit(None, utc_type).alias("week")).clear()
    else:
        base = (groups.select(keys) if keys else pl.LazyFrame({"_k": [0]})).with_columns(
            pl.lit(lo).cast(utc_type).alias("_lo"), pl.lit(hi).cast(utc_type).alias("_hi")
        )
    monday = pl.col("_lo").dt.truncate("1w")
    has_monday = pl.col("_first") < pl.col("_hi")
    return (
        base.with_columns(pl.when(monday < pl.col("_lo")).then(monday.dt.offset_by("1w")).otherwise(monday).alias("_first"))
        .with_columns(
            pl.when(has_monday).then(pl.col("_first")).otherwise(monday).alias("_first"),
            pl.when(has_monday).then(pl.col("_hi")).otherwise(monday.dt.offset_by("1w")).alias("_hi"),
        )
        .with_columns(pl.datetime_ranges("_first", "_hi", interval="1w", closed="left").alias("week"))
        .explode("week")
        .filter(pl.col("week").is_not_null())
        .select([*keys, "week"])
    )


def dora(
    frames: Frames, scope: Scope = Scope(), *, by: str | None = "repo", grain: Grain | None = "month"
) -> pl.LazyFrame:
    """DORA's four keys with their 2023 performance bands, per repository / team / organisation and period.

    Args:
        by: 'repo', 'team' (deployments that shipped at least one change by a team member, that team's
            changes, and incidents attributed to those deployments) or None (the whole organisation).
        grain: week, month, quarter or None (the scope's whole range; a side the scope leaves open ends
            with the week of the first / last deployment in it).

    Columns: group keys (period_start, repo_id / team_id); deployments (u32), deploy_days (u32: distinct
    UTC days), median_deploy_days_per_week (f64: the median number of deployment days over the period's
    weeks, those whose Monday falls in it, each counted whole, weeks without deployments as 0; a period
    holding no Monday has the week holding its start), deployment_frequency_band; changes_deployed (u32),
    lead_time_median_hours (f64), lead_time_band; failed_deployments (u32), change_failure_rate (f64,
    0-1; null without deployments), change_failure_band; incidents (u32), restored_incidents (u32),
    time_to_restore_median_hours, time_to_restore_mean_hours (f64 hours, incident opened -> resolved),
    time_to_restore_band. Bands are 'elite', 'high', 'medium', 'low' or null without data; zero
    deployments in a period is frequency 'low', but with no deployment data at all (of the repository, for
    ``by='repo'``) the median and the frequency band are null. docs/metrics.md "DORA four keys".

    Raises:
        ValueError: ``by`` is not repo, team or None.
    """
    if by not in ("repo", "team", None):
        raise ValueError(f"dora: by must be 'repo', 'team' or None (got {by!r})")
    deploys = scope.window(deployment_facts(frames), "deployed_at")
    chg = changes(frames).filter(pl.col("deployed_at").is_not_null())
    chg = scope.window(chg, "deployed_at")
    incidents = scope.window(incident_facts(frames), "opened_at")
    if scope.repo is not None:
        deploys = deploys.filter(pl.col("repo_id") == scope.repo)
        chg = chg.filter(pl.col("repo_id") == scope.repo)
        incidents = incidents.filter(pl.col("repo_id") == scope.repo)
    keys: list[str] = []
    if by == "team" or scope.team is not None:
        chg = with_team(frames, chg, "author_key", "landed_at")
        if scope.team is not None:
            chg = chg.filter(pl.col("team_id") == scope.team)
        team_deploys = chg.select("deployment_id", "team_id").unique()
        deploys = deploys.join(team_deploys, on="deployment_id", how="inner")
        incidents = incidents.join(team_deploys, on="deployment_id", how="inner")
        if by == "team":
            keys.append("team_id")
    if by == "repo":
        keys.append("repo_id")
        incidents = incidents.filter(pl.col("repo_id").is_not_null())
    groups = list(keys)  # the keys without the period
    if grain is not None:
        deploys = deploys.with_columns(period_start("deployed_at", grain).alias("period_start"))
        chg = chg.with_columns(period_start("deployed_at", grain).alias("period_start"))
        incidents = incidents.with_columns(period_start("opened_at", grain).alias("period_start"))
        keys = ["period_start", *keys]

    def grouped(frame: pl.LazyFrame, exprs: list[pl.Expr]) -> pl.LazyFrame:
        return frame.group_by(keys).agg(exprs) if keys else frame.select(exprs)

    per_deploys = grouped(deploys, [
        pl.len().cast(pl.UInt32).alias("deployments"),
        pl.col("deployed_at").dt.date().n_unique().cast(pl.UInt32).alias("deploy_days"),
        pl.col("failed").sum().cast(pl.UInt32).alias("failed_deployments"),
    ])
    per_changes = grouped(chg, [
        pl.len().cast(pl.UInt32).alias("changes_deployed"),
        pl.col("lead_time_hours").median().alias("lead_time_median_hours"),
    ])
    per_incidents = grouped(incidents, [
        pl.len().cast(pl.UInt32).alias("incidents"),
        (~pl.col("is_open")).sum().cast(pl.UInt32).alias("restored_incidents"),
        pl.col("time_to_restore_hours").median().alias("time_to_restore_median_hours"),
        pl.col("time_to_restore_hours").mean().alias("time_to_restore_mean_hours"),
    ])
    if keys:
        out = per_deploys
        for other in (per_changes, per_incidents):
            out = out.join(other, on=keys, how="full", coalesce=True)
    else:
        out = pl.concat([per_deploys, per_changes, per_incidents], how="horizontal")
    out = out.with_columns(
        pl.col("deployments").fill_null(0), pl.col("deploy_days").fill_null(0),
        pl.col("failed_deployments").fill_null(0), pl.col("changes_deployed").fill_null(0),
        pl.col("incidents").fill_null(0), pl.col("restored_incidents").fill_null(0),
    ).collect().lazy()  # a row per group and period: read twice below
    # Deployment days per week, over each row's weeks (docs/metrics.md "DORA four keys"). A week counts whole
    # (its days in the next period too) in the period holding its Monday; weeks without a deployment count 0.
    production = frames.deployments.filter(pl.col("is_production_success"))
    if scope.repo is not None:
        production = production.filter(pl.col("repo_id") == scope.repo)
    lo = hi = None
    if grain is None:  # the scope's range; where it has no end, the weeks of its first / last deployment
        first, last = scope.window(production, "deployed_at").select(
            pl.col("deployed_at").min().dt.truncate("1w").alias("_first"),
            pl.col("deployed_at").max().dt.truncate("1w").alias("_last"),
        ).collect().row(0)
        lo = utc(scope.start) or first
        hi = utc(scope.end) or (last + timedelta(days=7) if last is not None else lo)
        lo = lo or (hi - timedelta(days=7) if hi is not None else None)
    days = deploys.select(*groups, pl.col("deployed_at").dt.truncate("1w").alias("week"),
                          pl.col("deployed_at").dt.date().alias("_day")).unique()
    weekly = days.group_by([*groups, "week"]).agg(pl.len().alias("_days"))
    weekly = (
        _weeks(out, keys, grain, lo, hi).join(weekly, on=[*groups, "week"], how="left")
        .with_columns(pl.col("_days").fill_null(0))
    )
    per_week = grouped(weekly, [
        pl.col("_days").median().alias("median_deploy_days_per_week"),
        pl.len().alias("_weeks"),
    ])
    out = out.join(per_week, on=keys, how="left") if keys else pl.concat([out, per_week], how="horizontal")
    # Without any deployment data (none at all: of the repository, per repository) frequency is unknown, not low.
    if by == "repo":
        known = production.select("repo_id").unique().with_columns(pl.lit(True).alias("_known"))
        out = out.join(known, on="repo_id", how="left").with_columns(pl.col("_known").fill_null(False))
    else:
        out = out.with_columns(pl.lit(production.select(pl.len()).collect().item() > 0).alias("_known"))
    out = out.with_columns(
        pl.when(pl.col("_known")).then(pl.col("median_deploy_days_per_week")).alias("median_deploy_days_per_week")
    )
    months = {"month": pl.lit(1.0), "quarter": pl.lit(3.0)}.get(
        grain or "", pl.col("_weeks").cast(pl.Float64) * 7 / 30.4375
    )
    out = out.with_columns(
        deployment_frequency_band(pl.col("median_deploy_days_per_week"), pl.col("deploy_days") / months)
        .alias("deployment_frequency_band"),
        _band(pl.col("lead_time_median_hours"), LEAD_TIME_BANDS_HOURS, inclusive=False).alias("lead_time_band"),
        pl.when(pl.col("deployments") > 0).then(pl.col("failed_deployments") / pl.col("deployments"))
        .alias("change_failure_rate"),
    ).with_columns(
        _band(pl.col("change_failure_rate"), CHANGE_FAILURE_BANDS, inclusive=True).alias("change_failure_band"),
        _band(pl.col("time_to_restore_median_hours"), RESTORE_BANDS_HOURS, inclusive=False).alias("time_to_restore_band"),
    )
    columns = [*keys, "deployments", "deploy_days", "median_deploy_days_per_week", "deployment_frequency_band",
               "changes_deployed", "lead_time_median_hours", "lead_time_band", "failed_deployments",
               "change_failure_rate", "change_failure_band", "incidents", "restored_incidents",
               "time_to_restore_median_hours", "time_to_restore_mean_hours", "time_to_restore_band"]
    out = out.select(columns)
    return out.sort(keys) if keys else out
