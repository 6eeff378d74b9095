"""Every GraphQL query the GitHub collector sends is valid against GitHub's published schema
(tests/fixtures/github/schema.graphql.gz, from @octokit/graphql-schema), and costs what we claim."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from github_server import Data, GitHubServer, example_repository, github_schema, query_cost
from impactlens import config as config_mod
from impactlens.collectors.github import collect_github, queries


@pytest.mark.parametrize("name", sorted(queries.all_queries()))
def test_query_is_valid_against_githubs_schema(name):
    text = queries.all_queries()[name]
    assert [e.message for e in validate(github_schema(), parse(text))] == []


def test_the_schema_check_catches_a_misspelt_field():
    wrong = queries.PULL_REQUESTS.replace("changedFiles", "changedFile", 1)
    messages = [e.message for e in validate(github_schema(), parse(wrong))]
    assert messages == ["Cannot query field 'changedFile' on type 'PullRequest'. Did you mean 'changedFiles'?"]


def test_every_query_sent_in_a_collection_is_valid(con):
    data = Data()
    example_repository(data)
    repo = data.repositories["acme/api"]
    first = repo["pullRequests"][0]
    for i in range(25):  # enough reviews and comments to need the follow-up queries
        review = data.review(first, author=data.user(f"r{i}"), state="COMMENTED", submitted="2024-03-01T09:30:00Z")
        data.comment(first, author=data.user("ada"), created="2024-03-01T09:30:00Z", body="more")
    for _ in range(25):
        data.review_comment(first, review, author=data.user("bob"), created="2024-03-01T09:40:00Z", body="x",
                            path="a.py")
    with GitHubServer(data) as server:
        collect_github(con, "acme/api", client=server.client(), config=config_mod.load(None))
    sent = {parse(q).definitions[0].name.value for q in server.queries}
    assert sent == {"Repository", "PullRequests", "Issues", "FollowUp"}
    for text in server.queries:
        assert validate(github_schema(), parse(text)) == []


def test_cost_follows_githubs_formula():
    # 1 request for the PR list + 100 for each of its per-PR connections: 7 lists at PR level
    # (labels, commits, closingIssuesReferences, reviewRequests, timelineItems, reviews, comments)
    # and inline comments of 20 reviews on each PR: (1 + 700 + 2000) / 100 = 27.
    variables = {"owner": "o", "name": "n", "first": 100, "after": None}
    assert query_cost(parse(queries.PULL_REQUESTS), variables) == round((1 + 7 * 100 + 100 * 20) / 100)
