"""Incident metrics: MTTR, time to acknowledge, incidents led and responded to, postmortems.

Definitions: docs/metrics.md, section "Incidents and MTTR".
"""

from __future__ import annotations

import polars as pl

from impactlens.metrics.calendar import hours
from impactlens.metrics.frames import Frames, Grain, GroupBy, Scope, aggregate, group_columns

#: A latest earlier deployment of the incident's own repository finished at most this long before the
#: incident opened is a 'medium' confidence attribution; older, or from any repository, 'low'.
ATTRIBUTION_WINDOW_HOURS = 24.0


def incident_facts(frames: Frames) -> pl.LazyFrame:
    """One row per incident, with its durations and the deployment it is attributed to.

    Columns: incident_id, repo_id, title, severity, service, url, opened_at, acknowledged_at,
    resolved_at (Datetime UTC), is_open (bool: no resolved_at), time_to_restore_hours,
    time_to_acknowledge_hours (f64 hours; null while open / never acknowledged, and null when that time
    is before opened_at), invalid_times (bool: resolved_at or acknowledged_at before opened_at, a bad
    export), commander_key (key, null when blank), responder_keys (list of keys), has_postmortem (bool),
    deployment_id (str), attribution (str, why that deployment, from incidents.attribution_rule written by
    :func:`impactlens.attribution.attribute`: 'named_commit' (the incident's text or revert names the causing commit: the
    deployment of that sha, else the first after it was committed), 'latest_deployment' (the repository's
    latest successful production deployment before the incident opened, DevLake's rule; also applied
    here to incidents stored without attribution), 'recorded' (a deployment_id stored without a rule,
    e.g. set by hand), null: none), attribution_confidence ('high': the incident names its
    cause (a commit, a revert, a linked PR) or the source recorded the deployment; 'medium': the latest
    deployment of the incident's own repository, finished within :data:`ATTRIBUTION_WINDOW_HOURS` before it
    opened; 'low': an older latest deployment, or one of any repository for an incident with none; null:
    no deployment), is_restored (bool: resolved, not before it opened; only these count as restored).
    docs/metrics.md "Incidents and MTTR".
    """

    def build() -> pl.LazyFrame:
        incidents = frames.incidents
        deploys = (
            frames.deployments.filter(pl.col("is_production_success"))
            .select("repo_id", pl.col("deployed_at").alias("_deployed_at"), pl.col("deployment_id").alias("_latest"))
            .sort("_deployed_at")
        )
        with_repo = incidents.filter(pl.col("repo_id").is_not_null()).sort("opened_at").join_asof(
            deploys, left_on="opened_at", right_on="_deployed_at", by="repo_id", strategy="backward",
            check_sortedness=False,
        )
        without = incidents.filter(pl.col("repo_id").is_null()).with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("_deployed_at"), pl.lit(None, pl.String).alias("_latest")
        )
        both = pl.concat([with_repo, without], how="vertical_relaxed")
        restore, acknowledge = hours("opened_at", "resolved_at"), hours("opened_at", "acknowledged_at")
        deployed_at = frames.deployments.select(pl.col("deployment_id").alias("_attributed"),
                                                pl.col("deployed_at").alias("_attributed_at"))
        both = both.with_columns(pl.coalesce("deployment_id", "_latest").alias("_attributed")).join(
            deployed_at, on="_attributed", how="left")
        return both.select(
            "incident_id", "repo_id", "title", "severity", "service", "url", "opened_at", "acknowledged_at",
            "resolved_at",
            pl.col("resolved_at").is_null().alias("is_open"),
            # A time before the opening is no duration (null), not a negative one.
            pl.when(restore >= 0).then(restore).alias("time_to_restore_hours"),
            pl.when(acknowledge >= 0).then(acknowledge).alias("time_to_acknowledge_hours"),
            ((restore < 0) | (acknowledge < 0)).fill_null(False).alias("invalid_times"),
            "commander_key", "responder_keys",
            (pl.col("postmortem_url").is_not_null() & (pl.col("postmortem_url").str.strip_chars() != "")).alias("has_postmortem"),
            pl.coalesce("deployment_id", "_latest").alias("deployment_id"),
            # The rule impactlens.attribution.attribute() stored (docs/incidents.md "Attribution").
            pl.when(pl.col("deployment_id").is_null())
            .then(pl.when(pl.col("_latest").is_not_null()).then(pl.lit("latest_deployment")))
            .otherwise(pl.col("attribution_rule").fill_null("recorded")).alias("attribution"),
            pl.col("repo_id").is_not_null().alias("_own_repo"),
            hours("_attributed_at", "opened_at").alias("_before_hours"),
            (pl.col("resolved_at").is_not_null() & (restore >= 0).fill_null(False)).alias("is_restored"),
        ).with_columns(
            pl.when(pl.col("attribution").is_null()).then(pl.lit(None, pl.String))
            .when(pl.col("attribution").is_in(["named_commit", "recorded"])).then(pl.lit("high"))
            .when(pl.col("_own_repo") & pl.col("_before_hours").is_between(0, ATTRIBUTION_WINDOW_HOURS))
            .then(pl.lit("medium"))
            .otherwise(pl.lit("low")).alias("attribution_confidence"),
        ).drop("_own_repo", "_before_hours").sort("opened_at", "incident_id")

    return frames.derived("incident_facts", build)


