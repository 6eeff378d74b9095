"""A local GitHub for the tests: REST and GraphQL over HTTP on 127.0.0.1, in a thread.

``GitHubServer`` speaks the two APIs as GitHub's reference documents them:

* REST under ``/api/v3`` (GitHub Enterprise's layout, so PyGithub's ``base_url`` is
  ``server.api_url``): users, organisations and their repositories with ``Link`` pagination,
  ``X-RateLimit-*`` headers, ``401 Bad credentials``, ``404 Not Found``, ``403 API rate limit
  exceeded``, and GitHub App installation endpoints.
* GraphQL at ``/api/graphql``: the query is validated and executed by graphql-core against GitHub's
  published schema (``tests/fixtures/github/schema.graphql.gz``), over the test's data. A misspelt
  field fails as it would on GitHub. Connections page with ``first``/``after`` (at most 100, and
  one of ``first``/``last`` is required), ``orderBy``, ``filterBy.since``, ``itemTypes``,
  ``states``, ``path``/``since`` of commit history. ``rateLimit.cost`` follows GitHub's documented
  formula (each connection costs one request per parent item that could hold it, summed, /100).

Test data is GraphQL-shaped dicts (field name -> value; a list stands for a connection; a callable
is called with the field's arguments). :class:`Data` builds them with GitHub's shapes and ids.

Faults are queued with :meth:`GitHubServer.fail` (``502`` once, a ``403`` secondary limit with
``Retry-After``...). Every request is logged in :attr:`GitHubServer.requests`.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlparse

from graphql import (
    FieldNode, FragmentSpreadNode, GraphQLError, GraphQLSchema, InlineFragmentNode, OperationDefinitionNode,
    build_schema, execute, get_named_type, parse, validate,
)
from graphql.utilities import value_from_ast_untyped

from impactlens.collectors.github import GitHubClient, Settings

SCHEMA_FILE = Path(__file__).parent / "fixtures" / "github" / "schema.graphql.gz"
DOCS = "https://docs.github.com/rest"
TOKEN = "ghp_localtesttoken"  # the token the server accepts unless told otherwise
# No pacing and short backoffs, so tests run quickly (Retry-After is still honoured).
FAST_SETTINGS = Settings(seconds_between_requests=0, seconds_between_writes=0, backoff_factor=0.01,
                         secondary_rate_wait=0.01)


@lru_cache(maxsize=1)
def github_schema() -> GraphQLSchema:
    """GitHub's published GraphQL schema (built once per test session, ~1.5 s)."""
    sdl = gzip.decompress(SCHEMA_FILE.read_bytes()).decode("utf-8")
    return build_schema(sdl, assume_valid_sdl=True, assume_valid=True)


# -- test data in GitHub's shapes ------------------------------------------------------------------

_ORDER_FIELDS = {
    "UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt", "NUMBER": "number", "DUE_DATE": "dueOn",
    "NAME": "name", "COMMENTS": "comments",
}


def _camel(enum_name: str) -> str:
    """``READY_FOR_REVIEW_EVENT`` -> ``ReadyForReviewEvent``."""
    return "".join(part.capitalize() for part in enum_name.split("_"))


