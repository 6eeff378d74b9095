"""What every collection ends with: the rows other tables derive from what was just collected.

Deployments from GitHub releases, incidents from labelled issues (and reverts, when configured), and
identity resolution with bot flags. Each step is idempotent, so running it after every collection is safe
and the warehouse a reader sees is always resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb


@dataclass
class Derived:
    """Counts from :func:`after_collection`."""

    release_deployments: int
    derived_incidents: str
    resolution: str

    def summary(self) -> str:
        """One line for the command line."""
        return (
            f"Derived: {self.release_deployments} deployments from releases; {self.derived_incidents}\n"
            f"People: {self.resolution}"
        )


def after_collection(con: duckdb.DuckDBPyConnection, config: dict[str, Any]) -> Derived:
    """Refresh the derived rows in ``con`` (a writing connection): release deployments, incidents, people.

    Order matters: incidents are attributed to deployments, and people resolution reads incidents.
    """
    from impactlens import people
    from impactlens.collectors import deployments, incidents

    releases = deployments.deployments_from_releases(con)
    derived = incidents.derive(con, config)
    resolution = people.refresh(con, config)
    return Derived(releases.stored, derived.summary(), resolution.summary())
