"""Incidents from files: exports of PagerDuty, Opsgenie and incident.io, and a generic CSV.

File imports (:func:`load_file`, ``impactlens collect incidents FILE``) read the export through
:func:`impactlens.collectors.incident_formats.read_file`, which checks the whole file first: a bad file stores
nothing. An incident with no resolution time is kept open (``status`` 'open', ``resolved_at`` NULL). Rows are
upserted on ``incident_id = '<source>:<external id>'``, so loading a file twice stores it once, and
loading a newer export updates the incidents it repeats (an open incident becomes resolved).

Incidents from labelled GitHub issues and reverts are derived after collection
(:mod:`impactlens.derive.incidents`); the row and its upsert are :mod:`impactlens.incident_store`'s.

Every incident is then attributed to a deployment (:func:`impactlens.attribution.attribute`), with the reason
written in ``attribution_reason`` so a reader can check it. Formats, columns and rules: docs/incidents.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from impactlens import warehouse
from impactlens.attribution import attribute, named_sha
from impactlens.collectors.incident_formats import FORMATS, IncidentFileError, read_file
from impactlens.incident_store import Incident, store

__all__ = ["FORMATS", "Incident", "IncidentFileError", "LoadResult", "load_file", "read_file", "store"]


@dataclass
class LoadResult:
    """What :func:`load_file` read and stored."""

    path: Path
    format: str
    incidents: int = 0
    open: int = 0
    skipped: int = 0
    new: int = 0

    def summary(self) -> str:
        """One line for the command line."""
        skipped = f", {self.skipped} skipped (declined, merged or test incidents)" if self.skipped else ""
        return (
            f"{self.path.name} ({self.format}): {self.incidents} incidents ({self.new} new, {self.open} open){skipped}."
        )


def load_file(
    con: duckdb.DuckDBPyConnection, path: str | Path, *, fmt: str = "auto", repo_id: str | None = None
) -> LoadResult:
    """Check, then store, an incident export (see :func:`read_file`), and attribute its incidents.

    ``repo_id`` ties every incident of the file to one repository (attribution then looks at that
    repository's deployments only); a generic CSV can give a ``repo`` column instead. Writes
    ``incidents`` (upsert on incident_id) and one ``collection_runs`` row, in one transaction.

    Raises:
        IncidentFileError: the file is malformed (nothing is stored; a failed run is recorded).
    """
    path = Path(path)
    with warehouse.collection_run(con, "incidents", str(path), transaction=True) as run:
        chosen, incidents, skipped = read_file(path, fmt)  # IncidentFileError: nothing stored, a failed run
        result = LoadResult(path, chosen, incidents=len(incidents), skipped=skipped)
        result.open = sum(1 for i in incidents if i.resolved_at is None)
        known = {r[0] for r in con.execute("SELECT incident_id FROM incidents WHERE source = ?", [chosen]).fetchall()}
        result.new = sum(1 for i in incidents if i.incident_id not in known)
        for incident in incidents:
            incident.repo_id = incident.repo_id or repo_id
            incident.cause_sha = named_sha(con, incident.text, incident.repo_id)
        store(con, incidents)
        attribute(con)
        run.counts = {"format": chosen, "incidents": len(incidents), "new": result.new}
    return result
