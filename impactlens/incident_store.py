"""An incident as the warehouse stores it (:class:`Incident`) and its upsert (:func:`store`), shared by the
file imports (:mod:`impactlens.collectors.incidents`) and the incidents the derive stage finds
(:mod:`impactlens.derive.incidents`). Columns: docs/schema.md "incidents".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb

from impactlens import warehouse


@dataclass
class Incident:
    """One incident, normalised (times are aware datetimes in UTC)."""

    source: str
    external_id: str
    opened_at: dt.datetime
    title: str | None = None
    severity: str | None = None
    service: str | None = None
    acknowledged_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    commander: str | None = None
    responders: list[str] = field(default_factory=list)
    postmortem_url: str | None = None
    url: str | None = None
    repo_id: str | None = None
    text: str = ""
    cause_sha: str | None = None

    @property
    def incident_id(self) -> str:
        """``'<source>:<external id>'``."""
        return f"{self.source}:{self.external_id}"

    @property
    def status(self) -> str:
        """'resolved' when a resolution time is known, else 'open'."""
        return "resolved" if self.resolved_at else "open"


_COLUMNS = (
    "incident_id", "source", "external_id", "repo_id", "title", "severity", "service", "status", "opened_at",
    "acknowledged_at", "resolved_at", "commander", "responders", "postmortem_url", "url", "cause_sha",
)


def store(con: duckdb.DuckDBPyConnection, incidents: list[Incident]) -> None:
    """Upsert ``incidents`` on incident_id (attribution columns are left to :func:`attribute`).

    Status, open and resolution times are replaced by the newer load; a descriptive field the
    newer load leaves empty (a PagerDuty JSON has no assignee once resolved) keeps its known value.
    """
    if not incidents:
        return
    cols = ", ".join(_COLUMNS)
    exact = ("source", "external_id", "status", "opened_at", "resolved_at")
    updates = ", ".join(
        f"{c} = excluded.{c}" if c in exact
        else f"{c} = CASE WHEN len(excluded.{c}) > 0 THEN excluded.{c} ELSE incidents.{c} END" if c == "responders"
        else f"{c} = coalesce(excluded.{c}, incidents.{c})"
        for c in _COLUMNS[1:]
    )
    stamp = "TIMESTAMPTZ"
    types = {"opened_at": stamp, "acknowledged_at": stamp, "resolved_at": stamp, "responders": "VARCHAR[]"}
    values: dict[str, list[Any]] = {
        "incident_id": [i.incident_id for i in incidents], "source": [i.source for i in incidents],
        "external_id": [i.external_id for i in incidents], "repo_id": [i.repo_id for i in incidents],
        "title": [i.title for i in incidents], "severity": [i.severity for i in incidents],
        "service": [i.service for i in incidents], "status": [i.status for i in incidents],
        "opened_at": [i.opened_at for i in incidents], "acknowledged_at": [i.acknowledged_at for i in incidents],
        "resolved_at": [i.resolved_at for i in incidents], "commander": [i.commander for i in incidents],
        "responders": [i.responders for i in incidents], "postmortem_url": [i.postmortem_url for i in incidents],
        "url": [i.url for i in incidents], "cause_sha": [i.cause_sha for i in incidents],
    }
    with warehouse.staged(con, "_incidents", values, types):
        con.execute(
            f"INSERT INTO incidents ({cols}) SELECT {cols} FROM _incidents "
            f"ON CONFLICT (incident_id) DO UPDATE SET {updates}"
        )
