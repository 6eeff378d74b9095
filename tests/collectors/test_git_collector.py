"""The git collector against real repositories built here, with every stored value worked out by hand."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from impactlens import warehouse
from impactlens.collectors.git import collect_git
from impactlens.errors import CollectionError


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


@pytest.fixture
def history(make_repo):
    """main: c1 (Ada, +02:00) -> c2 rename+binary, co-authors (Zoë, -05:00) -> c3 squash subject,
    plus a feature branch c4 merged by a merge commit m5."""
    repo = make_repo("acme-service")
    repo.write("src/app.py", "one\ntwo\nthree\n")
    repo.write("README.md", "# service\n")
    c1 = repo.commit("Add app", author="Ada Lovelace <ada@example.com>", date="2024-03-01T10:00:00+02:00")
    repo.git("mv", "src/app.py", "src/main.py")
    repo.write("src/main.py", "one\ntwo\nthree\nfour\n")
    repo.write("assets/logo.png", bytes(range(256)))
    c2 = repo.commit(
        "Rename app to main\n\nKeeps the module name short.\n\n"
        "Co-authored-by: Grace Hopper <grace@example.com>\n"
        "Co-authored-by: Ada Lovelace <ada@example.com>\n",
        author="Zoë Ñúñez <zoe@example.com>",
        date="2024-03-02T09:30:00-05:00",
        committer="GitHub <noreply@github.com>",
        committer_date="2024-03-02T15:00:00+00:00",
    )
    repo.write("docs/adr/0001-use-duckdb.md", "# Use DuckDB\n\nBecause.\n")
    repo.write("package-lock.json", "{}\n" * 5)
    c3 = repo.commit("Record the storage decision (#12)", author="Ada Lovelace <ada@example.com>",
                     date="2024-03-03T12:00:00+00:00")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("tests/test_main.py", "def test():\n    assert True\n")
    c4 = repo.commit("Add a test", author="Grace Hopper <grace@example.com>", date="2024-03-04T08:00:00+01:00")
    repo.git("checkout", "-q", "main")
    repo.git(
        "merge", "--no-ff", "-q", "-m", "Merge pull request #7 from acme/feature", "feature",
        env={"GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.com",
             "GIT_AUTHOR_DATE": "2024-03-05T10:00:00+00:00", "GIT_COMMITTER_NAME": "Ada Lovelace",
             "GIT_COMMITTER_EMAIL": "ada@example.com", "GIT_COMMITTER_DATE": "2024-03-05T10:00:00+00:00"},
    )
    m5 = repo.git("rev-parse", "HEAD")
    return repo, {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "m5": m5}


def rows(con, sql: str, params=()):
    return con.execute(sql, list(params)).fetchall()


def test_commits_are_stored_with_exact_values(con, history):
    repo, sha = history
    result = collect_git(con, repo.path)

    assert result.repo_id == "acme-service"
    assert result.commits_stored == 5 and result.merges == 1

    c2 = rows(con, "SELECT author_name, author_email, committer_name, committer_email, authored_at, "
                   "author_utc_offset_minutes, committed_at, committer_utc_offset_minutes, subject, body, "
                   "parent_shas, is_merge, insertions, deletions, files_changed, pr_number "
                   "FROM commits WHERE sha = ?", [sha["c2"]])[0]
    assert c2 == (
        "Zoë Ñúñez", "zoe@example.com", "GitHub", "noreply@github.com",
        utc("2024-03-02T14:30:00+00:00"), -300, utc("2024-03-02T15:00:00+00:00"), 0,
        "Rename app to main",
        "Keeps the module name short.\n\nCo-authored-by: Grace Hopper <grace@example.com>\n"
        "Co-authored-by: Ada Lovelace <ada@example.com>",
        [sha["c1"]], False,
        1, 0, 2, None,  # one line added by the rename-with-edit; the binary file has no line counts
    )
    c1 = rows(con, "SELECT authored_at, author_utc_offset_minutes, insertions, deletions, files_changed, "
                   "parent_shas FROM commits WHERE sha = ?", [sha["c1"]])[0]
    assert c1 == (utc("2024-03-01T08:00:00+00:00"), 120, 4, 0, 2, [])

    files = rows(con, "SELECT path, old_path, change_type, additions, deletions, is_binary, category "
                      "FROM commit_files WHERE sha = ? ORDER BY path", [sha["c2"]])
    assert files == [
        ("assets/logo.png", None, "A", None, None, True, "other"),
        ("src/main.py", "src/app.py", "R", 1, 0, False, "code"),
    ]
    # Co-authors: Grace is an additional author; Ada too; the commit's own author is never repeated.
    assert rows(con, "SELECT email, name FROM commit_coauthors WHERE sha = ? ORDER BY email", [sha["c2"]]) == [
        ("ada@example.com", "Ada Lovelace"), ("grace@example.com", "Grace Hopper"),
    ]

    c3_files = rows(con, "SELECT path, category, additions FROM commit_files WHERE sha = ? ORDER BY path", [sha["c3"]])
    assert c3_files == [("docs/adr/0001-use-duckdb.md", "adr", 3), ("package-lock.json", "lockfile", 5)]
    assert rows(con, "SELECT pr_number FROM commits WHERE sha = ?", [sha["c3"]]) == [(12,)]
    assert rows(con, "SELECT category FROM commit_files WHERE sha = ?", [sha["c4"]]) == [("test",)]

    merge = rows(con, "SELECT is_merge, parent_shas, insertions, deletions, files_changed, pr_number "
                      "FROM commits WHERE sha = ?", [sha["m5"]])[0]
    assert merge == (True, [sha["c3"], sha["c4"]], 0, 0, 0, 7)
    assert rows(con, "SELECT count(*) FROM commit_files WHERE sha = ?", [sha["m5"]]) == [(0,)]

    assert rows(con, "SELECT status, target FROM collection_runs") == [("succeeded", "acme-service")]


def test_totals_match_git_log_numstat_over_non_merges(con, history):
    repo, _ = history
    collect_git(con, repo.path)
    out = repo.git("log", "--no-merges", "--numstat", "-M", "--format=")
    added = deleted = 0
    for line in out.splitlines():
        a, d, _ = line.split("\t", 2)
        if a != "-":
            added, deleted = added + int(a), deleted + int(d)
    assert rows(con, "SELECT sum(insertions), sum(deletions) FROM commits WHERE NOT is_merge") == [(added, deleted)]
    assert rows(con, "SELECT count(*) FROM commits") == [(int(repo.git("rev-list", "--count", "HEAD")),)]


def test_mailmap_is_honoured_and_raw_identity_kept(con, make_repo):
    repo = make_repo()
    repo.write(".mailmap", "Ada Lovelace <ada@example.com> <ada.l@old-laptop.local>\n")
    repo.commit("Add mailmap", author="ada <ada.l@old-laptop.local>")
    collect_git(con, repo.path)
    assert rows(con, "SELECT author_name, author_email, author_name_raw, author_email_raw FROM commits") == [
        ("Ada Lovelace", "ada@example.com", "ada", "ada.l@old-laptop.local"),
    ]


def test_non_utf8_message_and_path_are_stored_not_fatal(con, make_repo):
    repo = make_repo()
    (repo.path / b"caf\xe9.txt".decode("utf-8", "surrogateescape")).write_text("x\n")
    repo.commit(b"Caf\xe9 au lait\n\nlatin-1 body \xff\n")
    collect_git(con, repo.path)
    # git itself re-encodes a latin-1 message it finds invalid as UTF-8; a raw path byte is replaced.
    assert rows(con, "SELECT subject, body FROM commits") == [("Café au lait", "latin-1 body ÿ")]
    assert rows(con, "SELECT path FROM commit_files") == [("caf\ufffd.txt",)]


def test_second_run_changes_nothing_and_third_reads_only_new_commits(con, history):
    repo, _ = history
    collect_git(con, repo.path)
    snapshot = rows(con, "SELECT * FROM commits ORDER BY sha"), rows(con, "SELECT * FROM commit_files ORDER BY sha, path")

    again = collect_git(con, repo.path)
    assert again.in_range == 0 and again.commits_stored == 0
    assert (rows(con, "SELECT * FROM commits ORDER BY sha"), rows(con, "SELECT * FROM commit_files ORDER BY sha, path")) == snapshot

    repo.write("src/new.py", "x = 1\n")
    new_sha = repo.commit("Add new module", date="2024-03-06T10:00:00+00:00")
    third = collect_git(con, repo.path)
    assert (third.in_range, third.commits_stored) == (1, 1)
    assert rows(con, "SELECT count(*) FROM commits") == [(6,)]
    assert rows(con, "SELECT insertions FROM commits WHERE sha = ?", [new_sha]) == [(1,)]


def test_force_push_keeps_old_commits_and_adds_new_ones(con, make_repo):
    repo = make_repo()
    repo.write("a.txt", "1\n")
    repo.commit("one")
    repo.write("a.txt", "1\n2\n")
    old = repo.commit("two")
    collect_git(con, repo.path)
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.write("a.txt", "1\n3\n")
    new = repo.commit("two, rewritten")
    result = collect_git(con, repo.path)
    assert result.commits_stored == 1
    assert {r[0] for r in rows(con, "SELECT sha FROM commits")} >= {old, new}


def test_since_limits_the_range(con, history):
    repo, sha = history
    collect_git(con, repo.path, since="2024-03-03T00:00:00+00:00")
    assert {r[0] for r in rows(con, "SELECT sha FROM commits")} == {sha["c3"], sha["c4"], sha["m5"]}


def test_branch_option(con, history):
    repo, sha = history
    result = collect_git(con, repo.path, branch="feature")
    assert result.ref == "feature"
    assert {r[0] for r in rows(con, "SELECT sha FROM commits")} == {sha["c1"], sha["c2"], sha["c3"], sha["c4"]}
    with pytest.raises(CollectionError, match="no branch or revision 'nope'"):
        collect_git(con, repo.path, branch="nope")


def test_bare_and_shallow_clones(con, history, tmp_path):
    repo, _ = history
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    result = collect_git(con, bare, repo_id="bare")
    assert result.commits_stored == 5 and not result.shallow

    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo.path}", str(shallow)], check=True)
    result = collect_git(con, shallow, repo_id="shallow")
    assert result.shallow and result.shallow_boundaries >= 1
    assert result.commits_stored == int(subprocess.run(
        ["git", "-C", str(shallow), "rev-list", "--count", "HEAD"], capture_output=True, check=True, text=True
    ).stdout)
    assert "Shallow clone" in result.summary()


def test_origin_remote_names_the_repository(con, make_repo):
    repo = make_repo("checkout")
    repo.write("a.txt", "1\n")
    repo.commit("one")
    repo.git("remote", "add", "origin", "git@github.com:acme/payments.git")
    result = collect_git(con, repo.path)
    assert result.repo_id == "acme/payments"
    assert rows(con, "SELECT name, owner, url FROM repositories") == [
        ("payments", "acme", "https://github.com/acme/payments"),
    ]


def test_damaged_repository_fails_the_run_and_keeps_the_cursor(con, make_repo):
    repo = make_repo()
    repo.write("a.txt", "first\n")
    repo.commit("one", date="2024-01-01T00:00:00+00:00")
    repo.write("b.txt", "lost content\n")
    repo.commit("two", date="2024-01-02T00:00:00+00:00")
    blob = repo.git("rev-parse", "HEAD:b.txt")
    (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()

    with pytest.raises(CollectionError, match="git log failed") as caught:
        collect_git(con, repo.path)
    assert "git fsck" in str(caught.value)
    assert rows(con, "SELECT status FROM collection_runs") == [("failed",)]
    assert rows(con, "SELECT count(*) FROM sync_state") == [(0,)]


def test_custom_categories_from_config(con, make_repo):
    from impactlens import config

    repo = make_repo()
    repo.write("handbook/oncall.md", "page me\n")
    repo.commit("Add on-call notes")
    cfg = config.from_dict({"categories": {"runbook": ["handbook/**"]}})
    collect_git(con, repo.path, config=cfg)
    assert rows(con, "SELECT category FROM commit_files") == [("runbook",)]


RESUME_DRIVER = """
import os, signal, sys
from impactlens import warehouse
from impactlens.collectors import git as g

