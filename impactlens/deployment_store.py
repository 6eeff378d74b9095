"""What collecting tags and deriving deployments from releases share: a deployment's id, a load's counts and
one load's transaction (docs/schema.md "deployments").

A release and the tag it publishes are one event: both are stored under ``deployment_id =
'tag:<repo_id>:<tag>'`` (:func:`deployment_id`), so collecting tags (:mod:`impactlens.collectors.deployments`) and
deriving deployments from releases (:mod:`impactlens.derive.releases`) store it once.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import duckdb

from impactlens.errors import CollectionError


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
    """One load in one transaction: a ``collection_runs`` row, incident attribution refreshed at the
    end; on failure the transaction is rolled back and the run recorded as failed."""
    from impactlens.attribution import attribute

    run_id = uuid.uuid4().hex
    con.execute(
        "INSERT INTO collection_runs (run_id, source, target, started_at, status) VALUES (?, ?, ?, now(), 'running')",
        [run_id, source, target],
    )
    counts: dict[str, Any] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        yield counts
        attribute(con)
        con.execute(
            "UPDATE collection_runs SET status = 'succeeded', finished_at = now(), counts = ? WHERE run_id = ?",
            [json.dumps(counts), run_id],
        )
        con.execute("COMMIT")
    except BaseException as exc:
        con.execute("ROLLBACK")
        message = str(exc) if isinstance(exc, CollectionError) else f"{type(exc).__name__}: {exc}"
        con.execute(
            "UPDATE collection_runs SET status = 'failed', finished_at = now(), error = ? WHERE run_id = ?",
            [message[:2000], run_id],
        )
        raise
