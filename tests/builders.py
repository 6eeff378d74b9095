"""Small builders for hand-made warehouses in the metrics tests (no tests here).

Each ``add_*`` inserts one row with sensible defaults; times are given as 'YYYY-MM-DD HH:MM' UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from impactlens.metrics import load


def ts(text: str | None) -> datetime | None:
    """'2024-01-01 10:00' -> aware UTC datetime."""
    if text is None:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def insert(con, table: str, **values: Any) -> None:
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    con.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(values.values()))


_TIMES = {"created_at", "merged_at", "closed_at", "submitted_at", "first_commit_at", "authored_at",
          "committed_at", "opened_at", "acknowledged_at", "resolved_at", "finished_at"}


def _times(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ts(v) if k in _TIMES and isinstance(v, str) else v for k, v in values.items()}


def add_pr(con, number: int, author: str, created: str, *, repo: str = "acme/api", **extra: Any) -> None:
    values = {"repo_id": repo, "number": number, "title": f"PR {number}", "author_login": author,
              "state": "merged" if extra.get("merged_at") else "open", "created_at": created,
              "url": f"https://github.com/{repo}/pull/{number}"}
    values.update(extra)
    insert(con, "pull_requests", **_times(values))


_ids = {"n": 0}


def _next() -> str:
    _ids["n"] += 1
    return str(_ids["n"])


def add_review(con, pr: int, reviewer: str, at: str, *, state: str = "APPROVED", repo: str = "acme/api",
               **extra: Any) -> str:
    review_id = extra.pop("review_id", None) or f"r{_next()}"
    insert(con, "reviews", **_times({"repo_id": repo, "review_id": review_id, "pr_number": pr,
                                     "reviewer_login": reviewer, "state": state, "submitted_at": at, **extra}))
    return review_id


def add_comment(con, pr: int, author: str, at: str, *, kind: str = "review_comment", repo: str = "acme/api",
                **extra: Any) -> None:
    insert(con, "comments", **_times({"repo_id": repo, "comment_id": f"c{_next()}", "kind": kind,
                                      "parent_number": pr, "parent_type": "pull_request",
                                      "author_login": author, "created_at": at, **extra}))


def add_event(con, pr: int, event_type: str, at: str, *, actor: str | None = None, subject: str | None = None,
              repo: str = "acme/api") -> None:
    insert(con, "pr_timeline_events", repo_id=repo, pr_number=pr, event_id=f"e{_next()}", event_type=event_type,
           actor_login=actor, subject_login=subject, created_at=ts(at))


def add_commit(con, sha: str, email: str, at: str, *, repo: str = "acme/api", files: dict[str, tuple] | None = None, subject: str = "work", body: str = "", pr_number: int | None = None,
               is_merge: bool = False, committed: str | None = None, coauthors: tuple[str, ...] = ()) -> None:
    """``files`` maps a path to (additions, deletions, category[, change_type[, old_path]])."""
    files = files or {}
    insert(con, "commits", repo_id=repo, sha=sha, author_name=email.split("@")[0], author_email=email,
           authored_at=ts(at), author_utc_offset_minutes=0, committed_at=ts(committed or at),
           committer_utc_offset_minutes=0, subject=subject, body=body, parent_shas=["p" + sha],
           is_merge=is_merge, insertions=sum(f[0] for f in files.values()),
           deletions=sum(f[1] for f in files.values()), files_changed=len(files), pr_number=pr_number)
    for path, (added, deleted, category, *change) in files.items():
        insert(con, "commit_files", repo_id=repo, sha=sha, path=path, change_type=change[0] if change else "M",
               additions=added, deletions=deleted, is_binary=False, category=category,
               old_path=change[1] if len(change) > 1 else None)
    for coauthor in coauthors:
        insert(con, "commit_coauthors", repo_id=repo, sha=sha, email=coauthor, name=coauthor.split("@")[0])


def add_person(con, person_id: str, *, logins: tuple[str, ...] = (), emails: tuple[str, ...] = (),
               is_bot: bool = False, bot_kind: str | None = None, level: str | None = None,
               start_date: str | None = None) -> None:
    """``start_date`` ('YYYY-MM-DD') is the roster's employment start (people.start_date)."""
    insert(con, "people", person_id=person_id, display_name=person_id, is_bot=is_bot, bot_kind=bot_kind, level=level,
           start_date=datetime.fromisoformat(start_date).date() if start_date else None)
    for login in logins:
        insert(con, "identities", identity_id=f"github_login:{login.lower()}", kind="github_login", value=login,
               person_id=person_id, is_bot=is_bot, bot_kind=bot_kind, source="test")
    for email in emails:
        insert(con, "identities", identity_id=f"email:{email.lower()}", kind="email", value=email,
               person_id=person_id, is_bot=is_bot, bot_kind=bot_kind, source="test")


def add_member(con, person_id: str, team_id: str, valid_from: str, valid_to: str | None = None) -> None:
    insert(con, "team_memberships", person_id=person_id, team_id=team_id,
           valid_from=datetime.fromisoformat(valid_from).date(),
           valid_to=datetime.fromisoformat(valid_to).date() if valid_to else None)


def add_deployment(con, deployment_id: str, at: str, *, repo: str = "acme/api", status: str = "success",
                   is_production: bool = True, sha: str | None = None) -> None:
    insert(con, "deployments", deployment_id=deployment_id, source="test", repo_id=repo, environment="production",
           is_production=is_production, sha=sha, created_at=ts(at), finished_at=ts(at), status=status)


def add_incident(con, incident_id: str, opened: str, *, resolved: str | None = None, acknowledged: str | None = None,
                 repo: str | None = "acme/api", commander: str | None = None, responders: list[str] | None = None,
                 postmortem_url: str | None = None, deployment_id: str | None = None,
                 attribution_reason: str | None = None) -> None:
    insert(con, "incidents", incident_id=incident_id, source="test", external_id=incident_id, repo_id=repo,
           status="resolved" if resolved else "open", opened_at=ts(opened), acknowledged_at=ts(acknowledged),
           resolved_at=ts(resolved), commander=commander, responders=responders or [],
           postmortem_url=postmortem_url, deployment_id=deployment_id, attribution_reason=attribution_reason)


def frames_of(con, **config_overrides: Any):
    from impactlens import config as config_mod

    return load(con, config=config_mod.from_dict(config_overrides))
