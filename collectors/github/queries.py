"""GraphQL query text the GitHub collector sends (and nothing else).

Every query asks for ``rateLimit { cost remaining resetAt limit }`` so the collector can report the
points it spent and the budget left. Page sizes are module constants: a page of pull requests
carries each PR with its first reviews, review requests, timeline events and comments, so one
request covers :data:`PR_PAGE_SIZE` pull requests; the few PRs of a page with more nested items
than fit are completed together by one ``node(id:)`` query per round (:func:`follow_ups`, up to
:data:`FOLLOW_UP_BATCH` lists each).

All queries are validated against GitHub's published schema in ``tests/collectors/test_github_queries.py``.
"""

from __future__ import annotations

import re

PR_PAGE_SIZE = 100
ISSUE_PAGE_SIZE = 100
REPO_ITEMS_PAGE_SIZE = 50
NESTED_PAGE_SIZE = 20
FOLLOW_UP_PAGE_SIZE = 100
FOLLOW_UP_BATCH = 10  # nested lists completed per follow-up request
PR_COMMITS = 10  # a PR's first commits: the first one's time, and their authors' emails and logins
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")

# The timeline events that time a review (GraphQL enum names; stored as GitHub's REST event names).
TIMELINE_TYPES = {
    "READY_FOR_REVIEW_EVENT": "ready_for_review",
    "REVIEW_REQUESTED_EVENT": "review_requested",
    "REVIEW_REQUEST_REMOVED_EVENT": "review_request_removed",
    "CONVERT_TO_DRAFT_EVENT": "convert_to_draft",
    "REOPENED_EVENT": "reopened",
}

_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
_RATE = "rateLimit { cost remaining resetAt limit }"

FRAGMENTS = {
    "ActorFields": "fragment ActorFields on Actor { __typename login }",
    "ReviewerFields": """
fragment ReviewerFields on RequestedReviewer {
  __typename
  ... on User { login }
  ... on Bot { login }
  ... on Mannequin { login }
  ... on Team { slug organization { login } }
}""",
    "CommentFields": """
fragment CommentFields on IssueComment {
  id url createdAt updatedAt body
  author { ...ActorFields }
}""",
    "ReviewCommentFields": """
fragment ReviewCommentFields on PullRequestReviewComment {
  id url createdAt updatedAt body path
  author { ...ActorFields }
  replyTo { id }
}""",
    "ReviewFields": f"""
fragment ReviewFields on PullRequestReview {{
  id url state submittedAt body
  commit {{ oid }}
  author {{ ...ActorFields }}
  comments(first: {NESTED_PAGE_SIZE}) {{ totalCount {_PAGE_INFO} nodes {{ ...ReviewCommentFields }} }}
}}""",
    "TimelineFields": """
fragment TimelineFields on PullRequestTimelineItems {
  __typename
  ... on ReadyForReviewEvent { id createdAt actor { ...ActorFields } }
  ... on ConvertToDraftEvent { id createdAt actor { ...ActorFields } }
  ... on ReopenedEvent { id createdAt actor { ...ActorFields } }
  ... on ReviewRequestedEvent {
    id createdAt actor { ...ActorFields } requestedReviewer { ...ReviewerFields }
  }
  ... on ReviewRequestRemovedEvent {
    id createdAt actor { ...ActorFields } requestedReviewer { ...ReviewerFields }
  }
}""",
    "PullRequestFields": f"""
fragment PullRequestFields on PullRequest {{
  id number title body url state isDraft createdAt updatedAt closedAt mergedAt
  author {{ ...ActorFields }}
  mergedBy {{ ...ActorFields }}
  baseRefName headRefName additions deletions changedFiles
  mergeCommit {{ oid }}
  milestone {{ number }}
  labels(first: {NESTED_PAGE_SIZE}) {{ {_PAGE_INFO} nodes {{ name }} }}
  commits(first: {PR_COMMITS}) {{
    totalCount nodes {{ commit {{ authoredDate committedDate author {{ email user {{ login }} }} }} }}
  }}
  closingIssuesReferences(first: 10) {{ nodes {{ number repository {{ nameWithOwner }} }} }}
  reviewRequests(first: {NESTED_PAGE_SIZE}) {{ {_PAGE_INFO} nodes {{ requestedReviewer {{ ...ReviewerFields }} }} }}
  timelineItems(first: {NESTED_PAGE_SIZE}, itemTypes: [{", ".join(TIMELINE_TYPES)}]) {{
    {_PAGE_INFO} nodes {{ ...TimelineFields }}
  }}
  reviews(first: {NESTED_PAGE_SIZE}) {{ {_PAGE_INFO} nodes {{ ...ReviewFields }} }}
  comments(first: {NESTED_PAGE_SIZE}) {{ totalCount {_PAGE_INFO} nodes {{ ...CommentFields }} }}
}}""",
    "IssueFields": f"""
fragment IssueFields on Issue {{
  id number title url state createdAt updatedAt closedAt
  author {{ ...ActorFields }}
  milestone {{ number }}
  labels(first: {NESTED_PAGE_SIZE}) {{ {_PAGE_INFO} nodes {{ name }} }}
  assignees(first: 10) {{ {_PAGE_INFO} nodes {{ login }} }}
  comments(first: {NESTED_PAGE_SIZE}) {{ totalCount {_PAGE_INFO} nodes {{ ...CommentFields }} }}
}}""",
    "ReleaseFields": """
fragment ReleaseFields on Release {
  id url tagName name isDraft isPrerelease createdAt publishedAt
  author { ...ActorFields }
  tagCommit { oid }
}""",
    "MilestoneFields": """
fragment MilestoneFields on Milestone {
  id number title description state url createdAt updatedAt dueOn closedAt
  creator { ...ActorFields }
}""",
    "DeploymentFields": """
fragment DeploymentFields on Deployment {
  id databaseId environment createdAt updatedAt commitOid
  ref { name }
  creator { ...ActorFields }
  latestStatus { state createdAt }
  statuses(first: 20) { nodes { state createdAt } }
}""",
    "HistoryFields": """
fragment HistoryFields on CommitHistoryConnection {
  pageInfo { hasNextPage endCursor }
  nodes { oid committedDate file(path: $path) { object { ... on Blob { text } } } }
}""",
}

