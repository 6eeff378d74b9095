"""Issue 23 items 5-7: a bad answer from GitHub, a date that does not exist in an input file, or a --db
that cannot be created is one line on stderr with exit code 2 and its source; the token is redacted;
a refused connection fails fast; 5xx retries are announced."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from github_server import TOKEN, Data, GitHubServer, example_repository
from impactlens import config as config_mod
from impactlens.collectors.github import GitHubClient, collect_github
from impactlens.collectors.github.client import BadAnswerError, Settings
from impactlens.errors import CollectionError
from impactlens.redact import redact


@pytest.fixture
def server():
    data = Data()
    example_repository(data)
    with GitHubServer(data, token=TOKEN) as running:
        yield running


def cli(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IMPACTLENS_"))}
    return subprocess.run([sys.executable, "-m", "impactlens", *args], env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("impactlens: error: "), done.stderr
    return lines[-1]


def host(server: GitHubServer) -> str:
    return server.url.removeprefix("http://")


def test_an_html_page_with_status_200_is_one_line_naming_the_host(server, con):
    server.answer_html()
    with pytest.raises(BadAnswerError) as caught:
        collect_github(con, "acme/api", client=server.client(), config=config_mod.load(None))
    assert str(caught.value).startswith(
        f"GitHub at {host(server)} (POST /api/graphql) answered 200 with text/html, not JSON")


def test_truncated_json_is_one_line_naming_the_host(server, con):
    server.answer_truncated("GET /api/v3/users/acme")
    with pytest.raises(BadAnswerError, match=rf"^GitHub at {host(server)} \(GET /users/acme\) answered 200 "
                                             "with JSON that is cut off or malformed"):
        collect_github(con, "acme", client=server.client(), config=config_mod.load(None))


@pytest.mark.parametrize("payload, expected", [
    ({"data": None, "errors": [{"message": "Something went wrong while executing your query."}]},
     "answered errors for repository acme/api: Something went wrong while executing your query."),
    ({"data": None, "errors": ["a bare string"]}, "answered errors for repository acme/api: a bare string."),
    ({"data": None}, "answered repository acme/api without data and without errors"),
])
def test_graphql_errors_or_no_data_are_one_line(server, con, payload, expected):
    server.fail("POST /api/graphql", 200, payload)
    with pytest.raises(CollectionError) as caught:
        collect_github(con, "acme/api", client=server.client(), config=config_mod.load(None))
    message = str(caught.value)
    assert message.startswith(f"GitHub's GraphQL API at {host(server)} ")
    assert expected in message and "\n" not in message


def test_cli_html_answer_is_exit_2_without_traceback(server, tmp_path):
    server.answer_html("POST /api/graphql")
    done = cli("collect", "github", "acme/api", "--api-url", server.api_url, "--db", str(tmp_path / "w.duckdb"),
               "--quiet", env={"GITHUB_TOKEN": TOKEN})
    line = one_line(done)
    assert f"GitHub at {host(server)} (POST /api/graphql) answered 200 with text/html" in line


def test_cli_truncated_rate_limit_answer_is_exit_2(server, tmp_path):
    server.answer_truncated("GET /api/v3/rate_limit")
    done = cli("collect", "github", "acme/api", "--api-url", server.api_url, "--db", str(tmp_path / "w.duckdb"),
               env={"GITHUB_TOKEN": TOKEN})
    assert "cut off or malformed" in one_line(done)


def test_an_error_body_with_the_token_is_redacted_in_the_message_the_db_and_stderr(server, tmp_path):
    server.fail("POST /api/graphql", 422, {"message": f"token {TOKEN} is not allowed here"})
    db = tmp_path / "w.duckdb"
    done = cli("collect", "github", "acme/api", "--api-url", server.api_url, "--db", str(db), "--quiet",
               env={"GITHUB_TOKEN": TOKEN})
    line = one_line(done)
    assert line == "impactlens: error: GitHub refused the request for repository acme/api (422: token [redacted] is not allowed here)."
    assert TOKEN not in done.stderr + done.stdout
    if db.exists():
        assert TOKEN.encode() not in db.read_bytes()


def test_token_shaped_words_are_redacted():
    assert redact("bad ghp_abcdefghijklmnop and github_pat_11ABCDEFG0123456789_xyz, gho_12345678") == \
        "bad [redacted] and [redacted], [redacted]"
    assert redact("ghp_short ok") == "ghp_short ok"  # too short to be a token


def test_connection_refused_fails_within_seconds(con):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = GitHubClient.from_environment(api_url=f"http://127.0.0.1:{port}/api/v3",
                                           environ={"GITHUB_TOKEN": TOKEN}, settings=Settings())
    started = time.monotonic()
    with pytest.raises(CollectionError, match=rf"^cannot reach http://127.0.0.1:{port}/api/v3"):
        client.verify()
    assert time.monotonic() - started < 5  # the default settings: ~63 s of backoff before the fix


def test_a_5xx_retry_is_announced_with_its_wait_and_attempt(server, tmp_path):
    server.fail("POST /api/graphql", 502, times=2)
    done = cli("collect", "github", "acme/api", "--api-url", server.api_url, "--db", str(tmp_path / "w.duckdb"),
               "--quiet", env={"GITHUB_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    lines = [l for l in done.stderr.splitlines() if "retrying" in l]
    # backoff_factor 1: urllib3 retries the first failure at once, then waits 2 s
    assert lines == ["impactlens: GitHub answered 502 for POST /api/graphql; retrying in 0 s (attempt 1 of 6)",
                     "impactlens: GitHub answered 502 for POST /api/graphql; retrying in 2 s (attempt 2 of 6)"]


def test_a_roster_date_that_does_not_exist_names_its_line(tmp_path):
    roster = tmp_path / "roster.yaml"
    roster.write_text("people:\n  - id: ada\n    name: Ada\n    emails: [ada@example.com]\n"
                      "    teams:\n      - team: core\n        from: 2024-13-01\n")
    done = cli("people", "import", str(roster), "--db", str(tmp_path / "w.duckdb"))
    assert one_line(done) == (f"impactlens: error: {roster}: rejected, nothing imported: 1 problem(s): "
                              "line 7: from '2024-13-01' is not a date (YYYY-MM-DD)")


def test_a_brag_front_matter_date_that_does_not_exist_is_one_line(tmp_path):
    from impactlens.evidence.brag import BragError, load_brag

    brag = tmp_path / "brag.md"
    brag.write_text("---\nperson: ada\nsince: 2024-13-01\n---\n## 2024-02-01 · mentoring\nPaired with Bo.\n")
    with pytest.raises(BragError, match=r"front matter \(lines 2-3\): not a valid date"):
        load_brag(brag)


def test_a_db_whose_parent_is_a_file_is_one_line(tmp_path, git_repo=None):
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.txt").write_text("a\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=A", "-c", "user.email=a@example.com",
                    "commit", "-qm", "first"], check=True)
    done = cli("collect", "git", str(repo), "--db", str(blocker / "w.duckdb"), "--quiet")
    assert one_line(done) == (f"impactlens: error: cannot use {blocker}: a file is in the way where a directory "
                              "is needed; choose another path.")


@pytest.mark.parametrize("body", [
    "id,title,opened,resolved\nINC-1,DB down,2024-13-01T10:00:00Z,\n",
    "id,title,opened,resolved\nINC-1,DB down,2024-01-01T10:00:00Z,2024-02-30T10:00:00Z\n",
])
def test_an_incident_date_that_does_not_exist_names_file_and_line(tmp_path, body):
    export = tmp_path / "incidents.csv"
    export.write_text(body)
    line = one_line(cli("collect", "incidents", str(export), "--db", str(tmp_path / "w.duckdb")))
    assert line.startswith(f"impactlens: error: {export}: rejected, nothing stored: 1 problem(s): line 2, column ")
    assert "is not a date and time (ISO 8601 expected)" in line
