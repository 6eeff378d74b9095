"""`impactlens people list` as a user finds an id: identities linked to nobody listed, commits and PRs counted,
junk identities marked, filters by team, activity date and text; and the junk predicate on its own."""

from __future__ import annotations

import re

from helpers import impactlens
from impactlens.people import is_junk_identity, is_junk_key


def test_junk_identities_by_hand():
    assert is_junk_identity(name="=") and is_junk_identity(email="=") and is_junk_identity(email="none@none")
    assert is_junk_identity(name="unknown", email="C:\\Users\\x\\AppData")  # flask's "unknown" author
    assert is_junk_identity(name="Jane Doe", email="")  # an empty email
    assert not is_junk_identity(name="FND", email="fnd@fnd-oda.(none)")  # git's default host, a real person
    assert not is_junk_identity(name="小明", email="ciici123@hotmail.com")  # letters in any script
    assert not is_junk_identity(name="garenchan", email="1412950785@qq.com")
    assert is_junk_key("email:=", "=") and not is_junk_key("ada", "Ada Lovelace")


def test_people_list_finds_ids_counts_work_and_marks_junk(make_repo, tmp_path):
    repo = make_repo("tool")
    for i, (author, day) in enumerate([("Ada Lovelace <ada@example.com>", "2024-01-10"),
                                       ("Ada Lovelace <ada@example.com>", "2024-03-10"),
                                       ("Bob Stone <bob@example.com>", "2023-05-01"),
                                       ("= <=>", "2024-02-01")]):
        repo.write(f"f{i}.txt", str(i))
        repo.commit(f"change {i}", author=author, date=f"{day}T10:00:00+00:00")
    db = ["--db", str(tmp_path / "w.duckdb")]
    assert impactlens("collect", "git", str(repo.path), *db).returncode == 0
    roster = tmp_path / "roster.yaml"
    roster.write_text("- name: Ada Lovelace\n  id: ada\n  email: ada@example.com\n  teams:\n"
                      "    - {team: core, from: 2023-01-01}\n")
    assert impactlens("people", "import", str(roster), *db).returncode == 0

    listed = impactlens("people", "list", *db)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["person_id", "display_name", "teams", "title", "level", "identities", "source",
                                "commits", "prs", "last_active", "flag"]
    # Ada: 2 commits, last on 2024-03-10; Bob is linked to nobody: his identity id is his actor id; "=" is junk.
    assert re.search(r"^ada\s+Ada Lovelace\s+core\s+-\s+-\s+1\s+roster\s+2\s+0\s+2024-03-10$", listed.stdout, re.M)
    assert re.search(r"^email:bob@example.com\s+Bob Stone\s+-\s+-\s+-\s+1\s+unlinked\s+1\s+0\s+2023-05-01$",
                     listed.stdout, re.M), listed.stdout
    assert re.search(r"^email:=\s+=\s+.*\s2024-02-01\s+junk$", listed.stdout, re.M), listed.stdout

    def ids(*args: str) -> list[str]:
        out = impactlens("people", "list", *args, *db)
        assert out.returncode == 0, out.stderr
        return [line.split()[0] for line in out.stdout.splitlines()[1:]]

    assert ids("--team", "core") == ["ada"]
    assert ids("--active-since", "2024-01-01") == ["email:=", "ada"]  # by display name: "=" before "Ada"
    assert ids("--search", "BOB@") == ["email:bob@example.com"]
    assert ids("--search", "lovelace") == ["ada"]
    assert ids("--linked-only") == ["ada"]
    unknown = impactlens("people", "list", "--team", "cor", *db)
    assert unknown.returncode == 2 and "no team 'cor' in the warehouse (did you mean core?)" in unknown.stderr
