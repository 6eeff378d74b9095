"""GitHub payloads -> warehouse values: logins, bot flags, closing keywords, deployment outcomes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from impactlens import config as config_mod
from impactlens.collectors.github import rows
from impactlens.collectors.github.rows import Actors


def cfg(**bots):
    return config_mod.from_dict({"bots": bots})


@pytest.mark.parametrize(
    ("actor", "login", "is_bot"),
    [
        ({"__typename": "User", "login": "ada"}, "ada", False),
        ({"__typename": "Bot", "login": "dependabot"}, "dependabot[bot]", True),  # GraphQL drops "[bot]"
        ({"__typename": "Bot", "login": "acme-deployer"}, "acme-deployer[bot]", True),  # no pattern needed
        ({"__typename": "User", "login": "renovate-helper"}, "renovate-helper", False),  # a person: anchored patterns
        ({"__typename": "User", "login": "release-bot"}, "release-bot", True),  # pattern *-bot
        ({"__typename": "User", "login": "copilot-pull-request-reviewer[bot]"}, "copilot-pull-request-reviewer[bot]", True),
        ({"__typename": "User", "login": "bob"}, "bob", False),  # "*[bot]" is literal: no b/o/t class
        ({"__typename": "Mannequin", "login": "imported-user"}, "imported-user", False),
        (None, None, False),  # a deleted account
    ],
)
def test_logins_and_bot_flags(actor, login, is_bot):
    actors = Actors(cfg())
    assert (actors.login(actor), actors.is_bot(actor)) == (login, is_bot)


def test_not_bots_wins_over_patterns_and_account_type():
    actors = Actors(cfg(not_bots=["Release-Bot", "acme-deployer[bot]"]))
    assert actors.is_bot({"__typename": "User", "login": "release-bot"}) is False
    assert actors.is_bot({"__typename": "Bot", "login": "acme-deployer"}) is False


def test_requested_reviewers_are_logins_or_org_slash_team():
    assert rows.reviewer_name({"__typename": "Team", "slug": "core", "organization": {"login": "acme"}}) == "acme/core"
    assert rows.reviewer_name({"__typename": "Bot", "login": "coderabbitai"}) == "coderabbitai[bot]"
    assert rows.reviewer_name(None) is None


def test_linked_issues_join_githubs_references_and_closing_keywords_of_this_repository():
    pr = {
        "body": "Fixes #12, closes: #3 and resolved acme/api#40.\nRefs #7; fixes other/repo#9; Resolves ACME/API#41",
        "closingIssuesReferences": {"nodes": [
            {"number": 5, "repository": {"nameWithOwner": "acme/api"}},
            {"number": 6, "repository": {"nameWithOwner": "acme/other"}},
        ]},
    }
    assert rows.linked_issues("acme/api", pr) == [3, 5, 12, 40, 41]


def at(minute: int) -> str:
    return f"2024-05-01T10:{minute:02d}:00Z"


@pytest.mark.parametrize(
    ("statuses", "latest", "expected"),
    [
        ([], None, ("pending", None)),
        ([("QUEUED", 1)], ("QUEUED", 1), ("pending", None)),
        ([("IN_PROGRESS", 2), ("QUEUED", 1)], ("IN_PROGRESS", 2), ("in_progress", None)),
        ([("INACTIVE", 9), ("SUCCESS", 5), ("IN_PROGRESS", 2)], ("INACTIVE", 9), ("success", at(5))),
        ([("FAILURE", 4), ("SUCCESS", 3)], ("FAILURE", 4), ("failure", at(4))),  # a later failure decides
        ([("INACTIVE", 3)], ("INACTIVE", 3), ("inactive", None)),
        ([("ERROR", 6)], ("ERROR", 6), ("error", at(6))),
    ],
)
def test_deployment_outcome(statuses, latest, expected):
    deployment = {
        "statuses": {"nodes": [{"state": s, "createdAt": at(m)} for s, m in statuses]},
        "latestStatus": {"state": latest[0], "createdAt": at(latest[1])} if latest else None,
    }
    status, finished = rows.deployment_status(deployment)
    want_status, want_time = expected
    assert status == want_status
    assert finished == (datetime.fromisoformat(want_time).astimezone(timezone.utc) if want_time else None)

