"""The GitHub collector against a local GitHub (tests/github_server.py): exact rows, incremental runs,
pagination, resume, and the warehouse contract (every row once)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from github_server import TOKEN, Data, GitHubServer, example_repository
from impactlens import config as config_mod
from impactlens.collectors.github import collect_github
from impactlens.collectors.github.queries import PR_PAGE_SIZE
from impactlens.errors import CollectionError

TABLES = (
    "pull_requests", "reviews", "comments", "pr_timeline_events", "issues", "milestones", "releases",
    "deployments", "codeowners",
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def snapshot(con) -> dict[str, list[tuple]]:
    return {t: sorted(con.sql(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


@pytest.fixture
def server():
    data = Data()
    with GitHubServer(data, token=TOKEN) as running:
        yield running
    assert not running.crashes, running.crashes


def test_first_run_stores_every_row_exactly_as_github_gave_it(server, con):
    s = example_repository(server.data)
    progress: list[str] = []
    result = collect_github(con, "acme/api", client=server.client(), config=config_mod.load(None),
                            on_progress=progress.append)
    # The progress line carries the budget left (GitHub's rateLimit: 5,000 less the points spent).
    assert progress == [
        "acme/api: pull requests 3 of 3 · 2 requests, 4,972/5,000 left",
        "acme/api: issues 1 of 1 · 3 requests, 4,969/5,000 left",
    ]

    assert [r.status for r in result.repositories] == ["succeeded"]
    url = "https://github.example.com/acme/api"
    prs = con.sql("SELECT * FROM pull_requests ORDER BY number").fetchall()
    assert prs == [
        ("acme/api", 1, s["pr1"]["id"], "Change 1", len("Fixes #8 and refs #9"), "ada", False, "merged", False,
         utc("2024-03-01T09:00:00Z"), utc("2024-03-02T15:00:00Z"), utc("2024-03-02T15:00:00Z"),
         utc("2024-03-02T15:00:00Z"), "bob", "main", "topic-1", 120, 30, 4, 2, ["feature", "api"], [], [7, 8],
         f"{1:040x}", utc("2024-02-28T17:30:00Z"), 1, f"{url}/pull/1"),
        ("acme/api", 2, s["pr2"]["id"], "Change 2", 0, None, False, "open", False, utc("2024-03-03T09:00:00Z"),
         utc("2024-03-03T09:00:00Z"), None, None, None, "main", "topic-2", 10, 2, 1, 1, [], ["cy"], [], None,
         utc("2024-01-01T09:00:00Z"), None, f"{url}/pull/2"),
        ("acme/api", 3, s["pr3"]["id"], "Change 3", 0, "cy", False, "open", False, utc("2024-03-04T09:00:00Z"),
         utc("2024-03-05T12:30:00Z"), None, None, None, "main", "topic-3", 10, 2, 1, 1, [], [], [], None,
         utc("2024-01-01T09:00:00Z"), None, f"{url}/pull/3"),
    ]
    reviews = con.sql("SELECT * FROM reviews ORDER BY submitted_at").fetchall()
    assert reviews == [
        ("acme/api", s["bot_review"]["id"], 1, "coderabbitai[bot]", True, "COMMENTED", utc("2024-03-01T09:05:00Z"),
         len("Summary by CodeRabbit"), 1, "a" * 40, s["bot_review"]["url"]),
        ("acme/api", s["bob_review"]["id"], 1, "bob", False, "APPROVED", utc("2024-03-02T14:00:00Z"), 0, 1, "a" * 40,
         s["bob_review"]["url"]),
    ]
    comments = con.sql("SELECT * FROM comments ORDER BY created_at").fetchall()
    assert comments == [
        ("acme/api", s["issue_talk"]["id"], "issue", 7, "issue", None, None, "github-actions[bot]", True,
         utc("2024-02-20T08:01:00Z"), utc("2024-02-20T08:01:00Z"), len("triaged"), None, s["issue_talk"]["url"]),
        ("acme/api", s["ghost_note"]["id"], "review", 1, "pull_request", s["bot_review"]["id"], None, None, False,
         utc("2024-03-01T10:00:00Z"), utc("2024-03-01T10:00:00Z"), 4, "api/app.py", s["ghost_note"]["url"]),
        # "renovate-helper" is a person: the default patterns are anchored ("renovate", "renovate[bot]"),
        # and GitHub says User.
        ("acme/api", s["talk"]["id"], "issue", 1, "pull_request", None, None, "renovate-helper", False,
         utc("2024-03-01T12:00:00Z"), utc("2024-03-01T12:00:00Z"), 4, None, s["talk"]["url"]),
        ("acme/api", s["reply"]["id"], "review", 1, "pull_request", s["bob_review"]["id"], s["ghost_note"]["id"],
         "bob", False, utc("2024-03-02T13:59:00Z"), utc("2024-03-02T13:59:00Z"), 7, "api/app.py", s["reply"]["url"]),
    ]
    events = con.sql("SELECT * FROM pr_timeline_events ORDER BY created_at").fetchall()
    assert events == [
        ("acme/api", 1, s["requested"]["id"], "review_requested", "ada", "acme/core", utc("2024-03-01T09:01:00Z")),
        ("acme/api", 3, s["ready1"]["id"], "ready_for_review", "cy", None, utc("2024-03-04T18:00:00Z")),
        ("acme/api", 3, s["draft"]["id"], "convert_to_draft", "cy", None, utc("2024-03-05T09:00:00Z")),
        ("acme/api", 3, s["ready2"]["id"], "ready_for_review", "cy", None, utc("2024-03-05T12:00:00Z")),
        ("acme/api", 3, s["asked"]["id"], "review_requested", "cy", "dee", utc("2024-03-05T12:01:00Z")),
        ("acme/api", 3, s["unasked"]["id"], "review_request_removed", "cy", "dee", utc("2024-03-05T12:20:00Z")),
        ("acme/api", 3, s["reopened"]["id"], "reopened", "bob", None, utc("2024-03-05T12:30:00Z")),
    ]
    assert con.sql("SELECT * FROM issues").fetchall() == [
        ("acme/api", 7, "Issue 7", "cy", False, "closed", utc("2024-02-20T08:00:00Z"), utc("2024-03-02T15:00:01Z"),
         utc("2024-03-02T15:00:01Z"), ["incident", "sev2"], ["ada"], 1, 1, f"{url}/issues/7"),
    ]
    assert con.sql("SELECT * FROM milestones").fetchall() == [
        ("acme/api", 1, "Milestone 1", "Goal 1", "open", "ada", utc("2024-02-01T00:00:00Z"),
         utc("2024-03-31T00:00:00Z"), None, f"{url}/milestone/1"),
    ]
    assert con.sql("SELECT * FROM releases").fetchall() == [
        ("acme/api", s["release"]["id"], "v1.0.0", "Release v1.0.0", "bob", False, False,
         utc("2024-03-02T16:00:00Z"), utc("2024-03-02T16:05:00Z"), "b" * 40, f"{url}/releases/tag/v1.0.0"),
    ]
    # The superseded production deployment succeeded (inactive only means a newer one replaced it).
    assert con.sql("SELECT * FROM deployments ORDER BY created_at").fetchall() == [
        ("github:acme/api:1000", "github_deployment", "acme/api", "Production", True, "c" * 40, "main",
         utc("2024-03-02T16:10:00Z"), utc("2024-03-02T16:14:00Z"), "success", "bob", f"{url}/deployments/Production"),
        ("github:acme/api:1001", "github_deployment", "acme/api", "staging", False, "d" * 40, "main",
         utc("2024-03-03T10:00:00Z"), utc("2024-03-03T10:02:00Z"), "failure", "github-actions[bot]",
         f"{url}/deployments/staging"),
    ]
    assert con.sql("SELECT * FROM codeowners ORDER BY valid_from").fetchall() == [
        ("acme/api", "docs/CODEOWNERS", utc("2024-01-05T10:00:00Z"), s["gone"]["oid"], "github", ""),
        ("acme/api", ".github/CODEOWNERS", utc("2024-01-10T10:00:00Z"), s["owners1"]["oid"], "github", "* @acme/core\n"),
        ("acme/api", ".github/CODEOWNERS", utc("2024-02-10T10:00:00Z"), s["owners2"]["oid"], "github",
         "* @acme/core\n/api/ @ada\n"),
    ]
    # Emails GitHub ties to accounts through the PRs' commits (none for the deleted author of PR 2).
    assert con.sql("SELECT * FROM login_emails ORDER BY login").fetchall() == [
        ("ada", "ada@example.com", "github_commit", utc("2024-03-01T08:00:00Z")),
        ("cy", "cy@example.com", "github_commit", utc("2024-01-01T09:00:00Z")),
    ]
    assert con.sql(
        "SELECT repo_id, name, owner, url, default_branch, is_fork, is_archived, created_at FROM repositories"
    ).fetchall() == [("acme/api", "api", "acme", url, "main", False, False, utc("2023-01-01T00:00:00Z"))]
    runs = con.sql("SELECT source, target, status, error FROM collection_runs").fetchall()
    assert runs == [("github", "acme/api", "succeeded", None)]
    # Three requests for everything: repository (+ releases, milestones, deployments, CODEOWNERS),
    # one page of pull requests, one page of issues.
    assert [r.operation for r in server.requests] == ["Repository", "PullRequests", "Issues"]


def test_second_run_asks_only_what_it_needs_and_changes_no_row(server, con):
    s = example_repository(server.data)
    cfg = config_mod.load(None)
    client = server.client()
    collect_github(con, "acme/api", client=client, config=cfg)
    before = snapshot(con)
    server.reset_log()

    again = collect_github(con, "acme/api", client=client, config=cfg)

    assert snapshot(con) == before
    # One request: the repository query carries the newest updatedAt of PRs and issues.
    assert [r.operation for r in server.requests] == ["Repository"]
    assert again.requests == 1
    assert (again.repositories[0].changed_pull_requests, again.repositories[0].changed_issues) == (0, 0)
    assert again.repositories[0].counts == {}  # no row was new or different
    assert again.summary().startswith("acme/api: up to date.\n1 repository in ")

    # Something changes: a first review on PR 2 (GitHub bumps the PR's updatedAt) and a new issue.
    d = server.data
    d.review(s["pr2"], author=d.user("dee"), state="CHANGES_REQUESTED", submitted="2024-03-10T10:00:00Z", body="no")
    s["pr2"]["updatedAt"] = "2024-03-10T10:00:00Z"
    d.issue(s["repo"], 11, author=d.user("dee"), created="2024-03-10T11:00:00Z")
    server.reset_log()

    third = collect_github(con, "acme/api", client=client, config=cfg)

    assert [r.operation for r in server.requests] == ["Repository", "PullRequests", "Issues"]
    assert (third.repositories[0].changed_pull_requests, third.repositories[0].changed_issues) == (1, 1)
    # Rows that are new or differ: PR 2 (its updatedAt), its review, the new issue.
    assert {t: n for t, n in third.repositories[0].counts.items() if n} == {
        "pull_requests": 1, "reviews": 1, "issues": 1
    }
    assert con.sql("SELECT pr_number, reviewer_login, state FROM reviews WHERE reviewer_login = 'dee'").fetchall() == [
        (2, "dee", "CHANGES_REQUESTED")
    ]
    counts = {t: con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("reviews", "issues", "pull_requests")}
    assert counts == {"reviews": 3, "issues": 2, "pull_requests": 3}


def test_long_lists_are_paged_with_the_fewest_requests(server, con):
    d = server.data
    repo = d.repository("acme/big")
    assert PR_PAGE_SIZE == 100
    for n in range(1, 121):  # 120 PRs: two pages of 100
        d.pull_request(repo, n, author=d.user(f"dev{n % 7}"), created=f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}Z",
                       updated=f"2024-02-01T00:{n // 60:02d}:{n % 60:02d}Z")
    busy = repo["pullRequests"][0]
    for i in range(45):  # 45 reviews: 20 in the page, 25 in one follow-up
        d.review(busy, author=d.user(f"rev{i}"), state="COMMENTED", submitted=f"2024-01-02T00:00:{i:02d}Z")
    long_review = busy["reviews"][0]
    for i in range(30):  # 30 inline comments in one review: 20 + a follow-up
        d.review_comment(busy, long_review, author=d.user("rev0"), created=f"2024-01-02T01:00:{i:02d}Z",
                         body="x" * i, path="a.py")
    for i in range(25):  # 25 conversation comments: 20 + a follow-up
        d.comment(busy, author=d.user("dev1"), created=f"2024-01-02T02:00:{i:02d}Z", body="y")
    for n in range(1, 151):  # 150 issues: two pages of 100
        d.issue(repo, 1000 + n, author=d.user("ops"), created=f"2024-01-03T00:{n // 60:02d}:{n % 60:02d}Z")
    for n in range(60):  # 60 releases: 50 with the repository, 10 in a second page
        d.release(repo, f"v0.{n}", author=d.user("rel"), created=f"2023-06-01T00:00:{n:02d}Z")

    collect_github(con, "acme/big", client=server.client(), config=config_mod.load(None))

    counts = {t: con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    assert counts["pull_requests"] == 120
    assert counts["reviews"] == 45
    assert counts["comments"] == 30 + 25
    assert counts["issues"] == 150
    assert counts["releases"] == 60
    assert con.sql(
        "SELECT comment_count FROM reviews WHERE review_id = ?", params=[long_review["id"]]
    ).fetchall() == [(30,)]
    operations = [r.operation for r in server.requests]
    assert operations.count("PullRequests") == 2  # 120 / 100, rounded up
    assert operations.count("Issues") == 2
    assert operations.count("RepositoryItems") == 1  # releases 51-60
    # One follow-up for the PR's reviews and conversation comments together, then one for the
    # inline comments of its long review (which may sit among the reviews the first one brought).
    assert operations.count("FollowUp") == 2
    assert len(operations) == 1 + 2 + 2 + 1 + 2


def test_interrupted_run_resumes_at_its_page_and_stores_every_row_once(server, con):
    d = server.data
    repo = d.repository("acme/web")
    total = 2 * PR_PAGE_SIZE + 10  # pages of 100, 100, 10
    for n in range(1, total + 1):
        pr = d.pull_request(repo, n, author=d.user("ada"), created="2024-01-01T00:00:00Z",
                            updated=f"2024-01-{1 + n // 24:02d}T{n % 24:02d}:00:00Z")
        d.review(pr, author=d.user("bob"), state="APPROVED", submitted="2024-01-01T01:00:00Z")
    cfg = config_mod.load(None)
    client = server.client(retries=1)

    # GitHub fails for good on the second page of pull requests (the one asked for with a cursor);
    # every halving of the page is refused too.
    server.fail("POST /api/graphql", 502, times=100,
                when=lambda q: q["query"].startswith("query PullRequests") and q["variables"]["after"] is not None)
    with pytest.raises(CollectionError, match="kept failing"):
        collect_github(con, "acme/web", client=client, config=cfg)
    assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(PR_PAGE_SIZE,)]
    assert con.sql("SELECT status FROM collection_runs").fetchall() == [("failed",)]

    server.faults.clear()  # GitHub is back
    server.reset_log()
    collect_github(con, "acme/web", client=client, config=cfg)

    # The resumed run asks for pages 2 and 3 only.
    assert [r.operation for r in server.requests].count("PullRequests") == 2
    assert con.sql("SELECT count(*), count(DISTINCT number) FROM pull_requests").fetchall() == [(total, total)]
    assert con.sql("SELECT count(*) FROM reviews").fetchall() == [(total,)]
    assert sorted(con.sql("SELECT status FROM collection_runs").fetchall()) == [("failed",), ("succeeded",)]

    server.reset_log()
    collect_github(con, "acme/web", client=client, config=cfg)
    assert [r.operation for r in server.requests] == ["Repository"]
    assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(total,)]


def test_since_bounds_a_first_run(server, con):
    d = server.data
    repo = d.repository("acme/old")
    d.pull_request(repo, 1, author=d.user("ada"), created="2022-01-01T00:00:00Z")
    d.pull_request(repo, 2, author=d.user("ada"), created="2024-05-01T00:00:00Z")
    d.issue(repo, 3, author=d.user("ada"), created="2022-01-01T00:00:00Z")
    d.issue(repo, 4, author=d.user("ada"), created="2024-05-02T00:00:00Z")

    collect_github(con, "acme/old", client=server.client(), since="2024-01-01", config=config_mod.load(None))

    assert con.sql("SELECT number FROM pull_requests").fetchall() == [(2,)]
    assert con.sql("SELECT number FROM issues").fetchall() == [(4,)]


def test_bad_target_and_since_are_refused_before_any_request(server, con):
    with pytest.raises(CollectionError, match="not OWNER or OWNER/REPO"):
        collect_github(con, "acme/api/extra", client=server.client())
    with pytest.raises(CollectionError, match="--since 'last week' is not a date"):
        collect_github(con, "acme/api", client=server.client(), since="last week")
    assert server.requests == []


def test_a_run_killed_mid_way_resumes_from_the_working_copy(server, db_path):
    from impactlens import warehouse

    d = server.data
    repo = d.repository("acme/cli")
    total = PR_PAGE_SIZE + 30
    for n in range(1, total + 1):
        d.pull_request(repo, n, author=d.user("ada"), created="2024-01-01T00:00:00Z",
                       updated=f"2024-01-02T{n // 60:02d}:{n % 60:02d}:00Z")
    cfg = config_mod.load(None)

    def interrupt_after_first_page(text: str) -> None:
        if "pull requests" in text:
            raise KeyboardInterrupt  # Ctrl-C (or a kill) after the first page was committed

    with pytest.raises(KeyboardInterrupt):
        with warehouse.writing(db_path) as con:
            collect_github(con, "acme/cli", client=server.client(), config=cfg,
                           on_progress=interrupt_after_first_page)
    assert not db_path.exists()  # nothing published: readers still see the last complete data

    server.reset_log()
    with warehouse.writing(db_path) as con:
        collect_github(con, "acme/cli", client=server.client(), config=cfg)
    # The second page only (the repository has no issues: the probe says so, no Issues query).
    assert [r.operation for r in server.requests] == ["Repository", "PullRequests"]
    with warehouse.read_only(db_path) as con:
        assert con.sql("SELECT count(*), count(DISTINCT number) FROM pull_requests").fetchall() == [(total, total)]
        assert con.sql("SELECT status FROM collection_runs ORDER BY started_at").fetchall() == [
            ("interrupted",), ("succeeded",)
        ]


def test_a_page_github_cannot_answer_is_asked_for_again_at_half_the_size(server, con):
    d = server.data
    repo = d.repository("acme/heavy")
    for n in range(1, 31):
        d.pull_request(repo, n, author=d.user("ada"), created="2024-01-01T00:00:00Z",
                       updated=f"2024-01-02T00:00:{n:02d}Z")
    # GitHub gives up on heavy queries with a 502: here, any page of more than 25 PRs.
    server.fail("POST /api/graphql", 502, times=100,
                when=lambda q: q["query"].startswith("query PullRequests") and q["variables"]["first"] > 25)
    collect_github(con, "acme/heavy", client=server.client(retries=0), config=config_mod.load(None))
    pages = [(r.operation, r.status) for r in server.requests if r.operation == "PullRequests"]
    assert pages == [("PullRequests", 502), ("PullRequests", 502), ("PullRequests", 200), ("PullRequests", 200)]
    assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(30,)]


def test_a_page_cursor_github_no_longer_accepts_restarts_the_listing(server, con):
    d = server.data
    repo = d.repository("acme/stale")
    for n in range(1, 6):
        d.pull_request(repo, n, author=d.user("ada"), created="2024-01-01T00:00:00Z",
                       updated=f"2024-01-02T00:00:0{n}Z")
    # What an interrupted run left: a page cursor that GitHub rejects today.
    con.execute(
        "INSERT INTO sync_state VALUES ('github', 'acme/stale', 'pull_requests', ?, now())",
        ['{"pending": {"after": "bm90LWEtY3Vyc29y", "lower": null, "top": null}, "updated_at": null}'],
    )
    collect_github(con, "acme/stale", client=server.client(), config=config_mod.load(None))
    assert [(r.operation, r.status) for r in server.requests] == [
        ("Repository", 200), ("PullRequests", 200), ("PullRequests", 200)  # refused (a GraphQL error), then afresh
    ]
    assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(5,)]
    counts = json.loads(con.sql("SELECT counts FROM collection_runs").fetchall()[0][0])
    assert (counts["requests"], counts["pull_requests"], counts["changed_pull_requests"]) == (3, 5, 5)
    # The points GitHub reported for the queries that succeeded (the refused one reported none).
    assert counts["points"] == server.points - 27
