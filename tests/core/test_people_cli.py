"""`impactlens people ...` and `impactlens collect codeowners` as a user runs them."""

from __future__ import annotations

import re

from helpers import impactlens


def test_import_list_unresolved_merge_unmerge(make_repo, db_path, tmp_path):
    repo = make_repo("shop")
    repo.write("a.py", "1\n")
    repo.commit("Ada", author="Ada Lovelace <ada@example.com>", date="2024-02-01T10:00:00+00:00")
    repo.write("a.py", "2\n")
    repo.commit("Ada at home", author="Ada Lovelace <ada@home.example>", date="2024-02-02T10:00:00+00:00")
    repo.write("a.py", "3\n")
    repo.commit("Ada at home again", author="Ada Lovelace <ada@home.example>", date="2024-02-03T10:00:00+00:00")
    repo.write("b.py", "1\n")
    repo.commit("Bob", author="Bob Stone <bob@example.com>", date="2024-02-04T10:00:00+00:00")
    db = ["--db", str(db_path)]
    assert impactlens("collect", "git", str(repo.path), *db).returncode == 0

    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "- name: Ada Lovelace\n  id: ada\n  email: ada@example.com\n  teams:\n"
        "    - {team: payments, from: 2023-01-01, to: 2024-06-01}\n    - {team: platform, from: 2024-06-01}\n"
    )
    imported = impactlens("people", "import", str(roster), *db)
    assert imported.returncode == 0, imported.stderr
    assert "1 person imported" in imported.stdout

    shown = impactlens("people", "show", "ada@example.com", *db)
    assert shown.stdout.splitlines()[0] == "ada: Ada Lovelace (roster)"
    assert re.search(r"^email:ada@example.com\s+roster\s+2024-02-01\s+2024-02-01$", shown.stdout, re.M), shown.stdout
    assert "team payments: from 2023-01-01 until 2024-06-01" in shown.stdout
    assert "team platform: from 2024-06-01 (ongoing)" in shown.stdout
    listed = impactlens("people", "list", "--at", "2024-07-01", *db)
    assert re.search(r"^ada\s+Ada Lovelace\s+platform", listed.stdout, re.M), listed.stdout

    unresolved = impactlens("people", "unresolved", *db)
    lines = unresolved.stdout.splitlines()
    # ada@home.example (2 commits) before bob@example.com (1 commit); the roster resolved ada@example.com.
    assert lines[1].split()[0] == "email:ada@home.example" and lines[2].split()[0] == "email:bob@example.com"
    assert "email:ada@example.com" not in unresolved.stdout

    no_reason = impactlens("people", "merge", "ada@home.example", "ada", *db)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    merged = impactlens("people", "merge", "ada@home.example", "ada", "--reason", "Ada's personal address", *db)
    assert merged.returncode == 0, merged.stderr
    merge_id = re.search(r"merge ([0-9a-f]{12})", merged.stdout)[1]
    assert "email:ada@home.example" not in impactlens("people", "unresolved", *db).stdout
    merges = impactlens("people", "merges", *db).stdout
    assert merge_id in merges and "Ada's personal address" in merges

    undone = impactlens("people", "unmerge", merge_id, *db)
    assert undone.returncode == 0, undone.stderr
    assert "email:ada@home.example" in impactlens("people", "unresolved", *db).stdout
    again = impactlens("people", "unmerge", merge_id, *db)
    assert again.returncode == 2 and "already undone" in again.stderr


def test_bad_roster_is_one_line_exit_2_and_nothing_written(db_path, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,emails,team,team_from\nAda,ada@example.com,api,not-a-date\n")
    result = impactlens("people", "import", str(roster), "--db", str(db_path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "line 2: team_from 'not-a-date' is not a date" in result.stderr
    assert not db_path.exists()


def test_collect_codeowners_and_owners(make_repo, db_path):
    repo = make_repo("svc")
    repo.write(".github/CODEOWNERS", "* @ada\n/api/ @bob @acme/api\n")
    repo.commit("Owners", date="2024-01-10T10:00:00+00:00")
    db = ["--db", str(db_path)]
    collected = impactlens("collect", "codeowners", str(repo.path), "--name", "acme/svc", *db)
    assert collected.returncode == 0 and "1 CODEOWNERS versions" in collected.stdout
    owners = impactlens("people", "owners", "api/v1/x.py", "--repo", "acme/svc", "--at", "2024-02-01", *db)
    assert owners.stdout.strip() == "api/v1/x.py: @bob @acme/api (line 2: /api/)"
    before = impactlens("people", "owners", "api/v1/x.py", "--repo", "acme/svc", "--at", "2024-01-01", *db)
    assert "had no CODEOWNERS" in before.stdout


def test_import_takes_the_roster_path_from_the_config(db_path, tmp_path):
    (tmp_path / "team.csv").write_text("name,emails,team\nAda Lovelace,ada@example.com,api\n")
    (tmp_path / "impactlens.toml").write_text('[people]\nroster = "team.csv"\n')
    result = impactlens("people", "import", "--db", str(db_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "team.csv: 1 person imported." in result.stdout
    (tmp_path / "impactlens.toml").write_text("[people]\nroster = \"\"\n")
    missing = impactlens("people", "import", "--db", str(db_path), cwd=tmp_path)
    assert missing.returncode == 2 and "give a roster file" in missing.stderr
