"""Defects: bug-fix commits, reverts and SZZ on a real git repository collected by the git collector.

History of app.py (one line per commit):
  c1 ada  "Add app"                       a, b, c
  c2 bob  "Speed up b"                    b -> B        (the line the fix later changes)
  c3 ada  "fix: crash when B is empty"    B -> b2       (a fix by its message)
  c4 bob  "Handle empty input (#7)"       adds d        (issue 7 is labelled 'type: bug')
  c5 ada  'Revert "Handle empty input (#7)"' with "This reverts commit <c4>."
"""

from __future__ import annotations

import pytest

from impactlens.collectors.git import collect_git
from impactlens.errors import CollectionError
from impactlens.metrics import classify_commits, defect_rate, szz
from builders import add_person, frames_of, insert, ts

ADA = "Ada <ada@example.com>"
BOB = "Bob <bob@example.com>"


@pytest.fixture
def history(con, make_repo):
    repo = make_repo("app")
    repo.write("app.py", "a\nb\nc\n")
    c1 = repo.commit("Add app", author=ADA, date="2024-01-01T10:00:00+00:00")
    repo.write("app.py", "a\nB\nc\n")
    c2 = repo.commit("Speed up b", author=BOB, date="2024-01-02T10:00:00+00:00")
    repo.write("app.py", "a\nb2\nc\n")
    c3 = repo.commit("fix: crash when B is empty", author=ADA, date="2024-01-03T10:00:00+00:00")
    repo.write("app.py", "a\nb2\nc\nd\n")
    c4 = repo.commit("Handle empty input (#7)", author=BOB, date="2024-01-04T10:00:00+00:00")
    repo.write("app.py", "a\nb2\nc\n")
    c5 = repo.commit(f'Revert "Handle empty input (#7)"\n\nThis reverts commit {c4}.', author=ADA,
                     date="2024-01-05T10:00:00+00:00")
    collect_git(con, repo.path, repo_id="acme/app")
    insert(con, "issues", repo_id="acme/app", number=7, title="Crash on empty input", state="closed",
           created_at=ts("2023-12-30 10:00"), labels=["type: bug", "p1"])
    add_person(con, "p-ada", emails=("ada@example.com",))
    add_person(con, "p-bob", emails=("bob@example.com",))
    return repo, frames_of(con), {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5}


def test_bug_fixes_and_reverts(history):
    _, frames, sha = history
    rows = {r["sha"]: r for r in classify_commits(frames).collect().iter_rows(named=True)}
    assert rows[sha["c3"]]["is_bug_fix"] and rows[sha["c3"]]["fix_reason"] == "message"
    assert rows[sha["c4"]]["is_bug_fix"] and rows[sha["c4"]]["fix_reason"] == "bug_issue"
    assert not rows[sha["c1"]]["is_bug_fix"] and not rows[sha["c2"]]["is_bug_fix"]
    assert rows[sha["c5"]]["is_revert"] and not rows[sha["c4"]]["is_revert"]


def test_szz_finds_the_commit_that_introduced_the_fixed_line(history):
    repo, frames, sha = history
    found = szz(repo.path, "acme/app", [sha["c3"]])
    assert found.rows() == [("acme/app", sha["c3"], sha["c2"], "app.py")]
    rates = defect_rate(frames, found).collect().row(0, named=True)
    # 5 commits, 2 bug fixes (c3, c4), 1 revert, 1 bug-introducing commit (c2): rate 1/5.
    assert (rates["commits"], rates["bug_fixes"], rates["reverts"], rates["bug_introducing_commits"]) == (5, 2, 1, 1)
    assert rates["defect_rate"] == pytest.approx(0.2)
    # A person sees their own: bob wrote c2 and c4, one of which introduced a bug.
    mine = defect_rate(frames, found, by="person").collect()
    bob = mine.filter(mine["person_key"] == "p-bob").row(0, named=True)
    assert (bob["commits"], bob["bug_introducing_commits"]) == (2, 1)


def test_szz_leaves_the_clone_as_it_was(history):
    repo, _, sha = history
    config = repo.path / ".git" / "config"
    before = config.read_bytes()
    szz(repo.path, "acme/app", [sha["c3"]])
    assert config.read_bytes() == before
    assert b"markUnblamableLines" not in config.read_bytes()


