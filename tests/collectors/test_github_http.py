"""The GitHub collector's HTTP behaviour against the local GitHub: credentials, 404s, retries,
rate limits, organisation listing with Link pagination, GitHub Apps, and the CLI's one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from github_server import FAST_SETTINGS as FAST, TOKEN, Data, GitHubServer, example_repository
from impactlens import config as config_mod, warehouse
from impactlens.collectors.github import GitHubClient, collect_github
from impactlens.collectors.github.client import api_root
from impactlens.errors import CollectionError


SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
             "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}


@pytest.fixture
def server():
    data = Data()
    example_repository(data)
    with GitHubServer(data, token=TOKEN) as running:
        yield running
    assert not running.crashes, running.crashes


def statuses(server: GitHubServer) -> list[tuple[str, int]]:
    return [(r.operation or r.path, r.status) for r in server.requests]


def test_a_502_is_retried_and_the_run_succeeds(server, con):
    server.fail("POST /api/graphql", 502, {"message": "Server Error"})
    collect_github(con, "acme/api", client=server.client(), config=config_mod.load(None))
    assert statuses(server)[:2] == [("Repository", 502), ("Repository", 200)]
    assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(3,)]


def test_a_secondary_limit_is_waited_out_after_retry_after(server, con):
    # 403 with Retry-After (REST and GraphQL answer secondary limits so), then a 429 with one.
    server.fail("POST /api/graphql", 403, SECONDARY, headers={"Retry-After": "1"})
    server.fail("POST /api/graphql", 429, SECONDARY, headers={"Retry-After": "1"})
    started = time.monotonic()
    collect_github(con, "acme/api", client=server.client(), config=config_mod.load(None))
    waited = time.monotonic() - started
    assert statuses(server)[:3] == [("Repository", 403), ("Repository", 429), ("Repository", 200)]
    assert waited >= 2  # one second per Retry-After, as GitHub asked
    assert con.sql("SELECT count(*) FROM reviews").fetchall() == [(2,)]


def test_a_spent_budget_stops_the_run_keeps_its_pages_and_says_when_to_run_again(server, con):
    server.remaining["graphql"] = 3  # enough for the repository query, not for the pull requests
    result = collect_github(con, "acme/api", client=server.client(), config=config_mod.load(None))

    reset = time.strftime("%Y-%m-%d %H:%M", time.gmtime(server.reset_at))
    assert result.stopped == (
        f"GitHub's rate limit for $GITHUB_TOKEN is spent; what was collected is kept: run again after {reset} UTC."
    )
    assert con.sql("SELECT status FROM collection_runs").fetchall() == [("stopped",)]
    assert con.sql("SELECT count(*) FROM releases").fetchall() == [(1,)]  # came with the repository query
    assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(0,)]

    server.remaining["graphql"] = 5000  # the hour has passed
    collect_github(con, "acme/api", client=server.client(), config=config_mod.load(None))
    assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(3,)]
    assert con.sql("SELECT count(*) FROM releases").fetchall() == [(1,)]


def test_the_rest_primary_limit_stops_instead_of_waiting_an_hour(server, con):
    server.remaining["core"] = 0
    result = collect_github(con, "acme", client=server.client(max_rate_limit_wait=5),
                            config=config_mod.load(None))
    assert result.stopped is not None and "run again after" in result.stopped
    assert statuses(server) == [("/api/v3/users/acme", 403)]


def test_wrong_token_is_one_line_naming_the_variable_not_the_token(server, con):
    client = GitHubClient.from_environment(api_url=server.api_url, environ={"MY_GH": "ghp_wrongwrongwrong"},
                                           token_env="MY_GH", settings=FAST)
    with pytest.raises(CollectionError) as caught:
        collect_github(con, "acme/api", client=client, config=config_mod.load(None))
    message = str(caught.value)
    assert message.startswith("GitHub rejected $MY_GH (401 Bad credentials: wrong, expired or revoked); set $MY_GH")
    assert "ghp_wrongwrongwrong" not in message and "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    error = con.sql("SELECT error FROM collection_runs").fetchall()[0][0]
    assert error == message


def test_missing_credentials_name_the_fix():
    with pytest.raises(CollectionError, match=r"^no GitHub credentials: set \$GITHUB_TOKEN to a token"):
        GitHubClient.from_environment(api_url="http://127.0.0.1:9/api/v3", environ={})


def test_unknown_repository_and_unknown_owner(server, con):
    with pytest.raises(CollectionError, match="GitHub has no repository acme/nope at .* or \\$GITHUB_TOKEN cannot see it"):
        collect_github(con, "acme/nope", client=server.client(), config=config_mod.load(None))
    with pytest.raises(CollectionError, match="GitHub has no user or organisation 'nobody'.*\\(404\\)"):
        collect_github(con, "nobody", client=server.client(), config=config_mod.load(None))
    assert ("/api/v3/users/nobody", 404) in statuses(server)


def test_an_organisation_is_listed_through_link_pages_and_filtered(server, con):
    d = server.data
    for n in range(1, 131):  # 131 repositories with acme/api: two pages of 100
        d.repository(f"acme/svc-{n:03d}")
    d.repository("acme/svc-archive-old")
    result = collect_github(con, "acme", client=server.client(), include=["svc-12*", "api"],
                            exclude=["svc-125"], config=config_mod.load(None))

    listing = [(r.path, r.status) for r in server.requests if r.path.endswith("/repos")]
    assert listing == [("/api/v3/orgs/acme/repos", 200), ("/api/v3/orgs/acme/repos", 200)]
    collected = sorted(r.repo_id for r in result.repositories)
    assert collected == ["acme/api"] + [f"acme/svc-{n:03d}" for n in range(120, 130) if n != 125]
    assert sorted(con.sql("SELECT target FROM collection_runs").fetchall()) == [(r,) for r in collected]


def test_a_github_app_installation_authenticates(con):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    data = Data()
    example_repository(data)
    with GitHubServer(data, token=TOKEN, app=("4242", public, 77)) as server:
        client = GitHubClient.from_environment(
            api_url=server.api_url, environ={"GITHUB_APP_ID": "4242", "GITHUB_APP_PRIVATE_KEY": private},
            owner="acme", repo="api", settings=FAST,
        )
        collect_github(con, "acme/api", client=client, config=config_mod.load(None))
        paths = [(r.method, r.path, r.status) for r in server.requests[:3]]
    assert paths == [
        ("GET", "/api/v3/repos/acme/api/installation", 200),
        ("POST", "/api/v3/app/installations/77/access_tokens", 201),
        ("POST", "/api/graphql", 200),
    ]
    assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(3,)]


# -- the command line (a real process; PyGithub's default pacing makes each request ~1 s) ----------


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.run([sys.executable, "-m", "impactlens", "collect", "github", *args],
                          env={**full, **env}, capture_output=True, text=True, timeout=300)


def test_cli_collects_and_reports(server, tmp_path: Path):
    db = tmp_path / "w.duckdb"
    done = run_cli("acme/api", "--api-url", server.api_url, "--db", str(db), env={"GITHUB_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "acme/api: new or changed: 3 pull requests, 2 reviews, 4 comments, 7 timeline events, 1 issue, "
        "1 milestone, 1 release, 2 deployments, 3 CODEOWNERS versions, 2 commit emails.\n"
    )
    with warehouse.read_only(db) as con:
        assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(3,)]
        tables = [t for (t,) in con.sql("SELECT table_name FROM information_schema.tables").fetchall()]
        text = "".join(str(con.sql(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
    assert TOKEN not in text and TOKEN.encode() not in db.read_bytes()


def test_cli_revoked_token_is_one_line_and_exit_2(server, tmp_path: Path):
    db = tmp_path / "w.duckdb"
    done = run_cli("acme/api", "--api-url", server.api_url, "--db", str(db),
                   env={"GITHUB_TOKEN": "ghp_revokedrevoked"})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("impactlens: error: GitHub rejected $GITHUB_TOKEN (401 Bad credentials")
    assert "ghp_revokedrevoked" not in done.stderr + done.stdout
    assert not db.exists()  # the credentials are checked before the warehouse is touched


def test_cli_unknown_repository_exit_2(server, tmp_path: Path):
    done = run_cli("acme/missing", "--api-url", server.api_url, "--db", str(tmp_path / "w.duckdb"),
                   env={"GITHUB_TOKEN": TOKEN})
    assert done.returncode == 2
    assert done.stderr.startswith("impactlens: error: GitHub has no repository acme/missing")


def test_verify_reports_the_budget_and_accepts_an_enterprise_without_rate_limits(server):
    client = server.client()
    assert client.verify().remaining == 5000
    server.fail("GET /api/v3/rate_limit", 404, {"message": "Rate limiting is not enabled.",
                                                "documentation_url": "https://docs.github.com/enterprise-server"})
    server.client().verify()  # no error: the credentials passed, there is just no budget to read
    assert statuses(server)[-1] == ("/api/v3/rate_limit", 404)
    wrong = GitHubClient.from_environment(api_url=server.api_url, environ={"GITHUB_TOKEN": "ghp_nope"}, settings=FAST)
    with pytest.raises(CollectionError, match=r"^GitHub rejected \$GITHUB_TOKEN \(401"):
        wrong.verify()


def test_in_an_organisation_a_repository_that_fails_does_not_stop_the_others(server, con):
    server.data.repository("acme/web")
    server.fail("POST /api/graphql", 403, {"message": "Resource not accessible by integration",
                                           "documentation_url": "https://docs.github.com/graphql"})
    result = collect_github(con, "acme", client=server.client(), config=config_mod.load(None))

    assert [(r.repo_id, r.status) for r in result.repositories] == [("acme/api", "failed"), ("acme/web", "succeeded")]
    assert result.failures[0].error == (
        "$GITHUB_TOKEN may not read repository acme/api (403): grant it read access."
    )
    assert sorted(con.sql("SELECT target, status FROM collection_runs").fetchall()) == [
        ("acme/api", "failed"), ("acme/web", "succeeded")
    ]


def test_cli_out_of_budget_publishes_what_it_stored_and_says_when_to_run_again(server, tmp_path: Path):
    db = tmp_path / "w.duckdb"
    server.remaining["graphql"] = 3  # the repository query fits, the first page of PRs does not
    done = run_cli("acme/api", "--api-url", server.api_url, "--db", str(db), "--quiet", env={"GITHUB_TOKEN": TOKEN})
    reset = time.strftime("%Y-%m-%d %H:%M", time.gmtime(server.reset_at))
    assert done.returncode == 2
    assert done.stderr == (
        "impactlens: error: GitHub's rate limit for $GITHUB_TOKEN is spent; what was collected is kept: "
        f"run again after {reset} UTC.\n"
    )
    with warehouse.read_only(db) as con:  # published: readers see what the run stored
        assert con.sql("SELECT count(*) FROM releases").fetchall() == [(1,)]
        # The GitHub run stopped; the derived steps that follow every collection record runs of their own.
        assert con.sql("SELECT status FROM collection_runs WHERE source = 'github'").fetchall() == [("stopped",)]


def test_a_bad_app_key_is_one_line(tmp_path: Path):
    key_file = tmp_path / "app.pem"
    key_file.write_text("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n")
    for value in (str(key_file), key_file.read_text()):
        with pytest.raises(CollectionError, match=r"^\$GITHUB_APP_PRIVATE_KEY is not a usable PEM private key"):
            GitHubClient.from_environment(api_url="http://127.0.0.1:9/api/v3",
                                          environ={"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": value})
    with pytest.raises(CollectionError, match=r"^\$GITHUB_APP_PRIVATE_KEY is neither a PEM private key nor the path"):
        GitHubClient.from_environment(api_url="http://127.0.0.1:9/api/v3",
                                      environ={"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": str(tmp_path / "no")})


def test_a_users_repositories_include_the_private_ones_when_the_token_is_theirs(server, con):
    d = server.data
    d.account("ada", "User")
    d.account("bob", "User")
    for full in ("ada/notes", "ada/secret-plans", "bob/dotfiles"):
        repo = d.repository(full)
        repo["owner"] = {"__typename": "User", "login": full.split("/")[0]}

    mine = collect_github(con, "ada", client=server.client(), config=config_mod.load(None))
    theirs = collect_github(con, "bob", client=server.client(), config=config_mod.load(None))

    assert sorted(r.repo_id for r in mine.repositories) == ["ada/notes", "ada/secret-plans"]
    assert [r.repo_id for r in theirs.repositories] == ["bob/dotfiles"]
    listings = [r.path for r in server.requests if r.path.endswith("/repos")]
    assert listings == ["/api/v3/user/repos", "/api/v3/users/bob/repos"]


@pytest.mark.parametrize(
    ("given", "root"),
    [
        (None, "https://api.github.com"),
        ("https://github.com/", "https://api.github.com"),
        ("https://api.github.com", "https://api.github.com"),
        ("https://github.example.com", "https://github.example.com/api/v3"),
        ("https://github.example.com/api/v3/", "https://github.example.com/api/v3"),
        ("http://127.0.0.1:8080/api/v3", "http://127.0.0.1:8080/api/v3"),
    ],
)
def test_api_root(given, root):
    assert api_root(given) == root


def test_api_root_refuses_what_is_not_an_address():
    with pytest.raises(CollectionError, match="--api-url must be an https:// address"):
        api_root("github.example.com/api/v3")
