"""Identity resolution with a real repository, a real warehouse file and real roster files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from impactlens import config as config_mod
from impactlens import people
from impactlens.collectors.git import collect_git

CFG = config_mod.DEFAULTS

ADA_NOREPLY = "12345+ada-l@users.noreply.github.com"


def add_pr(con, number, login, created="2024-02-01 10:00:00+00", *, repo_id="shop", is_bot=False):
    con.execute(
        "INSERT INTO pull_requests (repo_id, number, title, author_login, author_is_bot, state, created_at) "
        "VALUES (?, ?, ?, ?, ?, 'open', ?)",
        [repo_id, number, f"PR {number}", login, is_bot, created],
    )


def add_review(con, review_id, number, login, submitted="2024-02-02 10:00:00+00", *, repo_id="shop"):
    con.execute(
        "INSERT INTO reviews (repo_id, review_id, pr_number, reviewer_login, state, submitted_at) "
        "VALUES (?, ?, ?, ?, 'APPROVED', ?)",
        [repo_id, review_id, number, login, submitted],
    )


@pytest.fixture
def shop(make_repo):
    """Ada commits as three emails (one mailmapped, one GitHub no-reply); Bob as one."""
    repo = make_repo("shop")
    repo.write(".mailmap", "Ada Lovelace <ada@example.com> Ada L <ada@old.example>\n")
    repo.write("a.py", "1\n")
    repo.commit("Ada at her old address", author="Ada L <ada@old.example>", date="2024-02-10T10:00:00+00:00")
    repo.write("a.py", "2\n")
    repo.commit("Ada at work", author="Ada Lovelace <ada@example.com>", date="2024-03-10T10:00:00+00:00")
    repo.write("a.py", "3\n")
    repo.commit("Ada in the web editor", author=f"Ada Lovelace <{ADA_NOREPLY}>", date="2024-03-11T10:00:00+00:00",
                committer="GitHub <noreply@github.com>")
    repo.write("b.py", "1\n")
    repo.commit("Bob's change", author="Bob Stone <bob@example.com>", date="2024-03-12T10:00:00+00:00")
    return repo


def distinct_actors(con) -> int:
    """Distinct human actors over commit authors, PR authors and reviewers (the contract's rule)."""
    return con.sql(
        """
        WITH keys AS (
            SELECT 'email:' || lower(author_email) AS k FROM commits
            UNION ALL SELECT 'github_login:' || lower(author_login) FROM pull_requests
            UNION ALL SELECT 'github_login:' || lower(reviewer_login) FROM reviews
        )
        SELECT count(DISTINCT a.actor_id) FROM keys JOIN actors a ON a.identity_id = keys.k WHERE NOT a.is_bot
        """
    ).fetchall()[0][0]


def test_three_identities_of_one_person_count_as_one(con, shop):
    collect_git(con, shop.path, config=CFG)
    add_pr(con, 1, "ada-l")
    add_review(con, "r1", 1, "Bob-Stone")
    add_review(con, "r2", 1, "Ada-L")
    # Before resolution every identity counts apart: 3 Ada emails... once identities exist.
    people.refresh(con, CFG)
    # mailmap ties the old address to ada@example.com; the no-reply email names ada-l; nothing yet
    # ties ada@example.com to ada-l, so Ada is two actors, Bob two (email and login): 4.
    assert distinct_actors(con) == 4
    con.execute("INSERT INTO login_emails VALUES ('ada-l', 'ada@example.com', 'github_commit', NULL)")
    result = people.refresh(con, CFG)
    # Ada = {ada@example.com, ada@old.example, noreply, ada-l}; Bob still two unlinked identities.
    assert distinct_actors(con) == 3
    ada = people.actor_of(con, "github_login", "ada-l")
    assert ada == "auto:github_login:ada-l"
    for email in ("ada@example.com", "ada@old.example", ADA_NOREPLY):
        assert people.actor_of(con, "email", email) == ada
    reasons = dict(con.execute("SELECT identity_id, link_reason FROM identities WHERE person_id = ?", [ada]).fetchall())
    assert reasons["email:ada@old.example"] == "mailmap"
    assert reasons["email:" + ADA_NOREPLY] == "noreply"
    assert "login_email" in reasons["email:ada@example.com"]
    assert result.auto_people == 1
    name = con.execute("SELECT display_name, primary_email FROM people WHERE person_id = ?", [ada]).fetchall()
    assert name == [("Ada Lovelace", "ada@example.com")]
    # Running again changes nothing.
    before = con.sql("SELECT * FROM identities ORDER BY identity_id").fetchall()
    people.refresh(con, CFG)
    assert con.sql("SELECT * FROM identities ORDER BY identity_id").fetchall() == before


def test_github_web_committer_is_a_bot_not_a_person(con, shop):
    collect_git(con, shop.path, config=CFG)
    people.refresh(con, CFG)
    row = con.execute("SELECT is_bot, bot_kind, person_id FROM identities WHERE identity_id = 'email:noreply@github.com'").fetchall()
    assert row == [(True, "bot", None)]


ROSTER_YAML = """\
teams:
  - id: payments
    name: Payments
    services: [checkout, payments-api]
  - id: platform
    name: Platform
people:
  - name: Ada Lovelace
    id: ada
    emails: [ada@example.com, {noreply}]
    logins: [ada-l]
    title: Staff Engineer
    level: L6
    start_date: 2023-01-09
    manager: grace
    teams:
      - team: payments
        from: 2023-01-09
        to: 2024-03-01
      - team: platform
        from: 2024-03-01
  - name: Bob Stone
    emails: bob@example.com
    login: bob-stone
    team: payments
    start_date: 2023-06-01
  - name: Grace Hopper
    id: grace
    email: grace@example.com
    title: Engineering Manager
    team: platform
""".format(noreply=ADA_NOREPLY)


def test_roster_links_identities_and_team_moves_count_in_the_right_team(con, shop, tmp_path):
    collect_git(con, shop.path, config=CFG)
    add_pr(con, 1, "bob-stone", created="2024-02-20 09:00:00+00")
    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER_YAML)
    count, warnings, result = people.import_roster(con, roster, CFG)
    assert count == 3 and warnings == [] and result.conflicts == []
    assert people.actor_of(con, "email", "ada@old.example") == "ada"  # roster + mailmap
    assert people.actor_of(con, "github_login", "bob-stone") == "bob-stone"
    assert con.execute("SELECT manager_person_id FROM people WHERE person_id = 'ada'").fetchall() == [("grace",)]

    commits = con.sql(
        "SELECT c.sha, a.actor_id, c.authored_at FROM commits c JOIN actors a "
        "ON a.identity_id = 'email:' || lower(c.author_email) WHERE NOT a.is_bot"
    ).pl()
    with_teams = people.attach_teams(con, commits, time_col="authored_at")
    per_team = dict(with_teams.group_by("team_id").len().rows())
    # Ada: 2024-02-10 in payments, 2024-03-10 and 03-11 in platform; Bob 2024-03-12 in payments.
    assert per_team == {"payments": 2, "platform": 2}
    assert people.teams_at(con, dt.date(2024, 2, 29)).filter(person_id="ada")["team_id"].to_list() == ["payments"]
    assert people.teams_at(con, dt.date(2024, 3, 1)).filter(person_id="ada")["team_id"].to_list() == ["platform"]
    listed = people.list_people(con, at=dt.date(2024, 3, 5))
    assert listed.select("person_id", "teams").rows() == [("ada", "platform"), ("bob-stone", "payments"), ("grace", "platform")]

    # Re-importing the same roster changes nothing.
    before = con.sql("SELECT * FROM team_memberships ORDER BY ALL").fetchall()
    people.import_roster(con, roster, CFG)
    assert con.sql("SELECT * FROM team_memberships ORDER BY ALL").fetchall() == before


