"""`collect github OWNER --lake DEST --engine spark` (impactlens/commands/fanout.py, docs/scale.md "Collection fan-out"):
one Spark task per repository against the local GitHub server, one task dying once after it published and
Spark running it again; the lake must hold exactly the rows a single-process `collect github --lake` gives.

Skips without pyspark or Java, like tests/metrics/test_spark.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from impactlens import lake
from impactlens.commands import fanout

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (uv sync installs the dev group)")
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

#: Each table's primary key, for the no-duplicates check.
KEYS = {
    "repositories": ("repo_id",),
    "pull_requests": ("repo_id", "number"),
    "reviews": ("repo_id", "review_id"),
    "comments": ("repo_id", "comment_id"),
}


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IMPACTLENS_"))}
    return {**base, **extra}


def rows(con, sql: str) -> list[tuple]:
    return sorted(con.sql(sql).fetchall(), key=repr)


def test_plan_spreads_the_tokens_round_robin(tmp_path):
    tasks = fanout.plan(["acme/a", "acme/b", "acme/c"], tmp_path, ["TOKEN_1", "TOKEN_2"])
    assert [(t.repo, t.token_env) for t in tasks] == [("acme/a", "TOKEN_1"), ("acme/b", "TOKEN_2"),
                                                      ("acme/c", "TOKEN_1")]
    assert [t.token_env for t in fanout.plan(["acme/a"], tmp_path, [])] == [None]  # the GitHub App


def test_result_table_lines_up_and_totals():
    text = fanout.table([fanout.Outcome("acme/api", 1200, 7, "succeeded", 1),
                         fanout.Outcome("acme/web", 3, 4, "succeeded", 2)])
    lines = text.splitlines()
    assert lines[0].split() == ["repository", "rows", "requests", "status"]
    assert lines[1].split() == ["acme/api", "1,200", "7", "succeeded"]
    assert lines[2].split() == ["acme/web", "3", "4", "succeeded", "(attempt", "2)"]
    assert lines[3].split() == ["2", "repositories", "1,203", "11", "0", "not", "succeeded"]


def test_spark_fan_out_equals_a_single_process_collection_with_a_retried_task(tmp_path):
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java (java on the PATH or JAVA_HOME): Spark needs Java 17")
    from github_server import TOKEN, Data, GitHubServer

    data = Data()
    ada, bob = data.user("ada"), data.user("bob")
    for name, prs in (("acme/api", 2), ("acme/web", 1), ("acme/docs", 1)):
        repo = data.repository(name)
        for number in range(1, prs + 1):
            pr = data.pull_request(repo, number, author=ada if number == 1 else bob,
                                   created=f"2025-05-1{number}T09:00:00Z", state="MERGED",
                                   merged=f"2025-05-1{number + 1}T09:00:00Z", merged_by=ada,
                                   commits=[f"2025-05-1{number}T08:00:00Z"])
            data.review(pr, author=bob if number == 1 else ada, state="APPROVED",
                        submitted=f"2025-05-1{number}T10:00:00Z")
    single, spread = tmp_path / "single", tmp_path / "spread"
    with GitHubServer(data) as server:
        server.tokens.add("second-token")
        base = [sys.executable, "-m", "impactlens", "collect", "github", "acme", "--api-url", server.api_url]
        done = subprocess.run([*base, "--lake", str(single), "-q"], env=env(GITHUB_TOKEN=TOKEN),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        done = subprocess.run([*base, "--lake", str(spread), "--engine", "spark", "--token-envs", "TOK_A,TOK_B"],
                              env=env(TOK_A=TOKEN, TOK_B="second-token", IMPACTLENS_TEST_FAIL_ONCE="acme/web"),
                              capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    table = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:-1]}
    assert sorted(table) == ["acme/api", "acme/docs", "acme/web"], done.stdout
    assert table["acme/web"][3:] == ["succeeded", "(attempt", "2)"], done.stdout  # died once, ran again
    assert table["acme/api"][3:] == ["succeeded"], done.stdout
    assert int(table["acme/api"][2]) > 0  # requests
    # The retried task's staging warehouse is its own, one per repository.
    assert lake.staging_path(spread, "acme/web").exists() and lake.staging_path(spread, "acme/api").exists()

    one, many = lake.materialise(single), lake.materialise(spread)
    for sql in ("SELECT repo_id, number, author_login, merged_at, title FROM pull_requests",
                "SELECT repo_id, review_id, reviewer_login, state, submitted_at FROM reviews",
                "SELECT * FROM comments", "SELECT * FROM pr_timeline_events",
                "SELECT repo_id, name FROM repositories",
                "SELECT kind, value FROM identities", "SELECT display_name FROM people"):
        assert rows(many, sql) == rows(one, sql), sql
    assert rows(many, "SELECT repo_id, number FROM pull_requests") == [
        ("acme/api", 1), ("acme/api", 2), ("acme/docs", 1), ("acme/web", 1)]
    for name, key in KEYS.items():  # no row twice, though acme/web published twice
        cols = ", ".join(key)
        assert many.sql(f"SELECT count(*) FROM (SELECT {cols} FROM {name} GROUP BY {cols} HAVING count(*) > 1)"
                        ).fetchall() == [(0,)], name