def incident_roles(frames: Frames) -> pl.LazyFrame:
    """Who took part in each incident: incident_id, person_key, role ('commander' | 'responder'), opened_at,
    has_postmortem. A commander also listed as responder appears once, as commander."""
    facts = incident_facts(frames)
    led = facts.filter(pl.col("commander_key").is_not_null()).select(
        "incident_id", pl.col("commander_key").alias("person_key"), pl.lit("commander").alias("role"),
        "opened_at", "has_postmortem",
    )
    responded = (
        facts.select("incident_id", "commander_key", "responder_keys", "opened_at", "has_postmortem")
        .explode("responder_keys")
        .filter(pl.col("responder_keys").is_not_null()
                & (pl.col("commander_key").is_null() | (pl.col("responder_keys") != pl.col("commander_key"))))
        .select("incident_id", pl.col("responder_keys").alias("person_key"), pl.lit("responder").alias("role"),
                "opened_at", "has_postmortem")
    )
    return pl.concat([led, responded]).unique(["incident_id", "person_key"], keep="first", maintain_order=True)


def incident_summary(
    frames: Frames, scope: Scope = Scope(), *, by: GroupBy | None = None, grain: Grain | None = None
) -> pl.LazyFrame:
    """Incidents opened per group and period, MTTR and time to acknowledge.

    With ``by='person'`` (or a person/team scope) an incident counts for the people who led or responded
    to it (their team at the time it opened for ``by='team'``).

    Columns: group keys; incidents (u32), open_incidents (u32: still unresolved), resolved_incidents
    (u32: resolved with possible times; one resolved before it opened is not restored), mttr_mean_hours, mttr_median_hours (f64 hours, over resolved incidents whose resolution is not
    before their opening), median_time_to_acknowledge_hours (f64 hours, likewise), with_postmortem (u32),
    invalid_times (u32: incidents resolved or acknowledged before they opened, left out of those figures);
    with people: led (u32), responded (u32), mttr_led_median_hours (f64 hours: the median time to restore of the
    incidents led, impossible times left out), restored_led (u32: the led incidents behind it).
    docs/metrics.md "Incidents and MTTR".
    """
    facts = incident_facts(frames)
    per_person = by in ("person", "team") or scope.person is not None or scope.team is not None
    if per_person:
        roles = incident_roles(frames).select("incident_id", "person_key", "role")
        frame = facts.join(roles, on="incident_id", how="inner")
        frame = scope.apply(frames, frame, person="person_key", time="opened_at")
    else:
        frame = scope.apply(frames, facts, person=None, time="opened_at")
    frame, keys = group_columns(frames, frame, by=by, person="person_key", time="opened_at", grain=grain)
    first = pl.col("incident_id").is_first_distinct()
    exprs = [
        pl.col("incident_id").n_unique().cast(pl.UInt32).alias("incidents"),
        pl.col("is_open").filter(first).sum().cast(pl.UInt32).alias("open_incidents"),
        pl.col("is_restored").filter(first).sum().cast(pl.UInt32).alias("resolved_incidents"),
        pl.col("time_to_restore_hours").filter(first).mean().alias("mttr_mean_hours"),
        pl.col("time_to_restore_hours").filter(first).median().alias("mttr_median_hours"),
        pl.col("time_to_acknowledge_hours").filter(first).median().alias("median_time_to_acknowledge_hours"),
        pl.col("has_postmortem").filter(first).sum().cast(pl.UInt32).alias("with_postmortem"),
        pl.col("invalid_times").filter(first).sum().cast(pl.UInt32).alias("invalid_times"),
    ]
    if per_person:
        exprs += [
            (pl.col("role") == "commander").sum().cast(pl.UInt32).alias("led"),
            (pl.col("role") == "responder").sum().cast(pl.UInt32).alias("responded"),
            pl.col("time_to_restore_hours").filter(pl.col("role") == "commander").median().alias("mttr_led_median_hours"),
            pl.col("time_to_restore_hours").filter(pl.col("role") == "commander").count().cast(pl.UInt32)
            .alias("restored_led"),
        ]
    return aggregate(frame, keys, exprs)