def test_csv_roster_says_the_same_as_yaml(con, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id,name,emails,logins,team,team_from,team_to,level,title,start_date,manager\n"
        "ada,Ada Lovelace,ada@example.com;ada@old.example,ada-l,payments,2023-01-09,2024-03-01,L6,Staff Engineer,2023-01-09,\n"
        "ada,Ada Lovelace,,,platform,2024-03-01,,,,,\n"
        ",Bob Stone,bob@example.com,,payments,,,,,2023-06-01,ada\n"
    )
    count, warnings, _ = people.import_roster(con, roster, CFG)
    assert count == 2 and warnings == []
    rows = con.sql("SELECT person_id, team_id, valid_from, valid_to FROM team_memberships ORDER BY ALL").fetchall()
    assert rows == [
        ("ada", "payments", dt.date(2023, 1, 9), dt.date(2024, 3, 1)),
        ("ada", "platform", dt.date(2024, 3, 1), None),
        ("bob-stone", "payments", dt.date(2023, 6, 1), None),
    ]
    assert con.execute("SELECT manager_person_id FROM people WHERE person_id = 'bob-stone'").fetchall() == [("ada",)]


def test_a_person_in_two_teams_at_once_counts_once_in_the_organisation(con, tmp_path):
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "- name: Cy\n  email: cy@example.com\n  teams: [{team: api, from: 2024-01-01}, {team: sre, from: 2024-01-01}]\n"
    )
    people.import_roster(con, roster, CFG)
    frame = people.teams_at(con, dt.date(2024, 6, 1))
    assert sorted(frame["team_id"]) == ["api", "sre"]
    assert frame["person_id"].n_unique() == 1


