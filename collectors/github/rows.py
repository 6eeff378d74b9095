"""GraphQL payloads -> warehouse rows (pure functions, no I/O).

Each ``*_row`` function takes one node as GitHub's GraphQL API returns it (the fields asked for in
:mod:`impactlens.collectors.github.queries`) and returns a dict keyed by the warehouse columns
listed in :data:`COLUMNS`. Conventions (docs/schema.md, "GitHub collector"):

* ids are GraphQL node ids (``PR_kw...``, ``PRR_kw...``), stable and unique across GitHub;
* a deleted account (GitHub returns ``author: null``; its web pages show "ghost") is stored as a
  NULL login, as docs/schema.md specifies: it is nobody we can name, and the placeholder ``ghost``
  would merge every deleted account into one actor; it is not a bot;
* a bot's login is stored as REST spells it, ``name[bot]`` (GraphQL says ``name``), so a login means
  the same account whichever API it came from; ``*_is_bot`` is true for ``__typename`` ``Bot``, a
  login ending in ``[bot]``, or a login :mod:`impactlens.bots` judges a bot or AI reviewer from the
  ``[bots]`` patterns of the configuration (``not_bots`` respected);
* states are lower case (``open``, ``closed``, ``merged``) except review states, which keep
  GitHub's names (``APPROVED``, ``CHANGES_REQUESTED``, ``COMMENTED``, ``DISMISSED``);
* timestamps are timezone-aware UTC datetimes; text bodies are stored as their length only.
"""

from __future__ import annotations

import re
from urllib.parse import quote
from datetime import datetime, timedelta
from typing import Any, Iterable, overload

from impactlens.bots import BotRules
from impactlens.collectors.github.queries import TIMELINE_TYPES
from impactlens.config import Config

COLUMNS: dict[str, tuple[str, ...]] = {
    "pull_requests": (
        "repo_id", "number", "node_id", "title", "body_length", "author_login", "author_is_bot", "state",
        "is_draft", "created_at", "updated_at", "closed_at", "merged_at", "merged_by_login", "base_branch",
        "head_branch", "additions", "deletions", "changed_files", "commit_count", "labels",
        "requested_reviewers", "linked_issues", "merge_commit_sha", "first_commit_at", "milestone_number", "url",
    ),
    "reviews": (
        "repo_id", "review_id", "pr_number", "reviewer_login", "reviewer_is_bot", "state", "submitted_at",
        "body_length", "comment_count", "commit_sha", "url",
    ),
    "comments": (
        "repo_id", "comment_id", "kind", "parent_number", "parent_type", "review_id", "in_reply_to_id",
        "author_login", "author_is_bot", "created_at", "updated_at", "body_length", "path", "url",
    ),
    "pr_timeline_events": (
        "repo_id", "pr_number", "event_id", "event_type", "actor_login", "subject_login", "created_at",
    ),
    "issues": (
        "repo_id", "number", "title", "author_login", "author_is_bot", "state", "created_at", "updated_at",
        "closed_at", "labels", "assignees", "milestone_number", "comment_count", "url",
    ),
    "milestones": (
        "repo_id", "number", "title", "description", "state", "creator_login", "created_at", "due_on",
        "closed_at", "url",
    ),
    "releases": (
        "repo_id", "release_id", "tag_name", "name", "author_login", "is_draft", "is_prerelease",
        "created_at", "published_at", "target_commitish", "url",
    ),
    "deployments": (
        "deployment_id", "source", "repo_id", "environment", "is_production", "sha", "ref", "created_at",
        "finished_at", "status", "creator_login", "url",
    ),
    "codeowners": ("repo_id", "path", "valid_from", "commit_sha", "source", "content"),
    "login_emails": ("login", "email", "source", "seen_at"),
}

# "Fixes #12", "closes: #3", "resolved owner/repo#4" (GitHub's closing keywords).
_CLOSING = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+(?:([\w.-]+/[\w.-]+))?#(\d+)\b", re.IGNORECASE
)
_TERMINAL_DEPLOYMENT_STATES = {"success", "failure", "error"}
_PENDING_STATES = {"queued": "pending", "waiting": "pending"}


@overload
def ts(value: str) -> datetime: ...
@overload
def ts(value: None) -> None: ...
def ts(value: str | None) -> datetime | None:
    """An ISO-8601 timestamp from GitHub (``2024-01-02T03:04:05Z``) as an aware UTC datetime."""
    return datetime.fromisoformat(value) if value else None


