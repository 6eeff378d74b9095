"""What collecting tags and deriving deployments from releases share: a deployment's id, a load's counts and
one load's transaction (docs/schema.md "deployments").

A release and the tag it publishes are one event: both are stored under ``deployment_id =
'tag:<repo_id>:<tag>'`` (:func:`deployment_id`), so collecting tags (:mod:`impactlens.collectors.deployments`) and
deriving deployments from releases (:mod:`impactlens.derive.releases`) store it once.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import duckdb

from impactlens import warehouse


@dataclass
class DeploymentLoad:
    """What one load found: tags (or releases) seen, how many matched and were stored."""

    repo_id: str
    seen: int = 0
    stored: int = 0
    skipped: int = 0

    def summary(self, what: str) -> str:
        """One line for the command line."""
        return (
            f"{self.repo_id}: {self.stored} deployments from {self.seen} {what}"
            + (f" ({self.skipped} skipped)" if self.skipped else "")
            + "."
        )


def deployment_id(repo_id: str, tag: str) -> str:
    """The id of the deployment that tag ``tag`` (or the release publishing it) of ``repo_id`` is."""
    return f"tag:{repo_id}:{tag}"


@contextmanager
def load_run(con: duckdb.DuckDBPyConnection, source: str, target: str) -> Iterator[dict[str, Any]]:
    """One load in one transaction (:func:`impactlens.warehouse.collection_run`), incident attribution
    refreshed at its end; yields the run's counts for the block to fill in. On failure the load is
    rolled back and the run recorded as failed."""
    from impactlens.attribution import attribute

    with warehouse.collection_run(con, source, target, transaction=True) as run:
        yield run.counts
        attribute(con)
