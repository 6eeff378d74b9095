"""Kill-safe derivation and publication (issue 23): a collection killed during its derivation is derived by
whatever writer comes next; a second writer never publishes a killed collection's copy; a failed run that
stored nothing leaves no <db>.writing; a stale copy and an unwritable folder are explained in one line."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GitRepo
from helpers import impactlens
from impactlens import warehouse

DIE = "IMPACTLENS_TEST_DIE_IN"


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IMPACTLENS_"))}
    return {**base, **extra}


def history(path: Path) -> GitRepo:
    """Ada (two emails, one name: .mailmap ties them), Bob, and a bot: 4 commits on day 1, 3 more later."""
    repo = GitRepo(path)
    repo.write(".mailmap", "Ada Lovelace <ada@example.com> <ada@home.example>\n")
    repo.commit("mailmap", author="Ada Lovelace <ada@example.com>", date="2024-01-01T10:00:00+00:00")
    repo.write("a.py", "a = 1\n")
    repo.commit("add a", author="Ada Lovelace <ada@home.example>", date="2024-01-02T10:00:00+00:00")
    repo.write("b.py", "b = 1\n")
    repo.commit("add b", author="Bob Byte <bob@example.com>", date="2024-01-03T10:00:00+00:00")
    repo.write("deps.txt", "x==2\n")
    repo.commit("bump x", author="dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
                date="2024-01-04T10:00:00+00:00")
    return repo


def more(repo: GitRepo) -> None:
    repo.write("c.py", "c = 1\n")
    repo.commit("add c", author="Cleo Chen <cleo@example.com>", date="2024-02-01T10:00:00+00:00")
    repo.write("a.py", "a = 2\n")
    sha = repo.commit("change a", author="Ada Lovelace <ada@example.com>", date="2024-02-02T10:00:00+00:00")
    repo.write("a.py", "a = 1\n")
    repo.commit(f'Revert "change a"\n\nThis reverts commit {sha}.\n', author="Bob Byte <bob@example.com>",
                date="2024-02-03T10:00:00+00:00")


def derived(db: Path) -> dict[str, list[tuple]]:
    with warehouse.read_only(db) as con:
        return {
            "identities": con.sql("SELECT identity_id, person_id, is_bot FROM identities ORDER BY 1").fetchall(),
            "people": con.sql("SELECT person_id, display_name, is_bot FROM people ORDER BY 1").fetchall(),
            "commits": con.sql("SELECT count(*) FROM commits").fetchall(),
            "incidents": con.sql("SELECT incident_id FROM incidents ORDER BY 1").fetchall(),
        }


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def world(tmp_path):
    """A clone collected once (published), then 3 new commits; ``control`` collected the whole history
    uninterrupted, the way every other warehouse must end up."""
    repo = history(tmp_path / "repo")
    db = tmp_path / "w.duckdb"
    first = impactlens("collect", "git", str(repo.path), "-q", "--db", str(db), env=env())
    assert first.returncode == 0, first.stderr
    more(repo)
    control = tmp_path / "control.duckdb"
    done = impactlens("collect", "git", str(repo.path), "-q", "--db", str(control), env=env())
    assert done.returncode == 0, done.stderr
    return repo, db, control


def test_the_uninterrupted_run_derived_what_the_history_holds(world):
    _, _, control = world
    want = derived(control)
    assert want["commits"] == [(7,)]  # 4 + add c, change a, its revert
    emails = {i for i, _, _ in want["identities"] if i.startswith("email:")}
    # ada@home.example is mailmapped to ada@example.com (the raw email is kept as evidence)
    assert {"email:ada@example.com", "email:bob@example.com", "email:cleo@example.com"} <= emails
    assert any(bot for _, _, bot in want["identities"])  # dependabot


@pytest.mark.parametrize("later", [["collect", "git", "{repo}"], ["people", "refresh"], ["metrics"],
                                   ["people", "list"]])
def test_a_kill_during_derivation_then_any_command_gives_the_uninterrupted_warehouse(world, later):
    repo, db, control = world
    killed = impactlens("collect", "git", str(repo.path), "-q", "--db", str(db), env=env(**{DIE: "derive"}))
    assert killed.returncode == -9
    assert warehouse.working_copy_path(db).exists()
    assert derived(db)["commits"] == [(4,)]  # the killed run published nothing

    args = [a.format(repo=repo.path) for a in later]
    done = impactlens(*args, "--db", str(db), env=env())
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    if later[0] == "people" and later[1] == "list":  # a reader: still the last complete data
        assert derived(db)["commits"] == [(4,)]
        done = impactlens("collect", "git", str(repo.path), "-q", "--db", str(db), env=env())
        assert done.returncode == 0, done.stderr
    elif later[0] != "collect":
        assert "finished the derivation" in done.stderr
    else:
        assert "Already up to date." not in done.stdout
    assert derived(db) == derived(control)
    assert not warehouse.working_copy_path(db).exists()


@pytest.mark.parametrize("later", [["collect", "releases"], ["collect", "codeowners", "{repo}"]])
def test_the_next_command_finishes_a_killed_derivation_with_its_own_config(world, tmp_path, later):
    # The history holds a revert of "change a"; only this configuration makes it an incident, so the
    # derivation the next command finishes shows which configuration it read (not ./impactlens.toml).
    repo, db, _ = world
    toml = tmp_path / "reverts.toml"
    toml.write_text("[incidents]\nreverts_as_incidents = true\n", encoding="utf-8")
    killed = impactlens("collect", "git", str(repo.path), "-q", "--db", str(db), env=env(**{DIE: "derive"}))
    assert killed.returncode == -9
    args = [a.format(repo=repo.path) for a in later]
    done = impactlens(*args, "--config", str(toml), "-q", "--db", str(db), env=env())
    assert done.returncode == 0, done.stderr
    assert "finished the derivation" in done.stderr
    (incident,) = derived(db)["incidents"]
    assert incident[0].startswith("revert:")


def test_a_warehouse_published_without_derivation_is_derived_by_the_next_collect(world, tmp_path):
    """Before issue 23, a kill during derivation was followed by "Already up to date" and a publication
    with no identities; the next run now derives it."""
    repo, db, control = world
    broken = tmp_path / "broken.duckdb"
    shutil.copyfile(control, broken)
    with warehouse.writing(broken) as con:  # what such a warehouse looks like: rows, no derived tables
        con.execute("DELETE FROM identities; DELETE FROM people; DELETE FROM incidents")
        con.execute("DELETE FROM sync_state WHERE source = 'impactlens'")
    assert derived(broken)["identities"] == []
    done = impactlens("collect", "git", str(repo.path), "--db", str(broken), env=env())
    assert done.returncode == 0, done.stderr
    assert "Already up to date." not in done.stdout
    assert derived(broken) == derived(control)


@pytest.mark.parametrize("second", [["people", "refresh"], ["metrics"], ["people", "merge", "a", "b", "--reason", "x"],
                                    ["collect", "git", "{other}"]])
def test_a_second_writer_never_publishes_a_killed_collection(world, tmp_path, second):
    repo, db, control = world
    other = GitRepo(tmp_path / "other")
    other.write("x.py", "x\n")
    other.commit("x")
    published = digest(db)
    killed = impactlens("collect", "git", str(repo.path), "-q", "--db", str(db), env=env(**{DIE: "collect"}))
    assert killed.returncode == -9

    args = [a.format(other=other.path) for a in second]
    refused = impactlens(*args, "--db", str(db), env=env())
    err = refused.stderr.strip()
    assert refused.returncode == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"impactlens collect git {repo.path} -q --db {db}" in err  # the command that finishes it
    assert "impactlens db discard" in err
    assert digest(db) == published  # nothing of the killed run was published
    assert derived(db)["commits"] == [(4,)]

    resumed = impactlens("collect", "git", str(repo.path), "-q", "--db", str(db), env=env())
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the unfinished run" in resumed.stderr
    assert derived(db) == derived(control)


def test_db_discard_drops_a_killed_copy_and_leaves_the_published_file(world):
    repo, db, _ = world
    published = digest(db)
    assert impactlens("collect", "git", str(repo.path), "-q", "--db", str(db), env=env(**{DIE: "collect"})).returncode == -9
    done = impactlens("db", "discard", "--db", str(db), env=env())
    assert done.returncode == 0, done.stderr
    assert "discarded the unfinished copy of `impactlens collect git" in done.stdout
    assert not warehouse.working_copy_path(db).exists() and not warehouse.owner_path(db).exists()
    assert digest(db) == published
    assert impactlens("people", "refresh", "--db", str(db), env=env()).returncode == 0


def test_a_stale_copy_with_no_owner_is_explained_with_the_command_that_clears_it(world):
    _, db, _ = world
    shutil.copyfile(db, warehouse.working_copy_path(db))  # what an older impactlens left behind
    refused = impactlens("people", "refresh", "--db", str(db), env=env())
    err = refused.stderr.strip()
    assert refused.returncode == 2 and len(err.splitlines()) == 1, err
    assert f"`impactlens db discard --db {db}` removes it" in err
    assert impactlens("db", "discard", "--db", str(db), env=env()).returncode == 0
    assert impactlens("people", "refresh", "--db", str(db), env=env()).returncode == 0


def test_a_killed_non_collecting_job_is_discarded_and_said_so(world):
    _, db, _ = world
    published = digest(db)
    # A people refresh killed inside the derivation it runs when a collection is pending is modelled
    # by a copy it owns: a writer that does not resume, killed.
    script = (
        "import os, signal, sys\nfrom impactlens import warehouse\n"
        "with warehouse.writing(sys.argv[1], job=warehouse.Job(command='impactlens metrics', resumes=None)) as con:\n"
        "    con.execute(\"CREATE TABLE metric_half AS SELECT 1 AS x\")\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    assert subprocess.run([sys.executable, "-c", script, str(db)]).returncode == -9
    done = impactlens("people", "refresh", "--db", str(db), env=env())
    assert done.returncode == 0, done.stderr
    assert "discarded w.duckdb.writing: `impactlens metrics`" in done.stderr
    with warehouse.read_only(db) as con:
        assert con.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'metric_half'").fetchall() == [(0,)]


def _no_copy(db: Path) -> None:
    assert not warehouse.working_copy_path(db).exists()
    assert not warehouse.owner_path(db).exists()


def test_failed_runs_that_changed_nothing_leave_no_copy(world, tmp_path):
    repo, db, _ = world
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(os.urandom(8192))
    for args in (["collect", "git", str(repo.path)], ["people", "refresh"], ["metrics"]):
        failed = impactlens(*args, "--db", str(junk), env=env())
        assert failed.returncode == 2 and "Traceback" not in failed.stderr, failed.stderr
        _no_copy(junk)

    future = tmp_path / "future.duckdb"
    shutil.copyfile(db, future)
    with warehouse.open_for_write(future) as con:
        con.execute("INSERT INTO schema_version VALUES (99, 'from the future', now())")
    before = digest(future)
    failed = impactlens("collect", "git", str(repo.path), "--db", str(future), env=env())
    assert failed.returncode == 2 and "schema version 99" in failed.stderr, failed.stderr
    _no_copy(future)
    assert digest(future) == before

    for args in (["collect", "git", str(repo.path), "--branch", "nope"], ["people", "merge", "ghost1", "ghost2", "--reason", "x"],
                 ["people", "unmerge", "m-nope"]):
        failed = impactlens(*args, "--db", str(db), env=env())
        assert failed.returncode == 2, failed.stderr
        _no_copy(db)
    # and the next run is not blocked
    assert impactlens("collect", "git", str(repo.path), "-q", "--db", str(db), env=env()).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to run as another user")
def test_an_unwritable_folder_is_not_reported_as_a_busy_warehouse(world, tmp_path):
    _, db, _ = world
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="impactlens-ro-", dir="/tmp"))  # reachable by another user
    top.chmod(0o755)
    folder = top / "readonly"
    folder.mkdir()
    shutil.copyfile(db, folder / "w.duckdb")
    os.chmod(folder / "w.duckdb", 0o644)
    os.chmod(folder, 0o555)
    as_nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", sys.executable]
    if subprocess.run([*as_nobody, "-c", "import impactlens"], capture_output=True, env=env(HOME=str(top))).returncode:
        shutil.rmtree(top, ignore_errors=True)
        pytest.skip("the other user cannot read this checkout (a clone inside a private folder, as mktemp -d makes)")
    done = subprocess.run(
        [*as_nobody, "-m", "impactlens", "people", "refresh", "--db", str(folder / "w.duckdb")],
        capture_output=True, text=True, env=env(HOME=str(top)),
    )
    err = done.stderr.strip()
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "another impactlens process" not in err
    assert f"cannot write in {folder}" in err
    folder.chmod(0o755)
    shutil.rmtree(top)


def test_a_second_run_after_the_budget_is_spent_says_so_and_sends_no_query(tmp_path):
    from github_server import TOKEN, Data, GitHubServer, example_repository

    data = Data()
    example_repository(data)
    with GitHubServer(data, token=TOKEN) as server:
        db = tmp_path / "w.duckdb"
        args = ["collect", "github", "acme/api", "--api-url", server.api_url, "--db", str(db), "--quiet"]
        server.remaining["graphql"] = 3  # the first run: the repository query fits, the pull requests do not
        first = impactlens(*args, env=env(GITHUB_TOKEN=TOKEN))
        assert first.returncode == 2 and "rate limit" in first.stderr, first.stderr
        published = digest(db)
        server.remaining["graphql"] = 0  # the second run, before the reset
        server.reset_log()
        second = impactlens(*args[:-1], env=env(GITHUB_TOKEN=TOKEN))
        err = second.stderr.strip()
        assert second.returncode == 2, err
        assert "GitHub's rate limit for $GITHUB_TOKEN is spent" in err and len(err.splitlines()) == 1
        assert "up to date" not in second.stdout
        assert [r.operation for r in server.requests if r.operation] == []  # no GraphQL query was sent
        assert digest(db) == published
        _no_copy(db)
    assert not server.crashes, server.crashes
