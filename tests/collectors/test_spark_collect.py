"""`collect github OWNER --lake DEST --engine spark` and `collect git PATH... --lake DEST --engine spark`
(impactlens/commands/fanout.py, docs/scale.md "Collection fan-out"): one Spark task per repository (against the
local GitHub server; real git clones built here), one task dying once after it published and Spark running it
again; the lake must hold exactly the rows single-process `collect github --lake` / `collect git --lake` give.

Skips without pyspark or Java, like tests/metrics/test_spark.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import GitRepo
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


def test_git_result_table_shows_the_path_and_the_failed_one():
    text = fanout.table([fanout.Outcome("acme/api", 12, 0, "succeeded", 2, "/src/api"),
                         fanout.Outcome("", 0, 0, "failed: /src/x does not exist", 1, "/src/x")])
    lines = [line.split() for line in text.splitlines()]
    assert lines[0] == ["repository", "path", "rows", "status"]
    assert lines[1] == ["acme/api", "/src/api", "12", "succeeded", "(attempt", "2)"]
    assert lines[2] == ["-", "/src/x", "0", "failed:", "/src/x", "does", "not", "exist"]
    assert lines[3] == ["2", "repositories", "12", "1", "not", "succeeded"]


def need_java() -> None:
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java (java on the PATH or JAVA_HOME): Spark needs Java 17")


def test_spark_fan_out_equals_a_single_process_collection_with_a_retried_task(tmp_path):
    need_java()
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

    # The metric job on Spark over the fanned-out organisation: every table from Spark (per repository, then per
    # bucket of people or teams), equal to the single-process run over the single-process collection.
    from impactlens.metrics import job
    from impactlens.metrics import spark as engine

    job.materialise(one)
    try:
        done = job.materialise(many, engine="spark")
    finally:  # no JVM left running in this process for the tests after this one
        engine.session().stop()
    assert done.engine_note is not None and done.engine_note.endswith("in this process: none")
    assert done.rows["metric_prs"] == 4 and done.rows["metric_throughput_weekly"] > 0
    for name in job.TABLES:
        assert rows(many, f"SELECT * FROM {name}") == rows(one, f"SELECT * FROM {name}"), name


#: The git tables' primary keys.
GIT_KEYS = {"repositories": ("repo_id",), "commits": ("repo_id", "sha"), "commit_files": ("repo_id", "sha", "path"),
            "commit_coauthors": ("repo_id", "sha", "email")}


def test_git_fan_out_equals_single_process_collections_with_a_retried_task_and_a_bad_path(tmp_path):
    need_java()
    ada, bob = "Ada Lovelace <ada@example.com>", "Bob Byte <bob@example.com>"
    clones = {}
    for name, commits in (("api", [(ada, "2025-01-05"), (bob, "2025-02-06"), (ada, "2025-02-07")]),
                          ("web", [(bob, "2025-03-01"), (ada, "2025-03-02")]), ("docs", [(ada, "2025-04-10")])):
        repo = clones[name] = GitRepo(tmp_path / "src" / name)
        for i, (who, day) in enumerate(commits):
            repo.write(f"{name}/f{i}.py", f"x = {i}\n")
            repo.commit(f"{name} change {i}" + ("\n\nCo-authored-by: Bob Byte <bob@example.com>" if i == 0 else ""),
                        author=who, date=f"{day}T10:00:00+00:00")
    single, spread = tmp_path / "single", tmp_path / "spread"
    for repo in clones.values():  # the single-process collector, one clone per run
        done = subprocess.run([sys.executable, "-m", "impactlens", "collect", "git", str(repo.path), "--lake",
                               str(single), "-q"], env=env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    missing = tmp_path / "src-elsewhere" / "gone"
    done = subprocess.run([sys.executable, "-m", "impactlens", "collect", "git", str(tmp_path / "src"), str(missing),
                           "--lake", str(spread), "--engine", "spark", "--master", "local[2,3]"],
                          env=env(IMPACTLENS_TEST_FAIL_ONCE="web"), capture_output=True, text=True, timeout=240)
    assert done.returncode == 2, done.stderr  # not every repository succeeded
    assert "1 of 4 repositories did not succeed" in done.stderr
    table = {line.split()[1]: line.split() for line in done.stdout.splitlines()[1:-2]}  # by path
    assert sorted(table) == sorted([str(r.path) for r in clones.values()] + [str(missing)]), done.stdout
    api = table[str(clones["api"].path)]
    assert [api[0], *api[2:]] == ["api", "6", "succeeded"]  # 3 commits, 3 file changes
    web = table[str(clones["web"].path)]
    # web died once after publishing; Spark ran it again, which resumed its staging warehouse (0 new rows) and
    # published the same partitions again.
    assert [web[0], *web[2:]] == ["web", "0", "succeeded", "(attempt", "2)"], done.stdout
    assert table[str(missing)][0] == "-" and "does not exist" in " ".join(table[str(missing)])
    assert "(attempt" not in " ".join(table[str(missing)])  # a wrong path is not retried
    assert done.stdout.splitlines()[-2].split() == ["4", "repositories", "8", "1", "not", "succeeded"]

    one, many = lake.materialise(single), lake.materialise(spread)
    for sql in ("SELECT * FROM commits", "SELECT * FROM commit_files", "SELECT * FROM commit_coauthors",
                "SELECT repo_id, name, owner, url, source_path FROM repositories",
                "SELECT identity_id, kind, value, first_seen_at, last_seen_at FROM identities",
                "SELECT display_name FROM people"):
        assert rows(many, sql) == rows(one, sql), sql
    assert rows(many, "SELECT repo_id, count(*) FROM commits GROUP BY 1") == [("api", 3), ("docs", 1), ("web", 2)]
    # Bob co-authored each first commit: api's and docs' (Ada's); web's first is his own, not a co-author row.
    assert rows(many, "SELECT repo_id, email FROM commit_coauthors") == [("api", "bob@example.com"),
                                                                         ("docs", "bob@example.com")]
    for name, key in GIT_KEYS.items():  # no row twice, though web published twice
        cols = ", ".join(key)
        assert many.sql(f"SELECT count(*) FROM (SELECT {cols} FROM {name} GROUP BY {cols} HAVING count(*) > 1)"
                        ).fetchall() == [(0,)], name


def test_a_github_task_finishes_a_copy_a_killed_derivation_left(tmp_path):
    """`collect github acme/api --since ... --lake` killed while deriving leaves its staging copy half-derived; a
    fan-out task for the same repository with other options (so it does not resume that run) finishes the copy's
    derivation and publishes it before its own work, as `impactlens.commands.job` does for any command, instead
    of refusing it. The task runs here without Spark: the Task.execute a Spark partition calls."""
    from github_server import TOKEN, Data, GitHubServer

    data = Data()
    ada = data.user("ada")
    repo = data.repository("acme/api")
    data.pull_request(repo, 1, author=ada, created="2025-05-11T09:00:00Z", state="MERGED",
                      merged="2025-05-12T09:00:00Z", merged_by=ada, commits=["2025-05-11T08:00:00Z"])
    dest = tmp_path / "lake"
    with GitHubServer(data) as server:
        killed = subprocess.run(
            [sys.executable, "-m", "impactlens", "collect", "github", "acme/api", "--api-url", server.api_url,
             "--since", "2025-01-01", "--lake", str(dest)], capture_output=True, text=True, timeout=300,
            env={**os.environ, "GITHUB_TOKEN": TOKEN, "IMPACTLENS_TEST_DIE_IN": "derive"})
        assert killed.returncode == -9, killed.stderr
        task = fanout.Task("acme/api", str(dest), "GITHUB_TOKEN", api_url=server.api_url)
        os.environ["GITHUB_TOKEN"] = TOKEN
        try:
            outcome = task.execute(0)
        finally:
            del os.environ["GITHUB_TOKEN"]
    assert outcome.status == "succeeded", outcome
    read = lake.open_lake(dest)
    assert read.sql("SELECT repo_id, number FROM pull_requests").fetchall() == [("acme/api", 1)]