def _length(text: str | None) -> int | None:
    return None if text is None else len(text)


class Actors:
    """Logins and bot flags of GraphQL ``Actor`` objects (``{"__typename", "login"}`` or null)."""

    def __init__(self, config: Config) -> None:
        self._rules = BotRules.from_config(config)

    @staticmethod
    def login(actor: dict[str, Any] | None) -> str | None:
        """The stored login: None for a deleted account, ``name[bot]`` for a ``Bot``."""
        if not actor or not actor.get("login"):
            return None
        login = actor["login"]
        if actor.get("__typename") == "Bot" and not login.endswith("[bot]"):
            login += "[bot]"
        return login

    def is_bot(self, actor: dict[str, Any] | None) -> bool:
        """True for a ``Bot``, a login ending in ``[bot]``, or a bot or AI reviewer by the patterns."""
        login = self.login(actor)
        if login is None:
            return False
        if login.lower() in self._rules.not_bots:
            return False
        return (
            actor.get("__typename") == "Bot"  # type: ignore[union-attr]
            or login.lower().endswith("[bot]")
            or self._rules.login_kind(login) is not None
        )


def reviewer_name(reviewer: dict[str, Any] | None) -> str | None:
    """A requested reviewer: a login, or ``org/slug`` for a team."""
    if not reviewer:
        return None
    if reviewer.get("__typename") == "Team":
        org = (reviewer.get("organization") or {}).get("login")
        return f"{org}/{reviewer['slug']}" if org else reviewer["slug"]
    return Actors.login(reviewer)


def linked_issues(repo_id: str, pr: dict[str, Any]) -> list[int]:
    """Issues of this repository a PR closes: GitHub's ``closingIssuesReferences`` plus the closing
    keywords in its body (GitHub only links those for PRs into the default branch). Sorted, unique."""
    found = {
        ref["number"]
        for ref in (pr.get("closingIssuesReferences") or {}).get("nodes") or []
        if ref and (ref.get("repository") or {}).get("nameWithOwner", repo_id).lower() == repo_id.lower()
    }
    for match in _CLOSING.finditer(pr.get("body") or ""):
        if match[1] is None or match[1].lower() == repo_id.lower():
            found.add(int(match[2]))
    return sorted(found)