_SPREAD = re.compile(r"\.\.\.\s*([A-Z]\w*)")


def with_fragments(body: str) -> str:
    """``body`` followed by exactly the fragments it uses (GraphQL rejects unused fragments)."""
    needed: list[str] = []
    pending = _SPREAD.findall(body)
    while pending:
        name = pending.pop()
        if name in needed or name not in FRAGMENTS:
            continue
        needed.append(name)
        pending.extend(_SPREAD.findall(FRAGMENTS[name]))
    return body.strip() + "\n" + "\n".join(FRAGMENTS[name].strip() for name in sorted(needed)) + "\n"


PULL_REQUESTS = with_fragments(f"""
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String) {{
  {_RATE}
  repository(owner: $owner, name: $name) {{
    pullRequests(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      totalCount {_PAGE_INFO} nodes {{ ...PullRequestFields }}
    }}
  }}
}}""")

ISSUES = with_fragments(f"""
query Issues($owner: String!, $name: String!, $first: Int!, $after: String, $since: DateTime) {{
  {_RATE}
  repository(owner: $owner, name: $name) {{
    issues(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: ASC}},
           filterBy: {{since: $since}}) {{
      totalCount {_PAGE_INFO} nodes {{ ...IssueFields }}
    }}
  }}
}}""")

_REPO_ITEMS = {
    "releases": ("orderBy: {field: CREATED_AT, direction: DESC}", "ReleaseFields"),
    "milestones": ("orderBy: {field: UPDATED_AT, direction: DESC}", "MilestoneFields"),
    "deployments": ("orderBy: {field: CREATED_AT, direction: DESC}", "DeploymentFields"),
}


def _codeowners_history(alias: str, path: str, first: int) -> str:
    # Each CODEOWNERS location gets its own history; file(path:) reads the content at each commit.
    return (
        f'{alias}: history(first: {first}, path: "{path}", since: $since) {{ {_PAGE_INFO} '
        f'nodes {{ oid committedDate file(path: "{path}") {{ object {{ ... on Blob {{ text }} }} }} }} }}'
    )


CODEOWNERS_ALIASES = {f"codeowners{i}": path for i, path in enumerate(CODEOWNERS_PATHS)}

