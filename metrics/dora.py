"""DORA's four keys per repository, team or organisation, with the 2023/2024 reports' performance levels,
the failed deployment recovery time and the rework rate.

Definitions: docs/metrics.md, section "DORA four keys".
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from impactlens.metrics.calendar import hours
from impactlens.metrics.containment import deployed, direct_pushes
from impactlens.metrics.frames import GRAIN_INTERVAL, Frames, Grain, Scope, period_start, utc, with_team
from impactlens.metrics import patterns
from impactlens.metrics.incidents import incident_facts
from impactlens.metrics.pr import landing_shas, pr_facts

#: The performance levels of the Accelerate State of DevOps reports (DORA / Google Cloud), as thresholds:
#: docs/metrics.md "DORA four keys" has the reports' tables and how each range becomes a threshold.
#: Lead time: 2023 and 2024 alike (less than one day; one day to one week; one week to one month; longer).
LEAD_TIME_BANDS_HOURS = ((24.0, "elite"), (24.0 * 7, "high"), (24.0 * 30, "medium"))
#: Failed deployment recovery time, 2023 report: less than one hour; less than one day; one day to one week.
RECOVERY_BANDS_HOURS = ((1.0, "elite"), (24.0, "high"), (24.0 * 7, "medium"))
#: Change failure rate, 2023 report: 5%, 10%, 15% (the 2024 clusters, 5% / 20% / 10% / 40%, do not order).
CHANGE_FAILURE_BANDS = ((0.05, "elite"), (0.10, "high"), (0.15, "medium"))
#: Kept for callers of the old name: the bands are the 2023 failed deployment recovery time's.
RESTORE_BANDS_HOURS = RECOVERY_BANDS_HOURS
#: Working days in a week: "on demand (multiple deploys per day)" is more than one deployment per working day.
WORKING_DAYS_PER_WEEK = 5


def _band(value: pl.Expr, bands: tuple[tuple[float, str], ...], *, inclusive: bool) -> pl.Expr:
    expr = pl.when(value.is_null()).then(pl.lit(None, pl.String))
    for limit, name in bands:
        expr = expr.when(value <= limit if inclusive else value < limit).then(pl.lit(name))
    return expr.otherwise(pl.lit("low"))


def deployment_frequency_band(
    median_days_per_week: pl.Expr, days_per_month: pl.Expr, deployments_per_week: pl.Expr | None = None
) -> pl.Expr:
    """The 2023/2024 reports' deployment frequency levels (docs/metrics.md "DORA four keys").

    elite, "on demand (multiple deploys per day)": more than one deployment per working day on average
    (``deployments_per_week`` > 5) and a deployment day in the median week; high, "between once per day
    and once per week": at least one deployment day in the median week (daily deployment is high); medium,
    "between once per week and once per month": at least one deployment day per month on average; low,
    "between once per month and once every six months" (and less often). Without
    ``deployments_per_week`` nothing is elite.
    """
    elite = (deployments_per_week > WORKING_DAYS_PER_WEEK) if deployments_per_week is not None else pl.lit(False)
    return (
        pl.when(median_days_per_week.is_null()).then(pl.lit(None, pl.String))
        .when(elite & (median_days_per_week >= 1)).then(pl.lit("elite"))
        .when(median_days_per_week >= 1).then(pl.lit("high"))
        .when(days_per_month >= 1).then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )


def _pushed_commits(frames: Frames) -> pl.LazyFrame:
    """The commits that are changes of their own (the commits frame's columns): in a repository without
    pull-request data every non-merge commit; in one with, the direct pushes
    (:func:`~impactlens.metrics.containment.direct_pushes`)."""
    with_prs = frames.prs.select("repo_id").unique()
    without = frames.commits.filter(~pl.col("is_merge")).join(with_prs, on="repo_id", how="anti")
    pushes = direct_pushes(frames)
    pushed = frames.commits.join(
        pushes.select(pl.col("repo_id").cast(frames.key_dtype), "sha"), on=["repo_id", "sha"], how="semi")
    return pl.concat([without, pushed])


def changes(frames: Frames) -> pl.LazyFrame:
    """Each change delivered, with its lead time: merged PRs (all authors, bots included: DORA measures
    the delivery system) and commits of their own (:func:`_pushed_commits`: direct pushes in repositories
    with PRs, every non-merge commit in those without). Each is shipped by the first deployment containing
    it by the commit graph, time only for deployments with an unknown sha
    (:func:`~impactlens.metrics.containment.deployed`).

    Columns: repo_id, change_id ('pr:<n>' | 'commit:<sha>'), author_key, started_at (the PR's own first
    commit, so squash merges are measured from the work's start; else creation; a commit's authoring
    time), landed_at (merge / commit time), deployed_at, deployment_id, lead_time_hours (f64, null when
    not deployed yet), is_rework (bool: a hotfix or a revert, unplanned work that fixes production).
    """

    def build() -> pl.LazyFrame:
        revert_prs = pl.concat([
            frames.prs.filter(pl.col("title").fill_null("").str.contains(patterns.REVERT_MESSAGE)).select("pr_id"),
            frames.commits.filter(pl.col("is_revert") & pl.col("pr_id").is_not_null()).select("pr_id"),
        ]).unique()
        rework_prs = pl.concat([
            frames.prs.filter(patterns.is_hotfix_pr()).select("pr_id"), revert_prs,
        ]).unique().with_columns(pl.lit(True).alias("is_rework"))
        prs = pr_facts(frames).filter(pl.col("merged_at").is_not_null()).join(rework_prs, on="pr_id", how="left").select(
            "repo_id", (pl.lit("pr:") + pl.col("number").cast(pl.String)).alias("change_id"), "author_key",
            pl.col("coding_start_at").alias("started_at"), pl.col("merged_at").alias("landed_at"),
            "deployed_at", "deployment_id", pl.col("is_rework").fill_null(False),
        )
        commits = (
            _pushed_commits(frames)
            .select("repo_id", (pl.lit("commit:") + pl.col("sha")).alias("change_id"), "author_key",
                    pl.col("authored_at").alias("started_at"), pl.col("committed_at").alias("landed_at"),
                    (pl.col("subject_says_hotfix") | pl.col("is_revert")).alias("is_rework"),
                    pl.concat_list("sha").alias("_shas"))
        )
        commits = deployed(frames, commits, "landed_at", "_shas").rename({"deployed_at_id": "deployment_id"})
        both = pl.concat([prs, commits.select(prs.collect_schema().names())])
        return both.with_columns(hours("started_at", "deployed_at").clip(lower_bound=0).alias("lead_time_hours"))

    return frames.derived("changes", build)


def _first_deployment_at(frames: Frames, frame: pl.LazyFrame, time: str) -> pl.LazyFrame:
    """``frame`` with ``{time}_deployed`` (Datetime UTC): the first successful production deployment of the
    repository at or after ``time`` (null when none yet, or ``time`` is null)."""
    deploys = (
        frames.deployments.filter(pl.col("is_production_success"))
        .select("repo_id", pl.col("deployed_at").alias(f"{time}_deployed")).sort(f"{time}_deployed")
    )
    keyed = frame.with_row_index("_fd_row").collect().lazy()
    found = (
        keyed.select("_fd_row", "repo_id", time).filter(pl.col(time).is_not_null()).sort(time)
        .join_asof(deploys, left_on=time, right_on=f"{time}_deployed", by="repo_id", strategy="forward",
                   check_sortedness=False)
        .select("_fd_row", f"{time}_deployed")
    )
    return keyed.join(found, on="_fd_row", how="left").drop("_fd_row")


def _failures(frames: Frames) -> pl.LazyFrame:
    """deployment_id, reason ('incident' | 'revert' | 'hotfix'), fixed_at (Datetime UTC, null while not
    fixed): why a deployment counts as failed, and when that failure was fixed (the incident resolved; the
    first deployment shipping the revert or the hotfix)."""
    deploys = (
        frames.deployments.filter(pl.col("is_production_success"))
        .select("repo_id", "deployment_id", "deployed_at").sort("deployed_at")
    )
    utc_type = pl.Datetime("us", "UTC")
    incidents = incident_facts(frames).filter(pl.col("deployment_id").is_not_null()).select(
        "deployment_id", pl.lit("incident").alias("reason"),
        # An incident with impossible times is not known to be restored.
        pl.when(~pl.col("invalid_times")).then(pl.col("resolved_at")).alias("fixed_at"),
    )
    # Reverts: the deployment that first shipped the reverted change failed, unless that change is itself a
    # revert (reverting a revert re-applies a change: no failure). A commit lands with its PR's merge when it
    # belongs to one (a merge-commit workflow's branch commits are written days before), else when committed.
    # The revert itself lands the same way; the first deployment at or after it fixed the failure.
    commits, prs = frames.commits, frames.prs
    revert_prs = pl.concat([
        prs.filter(pl.col("title").fill_null("").str.contains(patterns.REVERT_MESSAGE)).select("pr_id"),
        commits.filter(pl.col("is_revert") & pl.col("pr_id").is_not_null()).select("pr_id"),
    ]).unique().with_columns(pl.lit(True).alias("_pr_is_revert"))
    merged_at = prs.select("pr_id", pl.col("merged_at").alias("_revert_merged"))
    reverted_sha = (
        commits.filter(pl.col("reverted_sha").is_not_null())
        .join(merged_at, on="pr_id", how="left")
        .select("repo_id", pl.col("reverted_sha").alias("_prefix"), pl.col("reverted_sha").str.slice(0, 7).alias("_sha7"),
                pl.coalesce("_revert_merged", "committed_at").alias("_fix_landed"),
                pl.concat_list("sha").alias("_fix_shas"))
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
        .select("repo_id", pl.coalesce("merged_at", "committed_at").alias("_landed"), pl.concat_list("sha").alias("_shas"),
                "_fix_landed", "_fix_shas")
    ) if reverted_sha.height else pl.LazyFrame(schema={"repo_id": frames.key_dtype, "_landed": utc_type,
                                                       "_shas": pl.List(pl.String), "_fix_landed": utc_type,
                                                       "_fix_shas": pl.List(pl.String)})
    # 'Reverts owner/repo#N' of this repository, read from commit messages (frames: reverted_pr).
    reverted_pr = (
        commits.filter(pl.col("reverted_pr").is_not_null())
        .join(merged_at, on="pr_id", how="left")
        .select("repo_id", pl.col("reverted_pr").alias("number"),
                pl.coalesce("_revert_merged", "committed_at").alias("_fix_landed"), pl.concat_list("sha").alias("_fix_shas"))
        .join(prs.select("repo_id", "number", "pr_id", pl.col("merged_at").alias("_landed")), on=["repo_id", "number"])
        .filter(pl.col("_landed").is_not_null())
        .join(revert_prs, on="pr_id", how="anti")
    )
    # The landing shas of these few PRs only (not of every PR).
    reverted_pr = (
        reverted_pr.join(landing_shas(frames, reverted_pr), on="pr_id", how="left")
        .select("repo_id", "_landed", "_shas", "_fix_landed", "_fix_shas")
    )
    # The failed deployment shipped the reverted change, the fixing one the revert: both by containment.
    both = deployed(frames, pl.concat([shipped, reverted_pr]), "_landed", "_shas", alias="_failed")
    reverts = (
        deployed(frames, both, "_fix_landed", "_fix_shas", alias="_fixed")
        .filter(pl.col("_failed_id").is_not_null())
        .select(pl.col("_failed_id").alias("deployment_id"), pl.lit("revert").alias("reason"),
                pl.col("_fixed").alias("fixed_at"))
    )
    # Hotfixes: the deployment running when the hotfix landed failed; the hotfix's deployment fixed it.
    hotfixes = (
        _first_deployment_at(frames, _hotfix_landings(frames), "_landed").sort("_landed")
        .join_asof(deploys, left_on="_landed", right_on="deployed_at", by="repo_id", strategy="backward",
                   check_sortedness=False, allow_exact_matches=False)
        .filter(pl.col("deployment_id").is_not_null())
        .select("deployment_id", pl.lit("hotfix").alias("reason"), pl.col("_landed_deployed").alias("fixed_at"))
    )
    return pl.concat([incidents, reverts, hotfixes]).unique()


def _hotfix_landings(frames: Frames) -> pl.LazyFrame:
    """repo_id, _landed: when each hotfix landed (a hotfix PR's merge; a hotfix commit that is a change of
    its own: :func:`_pushed_commits`)."""
    hotfix_prs = frames.prs.filter(pl.col("merged_at").is_not_null() & patterns.is_hotfix_pr()).select(
        "repo_id", pl.col("merged_at").alias("_landed")
    )
    hotfix_commits = _pushed_commits(frames).filter(pl.col("subject_says_hotfix")).select(
        "repo_id", pl.col("committed_at").alias("_landed"))
    return pl.concat([hotfix_prs, hotfix_commits])


def deployment_facts(frames: Frames) -> pl.LazyFrame:
    """One row per successful production deployment.

    Columns: deployment_id, repo_id, deployed_at (Datetime UTC), changes (u32: changes it first
    shipped), rework (bool: it first shipped a hotfix or a revert, an unplanned deployment that fixes
    production), failed (bool), failure_reasons (list[str] of 'incident', 'revert', 'hotfix'),
    recovered_at (Datetime UTC: when every failure reason was fixed, null while one is not or the
    deployment did not fail), recovery_hours (f64: deployed_at -> recovered_at, the *failed deployment
    recovery time*). docs/metrics.md "DORA four keys".
    """

    def build() -> pl.LazyFrame:
        deploys = frames.deployments.filter(pl.col("is_production_success")).select(
            "deployment_id", "repo_id", "deployed_at"
        )
        shipped = changes(frames).filter(pl.col("deployment_id").is_not_null()).group_by("deployment_id").agg(
            pl.len().alias("changes"), pl.col("is_rework").any().alias("rework"))
        reasons = _failures(frames).group_by("deployment_id").agg(
            pl.col("reason").unique().sort().alias("failure_reasons"),
            # Recovered once every reason is fixed (a reason not fixed yet keeps it failed).
            pl.when(pl.col("fixed_at").is_not_null().all()).then(pl.col("fixed_at").max()).alias("recovered_at"),
        )
        return (
            deploys.join(shipped, on="deployment_id", how="left")
            .join(reasons, on="deployment_id", how="left")
            .with_columns(
                pl.col("changes").fill_null(0).cast(pl.UInt32),
                pl.col("rework").fill_null(False),
                pl.col("failure_reasons").is_not_null().alias("failed"),
                pl.col("failure_reasons").fill_null(pl.lit([], pl.List(pl.String))),
                # A fix before the deployment finished (an incident resolved before it) recovers it at once.
                pl.when(pl.col("recovered_at").is_not_null())
                .then(pl.max_horizontal("recovered_at", "deployed_at")).alias("recovered_at"),
            )
            .with_columns(hours("deployed_at", "recovered_at").alias("recovery_hours"))
            .select("deployment_id", "repo_id", "deployed_at", "changes", "rework", "failed", "failure_reasons",
                    "recovered_at", "recovery_hours")
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
    """DORA's four keys with the reports' performance levels, plus failed deployment recovery time and
    rework rate, per repository / team / organisation and period.

    Args:
        by: 'repo', 'team' (deployments that shipped at least one change by a team member, that team's
            changes, and incidents attributed to those deployments) or None (the whole organisation).
        grain: week, month, quarter or None (the scope's whole range; a side the scope leaves open ends
            with the week of the first / last deployment in it).

    Columns: group keys (period_start, repo_id / team_id); deployments (u32), deploy_days (u32: distinct
    UTC days), median_deploy_days_per_week (f64: the median number of deployment days over the period's
    weeks, those whose Monday falls in it, each counted whole, weeks without deployments as 0; a period
    holding no Monday has the week holding its start), deployments_per_week (f64), deployment_frequency_band;
    changes_deployed (u32), lead_time_median_hours (f64), lead_time_band; failed_deployments (u32),
    change_failure_rate (f64, 0-1; null without deployments), change_failure_band; recovered_deployments
    (u32: failed ones whose every failure is fixed), failed_deployment_recovery_median_hours (f64: failed
    deployment -> its fix, :func:`deployment_facts`), failed_deployment_recovery_band; rework_deployments
    (u32), rework_rate (f64, 0-1: deployments that shipped a hotfix or a revert / deployments); incidents
    (u32), restored_incidents (u32), time_to_restore_median_hours, time_to_restore_mean_hours (f64 hours,
    incident opened -> resolved; no band: the reports' bands are for failed deployment recovery). Bands are
    'elite', 'high', 'medium', 'low' or null without data; zero deployments in a period is frequency 'low',
    but with no deployment data at all (of the repository, for ``by='repo'``) the median and the frequency
    band are null. docs/metrics.md "DORA four keys".

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
        (pl.col("failed") & pl.col("recovered_at").is_not_null()).sum().cast(pl.UInt32).alias("recovered_deployments"),
        pl.col("recovery_hours").median().alias("failed_deployment_recovery_median_hours"),
        pl.col("rework").sum().cast(pl.UInt32).alias("rework_deployments"),
    ])
    per_changes = grouped(chg, [
        pl.len().cast(pl.UInt32).alias("changes_deployed"),
        pl.col("lead_time_hours").median().alias("lead_time_median_hours"),
    ])
    per_incidents = grouped(incidents, [
        pl.len().cast(pl.UInt32).alias("incidents"),
        pl.col("is_restored").sum().cast(pl.UInt32).alias("restored_incidents"),
        pl.col("time_to_restore_hours").median().alias("time_to_restore_median_hours"),
        # The mean, with the sum taken in ascending order, one term after the other: Polars' mean adds a group's
        # values in an order (and lanes) that depends on how the rows were laid out by the joins before, so the
        # last bit could differ between two runs (and between Spark partitions and one process).
        (pl.col("time_to_restore_hours").drop_nulls().sort().cum_sum().last()
         / pl.col("time_to_restore_hours").count()).alias("time_to_restore_mean_hours"),
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
        pl.col("recovered_deployments").fill_null(0), pl.col("rework_deployments").fill_null(0),
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
        pl.when(pl.col("_known")).then(pl.col("deployments") / pl.col("_weeks")).alias("deployments_per_week"))
    out = out.with_columns(
        deployment_frequency_band(pl.col("median_deploy_days_per_week"), pl.col("deploy_days") / months,
                                  pl.col("deployments_per_week")).alias("deployment_frequency_band"),
        _band(pl.col("lead_time_median_hours"), LEAD_TIME_BANDS_HOURS, inclusive=False).alias("lead_time_band"),
        pl.when(pl.col("deployments") > 0).then(pl.col("failed_deployments") / pl.col("deployments"))
        .alias("change_failure_rate"),
        pl.when(pl.col("deployments") > 0).then(pl.col("rework_deployments") / pl.col("deployments"))
        .alias("rework_rate"),
    ).with_columns(
        _band(pl.col("change_failure_rate"), CHANGE_FAILURE_BANDS, inclusive=True).alias("change_failure_band"),
        _band(pl.col("failed_deployment_recovery_median_hours"), RECOVERY_BANDS_HOURS, inclusive=False)
        .alias("failed_deployment_recovery_band"),
    )
    columns = [*keys, "deployments", "deploy_days", "median_deploy_days_per_week", "deployments_per_week",
               "deployment_frequency_band", "changes_deployed", "lead_time_median_hours", "lead_time_band",
               "failed_deployments", "change_failure_rate", "change_failure_band", "recovered_deployments",
               "failed_deployment_recovery_median_hours", "failed_deployment_recovery_band", "rework_deployments",
               "rework_rate", "incidents", "restored_incidents", "time_to_restore_median_hours",
               "time_to_restore_mean_hours"]
    out = out.select(columns)
    return out.sort(keys) if keys else out