class Data:
    """Repositories and accounts in GraphQL shape, with GitHub-style node ids.

    ``user("ada")`` and ``bot("dependabot")`` are actors (GraphQL gives a bot's login without
    ``[bot]``); ``None`` as an author is a deleted ("ghost") account, as GitHub returns it.
    """

    def __init__(self) -> None:
        self.repositories: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.host = "https://github.example.com"

    def node_id(self, prefix: str) -> str:
        """A fresh opaque node id, e.g. ``PR_kwDOAAAB``."""
        raw = base64.b64encode(next(self._ids).to_bytes(6, "big")).decode().rstrip("=")
        return f"{prefix}_kwDO{raw}"

    # actors
    @staticmethod
    def user(login: str) -> dict[str, Any]:
        return {"__typename": "User", "login": login}

    @staticmethod
    def bot(login: str) -> dict[str, Any]:
        return {"__typename": "Bot", "login": login}

    @staticmethod
    def team(org: str, slug: str) -> dict[str, Any]:
        return {"__typename": "Team", "slug": slug, "organization": {"login": org}}

    def account(self, login: str, kind: str = "Organization") -> dict[str, Any]:
        """A REST account (``kind`` ``Organization`` or ``User``) whose repositories are listed."""
        return self.accounts.setdefault(login, {"login": login, "type": kind, "id": len(self.accounts) + 1})

    def repository(self, full_name: str, *, created: str = "2023-01-01T00:00:00Z", **extra: Any) -> dict[str, Any]:
        owner, name = full_name.split("/")
        self.account(owner)
        repo = {
            "__typename": "Repository", "id": self.node_id("R"), "nameWithOwner": full_name, "name": name,
            "owner": {"__typename": "Organization", "login": owner}, "url": f"{self.host}/{full_name}",
            "isFork": False, "isArchived": False, "createdAt": created,
            "defaultBranchRef": {
                "name": "main",
                "target": {"__typename": "Commit", "id": self.node_id("C"), "oid": "f" * 40, "history": []},
            },
            "pullRequests": [], "issues": [], "releases": [], "milestones": [], "deployments": [],
            **extra,
        }
        self.repositories[full_name.lower()] = repo
        return repo

    def pull_request(
        self, repo: dict[str, Any], number: int, *, author: dict[str, Any] | None, created: str,
        updated: str | None = None, title: str | None = None, body: str = "", state: str = "OPEN",
        draft: bool = False, merged: str | None = None, closed: str | None = None,
        merged_by: dict[str, Any] | None = None, additions: int = 10, deletions: int = 2, changed_files: int = 1,
        commits: list[str] = ("2024-01-01T09:00:00Z",), labels: list[str] = (), milestone: int | None = None,
        closing: list[int] = (), review_requests: list[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """A PR appended to ``repo``; ``commits`` are the author dates of its commits, oldest first."""
        pr = {
            "__typename": "PullRequest", "id": self.node_id("PR"), "number": number,
            "title": title or f"Change {number}", "body": body, "url": f"{repo['url']}/pull/{number}",
            "state": state, "isDraft": draft, "createdAt": created, "updatedAt": updated or created,
            "closedAt": closed or merged, "mergedAt": merged, "author": author,
            "mergedBy": merged_by if merged else None,
            "baseRefName": "main", "headRefName": f"topic-{number}", "additions": additions,
            "deletions": deletions, "changedFiles": changed_files,
            "mergeCommit": {"oid": f"{number:040x}"} if merged else None,
            "milestone": {"number": milestone} if milestone else None,
            "labels": [{"name": n} for n in labels],
            "commits": [{"commit": {"authoredDate": d, "committedDate": d, "author": {
                "email": f"{(author or {}).get('login', 'someone')}@example.com",
                "user": {"login": author["login"]} if author and author["__typename"] == "User" else None,
            }}} for d in commits],
            "closingIssuesReferences": [
                {"number": n, "repository": {"nameWithOwner": repo["nameWithOwner"]}} for n in closing
            ],
            "reviewRequests": [{"requestedReviewer": r} for r in review_requests],
            "timelineItems": [], "reviews": [], "comments": [],
        }
        repo["pullRequests"].append(pr)
        return pr

    def review(
        self, pr: dict[str, Any], *, author: dict[str, Any] | None, state: str, submitted: str, body: str = "",
    ) -> dict[str, Any]:
        review = {
            "__typename": "PullRequestReview", "id": self.node_id("PRR"), "state": state,
            "submittedAt": submitted, "body": body, "author": author,
            "url": f"{pr['url']}#pullrequestreview-{next(self._ids)}", "commit": {"oid": "a" * 40},
            "comments": [],
        }
        pr["reviews"].append(review)
        return review

    def review_comment(
        self, pr: dict[str, Any], review: dict[str, Any], *, author: dict[str, Any] | None, created: str,
        body: str, path: str, reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        comment = {
            "__typename": "PullRequestReviewComment", "id": self.node_id("PRRC"), "createdAt": created,
            "updatedAt": created, "body": body, "path": path, "author": author,
            "url": f"{pr['url']}#discussion_r{next(self._ids)}",
            "replyTo": {"id": reply_to["id"]} if reply_to else None,
        }
        review["comments"].append(comment)
        return comment

    def comment(self, parent: dict[str, Any], *, author: dict[str, Any] | None, created: str, body: str) -> dict[str, Any]:
        comment = {
            "__typename": "IssueComment", "id": self.node_id("IC"), "createdAt": created, "updatedAt": created,
            "body": body, "author": author, "url": f"{parent['url']}#issuecomment-{next(self._ids)}",
        }
        parent["comments"].append(comment)
        return comment

    def event(self, pr: dict[str, Any], kind: str, *, actor: dict[str, Any] | None, created: str,
              reviewer: dict[str, Any] | None = None) -> dict[str, Any]:
        """A timeline item; ``kind`` is a ``PullRequestTimelineItemsItemType`` name."""
        item = {"__typename": _camel(kind), "id": self.node_id("E"), "createdAt": created, "actor": actor}
        if reviewer is not None:
            item["requestedReviewer"] = reviewer
        pr["timelineItems"].append(item)
        return item

    def issue(
        self, repo: dict[str, Any], number: int, *, author: dict[str, Any] | None, created: str,
        updated: str | None = None, state: str = "OPEN", closed: str | None = None, labels: list[str] = (),
        assignees: list[str] = (), milestone: int | None = None, title: str | None = None,
    ) -> dict[str, Any]:
        issue = {
            "__typename": "Issue", "id": self.node_id("I"), "number": number, "title": title or f"Issue {number}",
            "url": f"{repo['url']}/issues/{number}", "state": state, "createdAt": created,
            "updatedAt": updated or created, "closedAt": closed, "author": author,
            "milestone": {"number": milestone} if milestone else None,
            "labels": [{"name": n} for n in labels], "assignees": [{"login": a} for a in assignees],
            "comments": [],
        }
        repo["issues"].append(issue)
        return issue

    def release(self, repo: dict[str, Any], tag: str, *, author: dict[str, Any] | None, created: str,
                published: str | None = None, draft: bool = False, prerelease: bool = False) -> dict[str, Any]:
        release = {
            "__typename": "Release", "id": self.node_id("RE"), "tagName": tag, "name": f"Release {tag}",
            "url": f"{repo['url']}/releases/tag/{tag}", "isDraft": draft, "isPrerelease": prerelease,
            "createdAt": created, "publishedAt": published, "author": author, "tagCommit": {"oid": "b" * 40},
        }
        repo["releases"].append(release)
        return release

    def milestone(self, repo: dict[str, Any], number: int, *, creator: dict[str, Any] | None, created: str,
                  updated: str | None = None, state: str = "OPEN", due: str | None = None,
                  closed: str | None = None) -> dict[str, Any]:
        milestone = {
            "__typename": "Milestone", "id": self.node_id("MI"), "number": number, "title": f"Milestone {number}",
            "description": f"Goal {number}", "state": state, "url": f"{repo['url']}/milestone/{number}",
            "createdAt": created, "updatedAt": updated or created, "dueOn": due, "closedAt": closed,
            "creator": creator,
        }
        repo["milestones"].append(milestone)
        return milestone

    def deployment(self, repo: dict[str, Any], *, environment: str, created: str, sha: str,
                   statuses: list[tuple[str, str]], creator: dict[str, Any] | None) -> dict[str, Any]:
        """A deployment with ``statuses`` as ``(state, createdAt)``, oldest first."""
        nodes = [{"state": s, "createdAt": t} for s, t in statuses]
        deployment = {
            "__typename": "Deployment", "id": self.node_id("DE"), "databaseId": 1000 + len(repo["deployments"]),
            "environment": environment, "createdAt": created,
            "updatedAt": statuses[-1][1] if statuses else created, "commitOid": sha, "ref": {"name": "main"},
            "creator": creator, "latestStatus": nodes[-1] if nodes else None,
            "statuses": list(reversed(nodes)),  # GitHub lists the newest status first
        }
        repo["deployments"].append(deployment)
        return deployment

    def codeowners_commit(self, repo: dict[str, Any], path: str, *, committed: str, text: str | None) -> dict[str, Any]:
        """A commit on the default branch writing ``path`` (``text`` None: deleting it)."""
        commit = {
            "__typename": "Commit", "oid": f"{next(self._ids):040x}", "committedDate": committed, "path": path,
            "file": {"object": {"__typename": "Blob", "text": text}} if text is not None else None,
        }
        history = repo["defaultBranchRef"]["target"]["history"]
        history.append(commit)
        history.sort(key=lambda c: c["committedDate"], reverse=True)  # git log order: newest first
        return commit


# -- GraphQL execution -----------------------------------------------------------------------------


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1]) + 1
    except Exception:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def _connection(items: list[Any], args: dict[str, Any], info: Any) -> dict[str, Any]:
    name = info.field_name
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError(f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.")
    for value, arg in ((first, "first"), (last, "last")):
        if value is not None and not 0 <= value <= 100:
            raise GraphQLError(
                f"Requesting {value} records on the `{name}` connection exceeds the `{arg}` limit of 100 records."
            )
    selected = list(items)
    order = args.get("orderBy")
    if order:
        key = _ORDER_FIELDS[order["field"]]
        selected.sort(key=lambda item: item.get(key) or "", reverse=order.get("direction") == "DESC")
    since = (args.get("filterBy") or {}).get("since")
    if since:
        selected = [i for i in selected if i["updatedAt"] >= since]
    if args.get("itemTypes"):
        wanted = {_camel(t) for t in args["itemTypes"]}
        selected = [i for i in selected if i["__typename"] in wanted]
    if args.get("states"):
        selected = [i for i in selected if i.get("state") in args["states"]]
    if args.get("path") is not None:  # Commit.history(path:)
        selected = [i for i in selected if i.get("path") == args["path"]]
    if name == "history" and args.get("since"):
        selected = [i for i in selected if i["committedDate"] >= args["since"]]
    start = _offset(args["after"]) if args.get("after") else 0
    end = len(selected) if first is None else min(len(selected), start + first)
    page = selected[start:end]
    return {
        "totalCount": len(selected),
        "nodes": page,
        "edges": [{"node": n, "cursor": _cursor(start + i)} for i, n in enumerate(page)],
        "pageInfo": {
            "hasNextPage": end < len(selected), "hasPreviousPage": start > 0,
            "startCursor": _cursor(start) if page else None, "endCursor": _cursor(end - 1) if page else None,
        },
    }


def _resolve(source: Any, info: Any, **args: Any) -> Any:
    value = source.get(info.field_name) if isinstance(source, dict) else getattr(source, info.field_name, None)
    if callable(value):
        return value(info, **args)
    if isinstance(value, list) and get_named_type(info.return_type).name.endswith("Connection"):
        return _connection(value, args, info)
    return value


def query_cost(document: Any, variables: dict[str, Any]) -> int:
    """GitHub's documented cost: the requests each connection would need, summed, /100, at least 1."""
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
    total = 0

    def walk(selection_set: Any, multiplier: int) -> None:
        nonlocal total
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FragmentSpreadNode):
                walk(fragments[selection.name.value].selection_set, multiplier)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, multiplier)
            elif isinstance(selection, FieldNode):
                size = None
                for argument in selection.arguments or ():
                    if argument.name.value in ("first", "last"):
                        size = value_from_ast_untyped(argument.value, variables)
                if size is not None:
                    total += multiplier
                    walk(selection.selection_set, multiplier * max(int(size), 1))
                else:
                    walk(selection.selection_set, multiplier)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, 1)
    return max(1, round(total / 100))


