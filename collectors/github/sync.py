"""One repository's collection: which pages to ask for, when to stop, and what each page stores.

Resources and their high-water marks (``sync_state``, source ``github``, target the repo id):

=================  ==========================================================================
pull_requests      newest first by ``updatedAt``; stops at the first PR not updated since the
                   mark. While a run pages, the cursor also holds ``pending`` (the page cursor
                   and the newest ``updatedAt`` of this run), so a killed run resumes at its page.
                   A page GitHub keeps failing (5xx: a query too heavy to answer in time) is
                   asked for again at half the size, down to :data:`MIN_PR_PAGE_SIZE`.
issues             oldest first by ``updatedAt`` with ``filterBy: {since: mark}``; the mark moves
                   with every page.
releases           newest first by ``createdAt``; stops at the first release created before the mark.
milestones         newest first by ``updatedAt``; stops at the first milestone not updated since.
deployments        newest first by ``createdAt``; stops once deployments are older than the mark by
                   :data:`DEPLOYMENT_LOOKBACK_DAYS` (a deployment's status arrives after it is created).
codeowners         the history of each CODEOWNERS location since the last commit seen.
=================  ==========================================================================

The first page of releases, milestones, deployments and every CODEOWNERS history comes with the
repository's metadata in one query, with the newest ``updatedAt`` of pull requests and of issues:
when neither is newer than its mark, no page of them is asked for, so an up-to-date repository
costs one request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import duckdb

from impactlens import warehouse
from impactlens.collectors.github import queries, rows, store
from impactlens.collectors.github.client import (
    BadAnswerError, CredentialsError, GitHubClient, RateLimited, ServerError, UnreachableError,
)
from impactlens.collectors.github.rows import Actors, later, ts
from impactlens.errors import CollectionError
from impactlens.config import Config

DEPLOYMENT_LOOKBACK_DAYS = 7
MIN_PR_PAGE_SIZE = 10  # a page of PRs that GitHub keeps failing to answer is halved down to this


def _has_more(connection: dict[str, Any] | None) -> bool:
    return bool(((connection or {}).get("pageInfo") or {}).get("hasNextPage"))


def _newest(connection: dict[str, Any] | None) -> str | None:
    """``updatedAt`` of the single node of a ``first: 1`` newest-first probe (None: no items)."""
    found = rows.nodes_of(connection)
    return found[0]["updatedAt"] if found else None


def _nothing_new(newest: str | None, mark: str | None) -> bool:
    """The probe shows nothing updated after the mark (or there is nothing at all)."""
    if newest is None:
        return True
    return mark is not None and ts(newest) <= ts(mark)


@dataclass
class RepoCounts:
    """What one run changed: per table, the rows that were new or differed from the stored ones;
    and the pull requests and issues GitHub reported updated since the last run."""

    tables: dict[str, int] = field(default_factory=dict)
    changed_pull_requests: int = 0
    changed_issues: int = 0

    def add(self, changed: dict[str, int]) -> None:
        for table, count in changed.items():
            if count:
                self.tables[table] = self.tables.get(table, 0) + count


class RepositorySync:
    """Collects one repository ``owner/name`` through ``client`` into ``con``.

    ``since`` (ISO timestamp or None) is the earliest update a first run asks for; ``on_page(text)``
    is called after every stored page with a short progress phrase.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        client: GitHubClient,
        repo_id: str,
        *,
        config: Config,
        since: str | None = None,
        on_page: Callable[[str], None] | None = None,
    ) -> None:
        self.con = con
        self.client = client
        self.owner, self.name = repo_id.split("/", 1)
        self.repo_id = repo_id
        self.since = since
        self.actors = Actors(config)
        self.production = config.get("deployments", {}).get("production_environments", [])
        self.on_page = on_page or (lambda _text: None)
        self.counts = RepoCounts()
        self.web_url: str | None = None

    # -- plumbing ---------------------------------------------------------------------------------

    def _query(self, query: str, **variables: Any) -> dict[str, Any]:
        return self.client.graphql(
            query, {"owner": self.owner, "name": self.name, **variables}, what=f"repository {self.repo_id}"
        )

    def _save(self, resource: str, page: dict[str, list[dict[str, Any]]], cursor: dict[str, Any] | None) -> None:
        self.counts.add(store.save_page(self.con, page, repo_id=self.repo_id, resource=resource, cursor=cursor))

    def _complete(self, wanted: list[tuple[dict[str, Any], str, str]]) -> None:
        """Fetch the rest of each ``node[connection]`` (``(node, node type, connection)``) whose
        first page said there is more, :data:`queries.FOLLOW_UP_BATCH` lists per request."""
        pending = [w for w in wanted if _has_more(w[0].get(w[2]))]
        while pending:
            batch, pending = pending[: queries.FOLLOW_UP_BATCH], pending[queries.FOLLOW_UP_BATCH:]
            variables: dict[str, Any] = {"first": queries.FOLLOW_UP_PAGE_SIZE}
            for i, (node, _, connection) in enumerate(batch):
                variables[f"id{i}"] = node["id"]
                variables[f"after{i}"] = node[connection]["pageInfo"]["endCursor"]
            data = self.client.graphql(
                queries.follow_ups([(t, c) for _, t, c in batch]), variables, what=f"nested lists of {self.repo_id}"
            )
            for i, (node, node_type, connection) in enumerate(batch):
                more = (data.get(f"f{i}") or {}).get(connection) or {}
                conn = node[connection]
                conn["nodes"] = (conn.get("nodes") or []) + (more.get("nodes") or [])
                conn["pageInfo"] = more.get("pageInfo") or {"hasNextPage": False}
                if _has_more(conn):
                    pending.append((node, node_type, connection))

    def _unchanged(self, table: str, items: list[dict[str, Any]]) -> set[int]:
        """Numbers of ``items`` the warehouse already holds with the same ``updatedAt``."""
        if not items:
            return set()
        numbers = [i["number"] for i in items]
        stored = dict(self.con.execute(
            f"SELECT number, updated_at FROM {table} WHERE repo_id = ? AND number IN (SELECT unnest(?))",
            [self.repo_id, numbers],
        ).fetchall())
        return {i["number"] for i in items if stored.get(i["number"]) == ts(i["updatedAt"])}

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> RepoCounts:
        """Collect every resource; returns the counts. Raises what the client raises."""
        marks = warehouse.cursors(self.con, store.SOURCE, self.repo_id)
        codeowners_mark = later((marks.get("codeowners") or {}).get("committed_at"), self.since)
        data = self._query(queries.REPOSITORY, first=queries.REPO_ITEMS_PAGE_SIZE, since=codeowners_mark)
        repo = data.get("repository")
        if not repo:
            raise CollectionError(f"GitHub has no repository {self.repo_id}, or the credentials cannot see it.")
        if repo["nameWithOwner"] != self.repo_id:  # GitHub's spelling (case, renames) is the id
            self.repo_id = repo["nameWithOwner"]
            self.owner, self.name = self.repo_id.split("/", 1)
            marks = warehouse.cursors(self.con, store.SOURCE, self.repo_id)
        self.web_url = repo.get("url")
        store.save_repository(self.con, repo)
        self._codeowners(repo, marks.get("codeowners") or {})
        self._releases(repo, marks.get("releases") or {})
        self._milestones(repo, marks.get("milestones") or {})
        self._deployments(repo, marks.get("deployments") or {})
        self._pull_requests(marks.get("pull_requests") or {}, _newest(repo.get("latestPullRequest")))
        self._issues(marks.get("issues") or {}, _newest(repo.get("latestIssue")))
        return self.counts

    # -- pull requests ----------------------------------------------------------------------------

    def _pull_requests(self, cursor: dict[str, Any], newest: str | None) -> None:
        mark = cursor.get("updated_at")
        pending = cursor.get("pending") or {}
        if not pending and _nothing_new(newest, mark):
            return
        lower = later(pending.get("lower", mark), self.since)
        after, top = pending.get("after"), pending.get("top")
        stored = 0
        size = queries.PR_PAGE_SIZE
        resuming = bool(pending)
        while True:
            try:
                data = self._query(queries.PULL_REQUESTS, first=size, after=after)
            except ServerError:
                # GitHub answers 502 when a query takes too long: ask again for half the page.
                if size <= MIN_PR_PAGE_SIZE:
                    raise
                size //= 2
                continue
            except (RateLimited, CredentialsError, UnreachableError, BadAnswerError):
                raise
            except CollectionError:
                if not resuming:
                    raise
                # GitHub no longer accepts the page cursor an interrupted run saved: start over
                # (pages already stored are skipped cheaply, their updatedAt unchanged).
                resuming, after, top = False, None, None
                continue
            resuming = False
            conn = data["repository"]["pullRequests"]
            nodes = [n for n in conn.get("nodes") or [] if n]
            if top is None and nodes:
                top = nodes[0]["updatedAt"]
            recent = [n for n in nodes if lower is None or ts(n["updatedAt"]) >= ts(lower)]
            done = len(recent) < len(nodes) or not conn["pageInfo"]["hasNextPage"]
            unchanged = self._unchanged("pull_requests", recent)
            fresh = [n for n in recent if n["number"] not in unchanged]
            self.counts.changed_pull_requests += len(fresh)
            page = self._pull_request_rows(fresh)
            if done:
                next_cursor: dict[str, Any] = {"updated_at": later(top, mark)}
            else:
                after = conn["pageInfo"]["endCursor"]
                next_cursor = {"updated_at": mark, "pending": {"after": after, "top": top, "lower": lower}}
            self._save("pull_requests", page, next_cursor)
            stored += len(recent)
            self.on_page(f"{self.repo_id}: pull requests {stored:,} of {conn.get('totalCount', 0):,}")
            if done:
                return

    def _pull_request_rows(self, prs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        page: dict[str, list[dict[str, Any]]] = {
            "pull_requests": [], "reviews": [], "comments": [], "pr_timeline_events": [], "login_emails": [],
        }
        repo_id, actors = self.repo_id, self.actors
        self._complete([
            (pr, "PullRequest", connection)
            for pr in prs for connection in ("reviews", "comments", "reviewRequests", "timelineItems", "labels")
        ])
        self._complete([
            (review, "PullRequestReview", "comments") for pr in prs for review in rows.nodes_of(pr.get("reviews"))
        ])
        for pr in prs:
            number = pr["number"]
            page["pull_requests"].append(rows.pull_request_row(repo_id, pr, actors))
            page["login_emails"].extend(rows.login_email_rows(pr))
            for review in rows.nodes_of(pr.get("reviews")):
                if review.get("state") == "PENDING":  # a draft review only its author can see
                    continue
                page["reviews"].append(rows.review_row(repo_id, number, review, actors))
                for comment in rows.nodes_of(review.get("comments")):
                    page["comments"].append(
                        rows.comment_row(repo_id, number, "pull_request", comment, actors, review_id=review["id"])
                    )
            for comment in rows.nodes_of(pr.get("comments")):
                page["comments"].append(rows.comment_row(repo_id, number, "pull_request", comment, actors))
            for item in rows.nodes_of(pr.get("timelineItems")):
                event = rows.timeline_row(repo_id, number, item, actors)
                if event:
                    page["pr_timeline_events"].append(event)
        return page

    # -- issues -----------------------------------------------------------------------------------

    def _issues(self, cursor: dict[str, Any], newest: str | None) -> None:
        mark = cursor.get("updated_at")
        if _nothing_new(newest, mark):
            return
        lower = later(mark, self.since)
        after = None
        stored = 0
        while True:
            data = self._query(queries.ISSUES, first=queries.ISSUE_PAGE_SIZE, after=after, since=lower)
            conn = data["repository"]["issues"]
            nodes = [n for n in conn.get("nodes") or [] if n]
            for issue in nodes:
                mark = later(mark, issue["updatedAt"])
            unchanged = self._unchanged("issues", nodes)
            nodes = [n for n in nodes if n["number"] not in unchanged]
            self.counts.changed_issues += len(nodes)
            self._complete([
                (issue, "Issue", connection) for issue in nodes for connection in ("comments", "labels", "assignees")
            ])
            page: dict[str, list[dict[str, Any]]] = {"issues": [], "comments": []}
            for issue in nodes:
                page["issues"].append(rows.issue_row(self.repo_id, issue, self.actors))
                for comment in rows.nodes_of(issue.get("comments")):
                    page["comments"].append(
                        rows.comment_row(self.repo_id, issue["number"], "issue", comment, self.actors)
                    )
            self._save("issues", page, {"updated_at": mark} if mark else None)
            stored += len(nodes)
            self.on_page(f"{self.repo_id}: issues {stored:,} of {conn.get('totalCount', 0):,}")
            if not conn["pageInfo"]["hasNextPage"]:
                return
            after = conn["pageInfo"]["endCursor"]

    # -- releases, milestones, deployments ---------------------------------------------------------

    def _newest_first(
        self,
        repo: dict[str, Any],
        connection: str,
        cursor: dict[str, Any],
        *,
        order_key: str,
        lookback_days: float = 0,
        to_rows: Callable[[dict[str, Any]], dict[str, Any]],
        table: str,
    ) -> None:
        """Page a newest-first list until its items are older than the mark (less the lookback)."""
        mark = cursor.get(order_key)
        stop_before = later(rows.before(mark, days=lookback_days) if mark else None, self.since)
        conn = repo[connection]
        newest = mark
        while True:
            nodes = [n for n in conn.get("nodes") or [] if n]
            keep = [n for n in nodes if self.since is None or ts(n[order_key]) >= ts(self.since)]
            for node in nodes:
                newest = later(newest, node[order_key])
            reached_old = bool(nodes) and stop_before is not None and ts(nodes[-1][order_key]) < ts(stop_before)
            done = reached_old or not conn["pageInfo"]["hasNextPage"]
            self._save(connection, {table: [to_rows(n) for n in keep]}, {order_key: newest} if done and newest else None)
            if done:
                return
            data = self._query(
                queries.repository_items(connection), first=queries.REPO_ITEMS_PAGE_SIZE,
                after=conn["pageInfo"]["endCursor"],
            )
            conn = data["repository"][connection]

    def _releases(self, repo: dict[str, Any], cursor: dict[str, Any]) -> None:
        self._newest_first(
            repo, "releases", cursor, order_key="createdAt", table="releases",
            to_rows=lambda n: rows.release_row(self.repo_id, n, self.actors),
        )

    def _milestones(self, repo: dict[str, Any], cursor: dict[str, Any]) -> None:
        self._newest_first(
            repo, "milestones", cursor, order_key="updatedAt", table="milestones",
            to_rows=lambda n: rows.milestone_row(self.repo_id, n, self.actors),
        )

    def _deployments(self, repo: dict[str, Any], cursor: dict[str, Any]) -> None:
        self._newest_first(
            repo, "deployments", cursor, order_key="createdAt", table="deployments",
            lookback_days=DEPLOYMENT_LOOKBACK_DAYS,
            to_rows=lambda n: rows.deployment_row(self.repo_id, n, self.actors, self.production, self.web_url),
        )

    # -- CODEOWNERS -------------------------------------------------------------------------------

    def _codeowners(self, repo: dict[str, Any], cursor: dict[str, Any]) -> None:
        target = ((repo.get("defaultBranchRef") or {}).get("target")) or {}
        if not target.get("oid"):  # an empty repository has no default branch yet
            return
        mark = cursor.get("committed_at")
        page: list[dict[str, Any]] = []
        for alias, path in queries.CODEOWNERS_ALIASES.items():
            history = target.get(alias) or {}
            while True:
                for commit in history.get("nodes") or []:
                    page.append(rows.codeowners_row(self.repo_id, path, commit))
                    mark = later(mark, commit["committedDate"])
                info = history.get("pageInfo") or {}
                if not info.get("hasNextPage"):
                    break
                data = self._query(
                    queries.CODEOWNERS_HISTORY, oid=target["oid"], path=path, first=queries.FOLLOW_UP_PAGE_SIZE,
                    after=info["endCursor"], since=later(cursor.get("committed_at"), self.since),
                )
                history = ((data["repository"] or {}).get("object") or {}).get("history") or {}
        self._save("codeowners", {"codeowners": page}, {"committed_at": mark} if mark else None)
