"""Evidence from git alone, as a new user gets it from a clone: commits as delivery evidence, coverage
stated from the warehouse, rubric lines without their source "not judged", people found by display name,
and record links only where the remote gives a web address.

The history (built in the test, UTC):
- Ada Lovelace <ada@example.com>: 2025-01-06, 2025-01-08, 2025-02-03 (co-authored by Bob), 2025-03-10
  (a tests-only commit), all in 2025-Q1; and 2024-12-02 (the previous quarter).
- Bob Byron <bob@example.com>: 2025-01-07.
- A second "Ada Lovelace" <ada@elsewhere.org>: 2025-01-09 (same display name, other email).
- A merge commit by Ada on 2025-03-11 (merges are not changes landed).
"""

from __future__ import annotations

import json
import subprocess
from datetime import date

import pytest

from helpers import impactlens
from impactlens import config as config_mod, dates, warehouse
from impactlens.collectors.git import collect_git, remote_web_url, repository_id
from impactlens.derive import after_collection
from impactlens.evidence import NOT_JUDGED, EvidenceError, build_packet
from impactlens.evidence.tables import resolve_person

Q1 = (date(2025, 1, 1), date(2025, 3, 31))
ADA = "Ada Lovelace <ada@example.com>"
BOB = "Bob Byron <bob@example.com>"


def build_history(repo) -> dict[str, str]:
    shas = {}
    repo.write("src/app/core.py", "a = 1\n")  # 1 line
    shas["prev"] = repo.commit("start core", author=ADA, date="2024-12-02T10:00:00+00:00")
    repo.write("src/app/core.py", "a = 1\nb = 2\nc = 3\n")  # +2
    shas["jan6"] = repo.commit("add b and c", author=ADA, date="2025-01-06T10:00:00+00:00")
    repo.write("src/app/other.py", "x = 1\n")
    shas["bob"] = repo.commit("bob adds other", author=BOB, date="2025-01-07T10:00:00+00:00")
    repo.write("docs/guide.md", "# Guide\n\ntext\n")  # +3 docs
    shas["jan8"] = repo.commit("write the guide", author=ADA, date="2025-01-08T10:00:00+00:00")
    repo.write("src/app/third.py", "y = 2\n")
    shas["other_ada"] = repo.commit("another Ada", author="Ada Lovelace <ada@elsewhere.org>",
                                    date="2025-01-09T10:00:00+00:00")
    repo.write("src/app/core.py", "a = 1\nb = 2\nc = 3\nd = 4\n")  # +1
    shas["feb3"] = repo.commit("add d\n\nCo-authored-by: Bob Byron <bob@example.com>\n", author=ADA,
                               date="2025-02-03T10:00:00+00:00")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("tests/test_core.py", "def test_a():\n    assert True\n")  # +2 test
    shas["mar10"] = repo.commit("test core", author=ADA, date="2025-03-10T10:00:00+00:00")
    repo.git("checkout", "-q", "main")
    env = {"GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_AUTHOR_DATE": "2025-03-11T10:00:00+00:00", "GIT_COMMITTER_NAME": "Ada Lovelace",
           "GIT_COMMITTER_EMAIL": "ada@example.com", "GIT_COMMITTER_DATE": "2025-03-11T10:00:00+00:00"}
    repo.git("merge", "-q", "--no-ff", "-m", "merge side", "side", env=env)
    return shas


def collect(db_path, path, **kwargs):
    with warehouse.writing(db_path) as con:
        collect_git(con, path, **kwargs)
        after_collection(con, config_mod.load(None))


@pytest.fixture
def clone(make_repo):
    """A clone whose origin is a local path (a mirror with no remote of its own)."""
    upstream = make_repo("upstream")
    shas = build_history(upstream)
    target = upstream.path.parent / "work"
    subprocess.run(["git", "clone", "-q", str(upstream.path), str(target)], check=True)
    return target, shas


