"""Incident metrics: MTTR, time to acknowledge, incidents led and responded to, postmortems.

Definitions: docs/metrics.md, section "Incidents and MTTR".
"""

from __future__ import annotations

import polars as pl

from impactlens.metrics.calendar import hours
from impactlens.metrics.frames import Frames, Grain, GroupBy, Scope, aggregate, group_columns


def incident_facts(frames: Frames) -> pl.LazyFrame:
    """One row per incident, with its durations and the deployment it is attributed to.

    Columns: incident_id, repo_id, title, severity, service, url, opened_at, acknowledged_at,
    resolved_at (Datetime UTC), is_open (bool: no resolved_at), time_to_restore_hours,
    time_to_acknowledge_hours (f64, null while open / never acknowledged), commander_key (key),
    responder_keys (list of keys), has_postmortem (bool), deployment_id (str), attribution
    ('recorded': incidents.deployment_id; 'latest_deployment': the repository's latest successful
    production deployment before the incident opened, as DevLake does; null: none).
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
        return both.select(
            "incident_id", "repo_id", "title", "severity", "service", "url", "opened_at", "acknowledged_at",
            "resolved_at",
            pl.col("resolved_at").is_null().alias("is_open"),
            hours("opened_at", "resolved_at").alias("time_to_restore_hours"),
            hours("opened_at", "acknowledged_at").alias("time_to_acknowledge_hours"),
            "commander_key", "responder_keys",
            (pl.col("postmortem_url").is_not_null() & (pl.col("postmortem_url").str.strip_chars() != "")).alias("has_postmortem"),
            pl.coalesce("deployment_id", "_latest").alias("deployment_id"),
            pl.when(pl.col("deployment_id").is_not_null()).then(pl.lit("recorded"))
            .when(pl.col("_latest").is_not_null()).then(pl.lit("latest_deployment")).alias("attribution"),
        ).sort("opened_at", "incident_id")

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
    (u32), mttr_mean_hours, mttr_median_hours (f64, over resolved incidents), median_time_to_acknowledge_hours
    (f64), with_postmortem (u32); with people: led (u32), responded (u32).
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
        (~pl.col("is_open")).filter(first).sum().cast(pl.UInt32).alias("resolved_incidents"),
        pl.col("time_to_restore_hours").filter(first).mean().alias("mttr_mean_hours"),
        pl.col("time_to_restore_hours").filter(first).median().alias("mttr_median_hours"),
        pl.col("time_to_acknowledge_hours").filter(first).median().alias("median_time_to_acknowledge_hours"),
        pl.col("has_postmortem").filter(first).sum().cast(pl.UInt32).alias("with_postmortem"),
    ]
    if per_person:
        exprs += [
            (pl.col("role") == "commander").sum().cast(pl.UInt32).alias("led"),
            (pl.col("role") == "responder").sum().cast(pl.UInt32).alias("responded"),
        ]
    return aggregate(frame, keys, exprs)