def test_bad_roster_is_rejected_with_lines_and_nothing_written(con, tmp_path):
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "- name: Ada\n"              # 1
        "  email: ada@example.com\n"  # 2
        "  start_date: yesterday\n"   # 3
        "- name: Bob\n"               # 4
        "  email: ADA@example.com\n"  # 5
        "  teams:\n"                  # 6
        "    - team: x\n"             # 7
        "      from: 2024-05-01\n"    # 8
        "      to: 2024-01-01\n"      # 9
        "- email: nameless@example.com\n"  # 10
        "  colour: blue\n"
    )
    with pytest.raises(people.RosterError) as info:
        people.import_roster(con, roster, CFG)
    message = str(info.value)
    assert "line 1: start_date 'yesterday' is not a date" in message
    assert "line 4: email:ada@example.com is also given to ada on line 1" in message
    assert "line 7: team x period ends (2024-01-01) before it starts (2024-05-01)" in message
    assert "line 10: unknown key(s) colour" in message and "line 10: a person needs a name" in message
    assert con.sql("SELECT count(*) FROM people").fetchall() == [(0,)]

    broken = tmp_path / "broken.yaml"
    broken.write_text("- name: Ada\n  emails: [a@x\n")
    with pytest.raises(people.RosterError, match=r"line 3, column 1"):
        people.load_roster(broken)

    csv_roster = tmp_path / "r.csv"
    csv_roster.write_text("name,emails,team,team_from\nAda,ada@example.com,api,2024-13-01\n")
    with pytest.raises(people.RosterError, match=r"line 2: team_from '2024-13-01' is not a date"):
        people.load_roster(csv_roster)


