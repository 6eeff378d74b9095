"""Turn a finished :class:`~impactlens.demo.generate.Generator` into warehouse rows, column by column."""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, timedelta
from typing import Any

from impactlens.demo import cast
from impactlens.demo.cast import BOTS_BY_LOGIN, PEOPLE_BY_ID, REPOS
from impactlens.demo.generate import END_AT, START_AT, Comment, Generator, fake_sha

Tables = dict[str, dict[str, list[Any]]]


class _Table:
    """Rows of one table; ``add`` takes the columns as keywords, in the table's column order."""

    def __init__(self, *columns: str) -> None:
        self.names = columns
        self.rows: list[tuple[Any, ...]] = []

    def add(self, **values: Any) -> None:
        if tuple(values) != self.names:
            raise ValueError(f"columns {list(values)} are not {list(self.names)}")
        self.rows.append(tuple(values.values()))

    @property
    def columns(self) -> dict[str, list[Any]]:
        if not self.rows:
            return {name: [] for name in self.names}
        return dict(zip(self.names, map(list, zip(*self.rows))))


def _is_bot(login: str | None) -> bool:
    return login in BOTS_BY_LOGIN


_EVENT_PREFIX = {"review_requested": "RRE", "ready_for_review": "RFRE", "convert_to_draft": "CTDE", "reopened": "REOE"}


def _node_id(prefix: str, *parts: Any) -> str:
    """A GitHub-style GraphQL node id (what the GitHub collector stores as review, comment and event ids).

    One part that is a database id (digits) is spelled out in hex; anything else is hashed.
    """
    if len(parts) == 1 and str(parts[0]).isdigit():
        return f"{prefix}_kwDOA{int(parts[0]):X}"
    return prefix + "_kwDO" + hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:14].upper()


def to_tables(gen: Generator) -> Tables:
    """Every table the demo fills, as ``{table: {column: [values]}}`` (see :func:`impactlens.demo.generate.generate`)."""
    rng = random.Random(f"{gen.seed}:rows")
    out: Tables = {}
    out.update(_pull_requests(gen, rng))
    out["issues"] = _issues(gen)
    out.update(_commits(gen))
    out["milestones"] = _milestones(gen)
    out["releases"] = _releases(gen)
    out["deployments"] = _deployments(gen)
    out["incidents"] = _incidents(gen)
    out["repositories"] = _repositories()
    out["codeowners"] = _codeowners()
    return out


def _comment_rows(gen: Generator, table: _Table, repo_id: str, number: int, parent_type: str, url: str,
                  comment: Comment, review_id: str | None) -> None:
    database_id = gen._next_id("comment")
    comment.comment_id = _node_id("PRRC" if comment.kind == "review" else "IC", database_id)
    anchor = f"#discussion_r{database_id}" if comment.kind == "review" else f"#issuecomment-{database_id}"
    table.add(
        repo_id=repo_id, comment_id=comment.comment_id, kind=comment.kind, parent_number=number,
        parent_type=parent_type, review_id=review_id,
        in_reply_to_id=comment.reply_to.comment_id if comment.reply_to else None,
        author_login=comment.author, author_is_bot=_is_bot(comment.author), created_at=comment.at,
        updated_at=comment.at, body_length=comment.length, path=comment.path, url=url + anchor,
    )


_COMMENTS = ("repo_id", "comment_id", "kind", "parent_number", "parent_type", "review_id", "in_reply_to_id",
             "author_login", "author_is_bot", "created_at", "updated_at", "body_length", "path", "url")