stored = 0
original = g._Batch.store
def store_then_die(self, con):
    global stored
    n = original(self, con)
    stored += 1
    if stored == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return n
g._Batch.store = store_then_die
with warehouse.writing(sys.argv[1]) as con:
    g.collect_git(con, sys.argv[2], batch_size=3)
"""


def test_killed_collection_resumes_and_stores_each_commit_once(make_repo, db_path, tmp_path):
    repo = make_repo()
    for i in range(10):
        repo.write(f"f{i}.txt", "line\n" * (i + 1))
        repo.commit(f"commit {i}", date=f"2024-01-{i + 1:02d}T00:00:00+00:00")
    driver = tmp_path / "driver.py"
    driver.write_text(RESUME_DRIVER)
    killed = subprocess.run(["python", str(driver), str(db_path), str(repo.path)], capture_output=True)
    assert killed.returncode == -9
    assert not db_path.exists()  # nothing half-done was published

    with warehouse.writing(db_path) as con:
        result = collect_git(con, repo.path, batch_size=3)
    assert (result.in_range, result.already_stored, result.commits_stored) == (10, 6, 4)

    with warehouse.read_only(db_path) as con:
        assert rows(con, "SELECT count(*), count(DISTINCT sha), sum(insertions) FROM commits") == [(10, 10, 55)]
        assert rows(con, "SELECT status FROM collection_runs ORDER BY started_at") == [
            ("interrupted",), ("succeeded",),
        ]
