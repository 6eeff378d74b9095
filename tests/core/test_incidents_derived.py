"""Incident attribution to deployments, incidents from labelled issues, and reverts as incidents."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from impactlens import config as config_mod
from impactlens.collectors import deployments, incidents
from impactlens.collectors.git import collect_git
from impactlens.derive.incidents import derive_incidents

CFG = config_mod.DEFAULTS
UTC = dt.timezone.utc
TAGGER = {"GIT_COMMITTER_NAME": "Release Bot", "GIT_COMMITTER_EMAIL": "release@example.com"}


def when(text: str) -> str:
    return text + "T10:00:00+00:00"


@pytest.fixture
def shop(make_repo):
    """A (03-01, tag v1.0), B (03-05, tag v1.1), C (03-07, not deployed), D (03-09, tag v1.2)."""
    repo = make_repo("shop")
    shas = {}
    for name, day, tag in (("A", "2024-03-01", "v1.0"), ("B", "2024-03-05", "v1.1"),
                           ("C", "2024-03-07", None), ("D", "2024-03-09", "v1.2")):
        repo.write("app.py", name + "\n")
        shas[name] = repo.commit(f"Change {name}", date=when(day))
        if tag:
            repo.git("tag", tag)
    repo.shas = shas
    return repo


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["id,title,severity,service,opened,acknowledged,resolved,commander,responders,postmortem_link"]
    lines += [f'{i},"{title}",SEV2,shop,{opened},,,,,' for i, title, opened in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_each_incident_names_its_deployment_and_why(con, shop, tmp_path):
    collect_git(con, shop.path, repo_id="acme/shop", config=CFG)
    export = write_csv(tmp_path / "inc.csv", [
        ("I-1", "Errors after deploy", "2024-03-03T08:00:00Z"),  # between v1.0 and v1.1
        ("I-2", "Before anything shipped", "2024-02-20T08:00:00Z"),
        ("I-3", f"Regression from {shas_short(shop, 'A')}", "2024-03-06T08:00:00Z"),  # names A, opened after v1.1
        ("I-4", f"Caused by {shas_short(shop, 'C')}", "2024-03-10T08:00:00Z"),  # C shipped in v1.2
        ("I-5", "cafe1234 is a hex word, not a commit here", "2024-03-06T08:00:00Z"),
    ])
    # Incidents first, deployments later: attribution follows when deployments arrive.
    incidents.load_file(con, export, repo_id="acme/shop")
    assert con.sql("SELECT count(*) FROM incidents WHERE deployment_id IS NOT NULL").fetchall() == [(0,)]
    deployments.collect_tags(con, shop.path, CFG, repo_id="acme/shop", patterns=["v*"])
    got = {r[0]: r[1:] for r in con.sql("SELECT external_id, deployment_id, attribution_reason FROM incidents").fetchall()}

    def dep(tag):
        return f"tag:acme/shop:{tag}"

    assert got["I-1"] == (dep("v1.0"), "latest successful production deployment of acme/shop before it opened: v1.0 at 2024-03-01 10:00 UTC")
    assert got["I-2"] == (None, "no successful production deployment of acme/shop before it opened")
    assert got["I-3"] == (dep("v1.0"), f"its text names {shop.shas['A'][:12]}, deployed as v1.0 at 2024-03-01 10:00 UTC")
    assert got["I-4"] == (
        dep("v1.2"),
        f"its text names {shop.shas['C'][:12]} (committed 2024-03-07 10:00 UTC); first production deployment of "
        "acme/shop after it: v1.2 at 2024-03-09 10:00 UTC",
    )
    assert got["I-5"][0] == dep("v1.1")  # an unknown hex word is not a sha: latest before it opened
    cause = dict(con.sql("SELECT external_id, cause_sha FROM incidents").fetchall())
    assert cause["I-3"] == shop.shas["A"] and cause["I-5"] is None


def shas_short(repo, name: str) -> str:
    return repo.shas[name][:10]


def add_issue(con, number, labels, state="open", closed=None, assignees=()):
    con.execute(
        "INSERT OR REPLACE INTO issues (repo_id, number, title, state, created_at, closed_at, labels, assignees, url) "
        "VALUES ('acme/shop', ?, ?, ?, TIMESTAMPTZ '2024-03-02 10:00:00+00', ?, ?, ?, ?)",
        [number, f"Issue {number}", state, closed, list(labels), list(assignees),
         f"https://github.com/acme/shop/issues/{number}"],
    )


def test_labelled_issues_are_incidents(con):
    add_issue(con, 1, ["incident", "sev2"], "closed", "2024-03-02 13:30:00+00", ["ada-l", "bob-stone"])
    add_issue(con, 2, ["bug"])
    add_issue(con, 3, ["Outage"])
    result = derive_incidents(con, CFG)
    assert (result.issues, result.reverts) == (2, 0)
    got = {r[0]: r[1:] for r in con.sql(
        "SELECT external_id, status, opened_at, resolved_at, severity, commander, responders FROM incidents"
    ).fetchall()}
    assert got["acme/shop#1"] == ("resolved", dt.datetime(2024, 3, 2, 10, tzinfo=UTC),
                                  dt.datetime(2024, 3, 2, 13, 30, tzinfo=UTC), "sev2", "@ada-l", ["@ada-l", "@bob-stone"])
    assert got["acme/shop#3"][:3] == ("open", dt.datetime(2024, 3, 2, 10, tzinfo=UTC), None)
    derive_incidents(con, CFG)
    assert con.sql("SELECT count(*) FROM incidents").fetchall() == [(2,)]  # stored once
    add_issue(con, 3, ["wontfix"])  # label removed
    derive_incidents(con, CFG)
    assert con.sql("SELECT external_id FROM incidents").fetchall() == [("acme/shop#1",)]


def test_reverts_are_incidents_when_switched_on(con, make_repo, tmp_path):
    repo = make_repo("shop")
    repo.write("app.py", "base\n")
    repo.commit("Base", date=when("2024-03-01"))
    repo.write("cache.py", "cache\n")
    cache = repo.commit("Add cache", date=when("2024-03-02"))
    env = {"GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": "bob@example.com", "GIT_COMMITTER_NAME": "Bob",
           "GIT_COMMITTER_EMAIL": "bob@example.com", "GIT_AUTHOR_DATE": "2024-03-02T16:00:00+00:00",
           "GIT_COMMITTER_DATE": "2024-03-02T16:00:00+00:00"}
    repo.git("revert", "--no-edit", cache, env=env)
    revert_sha = repo.git("rev-parse", "HEAD")
    collect_git(con, repo.path, repo_id="acme/shop", config=CFG)
    # A PR reverted with GitHub's Revert button (branch revert-10-...), and a revert of that revert.
    for number, title, head, merged in (
        (10, "Add search", "search", "2024-03-03 09:00:00+00"),
        (11, 'Revert "Add search"', "revert-10-search", "2024-03-03 12:00:00+00"),
        (12, 'Revert "Revert "Add search""', "revert-11-revert-10-search", "2024-03-04 09:00:00+00"),
    ):
        con.execute(
            "INSERT INTO pull_requests (repo_id, number, title, author_login, state, created_at, merged_at, head_branch, "
            "merge_commit_sha, url) VALUES ('acme/shop', ?, ?, 'ada-l', 'closed', TIMESTAMPTZ '2024-03-01 00:00:00+00', ?, ?, ?, ?)",
            [number, title, merged, head, f"{number:040x}", f"https://github.com/acme/shop/pull/{number}"],
        )
    assert derive_incidents(con, CFG).reverts == 0  # off by default
    toml = tmp_path / "impactlens.toml"
    toml.write_text("[incidents]\nreverts_as_incidents = true\n")
    on = config_mod.load(toml)
    assert derive_incidents(con, on).reverts == 2
    got = {r[0]: r[1:] for r in con.sql(
        "SELECT external_id, opened_at, resolved_at, cause_sha, status FROM incidents WHERE source = 'revert'"
    ).fetchall()}
    assert got == {
        # From the original PR's merge to the revert PR's merge: 3 hours.
        "acme/shop#11": (dt.datetime(2024, 3, 3, 9, tzinfo=UTC), dt.datetime(2024, 3, 3, 12, tzinfo=UTC), f"{10:040x}", "resolved"),
        # git revert, no PR: from the original commit to the revert commit: 6 hours.
        f"acme/shop@{revert_sha[:12]}": (dt.datetime(2024, 3, 2, 10, tzinfo=UTC), dt.datetime(2024, 3, 2, 16, tzinfo=UTC), cache, "resolved"),
    }
    derive_incidents(con, on)
    assert con.sql("SELECT count(*) FROM incidents").fetchall() == [(2,)]
    derive_incidents(con, CFG)  # switched off again: the revert incidents go
    assert con.sql("SELECT count(*) FROM incidents").fetchall() == [(0,)]