def test_a_git_only_packet_shows_delivery_and_says_what_it_cannot_judge(clone, db_path):
    path, shas = clone
    collect(db_path, path)
    with warehouse.read_only(db_path) as con:
        packet = build_packet(con, "ada@example.com", *Q1, charts=False)
        text = packet.to_markdown()
    assert packet.name == "Ada Lovelace"  # the display name, not "email:ada@example.com"
    # Q1: jan6, jan8, feb3, mar10 are Ada's non-merge commits (the merge and the 2024 commit are not).
    delivery = next(c for c in packet.claims if c.kind == "commits_landed")
    assert delivery.figure("commits_landed").value == 4
    # The history starts on 2024-12-02, inside the previous 90 days: no comparison with a partly covered period.
    assert delivery.figure("commits_landed").previous is None and "previous period" not in delivery.sentence
    assert delivery.figure("lines_changed").value == 2 + 3 + 1 + 2
    assert delivery.figure("active_weeks").value == 3  # the weeks of Monday Jan 6 (jan6, jan8), Feb 3, Mar 10
    assert delivery.figure("coauthored_commits").value == 1
    assert {r.key for r in delivery.records} == {shas["jan6"], shas["jan8"], shas["feb3"], shas["mar10"]}
    assert all(r.url is None for r in packet.records())  # a local-path remote gives no web address
    assert "](/" not in text and str(path) + "/commit" not in text

    assert "landed 4 commits" in packet.summary and "merged 0 PRs" not in packet.summary
    assert "the data from Git commits of work" in packet.summary
    assert "No pull requests, reviews or issues for work: `impactlens collect github OWNER/NAME` adds them." in packet.coverage
    assert "No incidents: `impactlens collect incidents FILE` adds them." in packet.coverage
    shipped = next(i for i in packet.audit if "Shipped steadily" in i.title)
    assert shipped.status == NOT_JUDGED
    assert "figure changes_landed_per_week >= 1: not judged (no pull requests)" in shipped.measured
    assert "| Shipped steadily (at least one change landed a week on average, a merged PR or a commit without one) | not judged |" in text
    assert "## Data coverage" in text and "Built from Git commits of work." in text
    mentoring = next(s for s in packet.sections if s.key == "mentoring")
    assert not mentoring.claims and "No pull requests" in mentoring.gap


def test_display_names_close_matches_and_ambiguity(clone, db_path):
    path, _ = clone
    collect(db_path, path)
    with warehouse.read_only(db_path) as con:
        assert resolve_person(con, "bob byron") == ("email:bob@example.com", "Bob Byron")
        with pytest.raises(EvidenceError) as ambiguous:
            resolve_person(con, "Ada Lovelace")
        with pytest.raises(EvidenceError) as typo:
            resolve_person(con, "Bob Biron")
    assert "names 2 people or identities: email:ada@elsewhere.org, email:ada@example.com" in str(ambiguous.value)
    assert "close matches: Bob Byron (email:bob@example.com)" in str(typo.value)
    assert "people list" in str(typo.value)


def test_links_come_from_the_remote_or_web_url(clone, db_path, make_repo):
    path, shas = clone
    # The clone's origin is a local mirror; give the mirror a GitHub ssh remote: it is followed.
    upstream = path.parent / "upstream"
    subprocess.run(["git", "-C", str(upstream), "remote", "add", "origin", "git@github.com:ada/engine.git"], check=True)
    assert repository_id(path) == ("ada/engine", "ada", "https://github.com/ada/engine")
    collect(db_path, path)
    with warehouse.read_only(db_path) as con:
        packet = build_packet(con, "ada@example.com", *Q1, charts=False)
    urls = {r.url for r in packet.records() if r.kind == "commit"}
    assert f"https://github.com/ada/engine/commit/{shas['jan6']}" in urls

    other = make_repo("lonely")
    other.write("a.txt", "a\n")
    other.commit("one", author=ADA, date="2025-01-06T10:00:00+00:00")
    done = impactlens("collect", "git", str(other.path), "--web-url", "https://ghe.example.com/team/lonely/",
                      "--db", str(db_path), "-q")
    assert done.returncode == 0, done.stderr
    with warehouse.read_only(db_path) as con:
        assert con.sql("SELECT url FROM repositories WHERE repo_id = 'team/lonely'").fetchall() == [
            ("https://ghe.example.com/team/lonely",)]
    bad = impactlens("collect", "git", str(other.path), "--web-url", "/srv/git/lonely", "--db", str(db_path))
    assert bad.returncode == 2 and "is not a web address" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("remote, web", [
    ("git@github.com:pallets/flask.git", "https://github.com/pallets/flask"),
    ("https://github.com/encode/httpx", "https://github.com/encode/httpx"),
    ("https://x-access-token:ghp_secret@github.com/o/n.git", "https://github.com/o/n"),
    ("ssh://git@ghe.corp.example:7999/team/svc.git", "https://ghe.corp.example/team/svc"),
    ("git@gitlab.com:group/sub/project.git", "https://gitlab.com/group/sub/project"),
    ("https://bitbucket.org/team/repo.git", "https://bitbucket.org/team/repo"),
    ("/home/me/mirrors/flask", None),
    ("../flask", None),
    ("file:///srv/flask.git", None),
])
def test_remote_web_url(remote, web):
    assert remote_web_url(remote) == web