def nodes_of(connection: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The non-null ``nodes`` of a GraphQL connection (an empty list for a null connection)."""
    return [n for n in (connection or {}).get("nodes") or [] if n]


def pull_request_row(repo_id: str, pr: dict[str, Any], actors: Actors) -> dict[str, Any]:
    """One ``pull_requests`` row. ``first_commit_at`` is the earliest author date among the PR's
    first commits (:data:`queries.PR_COMMITS`; a rebase can reorder them)."""
    commits = pr.get("commits") or {}
    first = nodes_of(commits)
    requested = [reviewer_name(n.get("requestedReviewer")) for n in nodes_of(pr.get("reviewRequests"))]
    return {
        "repo_id": repo_id,
        "number": pr["number"],
        "node_id": pr["id"],
        "title": pr["title"],
        "body_length": _length(pr.get("body")),
        "author_login": actors.login(pr.get("author")),
        "author_is_bot": actors.is_bot(pr.get("author")),
        "state": pr["state"].lower(),
        "is_draft": bool(pr.get("isDraft")),
        "created_at": ts(pr["createdAt"]),
        "updated_at": ts(pr.get("updatedAt")),
        "closed_at": ts(pr.get("closedAt")),
        "merged_at": ts(pr.get("mergedAt")),
        "merged_by_login": actors.login(pr["mergedBy"]) if pr.get("mergedAt") else None,
        "base_branch": pr.get("baseRefName"),
        "head_branch": pr.get("headRefName"),
        "additions": pr.get("additions"),
        "deletions": pr.get("deletions"),
        "changed_files": pr.get("changedFiles"),
        "commit_count": commits.get("totalCount"),
        "labels": [n["name"] for n in nodes_of(pr.get("labels"))],
        "requested_reviewers": [r for r in requested if r],
        "linked_issues": linked_issues(repo_id, pr),
        "merge_commit_sha": (pr.get("mergeCommit") or {}).get("oid"),
        "first_commit_at": min((ts(n["commit"]["authoredDate"]) for n in first), default=None),
        "milestone_number": (pr.get("milestone") or {}).get("number"),
        "url": pr.get("url"),
    }


def login_email_rows(pr: dict[str, Any]) -> list[dict[str, Any]]:
    """``login_emails`` rows from a PR's first commits: GitHub tied the commit's author email to an
    account (``author.user.login``); source ``github_commit``, ``seen_at`` the author date."""
    found = []
    for node in nodes_of(pr.get("commits")):
        commit = node.get("commit") or {}
        author = commit.get("author") or {}
        login = (author.get("user") or {}).get("login")
        if login and author.get("email"):
            found.append({"login": login, "email": author["email"], "source": "github_commit",
                          "seen_at": ts(commit.get("authoredDate"))})
    return found


def review_row(repo_id: str, pr_number: int, review: dict[str, Any], actors: Actors) -> dict[str, Any]:
    """One ``reviews`` row; ``comment_count`` is the number of inline comments the review holds."""
    return {
        "repo_id": repo_id,
        "review_id": review["id"],
        "pr_number": pr_number,
        "reviewer_login": actors.login(review.get("author")),
        "reviewer_is_bot": actors.is_bot(review.get("author")),
        "state": review["state"],
        "submitted_at": ts(review.get("submittedAt")),
        "body_length": _length(review.get("body")),
        "comment_count": (review.get("comments") or {}).get("totalCount"),
        "commit_sha": (review.get("commit") or {}).get("oid"),
        "url": review.get("url"),
    }


def comment_row(
    repo_id: str, parent_number: int, parent_type: str, comment: dict[str, Any], actors: Actors,
    *, review_id: str | None = None,
) -> dict[str, Any]:
    """One ``comments`` row: ``kind`` is ``review`` (inline, on a diff, in a review) when
    ``review_id`` is given, else ``issue`` (the conversation of a PR or an issue)."""
    return {
        "repo_id": repo_id,
        "comment_id": comment["id"],
        "kind": "review" if review_id else "issue",
        "parent_number": parent_number,
        "parent_type": parent_type,
        "review_id": review_id,
        "in_reply_to_id": (comment.get("replyTo") or {}).get("id"),
        "author_login": actors.login(comment.get("author")),
        "author_is_bot": actors.is_bot(comment.get("author")),
        "created_at": ts(comment["createdAt"]),
        "updated_at": ts(comment.get("updatedAt")),
        "body_length": _length(comment.get("body")),
        "path": comment.get("path"),
        "url": comment.get("url"),
    }


def timeline_row(repo_id: str, pr_number: int, item: dict[str, Any], actors: Actors) -> dict[str, Any] | None:
    """One ``pr_timeline_events`` row (``event_type`` in GitHub's REST spelling), or None for an
    item type the collector does not keep."""
    kind = item.get("__typename", "")
    names = {k.replace("_", "").lower(): v for k, v in TIMELINE_TYPES.items()}
    event_type = names.get(kind.lower())
    if not event_type or not item.get("id"):
        return None
    return {
        "repo_id": repo_id,
        "pr_number": pr_number,
        "event_id": item["id"],
        "event_type": event_type,
        "actor_login": actors.login(item.get("actor")),
        "subject_login": reviewer_name(item.get("requestedReviewer")),
        "created_at": ts(item["createdAt"]),
    }


def issue_row(repo_id: str, issue: dict[str, Any], actors: Actors) -> dict[str, Any]:
    """One ``issues`` row (pull requests are not issues here; they have their own table)."""
    return {
        "repo_id": repo_id,
        "number": issue["number"],
        "title": issue["title"],
        "author_login": actors.login(issue.get("author")),
        "author_is_bot": actors.is_bot(issue.get("author")),
        "state": issue["state"].lower(),
        "created_at": ts(issue["createdAt"]),
        "updated_at": ts(issue.get("updatedAt")),
        "closed_at": ts(issue.get("closedAt")),
        "labels": [n["name"] for n in nodes_of(issue.get("labels"))],
        "assignees": [n["login"] for n in nodes_of(issue.get("assignees"))],
        "milestone_number": (issue.get("milestone") or {}).get("number"),
        "comment_count": (issue.get("comments") or {}).get("totalCount"),
        "url": issue.get("url"),
    }


def milestone_row(repo_id: str, milestone: dict[str, Any], actors: Actors) -> dict[str, Any]:
    """One ``milestones`` row."""
    return {
        "repo_id": repo_id,
        "number": milestone["number"],
        "title": milestone["title"],
        "description": milestone.get("description"),
        "state": milestone["state"].lower(),
        "creator_login": actors.login(milestone.get("creator")),
        "created_at": ts(milestone.get("createdAt")),
        "due_on": ts(milestone.get("dueOn")),
        "closed_at": ts(milestone.get("closedAt")),
        "url": milestone.get("url"),
    }


def release_row(repo_id: str, release: dict[str, Any], actors: Actors) -> dict[str, Any]:
    """One ``releases`` row; ``target_commitish`` holds the sha of the commit the tag points to."""
    return {
        "repo_id": repo_id,
        "release_id": release["id"],
        "tag_name": release["tagName"],
        "name": release.get("name"),
        "author_login": actors.login(release.get("author")),
        "is_draft": bool(release.get("isDraft")),
        "is_prerelease": bool(release.get("isPrerelease")),
        "created_at": ts(release.get("createdAt")),
        "published_at": ts(release.get("publishedAt")),
        "target_commitish": (release.get("tagCommit") or {}).get("oid"),
        "url": release.get("url"),
    }


def deployment_status(deployment: dict[str, Any]) -> tuple[str, datetime | None]:
    """``(status, finished_at)`` of a deployment.

    GitHub marks a deployment ``inactive`` once a newer one to the same environment succeeds; that
    says nothing about its own outcome, so the newest status other than ``inactive`` decides:
    ``success``, ``failure``, ``error``, ``in_progress``, or ``pending`` (GitHub's ``pending``,
    ``queued`` and ``waiting``). ``finished_at`` is that status's time when it is final (success,
    failure, error). Only ``inactive`` statuses: ``inactive``; no status at all: ``pending``.
    """
    statuses = [s for s in nodes_of(deployment.get("statuses")) if s.get("state")]
    latest = deployment.get("latestStatus")
    if latest and latest.get("state"):
        statuses.append(latest)
    statuses.sort(key=lambda s: s.get("createdAt") or "")
    decisive = [s for s in statuses if s["state"].lower() != "inactive"]
    if not decisive:
        return ("inactive" if statuses else "pending"), None
    state = decisive[-1]["state"].lower()
    status = _PENDING_STATES.get(state, state)
    return status, ts(decisive[-1].get("createdAt")) if status in _TERMINAL_DEPLOYMENT_STATES else None


def deployment_row(
    repo_id: str, deployment: dict[str, Any], actors: Actors, production: Iterable[str], web_url: str | None
) -> dict[str, Any]:
    """One ``deployments`` row: ``deployment_id`` ``github:<repo_id>:<databaseId>``, source
    ``github_deployment``; ``is_production`` when the environment is one of ``production``
    (case-insensitive); ``url`` the environment's deployments page."""
    status, finished = deployment_status(deployment)
    environment = deployment.get("environment")
    production_names = {p.lower() for p in production}
    return {
        "deployment_id": f"github:{repo_id}:{deployment.get('databaseId') or deployment['id']}",
        "source": "github_deployment",
        "repo_id": repo_id,
        "environment": environment,
        "is_production": (environment or "").lower() in production_names,
        "sha": deployment.get("commitOid"),
        "ref": (deployment.get("ref") or {}).get("name"),
        "created_at": ts(deployment["createdAt"]),
        "finished_at": finished,
        "status": status,
        "creator_login": actors.login(deployment.get("creator")),
        "url": f"{web_url}/deployments/{quote(environment or '', safe='')}" if web_url else None,
    }


def codeowners_row(repo_id: str, path: str, commit: dict[str, Any]) -> dict[str, Any]:
    """One ``codeowners`` row: the file at ``path`` as of ``commit`` (``content`` '' when the
    commit deleted it); ``valid_from`` is the commit's committer date."""
    blob = ((commit.get("file") or {}).get("object") or {})
    return {
        "repo_id": repo_id,
        "path": path,
        "valid_from": ts(commit["committedDate"]),
        "commit_sha": commit["oid"],
        "source": "github",
        "content": blob.get("text") or "",
    }


def later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO timestamps (either may be None)."""
    if a is None or b is None:
        return a or b
    return a if ts(a) >= ts(b) else b


def before(value: str, *, days: float) -> str:
    """``value`` (ISO) moved ``days`` earlier, as ISO."""
    return (ts(value) - timedelta(days=days)).isoformat()
