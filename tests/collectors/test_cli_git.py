"""The command line as a user runs it: `impactlens collect git`, `db info`, `config show`."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import impactlens
from impactlens import warehouse


@pytest.fixture
def small_repo(make_repo):
    repo = make_repo("tool")
    repo.write("main.py", "print('hi')\n")
    repo.commit("First")
    repo.write("main.py", "print('hi')\nprint('bye')\n")
    repo.commit("Second (#3)")
    return repo


def test_collect_prints_a_summary_and_db_info_counts_rows(small_repo, db_path):
    result = impactlens("collect", "git", str(small_repo.path), "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert "tool (HEAD at" in result.stdout and "2 new commits" in result.stdout
    assert "The warehouse holds 2 commits of tool." in result.stdout

    again = impactlens("collect", "git", str(small_repo.path), "--db", str(db_path))
    assert "Already up to date." in again.stdout

    info = impactlens("db", "info", "--db", str(db_path))
    assert info.returncode == 0
    lines = {line.split()[0]: line.split()[-1] for line in info.stdout.splitlines()[1:] if line.startswith("  ")}
    assert lines["commits"] == "2" and lines["commit_files"] == "2"
    # One column of counts, also beside the longest names (metric_review_shares_monthly, 28 characters).
    counts = info.stdout.split("Last collection runs:")[0].splitlines()[1:]
    assert "metric_review_shares_monthly" in lines and len({len(line) for line in counts}) == 1


def test_quiet_prints_nothing(small_repo, db_path):
    result = impactlens("collect", "git", str(small_repo.path), "--db", str(db_path), "--quiet")
    assert (result.returncode, result.stdout) == (0, "")


def test_env_var_names_the_warehouse(small_repo, tmp_path):
    import os

    target = tmp_path / "from-env.duckdb"
    result = impactlens("collect", "git", str(small_repo.path), env={**os.environ, "IMPACTLENS_DB": str(target)})
    assert result.returncode == 0 and target.exists()


def _inside(repo):
    repo.write("src/a.py", "x = 1\n")
    repo.commit("first")
    return repo.path / "src"


def _a_file(tmp):
    (tmp / "notes.txt").write_text("not a repository")
    return tmp / "notes.txt"


@pytest.mark.parametrize(
    "make_target, message",
    [
        (lambda tmp, mk: tmp / "nowhere", "does not exist"),
        (lambda tmp, mk: tmp, "is not a git repository"),
        (lambda tmp, mk: mk("empty").path, "is an empty repository"),
        (lambda tmp, mk: _inside(mk("outer")), "is a folder inside the git repository"),
        (lambda tmp, mk: _a_file(tmp), "is a file, not a git repository"),
    ],
)
def test_bad_paths_give_one_line_exit_2_and_write_nothing(make_target, message, tmp_path, make_repo, db_path):
    target = make_target(tmp_path, make_repo)
    result = impactlens("collect", "git", str(target), "--db", str(db_path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not db_path.exists()


def test_unknown_config_key_is_named(tmp_path):
    (tmp_path / "impactlens.toml").write_text("[categories]\nadrs = ['x/']\n")
    result = impactlens("config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown key 'categories.adrs'" in result.stderr


def test_config_show_prints_the_effective_configuration(tmp_path):
    (tmp_path / "impactlens.toml").write_text("[business_hours]\ntimezone = 'Europe/Berlin'\n")
    result = impactlens("config", "show", cwd=tmp_path)
    assert result.returncode == 0
    assert 'timezone = "Europe/Berlin"' in result.stdout and "[categories]" in result.stdout


def test_collection_resolves_identities_and_flags_bots(make_repo, db_path):
    import duckdb

    repo = make_repo("svc")
    repo.write("a.txt", "1\n")
    repo.commit("Add a", author="Ada Lovelace <ada@example.com>")
    repo.write("package-lock.json", "{}\n")
    repo.commit("Bump lodash", author="dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>")
    result = impactlens("collect", "git", str(repo.path), "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert "People:" in result.stdout
    with duckdb.connect(str(db_path), read_only=True) as con:
        flags = dict(con.execute(
            "SELECT identity_id, is_bot FROM actors WHERE identity_id LIKE 'email:%'"
        ).fetchall())
    assert flags == {
        "email:ada@example.com": False,
        "email:49699333+dependabot[bot]@users.noreply.github.com": True,
    }


def test_collect_reads_the_clone_and_writes_nothing_into_it(small_repo, tmp_path, db_path):
    """The clone's .git/config and refs are byte-for-byte what they were (PyDriller used to add
    blame.markUnblamableLines to .git/config, which also failed on a read-only clone); a bare clone works."""
    import subprocess

    config = small_repo.path / ".git" / "config"
    before = config.read_bytes()
    refs = subprocess.run(["git", "-C", str(small_repo.path), "show-ref"], capture_output=True, text=True).stdout
    assert impactlens("collect", "git", str(small_repo.path), "--db", str(db_path)).returncode == 0
    assert config.read_bytes() == before
    assert subprocess.run(["git", "-C", str(small_repo.path), "show-ref"], capture_output=True, text=True).stdout == refs

    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(small_repo.path), str(bare)], check=True)
    bare_before = (bare / "config").read_bytes()
    result = impactlens("collect", "git", str(bare), "--db", str(tmp_path / "b.duckdb"))
    assert result.returncode == 0, result.stderr
    assert (bare / "config").read_bytes() == bare_before


def test_a_folder_of_clones_and_a_list_file_are_expanded_in_order_each_clone_once(make_repo, tmp_path):
    from impactlens.commands.git import clone_paths

    for name in ("zeta", "alpha"):
        make_repo(f"src/{name}").commit("one")
    (tmp_path / "src" / "notes").mkdir()  # not a clone: skipped inside a folder of clones
    (tmp_path / "src" / "README").write_text("a file\n")
    extra = make_repo("extra")
    extra.commit("one")
    listing = tmp_path / "clones.txt"
    listing.write_text("# my clones\nextra\n\nsrc/alpha\n/no/such/clone\n")  # relative to the file's folder
    got = clone_paths([tmp_path / "src", tmp_path / "src" / "README"], listing)
    assert got == [tmp_path / "src" / "alpha", tmp_path / "src" / "zeta", tmp_path / "src" / "README",
                   tmp_path / "extra", Path("/no/such/clone")]  # src/alpha listed again: once
    # A folder with no clone under it stays itself, so the collector says what it is.
    assert clone_paths([tmp_path / "src" / "notes"]) == [tmp_path / "src" / "notes"]


def test_several_clones_are_collected_in_turn_and_a_bad_path_is_a_row_of_the_table(make_repo, tmp_path, db_path):
    for name, n in (("api", 2), ("web", 1)):
        repo = make_repo(f"src/{name}")
        for i in range(n):
            repo.write(f"f{i}.py", f"x = {i}\n")
            repo.commit(f"change {i}")
    result = impactlens("collect", "git", str(tmp_path / "src"), str(tmp_path / "missing"), "--db", str(db_path))
    assert result.returncode == 2
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0] == ["repository", "path", "rows", "status"]
    assert lines[1] == ["api", str(tmp_path / "src" / "api"), "4", "succeeded"]  # 2 commits + 2 file changes
    assert lines[2] == ["web", str(tmp_path / "src" / "web"), "2", "succeeded"]
    assert lines[3][:4] == ["-", str(tmp_path / "missing"), "0", "failed:"] and "does not exist" in result.stdout
    assert lines[4] == ["3", "repositories", "6", "1", "not", "succeeded"]
    assert result.stderr.startswith("impactlens: error: 1 of 3 repositories did not succeed")
    with warehouse.read_only(db_path) as con:
        assert con.sql("SELECT repo_id, count(*) FROM commits GROUP BY 1 ORDER BY 1").fetchall() == [
            ("api", 2), ("web", 1)]


def test_spark_needs_a_lake_and_one_clone_options_refuse_several(make_repo, tmp_path, db_path):
    one = make_repo("one")
    one.commit("one")
    spark = impactlens("collect", "git", str(one.path), "--engine", "spark", "--db", str(db_path))
    assert spark.returncode == 2 and "--engine spark needs --lake DEST" in spark.stderr
    two = make_repo("two")
    two.commit("one")
    named = impactlens("collect", "git", str(one.path), str(two.path), "--name", "acme/x", "--db", str(db_path))
    assert named.returncode == 2 and "--name and --web-url name one repository; 2 clones" in named.stderr
    none = impactlens("collect", "git", "--db", str(db_path))
    assert none.returncode == 2 and "no clone to collect" in none.stderr
    assert not db_path.exists()
