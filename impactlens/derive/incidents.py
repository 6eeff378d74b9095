"""Incidents derived from what was collected (the derive stage, :mod:`impactlens.derive`): GitHub issues carrying
one of ``[incidents] labels`` (source 'github_issue'), and, when ``[incidents] reverts_as_incidents`` is on,
reverted changes (source 'revert'): the incident runs from the original change's merge to the revert's merge.

Every incident is then attributed to a deployment (:func:`impactlens.attribution.attribute`). Rules:
docs/incidents.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from impactlens import warehouse
from impactlens.attribution import attribute, named_sha
from impactlens.config import Config
from impactlens.incident_store import Incident, store


_SEVERITY_LABEL = re.compile(r"^(?:sev(?:erity)?[-_: ]?\d|p[0-4]$|severity[:/ -].+|priority[:/ -].+)", re.I)
_REVERT_SUBJECT = re.compile(r'^Revert "(.*)"\s*(?:\(#\d+\))?$', re.S)
_REVERTS_COMMIT = re.compile(r"This reverts commit ([0-9a-f]{7,40})")
_REVERT_BRANCH = re.compile(r"^revert-(\d+)-")


@dataclass
class DerivedIncidents:
    """How many incidents :func:`derive_incidents` found from issues and from reverts."""

    issues: int = 0
    reverts: int = 0

    def summary(self) -> str:
        """One line for the command line."""
        return f"{self.issues} incidents from labelled GitHub issues, {self.reverts} from reverts."


def derive_incidents(con: duckdb.DuckDBPyConnection, config: Config) -> DerivedIncidents:
    """Rebuild the incidents derived from GitHub issues and (if configured) reverts, then attribute.

    Issues: every issue in ``issues`` with a label in ``[incidents] labels`` (case-insensitive);
    opened at ``created_at``, resolved at ``closed_at`` (open while the issue is open); severity from
    a label like ``sev1``, ``P1``, ``severity: high``; commander the first assignee, responders all
    assignees. Reverts (``[incidents] reverts_as_incidents``): see :func:`revert_incidents`.
    Derived incidents no longer found (a label removed, the option switched off) are deleted.
    Runs in one transaction.
    """
    with warehouse.transaction(con):
        labels = [label.lower() for label in config["incidents"]["labels"]]
        rows = con.execute(
            "SELECT repo_id, number, title, state, created_at, closed_at, labels, assignees, url FROM issues "
            "WHERE list_has_any(list_transform(labels, lambda l: lower(l)), ?::VARCHAR[])",
            [labels],
        ).fetchall()
        found = []
        for repo_id, number, title, state, created, closed, issue_labels, assignees, url in rows:
            severity = next((label for label in issue_labels or [] if _SEVERITY_LABEL.match(label)), None)
            assignees = ["@" + a for a in assignees or []]
            found.append(Incident(
                source="github_issue", external_id=f"{repo_id}#{number}", opened_at=created, title=title,
                severity=severity, resolved_at=closed if state == "closed" else None,
                commander=assignees[0] if assignees else None, responders=assignees, url=url, repo_id=repo_id,
                text=title or "",
            ))
        reverts = revert_incidents(con) if config["incidents"]["reverts_as_incidents"] else []
        for incident in found:
            incident.cause_sha = named_sha(con, incident.text, incident.repo_id)
        for source, items in (("github_issue", found), ("revert", reverts)):
            keep = [i.incident_id for i in items]
            con.execute(
                "DELETE FROM incidents WHERE source = ? AND incident_id NOT IN (SELECT unnest(?::VARCHAR[]))",
                [source, keep],
            )
            store(con, items)
        attribute(con)
    return DerivedIncidents(issues=len(found), reverts=len(reverts))


def revert_incidents(con: duckdb.DuckDBPyConnection) -> list[Incident]:
    """Incidents for reverted changes (Middleware's rule: from the original change's merge to the revert's merge).

    * A merged PR whose title is ``Revert "X"`` or whose head branch is ``revert-N-...`` (GitHub's
      Revert button) reverts PR N (or the merged PR titled X): one incident from PR N's
      ``merged_at`` to the revert PR's ``merged_at``; ``cause_sha`` = PR N's merge commit.
    * A commit whose message says ``This reverts commit <sha>`` (``git revert``) and that no revert
      PR above covers: from the original's landing (its PR's ``merged_at``, else its committer time)
      to the revert's landing (likewise); ``cause_sha`` = the original.

    Reverts of reverts (re-applying a change) are not incidents. Returns incidents, not stored.
    """
    incidents: list[Incident] = []
    prs = con.execute(
        "SELECT repo_id, number, title, head_branch, merged_at, merge_commit_sha, author_login, url "
        "FROM pull_requests WHERE merged_at IS NOT NULL"
    ).fetchall()
    by_number = {(r[0], r[1]): r for r in prs}
    by_title: dict[tuple[str, str], Any] = {}
    for r in sorted(prs, key=lambda r: r[4]):
        by_title.setdefault((r[0], r[2]), r)
    covered_titles: set[tuple[str, str]] = set()
    covered_prs: set[tuple[str, int]] = set()
    for repo_id, number, title, head, merged, _, author, url in prs:
        subject = _REVERT_SUBJECT.match(title or "")
        branch = _REVERT_BRANCH.match(head or "")
        if not subject and not branch:
            continue
        if (title or "").startswith('Revert "Revert'):
            continue
        original: Any = by_number.get((repo_id, int(branch[1]))) if branch else None
        if original is None and subject:
            original = by_title.get((repo_id, subject[1]))
        if original is None or original[4] > merged:
            continue
        covered_titles.add((repo_id, title))
        covered_prs.add((repo_id, number))
        incidents.append(Incident(
            source="revert", external_id=f"{repo_id}#{number}", opened_at=original[4], resolved_at=merged,
            title=title, commander="@" + author if author else None, url=url, repo_id=repo_id,
            cause_sha=original[5], text=title or "",
        ))
    commits = con.execute(
        "SELECT c.repo_id, c.sha, c.subject, c.body, c.committed_at, c.pr_number, c.author_email, p.merged_at "
        "FROM commits c LEFT JOIN pull_requests p ON p.repo_id = c.repo_id AND p.number = c.pr_number "
        "WHERE c.body LIKE '%This reverts commit %' AND NOT c.is_merge"
    ).fetchall()
    for repo_id, sha, subject, body, committed, pr_number, email, pr_merged in commits:
        if subject.startswith('Revert "Revert'):
            continue
        if (repo_id, pr_number) in covered_prs or (repo_id, subject) in covered_titles:
            continue
        match = _REVERTS_COMMIT.search(body)
        if not match:
            continue
        original = con.execute(
            "SELECT c.sha, c.committed_at, p.merged_at FROM commits c LEFT JOIN pull_requests p "
            "ON p.repo_id = c.repo_id AND p.number = c.pr_number WHERE c.repo_id = ? AND c.sha LIKE ? LIMIT 1",
            [repo_id, match[1] + "%"],
        ).fetchall()
        if not original:
            continue
        orig_sha, orig_committed, orig_merged = original[0]
        opened = orig_merged or orig_committed
        resolved = pr_merged or committed
        if resolved < opened:
            continue
        incidents.append(Incident(
            source="revert", external_id=f"{repo_id}@{sha[:12]}", opened_at=opened, resolved_at=resolved,
            title=subject, commander=email, repo_id=repo_id, cause_sha=orig_sha, text=subject,
        ))
    return incidents

