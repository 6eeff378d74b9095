"""Git review evidence (issue 16 item 2): other people's changes a maintainer landed as their committer,
and commits naming them in Reviewed-by / Acked-by / Tested-by trailers, from a history built here.

The history (UTC), Mia Maintainer <mia@example.com> is the person; the period is 2025-Q1:
- Mia's own commit, 2025-01-03 (hers: never "others'").
- Cora, authored 2025-01-02, committed by Mia 2025-01-10: landed by Mia.
- Dan, authored 2024-12-20, committed by Mia 2025-02-01: landed by Mia (the committer date is in Q1).
- Eve, 2025-02-05, committed by GitHub <noreply@github.com> (a web merge): nobody's landing.
- dependabot[bot], committed by Mia 2025-02-10: a bot's commit, left out.
- Cora, 2025-03-01, committed by Cora, "Reviewed-by: Mia Maintainer <mia@example.com>" and an Acked-by for someone
  else: one trailer commit (reviewed-by).
- Frank, 2025-03-05, committed by Frank, "Tested-by: Mia M <MIA@Example.com>" (case differs) and a
  "Reviewed-by: Mia" with no email (names nobody): one trailer commit (tested-by).
- Cora, authored 2025-03-20, committed by Mia 2025-04-02: landed after the period.

By hand: others_commits_landed = 2 (Cora's Jan, Dan's), review_trailers = 2, others_authors_landed = 3
(Cora, Dan, Frank).
"""

from __future__ import annotations

from datetime import date

from impactlens import config as config_mod, warehouse
from impactlens.collectors.git import collect_git
from impactlens.derive import after_collection
from impactlens.evidence import build_packet

Q1 = (date(2025, 1, 1), date(2025, 3, 31))
MIA = "Mia Maintainer <mia@example.com>"
CORA = "Cora Contributor <cora@example.com>"
GITHUB = "GitHub <noreply@github.com>"


def build(repo) -> dict[str, str]:
    shas = {}
    repo.write("README.md", "hello\n")
    shas["own"] = repo.commit("readme", author=MIA, date="2025-01-03T09:00:00+00:00")
    repo.write("a.py", "a = 1\n")
    shas["cora_jan"] = repo.commit("cora adds a", author=CORA, date="2025-01-02T09:00:00+00:00",
                                   committer=MIA, committer_date="2025-01-10T09:00:00+00:00")
    repo.write("b.py", "b = 1\n")
    shas["dan"] = repo.commit("dan adds b", author="Dan Dev <dan@example.com>", date="2024-12-20T09:00:00+00:00",
                              committer=MIA, committer_date="2025-02-01T09:00:00+00:00")
    repo.write("c.py", "c = 1\n")
    shas["eve"] = repo.commit("eve adds c (#12)", author="Eve Ever <eve@example.com>",
                              date="2025-02-05T09:00:00+00:00", committer=GITHUB)
    repo.write("requirements.txt", "x==2\n")
    shas["bot"] = repo.commit("Bump x", author="dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
                              date="2025-02-10T09:00:00+00:00", committer=MIA)
    repo.write("d.py", "d = 1\n")
    shas["trailer_review"] = repo.commit(
        "cora adds d\n\nReviewed-by: Mia Maintainer <mia@example.com>\nAcked-by: Other Person <other@example.com>\n",
        author=CORA, date="2025-03-01T09:00:00+00:00")
    repo.write("e.py", "e = 1\n")
    shas["trailer_test"] = repo.commit(
        "frank adds e\n\nTested-by: Mia M <MIA@Example.com>\nReviewed-by: Mia\n",
        author="Frank Fixer <frank@example.com>", date="2025-03-05T09:00:00+00:00")
    repo.write("f.py", "f = 1\n")
    shas["cora_apr"] = repo.commit("cora adds f", author=CORA, date="2025-03-20T09:00:00+00:00",
                                   committer=MIA, committer_date="2025-04-02T09:00:00+00:00")
    return shas


def packet_of(make_repo, db_path):
    repo = make_repo("project")
    shas = build(repo)
    with warehouse.writing(db_path) as con:
        collect_git(con, repo.path)
        after_collection(con, config_mod.load(None))
    with warehouse.read_only(db_path) as con:
        return build_packet(con, "mia@example.com", *Q1, charts=False), shas


def test_changes_landed_for_others_and_review_trailers(make_repo, db_path):
    packet, shas = packet_of(make_repo, db_path)
    claim = next(c for c in packet.claims if c.kind == "others_changes_landed")
    figures = {f.name: f.value for f in claim.figures}
    assert figures == {"others_commits_landed": 2, "review_trailers": 2, "others_authors_landed": 3}
    assert claim.section == "collaboration_breadth"
    cited = {r.key for r in claim.records}
    assert cited == {shas["cora_jan"], shas["dan"], shas["trailer_review"], shas["trailer_test"]}
    assert "landed 2 commits by 2 other people as their committer" in claim.sentence
    assert "review trailer (reviewed-by 1, tested-by 1) of 2 commits by 2 other people" in claim.sentence
    assert "(3 people in all)" in claim.sentence


def test_git_review_evidence_makes_the_breadth_line_partly_evidenced(make_repo, db_path):
    packet, _ = packet_of(make_repo, db_path)
    breadth = next(a for a in packet.audit if a.id == "breadth")
    assert breadth.status == "partly"
    assert any("others_authors_landed >= 3: 3" in m for m in breadth.measured)
    text = packet.to_markdown()
    assert "Others' commits landed: 2 commits" in text and "Authors whose commits they landed: 3 people" in text


def test_nobody_lands_their_own_or_a_web_merge(make_repo, db_path):
    """Eve's commit (committer GitHub) and Mia's own are nobody's landing: Eve's packet has no such claim."""
    repo = make_repo("project")
    build(repo)
    with warehouse.writing(db_path) as con:
        collect_git(con, repo.path)
        after_collection(con, config_mod.load(None))
    with warehouse.read_only(db_path) as con:
        eve = build_packet(con, "eve@example.com", *Q1, charts=False)
        cora = build_packet(con, "cora@example.com", *Q1, charts=False)
    assert not [c for c in eve.claims if c.kind == "others_changes_landed"]
    assert not [c for c in cora.claims if c.kind == "others_changes_landed"]  # she committed only her own