def test_defect_rate_without_szz_is_unknown_not_zero(history):
    _, frames, _ = history
    row = defect_rate(frames).collect().row(0, named=True)
    assert row["bug_introducing_commits"] is None and row["defect_rate"] is None


def test_szz_on_a_path_that_is_not_a_repository(tmp_path):
    with pytest.raises(CollectionError, match="not a git repository"):
        szz(tmp_path / "nowhere", "x/y", ["abc"])


LABELS = {  # issue number: (labels, a bug?)
    1: (["bug"], True), 2: (["Bug"], True), 3: (["bugs"], True), 4: (["kind/bug"], True),
    5: (["kind/bugfix"], True), 6: (["type: bug"], True), 7: (["defect"], True), 8: (["regression"], True),
    9: (["debug"], False), 10: (["debugging"], False), 11: (["enhancement", "p1"], False), 12: ([], False),
    13: (["debugging", "Regression"], True),  # one bug label is enough
}


def test_bug_labels_contain_bug_defect_or_regression_but_not_debug(con):
    # A label is a bug label when, lower-cased, it contains "bug", "defect" or "regression", and the "bug"
    # is not part of "debug". Issues 1-8 and 13 are bugs; 9 (debug), 10 (debugging), 11 and 12 are not.
    from impactlens.metrics import bug_issues

    for number, (labels, _) in LABELS.items():
        insert(con, "issues", repo_id="acme/api", number=number, title=f"Issue {number}", state="open",
               created_at=ts("2024-01-01 09:00"), labels=labels)
    got = sorted(bug_issues(frames_of(con)).collect()["number"].to_list())
    assert got == [n for n, (_, bug) in LABELS.items() if bug] == [1, 2, 3, 4, 5, 6, 7, 8, 13]


def test_a_closing_keyword_makes_a_bug_fix_only_through_a_bug_issue(con):
    """acme/api issues: #12 'Add dark mode' (enhancement), #13 'Crash on login' (bugs), #14 (kind/bugfix).

    c1 'Add dark mode' | 'Closes #12'          closes a feature issue, no fix wording  -> not a bug fix
    c2 'Handle empty password' | 'Closes #13'  closes a bug issue                       -> bug_issue
    c3 'Guard save path' | 'Resolves #14'      resolves a bug issue                     -> bug_issue
    c4 'Port the fix from other/repo#13'       another repository's #13                 -> not a bug fix
    c5 'Fixes #12'                             GitHub fix keyword: fix wording          -> message
    c6 'Docs: describe the hotfix process'     a mention of hotfix                      -> not a bug fix
    c7 'hotfix: null session'                  starts with hotfix                       -> message
    """
    from builders import add_commit

    for number, labels in ((12, ["enhancement"]), (13, ["bugs"]), (14, ["kind/bugfix"])):
        insert(con, "issues", repo_id="acme/api", number=number, title=f"Issue {number}", state="closed",
               created_at=ts("2024-01-01 09:00"), labels=labels)
    commits = [("c1", "Add dark mode", "Closes #12"), ("c2", "Handle empty password", "Closes #13"),
               ("c3", "Guard save path", "Resolves #14"), ("c4", "Port the fix from other/repo#13", ""),
               ("c5", "Fixes #12", ""), ("c6", "Docs: describe the hotfix process", ""),
               ("c7", "hotfix: null session", "")]
    for n, (key, subject, body) in enumerate(commits):
        add_commit(con, key * 20, "ada@x.com", f"2024-01-02 1{n}:00", subject=subject, body=body)
    rows = {r["sha"][:2]: r["fix_reason"] for r in classify_commits(frames_of(con)).collect().iter_rows(named=True)}
    assert rows == {"c1": None, "c2": "bug_issue", "c3": "bug_issue", "c4": None, "c5": "message", "c6": None,
                    "c7": "message"}


@pytest.fixture
def two_repos(con, history):
    """The history above (acme/app, a local clone) and acme/web, collected without a clone (no SZZ):
      w1 bob "Tune web"            2024-01-06
      w2 ada "fix: crash in web"   2024-01-07   (a bug fix SZZ cannot blame: no clone)
    """
    from builders import add_commit

    repo, _, sha = history
    add_commit(con, "e1" * 20, "bob@example.com", "2024-01-06 10:00", repo="acme/web", subject="Tune web")
    add_commit(con, "e2" * 20, "ada@example.com", "2024-01-07 10:00", repo="acme/web", subject="fix: crash in web")
    return repo, frames_of(con), sha