# -- the server ------------------------------------------------------------------------------------


@dataclass
class Fault:
    """A canned answer for the next ``times`` requests whose ``METHOD /path`` starts with ``match``
    (and, for GraphQL, whose ``{"query", "variables"}`` satisfies ``when``)."""

    match: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    when: Callable[[dict[str, Any]], bool] | None = None
    raw: bytes | None = None  # sent as is instead of ``body`` as JSON (an HTML page, cut-off JSON)
    content_type: str = "application/json; charset=utf-8"


@dataclass
class Logged:
    method: str
    path: str
    status: int
    operation: str | None = None  # the GraphQL operation name


class GitHubServer:
    """The local GitHub. Use as a context manager; ``api_url`` is the ``base_url`` for PyGithub.

    ``token`` is the one credential accepted (``Authorization: token X`` or ``Bearer X``);
    ``rate_limit`` the budget per resource (``core`` for REST, ``graphql`` for points) until
    ``reset_at`` (epoch seconds). ``app`` = ``(app_id, public_key_pem, installation_id)`` enables the
    GitHub App endpoints: a JWT signed by the App's key buys an installation token.
    """

    def __init__(self, data: Data | None = None, *, token: str = TOKEN, rate_limit: int = 5000,
                 app: tuple[str, str, int] | None = None) -> None:
        self.data = data or Data()
        self.tokens = {token}
        self.limit = rate_limit
        self.remaining = {"core": rate_limit, "graphql": rate_limit}
        self.reset_at = int(time.time()) + 3600
        self.faults: list[Fault] = []
        self.requests: list[Logged] = []
        self.app = app
        self.viewer = "ada"  # the login the token belongs to (GET /user)
        self.points = 0
        self.crashes: list[Exception] = []
        self.queries: list[str] = []  # every GraphQL query text received
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v3"

    def __enter__(self) -> GitHubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def client(self, token: str = TOKEN, **settings: Any) -> GitHubClient:
        """A collector client for this server, authenticated with ``token`` from ``$GITHUB_TOKEN``,
        with :data:`FAST_SETTINGS` (``settings`` override them, e.g. ``retries=0``)."""
        chosen = Settings(**{**FAST_SETTINGS.__dict__, **settings})
        return GitHubClient.from_environment(api_url=self.api_url, environ={"GITHUB_TOKEN": token}, settings=chosen)

    def fail(self, match: str, status: int, body: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None,
             times: int = 1, when: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """Answer the next ``times`` requests matching ``match`` (``"POST /api/graphql"``) with ``status``;
        ``when(request)`` narrows a GraphQL fault to some queries (``request["variables"]["first"] > 25``)."""
        self.faults.append(Fault(match, status, body or {"message": "Server Error"}, headers or {}, times, when))

    def fail_raw(self, match: str, status: int, raw: bytes, *, content_type: str = "application/json; charset=utf-8",
                 times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``match`` with the bytes ``raw`` as they are: a
        proxy's HTML page (``content_type="text/html"``) or JSON cut off part-way."""
        self.faults.append(Fault(match, status, {}, {}, times, None, raw, content_type))

    # Canned bad answers (as proxies, maintenance pages and broken gateways give them).
    HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Scheduled maintenance</title></head>"
                 b"<body><h1>We'll be back soon</h1></body></html>")

    def answer_html(self, match: str = "POST /api/graphql", times: int = 1) -> None:
        """A maintenance page with status 200 and ``Content-Type: text/html``."""
        self.fail_raw(match, 200, self.HTML_PAGE, content_type="text/html; charset=utf-8", times=times)

    def answer_truncated(self, match: str = "POST /api/graphql", times: int = 1) -> None:
        """Status 200 and JSON that stops part-way (a connection cut by a proxy)."""
        self.fail_raw(match, 200, b'{"data": {"repository": {"id": "R_1", "pullRequests": {"nodes": [{"num', times=times)

    def answer_errors(self, message: str, match: str = "POST /api/graphql", times: int = 1) -> None:
        """GraphQL's ``{"data": null, "errors": [...]}`` with status 200 (no ``type``: an internal error)."""
        self.fail(match, 200, {"data": None, "errors": [{"message": message}]}, times=times)

    def reset_log(self) -> None:
        self.requests.clear()
        self.points = 0

    def count(self, prefix: str = "") -> int:
        """Requests logged whose ``METHOD /path`` starts with ``prefix``."""
        return sum(1 for r in self.requests if f"{r.method} {r.path}".startswith(prefix))

    # -- request handling (under a lock: one request at a time, like a client's sequential use) --

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    try:
                        status, headers, payload, operation = server._answer(method, self.path, self.headers, body)
                    except Exception as exc:  # a bug in the server or the test's data: make it visible
                        server.crashes.append(exc)
                        status, headers, payload, operation = 500, {}, {"message": f"test server crashed: {exc!r}"}, None
                    server.requests.append(Logged(method, urlparse(self.path).path, status, operation))
                raw = isinstance(payload, Fault)
                data = payload.raw if raw else json.dumps(payload).encode()
                content_type = payload.content_type if raw else "application/json; charset=utf-8"
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _rate_headers(self, resource: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(max(self.remaining[resource], 0)),
            "X-RateLimit-Reset": str(self.reset_at), "X-RateLimit-Used": str(self.limit - self.remaining[resource]),
            "X-RateLimit-Resource": resource,
        }

    def _answer(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any, str | None]:
        url = urlparse(raw_path)
        path = url.path
        resource = "graphql" if path == "/api/graphql" else "core"
        operation, request = None, {}
        if path == "/api/graphql" and body:
            try:
                request = json.loads(body)
                operation = parse(request["query"]).definitions[0].name.value  # type: ignore[union-attr]
            except Exception:
                operation = None
        for fault in self.faults:
            if (fault.times > 0 and f"{method} {path}".startswith(fault.match)
                    and (fault.when is None or fault.when(request))):
                fault.times -= 1
                answer = fault if fault.raw is not None else fault.body
                return fault.status, {**self._rate_headers(resource), **fault.headers}, answer, operation
        auth = headers.get("Authorization", "")
        scheme, _, credential = auth.partition(" ")
        if path.startswith("/api/v3/app/") or path.endswith("/installation"):
            return (*self._app_endpoint(method, path, credential), operation)
        if scheme.lower() not in ("token", "bearer") or credential not in self.tokens:
            return 401, {}, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, operation
        if self.remaining[resource] <= 0:
            limited = self._rate_headers(resource)
            if resource == "graphql":
                return 200, limited, {"errors": [{"type": "RATE_LIMITED",
                                                  "message": "API rate limit already exceeded for user ID 1."}]}, operation
            return 403, limited, {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS}, operation
        if path == "/api/graphql" and method == "POST":
            status, payload = self._graphql(json.loads(body))
            return status, self._rate_headers(resource), payload, operation
        self.remaining["core"] -= 1
        status, payload, extra = self._rest(method, path, parse_qs(url.query))
        return status, {**self._rate_headers("core"), **extra}, payload, operation

    # -- REST --------------------------------------------------------------------------------------

    def _rest(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        parts = path.removeprefix("/api/v3").strip("/").split("/")
        not_found = (404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {})
        if method != "GET":
            return not_found
        if parts == ["rate_limit"]:  # free on GitHub: it does not count against the budget
            self.remaining["core"] += 1
            resources = {r: {"limit": self.limit, "remaining": max(self.remaining[r], 0), "reset": self.reset_at,
                             "used": self.limit - self.remaining[r]} for r in ("core", "graphql")}
            return 200, {"resources": resources, "rate": resources["core"]}, {}
        if parts == ["user"]:  # the token's own account
            account = self.data.accounts.get(self.viewer)
            if account is None:
                return 403, {"message": "Resource not accessible by integration", "documentation_url": DOCS}, {}
            return 200, self._account_json(account), {}
        if parts == ["user", "repos"]:  # the token owner's repositories, private ones included
            repos = [self._repo_json(r) for r in self.data.repositories.values()
                     if r["owner"]["login"] == self.viewer]
            return self._paginate(path, query, sorted(repos, key=lambda r: r["full_name"]))
        if len(parts) == 2 and parts[0] in ("users", "orgs"):
            account = self.data.accounts.get(parts[1])
            if not account or (parts[0] == "orgs" and account["type"] != "Organization"):
                return not_found
            return 200, self._account_json(account), {}
        if len(parts) == 3 and parts[0] in ("users", "orgs") and parts[2] == "repos":
            account = self.data.accounts.get(parts[1])
            if not account:
                return not_found
            repos = [self._repo_json(r) for r in self.data.repositories.values()
                     if r["owner"]["login"] == account["login"]]
            repos.sort(key=lambda r: r["full_name"])
            return self._paginate(path, query, repos)
        if len(parts) == 3 and parts[0] == "repos":
            repo = self.data.repositories.get(f"{parts[1]}/{parts[2]}".lower())
            return (200, self._repo_json(repo), {}) if repo else not_found
        return not_found

    def _paginate(self, path: str, query: dict[str, list[str]], items: list[Any]) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(items) // per_page))
        params = {k: v[0] for k, v in query.items() if k != "page"}

        def link(n: int) -> str:
            return f"<{self.api_url}{path.removeprefix('/api/v3')}?{urlencode({**params, 'page': n})}>"

        links = []
        if page < last:
            links += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            links += [f'{link(1)}; rel="first"', f'{link(page - 1)}; rel="prev"']
        extra = {"Link": ", ".join(links)} if links else {}
        return 200, items[(page - 1) * per_page: page * per_page], extra

    def _account_json(self, account: dict[str, Any]) -> dict[str, Any]:
        login = account["login"]
        return {"login": login, "id": account["id"], "type": account["type"], "node_id": f"O_{login}",
                "url": f"{self.api_url}/{'orgs' if account['type'] == 'Organization' else 'users'}/{login}",
                "repos_url": f"{self.api_url}/{'orgs' if account['type'] == 'Organization' else 'users'}/{login}/repos",
                "html_url": f"{self.data.host}/{login}"}

    def _repo_json(self, repo: dict[str, Any]) -> dict[str, Any]:
        full = repo["nameWithOwner"]
        return {"id": abs(hash(full)) % 10**8, "node_id": repo["id"], "name": repo["name"], "full_name": full,
                "private": False, "fork": repo["isFork"], "archived": repo["isArchived"],
                "owner": self._account_json(self.data.accounts[repo["owner"]["login"]]),
                "url": f"{self.api_url}/repos/{full}", "html_url": repo["url"], "default_branch": "main"}

    def _app_endpoint(self, method: str, path: str, jwt_token: str) -> tuple[int, dict[str, str], Any]:
        import jwt as pyjwt

        if not self.app:
            return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
        app_id, public_key, installation_id = self.app
        try:
            claims = pyjwt.decode(jwt_token, public_key, algorithms=["RS256"])
        except Exception:
            return 401, {}, {"message": "A JSON web token could not be decoded", "documentation_url": DOCS}
        if str(claims.get("iss")) != str(app_id):
            return 401, {}, {"message": "Bad credentials", "documentation_url": DOCS}
        if method == "GET" and path.endswith("/installation"):
            parts = path.removeprefix("/api/v3/").split("/")
            owner = parts[1]
            known = owner in self.data.accounts
            return (200, {}, {"id": installation_id, "app_id": int(app_id), "account": {"login": owner}}) if known \
                else (404, {}, {"message": "Not Found", "documentation_url": DOCS})
        if method == "POST" and path == f"/api/v3/app/installations/{installation_id}/access_tokens":
            token = f"ghs_installation{installation_id}"
            self.tokens.add(token)
            return 201, {}, {"token": token, "expires_at": "2099-01-01T00:00:00Z", "permissions": {"contents": "read"}}
        return 404, {}, {"message": "Not Found", "documentation_url": DOCS}

    # -- GraphQL -----------------------------------------------------------------------------------

    def _graphql(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        schema = github_schema()
        self.queries.append(request.get("query", ""))
        try:
            document = parse(request["query"])
        except GraphQLError as exc:
            return 200, {"errors": [exc.formatted]}
        errors = validate(schema, document)
        if errors:
            return 200, {"errors": [e.formatted for e in errors]}
        variables = request.get("variables") or {}
        cost = query_cost(document, variables)
        if cost > self.remaining["graphql"]:  # GitHub refuses a query that costs more than is left
            return 200, {"errors": [{"type": "RATE_LIMITED",
                                     "message": "API rate limit already exceeded for user ID 1."}]}
        self.remaining["graphql"] -= cost
        self.points += cost
        data = self.data

        def repository(info: Any, owner: str, name: str, **_: Any) -> dict[str, Any]:
            repo = data.repositories.get(f"{owner}/{name}".lower())
            if repo is None:
                raise GraphQLError(f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                                   extensions={"type": "NOT_FOUND"})
            return {**repo, "object": lambda info, oid=None, expression=None: repo["defaultBranchRef"]["target"]}

        def node(info: Any, id: str) -> dict[str, Any] | None:
            found = self._nodes().get(id)
            if found is None:
                raise GraphQLError(f"Could not resolve to a node with the global id of '{id}'",
                                   extensions={"type": "NOT_FOUND"})
            return found

        root = {
            "repository": repository,
            "node": node,
            "rateLimit": lambda info, dryRun=False: {
                "cost": cost, "limit": self.limit, "remaining": max(self.remaining["graphql"], 0),
                "used": self.limit - self.remaining["graphql"], "nodeCount": 0,
                "resetAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.reset_at)),
            },
        }
        result = execute(schema, document, root_value=root, variable_values=variables,
                         operation_name=request.get("operationName"), field_resolver=_resolve)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = []
            for error in result.errors:
                formatted = dict(error.formatted)
                extensions = formatted.pop("extensions", None) or {}
                if "type" in extensions:  # GitHub puts the error type at the top level
                    formatted["type"] = extensions["type"]
                if error.original_error and not isinstance(error.original_error, GraphQLError):
                    raise error.original_error  # a bug in the test server or its data: fail loudly
                payload["errors"].append(formatted)
        return 200, payload

    def _nodes(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if "id" in value and "__typename" in value and value["id"] not in found:
                    found[value["id"]] = value
                for key, item in value.items():
                    if key not in ("repository",):
                        walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(list(self.data.repositories.values()))
        return found


# -- the example the tests share -------------------------------------------------------------------


def example_repository(d: Data) -> dict[str, Any]:
    """``acme/api`` with the cases a collector must get right, written out by hand; returns every
    object it made by name (``pr1``, ``bot_review``...) for tests to state exact expectations."""
    repo = d.repository("acme/api")
    ada, bob, cy = d.user("ada"), d.user("bob"), d.user("cy")
    # 1: merged, reviewed by a human (approve) and an AI bot (comment); a deleted user's inline comment
    #    that bob answers; closes #7 by GitHub's link and #8 by a keyword in the body.
    pr1 = d.pull_request(
        repo, 1, author=ada, created="2024-03-01T09:00:00Z", updated="2024-03-02T15:00:00Z",
        body="Fixes #8 and refs #9", state="MERGED", merged="2024-03-02T15:00:00Z", merged_by=bob,
        additions=120, deletions=30, changed_files=4, commits=["2024-02-28T17:30:00Z", "2024-03-01T08:00:00Z"],
        labels=["feature", "api"], milestone=1, closing=[7],
    )
    bot_review = d.review(pr1, author=d.bot("coderabbitai"), state="COMMENTED", submitted="2024-03-01T09:05:00Z",
                          body="Summary by CodeRabbit")
    ghost_note = d.review_comment(pr1, bot_review, author=None, created="2024-03-01T10:00:00Z", body="why?",
                                  path="api/app.py")
    bob_review = d.review(pr1, author=bob, state="APPROVED", submitted="2024-03-02T14:00:00Z", body="")
    reply = d.review_comment(pr1, bob_review, author=bob, created="2024-03-02T13:59:00Z", body="because",
                             path="api/app.py", reply_to=ghost_note)
    talk = d.comment(pr1, author=d.user("renovate-helper"), created="2024-03-01T12:00:00Z", body="ping")
    requested = d.event(pr1, "REVIEW_REQUESTED_EVENT", actor=ada, created="2024-03-01T09:01:00Z",
                        reviewer=d.team("acme", "core"))
    # 2: open, no reviews, a pending request for cy; authored by a deleted user.
    pr2 = d.pull_request(repo, 2, author=None, created="2024-03-03T09:00:00Z", review_requests=[cy])
    # 3: opened as draft, made ready, converted back, made ready again: draft no longer.
    #    A review request for dee, withdrawn; a reopening.
    pr3 = d.pull_request(repo, 3, author=cy, created="2024-03-04T09:00:00Z", updated="2024-03-05T12:30:00Z")
    ready1 = d.event(pr3, "READY_FOR_REVIEW_EVENT", actor=cy, created="2024-03-04T18:00:00Z")
    draft = d.event(pr3, "CONVERT_TO_DRAFT_EVENT", actor=cy, created="2024-03-05T09:00:00Z")
    ready2 = d.event(pr3, "READY_FOR_REVIEW_EVENT", actor=cy, created="2024-03-05T12:00:00Z")
    asked = d.event(pr3, "REVIEW_REQUESTED_EVENT", actor=cy, created="2024-03-05T12:01:00Z", reviewer=d.user("dee"))
    unasked = d.event(pr3, "REVIEW_REQUEST_REMOVED_EVENT", actor=cy, created="2024-03-05T12:20:00Z",
                      reviewer=d.user("dee"))
    reopened = d.event(pr3, "REOPENED_EVENT", actor=bob, created="2024-03-05T12:30:00Z")
    issue7 = d.issue(repo, 7, author=cy, created="2024-02-20T08:00:00Z", updated="2024-03-02T15:00:01Z",
                     state="CLOSED", closed="2024-03-02T15:00:01Z", labels=["incident", "sev2"], assignees=["ada"],
                     milestone=1)
    issue_talk = d.comment(issue7, author=d.bot("github-actions"), created="2024-02-20T08:01:00Z", body="triaged")
    milestone = d.milestone(repo, 1, creator=ada, created="2024-02-01T00:00:00Z", updated="2024-03-02T15:00:01Z",
                            due="2024-03-31T00:00:00Z")
    release = d.release(repo, "v1.0.0", author=bob, created="2024-03-02T16:00:00Z", published="2024-03-02T16:05:00Z")
    deploy = d.deployment(repo, environment="Production", created="2024-03-02T16:10:00Z", sha="c" * 40, creator=bob,
                          statuses=[("QUEUED", "2024-03-02T16:10:01Z"), ("SUCCESS", "2024-03-02T16:14:00Z"),
                                    ("INACTIVE", "2024-03-09T10:00:00Z")])
    failed = d.deployment(repo, environment="staging", created="2024-03-03T10:00:00Z", sha="d" * 40, creator=d.bot("github-actions"),
                          statuses=[("FAILURE", "2024-03-03T10:02:00Z")])
    owners1 = d.codeowners_commit(repo, ".github/CODEOWNERS", committed="2024-01-10T10:00:00Z", text="* @acme/core\n")
    owners2 = d.codeowners_commit(repo, ".github/CODEOWNERS", committed="2024-02-10T10:00:00Z",
                                  text="* @acme/core\n/api/ @ada\n")
    gone = d.codeowners_commit(repo, "docs/CODEOWNERS", committed="2024-01-05T10:00:00Z", text=None)
    return locals()
