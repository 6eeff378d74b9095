"""The derive stage, what every collection ends with: the rows other tables derive from what was just collected.

Deployments from GitHub releases (:mod:`impactlens.derive.releases`), incidents from labelled issues and
reverts, when configured (:mod:`impactlens.derive.incidents`), and identity resolution with bot flags
(:func:`impactlens.people.refresh`). Collectors only fetch and store; they never import this stage's steps.
Each step is idempotent, so running it after every collection is safe
and the warehouse a reader sees is always resolved.

Collectors set a "derivation pending" flag (:func:`impactlens.warehouse.mark_derive_pending`) in the
transaction that stores their rows; :func:`after_collection` clears it when every step is done. A run
killed in between leaves the flag set, and the next writing command derives first
(:func:`if_pending`), so no later run can skip derivation for good.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
import signal

import duckdb

from impactlens import warehouse
from impactlens.config import Config

TEST_DIE_ENV = "IMPACTLENS_TEST_DIE_IN"


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


def after_collection(con: duckdb.DuckDBPyConnection, config: Config) -> Derived:
    """Refresh the derived rows in ``con`` (a writing connection): release deployments, incidents, people.

    Order matters: incidents are attributed to deployments, and people resolution reads incidents.
    """
    from impactlens import people
    from impactlens.derive.incidents import derive_incidents
    from impactlens.derive.releases import deployments_from_releases

    releases = deployments_from_releases(con)
    derived = derive_incidents(con, config)
    die_here_in_tests("derive")
    resolution = people.refresh(con, config)
    warehouse.clear_derive_pending(con)
    return Derived(releases.stored, derived.summary(), resolution.summary())


def after_run(
    con: duckdb.DuckDBPyConnection, config: Config, job: warehouse.Job, *, changed: bool
) -> Derived | None:
    """The end of a collection command: record in ``job``'s owner file that every collected row is
    committed (phase ``derive``, so a kill from here on leaves a copy any writer may finish), then run
    :func:`after_collection` when this run stored rows (``changed``) or rows of a killed run wait for
    it; returns its counts, or None when nothing was due (an up-to-date run stays fast)."""
    job.reached("derive")
    return after_collection(con, config) if changed or warehouse.derive_pending(con) else None


def if_pending(con: duckdb.DuckDBPyConnection, config: Config) -> Derived | None:
    """Run :func:`after_collection` when collected rows wait for it; returns its counts, or None."""
    return after_collection(con, config) if warehouse.derive_pending(con) else None


def die_here_in_tests(point: str) -> None:
    """Test hook: with ``IMPACTLENS_TEST_DIE_IN=<point>`` the process kills itself here (SIGKILL), the
    way a kill or power cut would stop it (tests/core/test_kill_safe.py)."""
    if os.environ.get(TEST_DIE_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