def test_defect_rate_is_unknown_for_repositories_szz_did_not_analyse(two_repos):
    repo, frames, sha = two_repos
    found = szz(repo.path, "acme/app", [sha["c3"]])  # c3's fixed line came from c2
    rows = {r["repo_id"]: r for r in defect_rate(frames, found, analysed_repos=["acme/app"]).collect().iter_rows(named=True)}
    # acme/app: 5 commits, all analysed, 1 bug-introducing (c2): 1/5.
    app = rows["acme/app"]
    assert (app["commits"], app["analysed_commits"], app["bug_introducing_commits"]) == (5, 5, 1)
    assert app["defect_rate"] == pytest.approx(0.2)
    # acme/web: 2 commits, 1 bug fix, never analysed: unknown, not 0.
    web = rows["acme/web"]
    assert (web["commits"], web["bug_fixes"], web["analysed_commits"]) == (2, 1, 0)
    assert web["bug_introducing_commits"] is None and web["defect_rate"] is None
    # Without analysed_repos, the repositories with an introduction are the analysed ones: the same here.
    assert defect_rate(frames, found).collect().equals(defect_rate(frames, found, analysed_repos=["acme/app"]).collect())
    # Said to be analysed, acme/web has no bug-introducing commit: 0 of 2.
    both = defect_rate(frames, found, analysed_repos=["acme/app", "acme/web"]).collect()
    web = both.filter(both["repo_id"] == "acme/web").row(0, named=True)
    assert (web["analysed_commits"], web["bug_introducing_commits"], web["defect_rate"]) == (2, 0, 0.0)


def test_people_and_the_organisation_count_only_analysed_commits(two_repos):
    repo, frames, sha = two_repos
    found = szz(repo.path, "acme/app", [sha["c3"]])
    people = {r["person_key"]: r for r in
              defect_rate(frames, found, analysed_repos=["acme/app"], by="person").collect().iter_rows(named=True)}
    # bob: c2, c4 in acme/app and w1 in acme/web: 3 commits, 2 analysed, 1 bug-introducing (c2) -> 1/2, not 1/3.
    bob = people["p-bob"]
    assert (bob["commits"], bob["analysed_commits"], bob["bug_introducing_commits"]) == (3, 2, 1)
    assert bob["defect_rate"] == pytest.approx(0.5)
    # ada: c1, c3, c5 and w2: 4 commits, 3 analysed, none bug-introducing -> 0/3.
    ada = people["p-ada"]
    assert (ada["commits"], ada["analysed_commits"], ada["bug_introducing_commits"], ada["defect_rate"]) == (4, 3, 0, 0.0)
    # The organisation: 7 commits, 5 analysed, 1 bug-introducing -> 1/5.
    org = defect_rate(frames, found, analysed_repos=["acme/app"], by=None).collect().row(0, named=True)
    assert (org["commits"], org["analysed_commits"], org["bug_introducing_commits"]) == (7, 5, 1)
    assert org["defect_rate"] == pytest.approx(0.2)


def test_the_job_records_the_repositories_szz_ran_on(con, two_repos):
    from impactlens.metrics.job import materialise

    _, frames, sha = two_repos
    run = materialise(con, run_szz=True)
    # acme/app has a local clone: SZZ ran on its 2 bug fixes (c3 by message, c4 by its bug issue).
    # acme/web has none: skipped, and not recorded as analysed.
    assert con.sql("SELECT repo_id, bug_fixes FROM metric_szz_repositories").fetchall() == [("acme/app", 2)]
    assert run.rows["metric_szz_repositories"] == 1
    assert any(s.startswith("acme/web") for s in run.skipped)
    # Read back, the stored tables give acme/web an unknown defect rate.
    intro = con.sql("SELECT * FROM metric_bug_introductions").pl()
    analysed = con.sql("SELECT repo_id FROM metric_szz_repositories").pl()["repo_id"]
    rows = {r["repo_id"]: r["defect_rate"] for r in
            defect_rate(frames, intro, analysed_repos=analysed).collect().iter_rows(named=True)}
    assert rows["acme/web"] is None and rows["acme/app"] == pytest.approx(0.2)
