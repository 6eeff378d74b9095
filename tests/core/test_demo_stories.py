"""Each planted story of the demo organisation is visible: in the raw tables, and in the computed metrics.

The stories, people and dates are :data:`impactlens.demo.DEMO_STORIES` (told in sample_data/README.md).
The thresholds below are the stories' claims ("about half", "MTTR falls by more than half"), not numbers
read back from a run.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import polars as pl
import pytest

from impactlens import demo, metrics, warehouse
from impactlens.demo import cast


STORIES = demo.DEMO_STORIES


def at(day: date) -> datetime:
    return datetime.combine(day, time(0), timezone.utc)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    # The same path as tests/core/test_demo.py's warehouse: whichever module runs first builds, the other reuses.
    path, _ = demo.ensure(tmp_path_factory.getbasetemp() / "demo-shared" / "demo.duckdb")
    con = warehouse.read_only(path)
    yield con
    con.close()


@pytest.fixture(scope="module")
def frames(db):
    return metrics.load(db)


def one(con, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


def login(person_id: str) -> str:
    return cast.PEOPLE_BY_ID[person_id].login


# --- mentoring ------------------------------------------------------------------------------------

def test_mentor_reviews_and_pairs_on_the_new_hires_first_prs(db):
    story = STORIES["mentoring"]
    mentor = login(story["mentor"])
    for mentee_id in story["mentees"]:
        first_prs = db.execute(
            "SELECT repo_id, number FROM pull_requests WHERE author_login = ? ORDER BY created_at LIMIT 20",
            [login(mentee_id)]).fetchall()
        reviewed = one(db, "SELECT count(DISTINCT (r.repo_id, r.pr_number)) FROM reviews r "
                           "JOIN (SELECT repo_id, number FROM pull_requests WHERE author_login = ? ORDER BY created_at LIMIT 20) p "
                           "ON p.repo_id = r.repo_id AND p.number = r.pr_number WHERE r.reviewer_login = ?",
                       [login(mentee_id), mentor])
        assert len(first_prs) == 20 and reviewed >= 18, mentee_id
        paired = one(db, "SELECT count(*) FROM commits c JOIN commit_coauthors a USING (repo_id, sha) "
                         "WHERE c.author_email = ? AND a.email = ?",
                     [cast.PEOPLE_BY_ID[mentee_id].email, cast.PEOPLE_BY_ID[story["mentor"]].email])
        assert paired >= 5, mentee_id


def test_new_hires_throughput_grows(db):
    for mentee_id, start in STORIES["mentoring"]["mentee_starts"].items():
        def merged(weeks_from: int, weeks_to: int) -> int:
            return one(db, "SELECT count(*) FROM pull_requests WHERE author_login = ? AND merged_at >= ? AND merged_at < ?",
                       [login(mentee_id), at(start + timedelta(weeks=weeks_from)), at(start + timedelta(weeks=weeks_to))])
        early, later = merged(0, 8), merged(24, 32)
        assert later >= 3 * max(early, 1), (mentee_id, early, later)  # about 0.5 a week, then about 3


def test_new_hires_throughput_grows_in_the_throughput_metric(frames):
    for mentee_id, start in STORIES["mentoring"]["mentee_starts"].items():
        monthly = metrics.throughput(frames, metrics.Scope(person=mentee_id, start=str(start)), by="person",
                                     grain="month").collect().sort("period_start")
        first_two = monthly["prs_merged"][:2].sum()
        months_five_to_eight = monthly["prs_merged"][4:8].sum() / 4
        assert months_five_to_eight >= 3 * max(first_two / 2, 1), monthly
        # They review little at first, and more as they settle in.
        assert monthly["reviews_given"][:2].sum() / 2 < monthly["reviews_given"][4:8].sum() / 4


def test_mentor_leads_the_mentoring_touchpoints_metric(frames):
    story = STORIES["mentoring"]
    start = min(story["mentee_starts"].values())
    for scope in (metrics.Scope(), metrics.Scope(start=str(start), end=str(start + timedelta(days=182)))):
        summary = metrics.mentoring_summary(frames, scope, by="person").collect().sort("touchpoints", descending=True)
        assert summary["person_key"][0] == story["mentor"], scope
        assert summary["touchpoints"][0] > 1.3 * summary["touchpoints"][1]
    mentees = (metrics.mentees(frames, story["mentor"], str(start), str(start + timedelta(days=182)))
               .collect().sort("touchpoints", descending=True))
    assert set(mentees["mentee_key"][:2]) == set(story["mentees"])


# --- review bottleneck ------------------------------------------------------------------------------

def test_one_reviewer_does_about_half_of_the_teams_reviews(db):
    story = STORIES["review_bottleneck"]
    shares = db.execute(
        "SELECT r.reviewer_login, count(*) / sum(count(*)) OVER () FROM reviews r JOIN pull_requests p "
        "ON p.repo_id = r.repo_id AND p.number = r.pr_number WHERE r.repo_id = ? AND NOT r.reviewer_is_bot "
        "AND r.reviewer_login <> p.author_login GROUP BY 1 ORDER BY 2 DESC", [story["repo"]]).fetchall()
    top_login, top_share = shares[0]
    assert top_login == login(story["reviewer"]) and 0.4 <= top_share <= 0.65
    assert shares[1][1] < 0.2


def test_bottleneck_is_visible_in_review_load_and_time_to_first_review(frames):
    story = STORIES["review_bottleneck"]
    per_person, per_team = metrics.review_load(frames, metrics.Scope(team=story["team"]), grain="quarter")
    shares = per_person.collect().group_by("person_key").agg(pl.col("reviews").sum()).sort("reviews", descending=True)
    total = shares["reviews"].sum()
    assert shares["person_key"][0] == story["reviewer"] and 0.4 <= shares["reviews"][0] / total <= 0.65
    other_teams = per_team  # the same figure for the other teams is far lower
    for team in ("core-api", "mobile", "platform"):
        _, other_teams = metrics.review_load(frames, metrics.Scope(team=team), grain="quarter")
        assert other_teams.collect()["top_share"].median() < 0.4, team
    waits = metrics.time_to_first_review(frames, metrics.Scope(), by="team").collect()
    median = dict(zip(waits["team_id"], waits["median_hours"]))
    assert all(median[story["team"]] > 1.5 * median[t] for t in ("core-api", "mobile", "platform")), median


# --- incidents and the runbook ------------------------------------------------------------------------

def test_runbook_commit_lands_after_the_incident_heavy_quarter(db):
    story = STORIES["incidents_runbook"]
    rows = db.execute(
        "SELECT DISTINCT c.author_email, f.path, f.category, c.authored_at::DATE FROM commits c "
        "JOIN commit_files f USING (repo_id, sha) WHERE c.repo_id = ? AND f.path LIKE 'runbooks/%'",
        [story["repo"]]).fetchall()
    assert {r[1] for r in rows} == set(story["paths"])
    assert {r[0] for r in rows} == {cast.PEOPLE_BY_ID[story["author"]].email}
    assert {r[2] for r in rows} == {"runbook"}
    assert all(story["runbook_date"] <= r[3] <= story["runbook_date"] + timedelta(days=10) for r in rows)


def test_incidents_are_frequent_and_slow_in_the_heavy_quarter_then_mttr_falls(db):
    story = STORIES["incidents_runbook"]
    heavy_from, heavy_to = story["heavy_quarter"]

    def period(start: date, end: date) -> tuple[float, float]:
        count, median = db.execute(
            "SELECT count(*), median(epoch(resolved_at - opened_at) / 3600) FROM incidents "
            "WHERE opened_at >= ? AND opened_at < ?", [at(start), at(end)]).fetchall()[0]
        months = (end - start).days / 30.4
        return count / months, median

    before_rate, before_mttr = period(cast.START, heavy_from)
    heavy_rate, heavy_mttr = period(heavy_from, heavy_to)
    after_rate, after_mttr = period(story["runbook_date"], cast.END)
    assert heavy_rate > 2.5 * before_rate and heavy_rate > 2.5 * after_rate
    assert heavy_mttr > before_mttr > after_mttr
    assert after_mttr < 0.5 * heavy_mttr


def test_mttr_metric_falls_after_the_runbook(frames):
    story = STORIES["incidents_runbook"]
    heavy_from, _ = story["heavy_quarter"]
    before = metrics.incident_summary(frames, metrics.Scope(start=str(heavy_from), end=str(story["runbook_date"]))).collect()
    after = metrics.incident_summary(frames, metrics.Scope(start=str(story["runbook_date"]), end=str(cast.END))).collect()
    assert before["incidents"][0] > 2 * after["incidents"][0] / ((cast.END - story["runbook_date"]).days / 97)
    assert after["mttr_median_hours"][0] < 0.5 * before["mttr_median_hours"][0]
    assert after["mttr_mean_hours"][0] < 0.5 * before["mttr_mean_hours"][0]


# --- team agreement on PR size ------------------------------------------------------------------------

def test_pr_sizes_drop_after_the_team_agreement(db, frames):
    story = STORIES["pr_size_agreement"]
    agreement = db.execute(
        "SELECT c.author_email, c.authored_at::DATE FROM commits c JOIN commit_files f USING (repo_id, sha) "
        "WHERE c.repo_id = ? AND f.path = ?", [story["repo"], story["path"]]).fetchall()
    assert len(agreement) == 1 and agreement[0][0] == cast.PEOPLE_BY_ID[story["author"]].email
    assert story["date"] <= agreement[0][1] <= story["date"] + timedelta(days=10)

    def median_lines(start: date, end: date) -> float:
        # Changed lines of the squash commits, without lockfiles, generated and vendored files.
        return one(db, "SELECT median(lines) FROM (SELECT c.sha, sum(coalesce(f.additions, 0) + coalesce(f.deletions, 0)) AS lines "
                       "FROM pull_requests p JOIN commits c ON c.repo_id = p.repo_id AND c.sha = p.merge_commit_sha "
                       "JOIN commit_files f ON f.repo_id = c.repo_id AND f.sha = c.sha "
                       "WHERE p.repo_id = ? AND NOT p.author_is_bot AND p.created_at >= ? AND p.created_at < ? "
                       "AND f.category NOT IN ('lockfile', 'generated', 'vendored') GROUP BY c.sha)",
                   [story["repo"], at(start), at(end)])

    before = median_lines(story["date"] - timedelta(days=182), story["date"])
    after = median_lines(story["date"] + timedelta(days=28), story["date"] + timedelta(days=210))
    assert before > 300 and after < 160 and before > 2 * after
    sizes = {}
    for name, start, end in (("before", story["date"] - timedelta(days=182), story["date"]),
                             ("after", story["date"] + timedelta(days=28), story["date"] + timedelta(days=210))):
        sizes[name] = metrics.pr_size(frames, metrics.Scope(repo=story["repo"], start=str(start), end=str(end))).collect()
    assert sizes["before"]["median_changed_lines"][0] > 2 * sizes["after"]["median_changed_lines"][0]
    assert sizes["after"]["share_under_200"][0] > 0.6 > sizes["before"]["share_under_200"][0]


# --- ADRs and design docs ---------------------------------------------------------------------------------

def test_adr_author_writes_the_adrs_and_design_docs(db, frames):
    story = STORIES["adr_author"]
    rows = db.execute(
        "SELECT f.category, c.author_email, count(*) FROM commits c JOIN commit_files f USING (repo_id, sha) "
        "WHERE f.category IN ('adr', 'design_doc') AND f.change_type = 'A' GROUP BY 1, 2").fetchall()
    email = cast.PEOPLE_BY_ID[story["person"]].email
    mine = {category: n for category, author, n in rows if author == email}
    assert mine == {"adr": len(story["adrs"]), "design_doc": len(story["design_docs"])}
    assert all(n <= 1 for category, author, n in rows if author != email)
    summary = metrics.artifact_summary(frames, metrics.Scope()).collect()
    adrs = summary.filter(pl.col("category") == "adr").sort("created", descending=True)
    assert adrs["person_key"][0] == story["person"] and adrs["created"][0] == len(story["adrs"])
    design = summary.filter(pl.col("category") == "design_doc")
    assert design["person_key"].to_list() == [story["person"]]


# --- the AI reviewer is not a human first review ----------------------------------------------------------

def test_ai_reviewer_answers_first_but_is_not_the_first_human_review(db, frames):
    story = STORIES["ai_reviewer"]
    first_is_ai = one(db, """
        SELECT avg((reviewer_login = ?)::INT) FROM (
            SELECT r.reviewer_login, row_number() OVER (PARTITION BY r.repo_id, r.pr_number ORDER BY r.submitted_at) AS k
            FROM reviews r JOIN pull_requests p ON p.repo_id = r.repo_id AND p.number = r.pr_number
            WHERE r.repo_id IN ('acme/api', 'acme/web', 'acme/platform') AND p.created_at >= ? AND NOT p.author_is_bot)
        WHERE k = 1""", [story["login"], at(story["from"] + timedelta(days=7))])
    assert first_is_ai > 0.9
    # If the AI review counted, the median wait would be minutes; it stays hours.
    waits = metrics.time_to_first_review(
        frames, metrics.Scope(repo="acme/api", start=str(story["from"] + timedelta(days=7)))).collect()
    assert waits["median_hours"][0] > 1.0


# --- merge-commit team (issue 22) ------------------------------------------------------------------

def test_merge_commit_team_prs_are_sized_from_their_own_commits_without_lockfiles(db, frames):
    """acme/web merges with merge commits (its branch commits carry no PR number) and bumps
    package-lock.json: every merged PR is sized by walking its merge commit, and the PR size the metrics
    report is the commits' non-lockfile lines, not GitHub's totals (which include the lockfile)."""
    facts = metrics.pr_facts(frames).filter((pl.col("repo_id") == "acme/web") & pl.col("merged_at").is_not_null()).collect()
    assert facts.height > 100
    assert facts["size_source"].unique().to_list() == ["merge_walk"]
    # Some PRs changed the lockfile: their excluded lines are what GitHub's totals would have added.
    with_lockfile = facts.filter(pl.col("excluded_lines") > 0)
    assert with_lockfile.height > 0
    totals = dict(db.execute("SELECT number, additions + deletions FROM pull_requests WHERE repo_id = 'acme/web' "
                             "AND merged_at IS NOT NULL").fetchall())
    for row in with_lockfile.head(20).iter_rows(named=True):
        assert row["changed_lines"] < totals[row["number"]]


# --- a person named like a bot (issue 22) --------------------------------------------------------------

def test_a_person_whose_address_ends_in_bot_is_a_person(db, frames):
    story = STORIES["named_like_a_bot"]
    commits = one(db, "SELECT count(*) FROM commits WHERE author_email = ? AND NOT is_merge", [story["email"]])
    assert commits > 10, "Ben Talbot commits in the demo"
    assert one(db, "SELECT bool_or(is_bot) FROM identities WHERE identity_id = ?", [f"email:{story['email']}"]) is False
    assert one(db, "SELECT is_bot FROM people WHERE person_id = ?", [story["person"]]) is False
    assert one(db, "SELECT bool_or(author_is_bot) FROM pull_requests WHERE author_login = ?", [login(story["person"])]) is False
    # his commits (under every address he uses) count as human work in the metrics
    theirs = frames.commits.filter(pl.col("author_key") == story["person"]).collect()
    assert theirs.height >= commits and not theirs["author_is_bot"].any()
