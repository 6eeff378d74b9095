"""Incident attribution: which deployment an incident is attributed to, and why (docs/incidents.md
"Attribution"). Part of the derive stage: it runs after every load that changes incidents or deployments
(incident imports, derived incidents, release and tag deployments), over every incident, so it is idempotent.

It writes ``incidents.deployment_id``, ``attribution_reason`` (words a reader can check) and ``attribution_rule``
(:data:`RULES`), which the metrics read.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from typing import Any

import duckdb

from impactlens import warehouse

#: incidents.attribution_rule values: the incident's text names a commit; the latest successful production
#: deployment before it opened. NULL: no deployment (or one recorded without this module).
RULES = ("named_commit", "latest_deployment")
#: How attribution_reason begins for each rule.
REASON_NAMED_COMMIT = "its text names "
REASON_LATEST_DEPLOYMENT = "latest successful production deployment "

_SHA_TEXT = re.compile(r"\b[0-9a-f]{7,40}\b")


def named_sha(con: duckdb.DuckDBPyConnection, text: str, repo_id: str | None) -> str | None:
    """The first hex word (7-40 characters) in ``text`` that is a known commit or deployed sha
    (full sha returned), else None. Words that match no stored commit are ignored (a hex-looking
    word is not a sha unless the warehouse knows it)."""
    for word in _SHA_TEXT.findall(text.lower() if text else ""):
        if word.isdigit():
            continue
        params = [word + "%"] + ([repo_id] if repo_id else [])
        repo_filter = " AND repo_id = ?" if repo_id else ""
        row = con.execute(
            f"SELECT sha FROM (SELECT sha, repo_id FROM commits UNION ALL SELECT sha, repo_id FROM deployments "
            f"WHERE sha IS NOT NULL) WHERE sha LIKE ?{repo_filter} LIMIT 1",
            params,
        ).fetchall()
        if row:
            return row[0][0]
    return None


def attribute(con: duckdb.DuckDBPyConnection) -> int:
    """Attribute every incident to a deployment and write the reason and the rule; returns how many got one.

    Rules (docs/incidents.md), among successful production deployments (``status = 'success'``
    and ``is_production``) of the incident's repository (all repositories when it has none):

    1. the incident's text names a sha (``cause_sha``): the earliest deployment of exactly that
       sha, else the first deployment at or after that commit was committed (the first that can
       have shipped it);
    2. otherwise the latest deployment finished (``coalesce(finished_at, created_at)``) at or
       before the incident opened (DevLake's rule);
    3. otherwise none, and the reason says so.

    The caller owns the transaction.
    """
    deployments = con.execute(
        "SELECT deployment_id, repo_id, sha, coalesce(finished_at, created_at) AS done_at, coalesce(ref, sha) "
        "FROM deployments WHERE status = 'success' AND is_production ORDER BY done_at, deployment_id"
    ).fetchall()
    by_repo: dict[str | None, list[tuple[str, str, str | None, dt.datetime, str | None]]] = {None: []}
    by_sha: dict[tuple[str | None, str], tuple[str, str, str | None, dt.datetime, str | None]] = {}
    for row in deployments:
        by_repo.setdefault(row[1], []).append(row)
        by_repo[None].append(row)
        if row[2]:
            by_sha.setdefault((row[1], row[2]), row)  # the earliest deployment of a sha, per repo
            by_sha.setdefault((None, row[2]), row)
    times_by_repo = {repo: [d[3] for d in pool] for repo, pool in by_repo.items()}
    incidents = con.execute("SELECT incident_id, repo_id, opened_at, cause_sha FROM incidents").fetchall()
    commit_times = {}
    shas = [r[3] for r in incidents if r[3]]
    if shas:
        commit_times = dict(con.execute(
            "SELECT sha, min(committed_at) FROM commits WHERE sha IN (SELECT unnest(?::VARCHAR[])) GROUP BY sha", [shas]
        ).fetchall())
    updates = []
    attributed = 0
    for incident_id, repo_id, opened, cause in incidents:
        pool = by_repo.get(repo_id, []) if repo_id else by_repo[None]
        times = times_by_repo.get(repo_id, []) if repo_id else times_by_repo[None]
        scope = f"of {repo_id}" if repo_id else "(any repository)"
        chosen, reason, rule = None, None, None
        if cause:
            exact = by_sha.get((repo_id, cause))
            if exact:
                chosen, rule = exact, "named_commit"
                reason = f"{REASON_NAMED_COMMIT}{cause[:12]}, deployed as {_label(chosen)} at {_when(chosen[3])}"
            elif cause in commit_times:
                i = bisect.bisect_left(times, commit_times[cause])
                if i < len(pool):
                    chosen, rule = pool[i], "named_commit"
                    reason = (f"{REASON_NAMED_COMMIT}{cause[:12]} (committed {_when(commit_times[cause])}); first production "
                              f"deployment {scope} after it: {_label(chosen)} at {_when(chosen[3])}")
        if chosen is None:
            i = bisect.bisect_right(times, opened) - 1
            if i >= 0:
                chosen, rule = pool[i], "latest_deployment"
                reason = f"{REASON_LATEST_DEPLOYMENT}{scope} before it opened: {_label(chosen)} at {_when(chosen[3])}"
            else:
                reason = f"no successful production deployment {scope} before it opened"
        attributed += chosen is not None
        updates.append((chosen[0] if chosen else None, reason, rule, incident_id))
    if updates:
        with warehouse.staged(con, "_attribution", {
            name: [u[i] for u in updates]
            for i, name in enumerate(("deployment_id", "attribution_reason", "attribution_rule", "incident_id"))
        }):
            con.execute(
                "UPDATE incidents SET deployment_id = a.deployment_id, attribution_reason = a.attribution_reason, "
                "attribution_rule = a.attribution_rule "
                "FROM _attribution a WHERE incidents.incident_id = a.incident_id AND "
                "(incidents.deployment_id IS DISTINCT FROM a.deployment_id "
                "OR incidents.attribution_reason IS DISTINCT FROM a.attribution_reason "
                "OR incidents.attribution_rule IS DISTINCT FROM a.attribution_rule)"
            )
    return attributed


def _label(deployment: tuple[Any, ...]) -> str:
    ref = deployment[4] or deployment[0]
    return ref[:12] if deployment[2] and ref == deployment[2] else ref


def _when(value: dt.datetime) -> str:
    return f"{value.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"