REPOSITORY = with_fragments(f"""
query Repository($owner: String!, $name: String!, $first: Int!, $since: GitTimestamp) {{
  {_RATE}
  repository(owner: $owner, name: $name) {{
    id nameWithOwner name url isFork isArchived createdAt
    owner {{ login }}
    defaultBranchRef {{
      name
      target {{
        ... on Commit {{
          oid
          {chr(10).join(_codeowners_history(a, p, FOLLOW_UP_PAGE_SIZE) for a, p in CODEOWNERS_ALIASES.items())}
        }}
      }}
    }}
    {chr(10).join(f"{k}(first: $first, {order}) {{ {_PAGE_INFO} nodes {{ ...{frag} }} }}" for k, (order, frag) in _REPO_ITEMS.items())}
    latestPullRequest: pullRequests(first: 1, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{ nodes {{ updatedAt }} }}
    latestIssue: issues(first: 1, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{ nodes {{ updatedAt }} }}
  }}
}}""")
"""Repository metadata, the first page of releases, milestones and deployments, the history of each
CODEOWNERS location since ``$since``, and the newest ``updatedAt`` of pull requests and issues (so an
up-to-date repository needs no other request): one request per repository and run."""


def repository_items(connection: str) -> str:
    """The next page of ``releases``, ``milestones`` or ``deployments`` of a repository."""
    order, fragment = _REPO_ITEMS[connection]
    return with_fragments(f"""
query RepositoryItems($owner: String!, $name: String!, $first: Int!, $after: String) {{
  {_RATE}
  repository(owner: $owner, name: $name) {{
    {connection}(first: $first, after: $after, {order}) {{ {_PAGE_INFO} nodes {{ ...{fragment} }} }}
  }}
}}""")


CODEOWNERS_HISTORY = with_fragments(f"""
query CodeownersHistory($owner: String!, $name: String!, $oid: GitObjectID!, $path: String!,
                        $first: Int!, $after: String, $since: GitTimestamp) {{
  {_RATE}
  repository(owner: $owner, name: $name) {{
    object(oid: $oid) {{
      ... on Commit {{ history(first: $first, after: $after, path: $path, since: $since) {{ ...HistoryFields }} }}
    }}
  }}
}}""")
"""Further pages of one CODEOWNERS location's history (a file changed more than 100 times)."""

# Follow-up pages of a nested list of one node: (node type, connection) -> (extra args, selection).
FOLLOW_UPS: dict[tuple[str, str], tuple[str, str]] = {
    ("PullRequest", "reviews"): ("", "...ReviewFields"),
    ("PullRequest", "comments"): ("", "...CommentFields"),
    ("PullRequest", "reviewRequests"): ("", "requestedReviewer { ...ReviewerFields }"),
    ("PullRequest", "timelineItems"): (f", itemTypes: [{', '.join(TIMELINE_TYPES)}]", "...TimelineFields"),
    ("PullRequest", "labels"): ("", "name"),
    ("PullRequestReview", "comments"): ("", "...ReviewCommentFields"),
    ("Issue", "comments"): ("", "...CommentFields"),
    ("Issue", "labels"): ("", "name"),
    ("Issue", "assignees"): ("", "login"),
}


def follow_ups(wanted: list[tuple[str, str]]) -> str:
    """One query for the next pages of several nested lists: alias ``f<i>`` reads
    ``node(id: $id<i>)``'s ``wanted[i]`` = ``(node type, connection)`` after ``$after<i>``."""
    params = ", ".join(f"$id{i}: ID!, $after{i}: String" for i in range(len(wanted)))
    parts = []
    for i, (node_type, connection) in enumerate(wanted):
        extra, selection = FOLLOW_UPS[(node_type, connection)]
        parts.append(
            f"f{i}: node(id: $id{i}) {{ ... on {node_type} {{ "
            f"{connection}(first: $first, after: $after{i}{extra}) {{ {_PAGE_INFO} nodes {{ {selection} }} }} }} }}"
        )
    body = "\n  ".join(parts)
    return with_fragments(f"""
query FollowUp($first: Int!, {params}) {{
  {_RATE}
  {body}
}}""")


def all_queries() -> dict[str, str]:
    """Every query text the collector can send, by a readable name (for the schema tests)."""
    found = {
        "pull_requests": PULL_REQUESTS,
        "issues": ISSUES,
        "repository": REPOSITORY,
        "codeowners_history": CODEOWNERS_HISTORY,
    }
    for connection in _REPO_ITEMS:
        found[f"repository_items:{connection}"] = repository_items(connection)
    for node_type, connection in FOLLOW_UPS:
        found[f"follow_up:{node_type}.{connection}"] = follow_ups([(node_type, connection)])
    found["follow_up:all"] = follow_ups(list(FOLLOW_UPS))
    return found