def test_merge_and_unmerge(con, shop):
    collect_git(con, shop.path, config=CFG)
    add_pr(con, 1, "bobby")
    add_pr(con, 2, "bobby")
    people.refresh(con, CFG)
    unresolved = people.unresolved(con)
    # Busiest first: bob@example.com has 1 commit (author) ... bobby has 2 PRs.
    assert unresolved["identity_id"][0] == "github_login:bobby"
    assert unresolved.filter(identity_id="github_login:bobby")["activity"].item() == 2

    assert unresolved.filter(identity_id="github_login:bobby")["maybe_person"].item() is None

    merge_id, _ = people.merge(con, "bobby", "bob@example.com", "same person: Bob told us", CFG)
    bob = people.actor_of(con, "email", "bob@example.com")
    assert bob == people.actor_of(con, "github_login", "bobby") == "auto:github_login:bobby"  # a login names an automatic person
    row = con.execute("SELECT from_person_id, into_person_id, identity_ids, reason FROM identity_merges").fetchall()
    assert row == [("github_login:bobby", "email:bob@example.com", ["github_login:bobby"], "same person: Bob told us")]
    with pytest.raises(people.MergeError, match="already the same person"):
        people.merge(con, "@bobby", "bob@example.com", "again", CFG)

    people.unmerge(con, merge_id, CFG)
    assert people.actor_of(con, "github_login", "bobby") == "github_login:bobby"
    assert people.actor_of(con, "email", "bob@example.com") == "email:bob@example.com"
    assert con.execute("SELECT undone_at IS NOT NULL FROM identity_merges").fetchall() == [(True,)]
    with pytest.raises(people.MergeError, match="already undone"):
        people.unmerge(con, merge_id, CFG)
    with pytest.raises(people.MergeError, match="needs a reason"):
        people.merge(con, "bobby", "bob@example.com", " ", CFG)
    with pytest.raises(people.MergeError, match="no person or identity"):
        people.merge(con, "nobody-here", "bob@example.com", "x", CFG)


def test_merging_two_roster_people_survives_refresh_and_undoes(con, tmp_path):
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "- {id: ada, name: Ada Lovelace, email: ada@example.com, team: api}\n"
        "- {id: ada2, name: A. Lovelace, email: ada@home.example}\n"
    )
    people.import_roster(con, roster, CFG)
    merge_id, _ = people.merge(con, "ada2", "ada", "duplicate roster entry", CFG)
    assert people.actor_of(con, "email", "ada@home.example") == "ada"
    people.refresh(con, CFG)
    assert people.actor_of(con, "email", "ada@home.example") == "ada"
    people.unmerge(con, merge_id, CFG)
    assert people.actor_of(con, "email", "ada@home.example") == "ada2"


def test_evidence_tying_two_roster_people_is_reported_not_guessed(con, tmp_path):
    con.execute("INSERT INTO login_emails VALUES ('shared-bot-user', 'ada@example.com', 'x', NULL)")
    con.execute("INSERT INTO login_emails VALUES ('shared-bot-user', 'bob@example.com', 'x', NULL)")
    roster = tmp_path / "roster.yaml"
    roster.write_text("- {id: ada, name: Ada, email: ada@example.com}\n- {id: bob, name: Bob, email: bob@example.com}\n")
    _, _, result = people.import_roster(con, roster, CFG)
    assert len(result.conflicts) == 1 and "ada, bob" in result.conflicts[0]
    assert people.actor_of(con, "email", "ada@example.com") == "ada"
    assert people.actor_of(con, "email", "bob@example.com") == "bob"
    assert people.actor_of(con, "github_login", "shared-bot-user") == "github_login:shared-bot-user"


def test_incident_commanders_named_by_name_are_roster_people(con, tmp_path):
    from impactlens.collectors import incidents

    incidents.load_file(con, Path(__file__).parents[1] / "fixtures" / "incidents" / "pagerduty.csv")
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "- {id: ada, name: Ada Lovelace, email: ada@example.com}\n"
        "- {id: bob1, name: Bob Stone, email: bob@example.com}\n"
        "- {id: bob2, name: Bob Stone, email: bob@other.example}\n"
    )
    people.import_roster(con, roster, CFG)
    assert people.actor_of(con, "name", "Ada Lovelace") == "ada"
    reason = con.sql("SELECT link_reason FROM identities WHERE identity_id = 'name:ada lovelace'").fetchall()
    assert reason == [("roster name",)]
    # Two roster people are called Bob Stone: the name stays unresolved rather than guessed.
    assert people.actor_of(con, "name", "Bob Stone") == "name:bob stone"


