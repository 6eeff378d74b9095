"""Deployments from the tags of a real repository and from GitHub releases, stored once."""

from __future__ import annotations

import datetime as dt

import pytest

from impactlens import config as config_mod
from impactlens.collectors import deployments
from impactlens.derive.releases import deployments_from_releases
from impactlens.errors import CollectionError

CFG = config_mod.DEFAULTS
UTC = dt.timezone.utc
TAGGER = {"GIT_COMMITTER_NAME": "Release Bot", "GIT_COMMITTER_EMAIL": "release@example.com"}


@pytest.fixture
def tagged(make_repo):
    """v1.0 (lightweight) on A, v1.1 (annotated, tagged two hours after its commit) on B, nightly on B."""
    repo = make_repo("shop")
    repo.write("a.py", "1\n")
    a = repo.commit("A", date="2024-03-01T10:00:00+00:00")
    repo.git("tag", "v1.0")
    repo.write("a.py", "2\n")
    b = repo.commit("B", date="2024-03-05T10:00:00+00:00")
    repo.git("tag", "-a", "v1.1", "-m", "Release 1.1", env={**TAGGER, "GIT_COMMITTER_DATE": "2024-03-05T12:00:00+00:00"})
    repo.git("tag", "nightly-2024-03-05")
    repo.shas = {"A": a, "B": b}
    return repo


def deployment_rows(con):
    return con.sql(
        "SELECT deployment_id, source, environment, is_production, sha, ref, created_at, status, url "
        "FROM deployments ORDER BY deployment_id"
    ).fetchall()


def test_tags_matching_the_pattern_are_deployments_stored_once(con, tagged):
    result = deployments.collect_tags(con, tagged.path, CFG, repo_id="acme/shop", patterns=["v*"])
    assert (result.seen, result.stored, result.skipped) == (3, 2, 1)
    first = deployment_rows(con)
    assert first == [
        ("tag:acme/shop:v1.0", "git_tag", "production", True, tagged.shas["A"], "v1.0",
         dt.datetime(2024, 3, 1, 10, tzinfo=UTC), "success", None),
        # An annotated tag deploys at its tagger date, not its commit's date.
        ("tag:acme/shop:v1.1", "git_tag", "production", True, tagged.shas["B"], "v1.1",
         dt.datetime(2024, 3, 5, 12, tzinfo=UTC), "success", None),
    ]
    deployments.collect_tags(con, tagged.path, CFG, repo_id="acme/shop", patterns=["v*"])
    assert deployment_rows(con) == first


def test_patterns_come_from_the_config(con, tagged, tmp_path):
    with pytest.raises(CollectionError, match="no tag patterns"):
        deployments.collect_tags(con, tagged.path, CFG, repo_id="acme/shop")
    toml = tmp_path / "impactlens.toml"
    toml.write_text('[deployments]\ntag_patterns = ["nightly-*"]\n')
    result = deployments.collect_tags(con, tagged.path, config_mod.load(toml), repo_id="acme/shop")
    assert result.stored == 1
    assert con.sql("SELECT ref FROM deployments").fetchall() == [("nightly-2024-03-05",)]


def test_a_release_and_its_tag_are_one_deployment(con, tagged):
    deployments.collect_tags(con, tagged.path, CFG, repo_id="acme/shop", patterns=["v*"])
    for release_id, tag, draft, pre, published in (
        ("1", "v1.1", False, False, "2024-03-05 13:00:00+00"),
        ("2", "v2.0-rc1", False, True, "2024-03-08 09:00:00+00"),
        ("3", "v2.0", True, False, None),
    ):
        con.execute(
            "INSERT INTO releases (repo_id, release_id, tag_name, author_login, is_draft, is_prerelease, "
            "published_at, target_commitish, url) VALUES ('acme/shop', ?, ?, 'ada-l', ?, ?, ?, 'main', ?)",
            [release_id, tag, draft, pre, published, f"https://github.com/acme/shop/releases/tag/{tag}"],
        )
    result = deployments_from_releases(con)
    assert (result.seen, result.stored, result.skipped) == (3, 2, 1)
    got = {r[0]: r for r in deployment_rows(con)}
    assert len(got) == 3  # v1.0 (tag), v1.1 (tag + release, once), v2.0-rc1 (release)
    v11 = got["tag:acme/shop:v1.1"]
    assert v11[1] == "github_release" and v11[4] == tagged.shas["B"]  # the tag's exact commit is kept
    assert v11[6] == dt.datetime(2024, 3, 5, 13, tzinfo=UTC)  # published time
    assert v11[8] == "https://github.com/acme/shop/releases/tag/v1.1"
    rc = got["tag:acme/shop:v2.0-rc1"]
    assert rc[2:5] == ("prerelease", False, None)  # 'main' is a branch, not a sha
    before = deployment_rows(con)
    deployments_from_releases(con)
    deployments.collect_tags(con, tagged.path, CFG, repo_id="acme/shop", patterns=["v*"])
    assert deployment_rows(con) == before


def test_not_a_repository(con, tmp_path):
    with pytest.raises(CollectionError, match="not a git repository"):
        deployments.collect_tags(con, tmp_path, CFG, patterns=["v*"])
