"""Bots and AI reviewers: default and configured patterns, flags in the warehouse, no bot in a human figure."""

from __future__ import annotations

import pytest

from impactlens import bots, people
from impactlens import config as config_mod
from impactlens.collectors.git import collect_git

CFG = config_mod.DEFAULTS


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("github_login", "dependabot[bot]", "bot"),
        ("github_login", "renovate[bot]", "bot"),
        ("github_login", "github-actions[bot]", "bot"),
        ("github_login", "copilot-pull-request-reviewer[bot]", "ai_reviewer"),
        ("github_login", "Copilot", "ai_reviewer"),
        ("github_login", "coderabbitai[bot]", "ai_reviewer"),
        ("github_login", "ada-l", None),
        ("github_login", "bob", None),  # "*[bot]" is a literal suffix, not the class [bot]
        ("github_login", "pat", None),
        ("email", "49699333+dependabot[bot]@users.noreply.github.com", "bot"),
        ("email", "136622811+coderabbitai[bot]@users.noreply.github.com", "ai_reviewer"),
        ("email", "noreply@github.com", "bot"),
        ("email", "jenkins@ci.example.com", "bot"),
        ("email", "12345+ada-l@users.noreply.github.com", None),
        ("email", "ada@example.com", None),
        ("name", "dependabot", None),
    ],
)
def test_default_patterns(kind, value, expected):
    assert bots.rules(CFG).kind(kind, value) == expected


def test_config_extends_patterns_and_names_people_that_look_like_bots(tmp_path):
    toml = tmp_path / "impactlens.toml"
    toml.write_text(
        '[bots]\nextra_login_patterns = ["deploy-o-matic"]\nextra_ai_reviewer_patterns = ["review-gpt*"]\n'
        'extra_email_patterns = ["*@automation.example.com"]\nnot_bots = ["robot-ross@example.com", "mergify-fan"]\n'
    )
    rules = bots.rules(config_mod.load(toml))
    assert rules.login_kind("Deploy-O-Matic") == "bot"
    assert rules.login_kind("review-gpt-app[bot]") == "ai_reviewer"
    assert rules.email_kind("svc@automation.example.com") == "bot"
    assert rules.email_kind("robot-ross@example.com") is None  # would match *bot@* without not_bots... and does not
    assert rules.login_kind("mergify-fan") is None
    assert rules.login_kind("dependabot[bot]") == "bot"  # defaults still apply


def test_bots_are_kept_but_left_out_of_human_figures(con, make_repo):
    repo = make_repo("app")
    repo.write("a.py", "1\n")
    repo.commit("Feature", author="Ada <ada@example.com>", date="2024-03-01T10:00:00+00:00")
    repo.write("requirements.txt", "x==2\n")
    repo.commit("Bump x", author="dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
                date="2024-03-02T10:00:00+00:00")
    repo.write("a.py", "2\n")
    repo.commit("Fix", author="Bob <bob@example.com>", date="2024-03-03T10:00:00+00:00")
    collect_git(con, repo.path, config=CFG)
    for number, login in ((1, "ada"), (2, "dependabot[bot]"), (3, "bob"), (4, "renovate[bot]")):
        con.execute(
            "INSERT INTO pull_requests (repo_id, number, title, author_login, state, created_at) "
            "VALUES ('app', ?, 't', ?, 'open', TIMESTAMPTZ '2024-03-01 09:00:00+00')",
            [number, login],
        )
    # PR 1: the AI reviewer answers first (09:05), Bob later (11:00). PR 3: only the AI reviewer.
    for review_id, number, login, at in (
        ("r1", 1, "coderabbitai[bot]", "2024-03-01 09:05:00+00"),
        ("r2", 1, "bob", "2024-03-01 11:00:00+00"),
        ("r3", 3, "coderabbitai[bot]", "2024-03-01 09:06:00+00"),
    ):
        con.execute(
            "INSERT INTO reviews (repo_id, review_id, pr_number, reviewer_login, state, submitted_at) "
            "VALUES ('app', ?, ?, ?, 'COMMENTED', ?)",
            [review_id, number, login, at],
        )
    result = people.refresh(con, CFG)

    # Kept in the warehouse, flagged.
    assert con.sql("SELECT count(*) FROM pull_requests").fetchall() == [(4,)]
    flags = dict(con.sql("SELECT number, author_is_bot FROM pull_requests").fetchall())
    assert flags == {1: False, 2: True, 3: False, 4: True}
    assert dict(con.sql("SELECT review_id, reviewer_is_bot FROM reviews").fetchall()) == {"r1": True, "r2": False, "r3": True}
    # dependabot's login and no-reply email are one automatic person, a bot.
    person = people.actor_of(con, "github_login", "dependabot[bot]")
    assert person == people.actor_of(con, "email", "49699333+dependabot[bot]@users.noreply.github.com")
    assert con.execute("SELECT is_bot, bot_kind FROM people WHERE person_id = ?", [person]).fetchall() == [(True, "bot")]
    assert result.bots >= 4  # dependabot login + email, renovate, coderabbitai

    # Human figures: commit authors are Ada and Bob; PR authors ada and bob.
    human_authors = con.sql(
        "SELECT count(DISTINCT a.actor_id) FROM commits c JOIN actors a "
        "ON a.identity_id = 'email:' || lower(c.author_email) WHERE NOT a.is_bot"
    ).fetchall()[0][0]
    assert human_authors == 2
    human_prs = con.sql(
        "SELECT count(*) FROM pull_requests p JOIN actors a ON a.identity_id = 'github_login:' || lower(p.author_login) "
        "WHERE NOT a.is_bot"
    ).fetchall()[0][0]
    assert human_prs == 2
    # First human review of PR 1 is Bob's at 11:00, not the AI reviewer's at 09:05; PR 3 has none.
    first_human = dict(con.sql(
        "SELECT p.number, min(r.submitted_at) FILTER (WHERE NOT a.is_bot) FROM pull_requests p "
        "LEFT JOIN reviews r ON r.pr_number = p.number LEFT JOIN actors a "
        "ON a.identity_id = 'github_login:' || lower(r.reviewer_login) WHERE p.number IN (1, 3) GROUP BY 1"
    ).fetchall())
    assert first_human[1].hour == 11 and first_human[3] is None
    # AI review coverage: 2 of the 2 human PRs had an AI review.
    ai = con.sql(
        "SELECT count(DISTINCT r.pr_number) FROM reviews r JOIN actors a "
        "ON a.identity_id = 'github_login:' || lower(r.reviewer_login) WHERE a.bot_kind = 'ai_reviewer'"
    ).fetchall()[0][0]
    assert ai == 2


def test_an_account_github_calls_a_bot_is_one_even_without_a_pattern(con):
    con.execute(
        "INSERT INTO pull_requests (repo_id, number, title, author_login, author_is_bot, state, created_at) "
        "VALUES ('app', 1, 't', 'acme-release-train', true, 'open', TIMESTAMPTZ '2024-03-01 09:00:00+00')"
    )
    people.refresh(con, CFG)
    assert con.sql("SELECT is_bot, bot_kind FROM actors WHERE identity_id = 'github_login:acme-release-train'").fetchall() == [(True, "bot")]