def test_a_history_collected_from_a_date_says_so(clone, db_path):
    path, _ = clone
    collect(db_path, path, since=dates.git_since(date(2025, 1, 8)))
    with warehouse.read_only(db_path) as con:
        packet = build_packet(con, "ada@example.com", *Q1, charts=False)
    assert any("cover the period only from 2025-01-08" in line and "unknown, not zero" in line
               for line in packet.coverage), packet.coverage


def test_the_cli_packet_for_a_display_name(clone, db_path, tmp_path):
    path, _ = clone
    collect(db_path, path)
    out = tmp_path / "bob.json"
    done = impactlens("report", "--person", "Bob Byron", "--since", "2025-01-01", "--until", "2025-03-31",
                      "--db", str(db_path), "-f", "json", "-o", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["name"] == "Bob Byron" and data["person_id"] == "email:bob@example.com"
    bad = tmp_path / "bad.toml"
    bad.write_text("[people]\nladdr = ['IC1']\n")
    refused = impactlens("report", "--person", "Bob Byron", "--since", "2025-01-01", "--db", str(db_path),
                         "--config", str(bad))
    assert refused.returncode == 2 and "unknown key 'people.laddr'" in refused.stderr
    missing = impactlens("report", "--person", "Bob Biron", "--since", "2025-01-01", "--db", str(db_path))
    assert missing.returncode == 2 and "close matches: Bob Byron" in missing.stderr and "Traceback" not in missing.stderr


def test_shared_names_are_suggested_and_one_merge_settles_the_person(clone, db_path):
    """The two "Ada Lovelace" identities (ada@example.com: 6 commits incl. the merge, ada@elsewhere.org: 1)
    share a name and the part before the @: suggested, strongest evidence; after the printed merge the display
    name finds one person and the packet counts both emails' commits (4 + 1 in Q1)."""
    path, _ = clone
    collect(db_path, path)
    listed = impactlens("people", "suggest", "--db", str(db_path))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("Ada Lovelace [name and email user]: email:ada@example.com (")
    command = lines[1].strip()
    assert command.startswith("impactlens people merge email:ada@elsewhere.org email:ada@example.com --reason")
    merged = impactlens("people", "merge", "email:ada@elsewhere.org", "email:ada@example.com", "--reason", "same person",
                        "--db", str(db_path))
    assert merged.returncode == 0, merged.stderr
    assert "full names are shared" not in merged.stdout
    with warehouse.read_only(db_path) as con:
        person, name = resolve_person(con, "Ada Lovelace")
        packet = build_packet(con, person, *Q1, charts=False)
    assert name == "Ada Lovelace"
    assert next(c for c in packet.claims if c.kind == "commits_landed").figure("commits_landed").value == 5


def test_records_of_equal_weight_come_in_one_order(make_repo, db_path):
    # Two commits by Ada of 100 lines each in src/ (200 lines: the area minimum) tie on lines: the packet lists
    # them by sha, the same on every run, so two packets of the same data are the same text.
    repo = make_repo("ties")
    shas = []
    for n, day in ((1, "2025-01-06"), (2, "2025-01-07")):
        repo.write(f"src/part{n}.py", "".join(f"v{n}_{i} = {i}\n" for i in range(100)))
        shas.append(repo.commit(f"part {n}", author=ADA, date=f"{day}T10:00:00+00:00"))
    collect(db_path, repo.path)
    with warehouse.read_only(db_path) as con:
        packet = build_packet(con, "ada@example.com", *Q1, charts=False)
    areas = next(c for c in packet.claims if c.kind == "areas_owned")
    assert [r.key for r in areas.records] == sorted(shas)