def _pull_requests(gen: Generator, rng: random.Random) -> Tables:
    prs = _Table("repo_id", "number", "node_id", "title", "body_length", "author_login", "author_is_bot", "state",
                 "is_draft", "created_at", "updated_at", "closed_at", "merged_at", "merged_by_login", "base_branch",
                 "head_branch", "additions", "deletions", "changed_files", "commit_count", "labels",
                 "requested_reviewers", "linked_issues", "merge_commit_sha", "first_commit_at", "milestone_number", "url")
    events = _Table("repo_id", "pr_number", "event_id", "event_type", "actor_login", "subject_login", "created_at")
    reviews = _Table("repo_id", "review_id", "pr_number", "reviewer_login", "reviewer_is_bot", "state", "submitted_at",
                     "body_length", "comment_count", "commit_sha", "url")
    comments = _Table(*_COMMENTS)
    for pr in sorted(gen.prs, key=lambda p: (p.repo.name, p.number)):
        url = f"{pr.repo.url}/pull/{pr.number}"
        times = [pr.created] + [e[3] for e in pr.events] + [r.at for r in pr.reviews]
        times += [c.at for c in pr.comments] + ([pr.closed] if pr.closed else [])
        prs.add(
            repo_id=pr.repo.repo_id, number=pr.number, node_id=_node_id("PR", pr.repo.name, pr.number), title=pr.title,
            body_length=pr.body_length, author_login=pr.author, author_is_bot=_is_bot(pr.author), state=pr.state,
            is_draft=pr.draft, created_at=pr.created, updated_at=max(times), closed_at=pr.closed,
            merged_at=pr.merged, merged_by_login=pr.merged_by, base_branch="main", head_branch=pr.branch,
            additions=sum(f.additions or 0 for f in pr.files), deletions=sum(f.deletions or 0 for f in pr.files),
            changed_files=len(pr.files), commit_count=pr.commit_count, labels=list(pr.labels),
            # GitHub lists only the requests still pending: a reviewer who has reviewed drops off.
            requested_reviewers=[r for r in pr.requested if all(rv.reviewer != r for rv in pr.reviews)],
            linked_issues=[i.number for i in pr.issues],
            merge_commit_sha=pr.merge_sha, first_commit_at=pr.first_commit_at, milestone_number=pr.milestone, url=url,
        )
        for kind, actor, subject, at in sorted(pr.events, key=lambda e: (e[3], e[0], e[2] or "")):
            events.add(repo_id=pr.repo.repo_id, pr_number=pr.number, event_id=_node_id(_EVENT_PREFIX[kind], gen._next_id("event")),
                       event_type=kind,
                       actor_login=actor, subject_login=subject, created_at=at)
        for review in sorted(pr.reviews, key=lambda r: r.at):
            number = gen._next_id("review")
            review_id = _node_id("PRR", number)
            state = review.state
            if state == "CHANGES_REQUESTED" and rng.random() < 0.04:
                state = "DISMISSED"
            reviews.add(
                repo_id=pr.repo.repo_id, review_id=review_id, pr_number=pr.number, reviewer_login=review.reviewer,
                reviewer_is_bot=_is_bot(review.reviewer), state=state, submitted_at=review.at,
                body_length=review.body_length, comment_count=len(review.comments),
                commit_sha=fake_sha(pr.repo.repo_id, "head", pr.number, review.at), url=f"{url}#pullrequestreview-{number}",
            )
            for comment in review.comments:
                _comment_rows(gen, comments, pr.repo.repo_id, pr.number, "pull_request", url, comment, review_id)
        for comment in sorted(pr.comments, key=lambda c: c.at):
            _comment_rows(gen, comments, pr.repo.repo_id, pr.number, "pull_request", url, comment, None)
    for issue in sorted(gen.issues, key=lambda i: (i.repo.name, i.number)):
        url = f"{issue.repo.url}/issues/{issue.number}"
        for comment in sorted((c for c in issue.comments if c.at <= END_AT), key=lambda c: c.at):
            _comment_rows(gen, comments, issue.repo.repo_id, issue.number, "issue", url, comment, None)
    return {"pull_requests": prs.columns, "pr_timeline_events": events.columns, "reviews": reviews.columns,
            "comments": comments.columns}


def _issues(gen: Generator) -> dict[str, list[Any]]:
    table = _Table("repo_id", "number", "title", "author_login", "author_is_bot", "state", "created_at", "updated_at",
                   "closed_at", "labels", "assignees", "milestone_number", "comment_count", "url")
    for issue in sorted(gen.issues, key=lambda i: (i.repo.name, i.number)):
        comments = [c for c in issue.comments if c.at <= END_AT]
        closed = issue.closed if issue.closed and issue.closed <= END_AT else None
        updated = max([issue.created] + [c.at for c in comments] + ([closed] if closed else []))
        table.add(repo_id=issue.repo.repo_id, number=issue.number, title=issue.title, author_login=issue.author,
                  author_is_bot=False, state="closed" if closed else "open", created_at=issue.created,
                  updated_at=updated, closed_at=closed, labels=list(issue.labels), assignees=list(issue.assignees),
                  milestone_number=issue.milestone, comment_count=len(comments), url=f"{issue.repo.url}/issues/{issue.number}")
    return table.columns


def _commits(gen: Generator) -> Tables:
    from impactlens.collectors.git import COMMIT_COLUMNS

    commits = _Table(*COMMIT_COLUMNS)
    files = _Table("repo_id", "sha", "path", "old_path", "change_type", "additions", "deletions", "is_binary", "category")
    coauthors = _Table("repo_id", "sha", "email", "name")
    for row in gen.commit_rows:
        changes = row.pop("_files")
        people = row.pop("_coauthors", [])
        commits.add(**row)
        for change in changes:
            files.add(repo_id=row["repo_id"], sha=row["sha"], path=change.path, old_path=change.old_path,
                      change_type=change.change_type, additions=change.additions, deletions=change.deletions,
                      is_binary=change.is_binary, category=gen.categorize(change.path))
        for person in people:
            coauthors.add(repo_id=row["repo_id"], sha=row["sha"], email=person.commit_email, name=person.name)
    return {"commits": commits.columns, "commit_files": files.columns, "commit_coauthors": coauthors.columns}