def test_a_pr_merged_on_github_ties_the_mergers_email_to_their_login(con, make_repo):
    repo = make_repo("web")
    repo.write("a.py", "1\n")
    repo.commit("Base", author="Ada <ada@example.com>", date="2024-03-01T10:00:00+00:00")
    repo.write("a.py", "2\n")
    squash = repo.commit("Add cache (#7)", author="Cy Young <cy@work.example>", date="2024-03-02T10:00:00+00:00",
                         committer="GitHub <noreply@github.com>")
    repo.write("a.py", "3\n")
    other = repo.commit("Tune cache (#8)", author="Cy Young <cy@home.example>", date="2024-03-03T10:00:00+00:00",
                        committer="GitHub <noreply@github.com>")
    collect_git(con, repo.path, config=CFG)
    for number, author, merger, sha in ((7, "cy-y", "cy-y", squash), (8, "dee", "cy-y", other)):
        con.execute(
            "INSERT INTO pull_requests (repo_id, number, title, author_login, state, created_at, merged_at, "
            "merged_by_login, merge_commit_sha) VALUES ('web', ?, 't', ?, 'merged', TIMESTAMPTZ '2024-03-01 00:00:00+00', "
            "TIMESTAMPTZ '2024-03-02 10:00:00+00', ?, ?)",
            [number, author, merger, sha],
        )
    people.refresh(con, CFG)
    assert people.actor_of(con, "email", "cy@work.example") == people.actor_of(con, "github_login", "cy-y") == "auto:github_login:cy-y"
    # PR 8 was squashed by cy-y but opened by dee: its author email says nothing certain about cy-y.
    assert people.actor_of(con, "email", "cy@home.example") == "email:cy@home.example"
    assert con.sql("SELECT link_reason FROM identities WHERE identity_id = 'email:cy@work.example'").fetchall() == [("github_merge",)]


def test_an_identity_seen_only_without_a_time_is_kept(con):
    # A pending review has no submission time; its reviewer is still an identity.
    con.execute(
        "INSERT INTO reviews (repo_id, review_id, pr_number, reviewer_login, state, submitted_at) "
        "VALUES ('web', 'r1', 1, 'pat', 'PENDING', NULL)"
    )
    people.refresh(con, CFG)
    assert con.sql("SELECT source, first_seen_at FROM identities WHERE identity_id = 'github_login:pat'").fetchall() == [("github", None)]


def test_unresolved_suggests_a_person_of_the_same_name(con, shop, tmp_path):
    collect_git(con, shop.path, config=CFG)
    roster = tmp_path / "roster.yaml"
    roster.write_text("- {id: bob, name: Bob Stone, login: bob-stone}\n")
    people.import_roster(con, roster, CFG)
    frame = people.unresolved(con)
    # bob@example.com's commits say "Bob Stone": suggested, not linked.
    assert frame.filter(identity_id="email:bob@example.com")["maybe_person"].item() == "bob"
    assert people.actor_of(con, "email", "bob@example.com") == "email:bob@example.com"


def test_teams_own_services_from_the_roster(con, tmp_path):
    from impactlens.collectors import incidents

    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER_YAML)
    people.import_roster(con, roster, CFG)
    assert people.service_owners(con).rows() == [("payments", "checkout"), ("payments", "payments-api")]
    incidents.load_file(con, Path(__file__).parents[1] / "fixtures" / "incidents" / "pagerduty.csv")
    # PagerDuty's payments-api incident (13:00 to 14:15 UTC) is the payments team's; the database one is no one's.
    owned = con.sql(
        "SELECT s.team_id, i.external_id, epoch(i.resolved_at - i.opened_at) / 60 FROM incidents i "
        "JOIN team_services s ON lower(s.service) = lower(i.service)"
    ).fetchall()
    assert owned == [("payments", "1042", 75.0)]
    bad = tmp_path / "bad.yaml"
    bad.write_text("teams:\n  - {id: x, owns: [a]}\npeople: []\n")
    with pytest.raises(people.RosterError, match=r"line 2: unknown key\(s\) owns"):
        people.load_roster(bad)