def _milestones(gen: Generator) -> dict[str, list[Any]]:
    table = _Table("repo_id", "number", "title", "description", "state", "creator_login", "created_at", "due_on",
                   "closed_at", "url")
    for m in gen.milestones:
        if m["created"] > END_AT:
            continue
        table.add(repo_id=m["repo"].repo_id, number=m["number"], title=m["title"],
                  description=f"What {m['repo'].team} ships this quarter.", state="closed" if m["closed"] else "open",
                  creator_login=m["creator"], created_at=m["created"], due_on=m["due"], closed_at=m["closed"],
                  url=f"{m['repo'].url}/milestone/{m['number']}")
    return table.columns


def _releases(gen: Generator) -> dict[str, list[Any]]:
    table = _Table("repo_id", "release_id", "tag_name", "name", "author_login", "is_draft", "is_prerelease",
                   "created_at", "published_at", "target_commitish", "url")
    for r in gen.releases:
        table.add(repo_id=r["repo"].repo_id, release_id=_node_id("RE", r["id"]), tag_name=r["tag"], name=r["tag"],
                  author_login=r["author"], is_draft=False, is_prerelease=False, created_at=r["at"],
                  published_at=r["at"] + timedelta(minutes=3), target_commitish=r["sha"],
                  url=f"{r['repo'].url}/releases/tag/{r['tag']}")
    return table.columns


def _deployments(gen: Generator) -> dict[str, list[Any]]:
    table = _Table("deployment_id", "source", "repo_id", "environment", "is_production", "sha", "ref", "created_at",
                   "finished_at", "status", "creator_login", "url")
    for d in gen.deployments:
        table.add(deployment_id=d["id"], source="github_deployment", repo_id=d["repo"].repo_id, environment=d["environment"],
                  is_production=d["production"], sha=d["sha"], ref="main", created_at=d["created"],
                  finished_at=d["finished"], status=d["status"], creator_login="github-actions[bot]",
                  url=f"{d['repo'].url}/deployments/{d['environment']}")
    return table.columns


def _incidents(gen: Generator) -> dict[str, list[Any]]:
    table = _Table("incident_id", "source", "external_id", "repo_id", "title", "severity", "service", "status",
                   "opened_at", "acknowledged_at", "resolved_at", "commander", "responders", "postmortem_url", "url",
                   "deployment_id", "attribution_reason")
    for i in gen.incidents:
        table.add(incident_id=f"generic:{i['external_id']}", source="generic", external_id=i["external_id"],
                  repo_id=f"{cast.ORG}/{i['repo']}", title=i["title"], severity=i["severity"], service=i["service"],
                  status="resolved" if i["resolved"] else "open", opened_at=i["opened"],
                  acknowledged_at=i["acknowledged"], resolved_at=i["resolved"], commander=i["commander"].email,
                  responders=[p.email for p in i["responders"]], postmortem_url=i["postmortem"],
                  url=f"https://acme.pagerduty.com/incidents/{i['external_id']}", deployment_id=None,
                  attribution_reason=None)  # the incident import attributes them (impactlens/attribution.py)
    return table.columns


def _repositories() -> dict[str, list[Any]]:
    from datetime import time, timezone

    table = _Table("repo_id", "name", "owner", "url", "source_path", "default_branch", "is_fork", "is_archived",
                   "created_at", "last_collected_at")
    for repo in REPOS:
        table.add(repo_id=repo.repo_id, name=repo.name, owner=cast.ORG, url=repo.url, source_path=None,
                  default_branch="main", is_fork=False, is_archived=False,
                  created_at=datetime.combine(repo.created, time(12), timezone.utc), last_collected_at=END_AT)
    return table.columns


def _codeowners() -> dict[str, list[Any]]:
    table = _Table("repo_id", "path", "valid_from", "commit_sha", "source", "content")
    for repo in REPOS:
        content = f"* @{cast.ORG}/{repo.team}\n/docs/adr/ @{PEOPLE_BY_ID[cast.ADR_AUTHOR].login}\n"
        if repo.name == "platform":
            content += f"/runbooks/ @{PEOPLE_BY_ID[cast.RUNBOOK_AUTHOR].login}\n"
        table.add(repo_id=repo.repo_id, path=".github/CODEOWNERS", valid_from=START_AT - timedelta(days=1),
                  commit_sha=fake_sha(repo.repo_id, "root"), source="github", content=content)
    return table.columns


def person_start(person: cast.Person) -> date:
    """The roster start date (people who predate the demo's window get one in 2019-2021)."""
    if person.start:
        return person.start
    digest = int(hashlib.sha1(person.person_id.encode()).hexdigest()[:6], 16)
    return date(2019, 1, 7) + timedelta(days=digest % 1080)
