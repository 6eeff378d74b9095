"""The bucket stage of ``--engine spark`` (metrics/buckets.py) on hand-built cases that cross buckets.

Two buckets (``metric_tables(con, buckets=2)``). Person ids and team ids are picked by trying candidates with
``bucket_of`` (:func:`_pick`), so the people or teams that matter are in different buckets, and each test
asserts that before anything else. Each test also computes the six tables in one process (metrics/job.py
builds over the whole warehouse) and requires the Spark rows to equal them exactly. Repositories acme/api and
acme/web; times UTC; "b0" / "b1" is the person's or team's bucket. The figures below are worked out by hand
from docs/metrics.md.

1. Throughput (week of Mon 2024-03-04). X (b0), Y (b1), Z (b0).
   acme/api PR 1 by X, opened Mon 09:00, merged Mon 15:00.
   acme/web PR 7 by Y, opened Tue 09:00, merged Tue 15:00; X approves it Tue 11:00; Y reviews it himself Tue
   12:00 (a self-review: never counted). acme/web PR 8 by Z, 'Revert "Feature"', merged Wed 10:00, its squash
   commit (by Z) says 'Reverts acme/web#7': PR 7 is reverted (by pr:8).
   X: prs_opened 1, prs_merged 1, reviews_given 1 (on Y's PR), commits 0, repos_touched 2 (api, web).
   Y: prs_opened 1, prs_merged 0 (reverted: not delivered), reviews_given 0, repos_touched 1.
   Z: prs_opened 1, prs_merged 1, commits 1, repos_touched 1.
2. Onboarding across repositories. M (b0) opened acme/api PR 1 on 2023-01-10 (long-standing). Newcomer N (b1)
   opens acme/api PRs 2-6 on 2024-03-04..08 09:00 (his first five; experience starts 2024-03-04 09:00) and
   acme/web PR 1 on 2024-03-11 (his sixth). M comments on api PR 2 on 03-04 11:00: an onboarding PR (among
   N's first five, opened within 120 days of his start) -> 'onboarding_comment', basis 'onboarding'. M
   comments on web PR 1 on 03-12 11:00: acme/web's first PR of N, but N's sixth in the organisation, so not
   onboarding; N's start is 419 days after M's (>= 180) and the comment 8 days into N's time (< 365): N is a
   newcomer -> 'comment', basis 'tenure'. M, March 2024: touchpoints 2, reviews 0, comments 1, onboarding 1,
   pairing_commits 0, people_helped 1, mentees 0 (2 < 3 touchpoints). No other touchpoint.
3. Pairing across buckets. M (b0) opened acme/api PR 1 on 2023-01-10. M's commit in acme/web, Tue 2024-03-05
   10:00, is co-authored by N (b1, n@x.io): N's first contribution (start 2024-03-05 10:00; 420 days after
   M's, the commit in N's first 365 days) -> one 'pairing' touchpoint, mentor M, mentee N, basis 'tenure'.
   (acme/web alone would make them peers: both start at the commit.) The commit is routed to both buckets;
   N's bucket must not give a second row. M, March: touchpoints 1, pairing_commits 1, people_helped 1.
   Throughput, week of 03-04: M commits 1, repos_touched 1; N no row (a co-author authors no commit).
4. Review load. Teams T0 (b0: A, B) and T1 (b1: C, D), members from 2023-01-01; W (no team) opens acme/api
   and acme/web PRs 1 (2024-01-08) and PRs 2 (2024-02-05). January: A approves api 1 (01-10) and web 1
   (01-11), B api 1 (01-12). February: A web 2 (02-06); C web 2 (02-07); D api 2 (02-07) and web 2 (02-08).
   review_load (members, reviews, gini, top_share), Gini G = sum_i (2i - n - 1) x_i / (n sum x), x ascending:
     Jan T0: 2, 3, [1, 2] -> (-1 + 2) / 6 = 1/6, 2/3     Jan T1: 2, 0, null, null (no review in T1, but
     Feb T0: 2, 1, [0, 1] -> 1 / 2 = 0.5, 1.0             January has one somewhere: a row)
     Feb T1: 2, 3, 1/6, 2/3
   shares (reviews, share): Jan A 2, 2/3; B 1, 1/3; C 0, null; D 0, null. Feb A 1, 1.0; B 0, 0.0; C 1, 1/3;
   D 2, 2/3.
5. DORA per team. Team T0 (b0: A), T1 (b1: C). acme/api PR 1 by A (opened Mon 2024-03-04 09:00, merged 10:00)
   and PR 2 by C (opened 08:00, merged 11:00) are shipped by deployment d-api at 12:00 (no sha: the time
   rule, the first deployment at or after the merge). Incident i-1 of acme/api, recorded as caused by d-api,
   opened 13:00, resolved 15:00 (repo-local: the Spark stage computes DORA per team). acme/web: PR 1 by W
   (no team), deployment d-web on 03-05 12:00 (no team's). Each team, March 2024: deployments 1,
   failed_deployments 1, change_failure_rate 1.0, changes_deployed 1, incidents 1, recovered_deployments 1
   (recovery 3 h: 12:00 -> 15:00), time to restore 2 h; lead time T0 3 h (09:00 -> 12:00), T1 4 h. No other
   team row.
"""

from __future__ import annotations

import os
import shutil
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from impactlens.metrics import job
from impactlens.metrics.buckets import BUCKETED, bucket_of
from impactlens.metrics.frames import load, plain
from builders import add_comment, add_commit, add_deployment, add_incident, add_member, add_person, add_pr, add_review

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (uv sync installs the dev group)")
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

BUCKETS = 2
NAMES = tuple(BUCKETED)


def _bucket(key: str) -> int:
    return pl.DataFrame({"k": [key]}).select(bucket_of("k", BUCKETS)).item()


def _pick(prefix: str, bucket: int) -> str:
    """The first of prefix-0, prefix-1, ... in ``bucket``."""
    return next(f"{prefix}-{i}" for i in range(1000) if _bucket(f"{prefix}-{i}") == bucket)


X, Y, Z = _pick("x", 0), _pick("y", 1), _pick("z", 0)
M, N = _pick("m", 0), _pick("n", 1)
T0, T1 = _pick("team", 0), _pick("team", 1)


@pytest.fixture(scope="session")
def spark():
    from impactlens.metrics import spark as engine

    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java (java on the PATH or JAVA_HOME): Spark needs Java 17")
    session = engine.session("local[2]")
    yield session
    session.stop()


def _person(con, pid: str) -> None:
    """Person ``pid``: login ``pid``, email '<first letter>@x.io'."""
    add_person(con, pid, logins=(pid,), emails=(f"{pid[0]}@x.io",))


def _repos(con) -> None:
    con.execute("INSERT INTO repositories (repo_id, name) VALUES ('acme/api', 'api'), ('acme/web', 'web')")


def _both(con) -> dict[str, pl.DataFrame]:
    """The six tables from Spark (2 buckets), after checking they equal the one-process ones exactly."""
    from impactlens.metrics import spark as engine

    got = engine.metric_tables(con, names=NAMES, buckets=BUCKETS)
    want = {name: plain(build()) for name, build in job.builds(load(con), NAMES).items()}
    assert sorted(got) == sorted(want) == sorted(NAMES)
    for name, expected in want.items():
        keys = [c for c, t in expected.schema.items() if not isinstance(t, (pl.List, pl.Struct))]
        try:
            assert_frame_equal(got[name].select(expected.columns).sort(keys, nulls_last=True),
                               expected.sort(keys, nulls_last=True), check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{name}: Spark (buckets) differs from one process: {exc}") from None
    return got


def _rows(frame: pl.DataFrame, key: str) -> dict:
    return {r[key]: r for r in frame.iter_rows(named=True)}


def test_throughput_counts_reviews_and_reverts_across_buckets(spark, con):
    assert (_bucket(X), _bucket(Y), _bucket(Z)) == (0, 1, 0)
    for pid in (X, Y, Z):
        _person(con, pid)
    add_pr(con, 1, X, "2024-03-04 09:00", repo="acme/api", merged_at="2024-03-04 15:00")
    add_pr(con, 7, Y, "2024-03-05 09:00", repo="acme/web", merged_at="2024-03-05 15:00", title="Feature")
    add_review(con, 7, X, "2024-03-05 11:00", repo="acme/web")
    add_review(con, 7, Y, "2024-03-05 12:00", repo="acme/web", state="COMMENTED")
    add_pr(con, 8, Z, "2024-03-06 09:00", repo="acme/web", merged_at="2024-03-06 10:00", title='Revert "Feature"')
    add_commit(con, "e" * 40, "z@x.io", "2024-03-06 10:00", repo="acme/web", pr_number=8,
               subject='Revert "Feature" (#8)', body="Reverts acme/web#7")
    _repos(con)
    got = _both(con)
    week = got["metric_throughput_weekly"]
    assert week["period_start"].dt.date().unique().to_list() == [date(2024, 3, 4)]
    rows = _rows(week, "person_key")

    def figures(person: str) -> tuple:
        return tuple(rows[person][c] for c in ("prs_opened", "prs_merged", "reviews_given", "commits", "repos_touched"))

    assert figures(X) == (1, 1, 1, 0, 2)
    assert figures(Y) == (1, 0, 0, 0, 1)
    assert figures(Z) == (1, 1, 0, 1, 1)


def _mentor_and_newcomer(con) -> None:
    assert (_bucket(M), _bucket(N)) == (0, 1)
    _person(con, M)
    _person(con, N)
    add_pr(con, 1, M, "2023-01-10 09:00", repo="acme/api", merged_at="2023-01-10 12:00")
    _repos(con)


def _touchpoints(got: dict[str, pl.DataFrame]) -> list[tuple]:
    return sorted(got["metric_touchpoints"].select("mentor_key", "mentee_key", "kind", "repo_id", "ref", "basis")
                  .rows())


def _mentoring(got: dict[str, pl.DataFrame]) -> dict[str, tuple]:
    columns = ("touchpoints", "reviews", "comments", "onboarding", "pairing_commits", "people_helped", "mentees")
    return {r["person_key"]: (r["period_start"].date(), *(r[c] for c in columns))
            for r in got["metric_mentoring_monthly"].iter_rows(named=True)}


def _kinds(repos: tuple[str, ...], con) -> list[tuple]:
    """The touchpoints' (kind, basis) computed over ``repos`` alone (what a per-repository stage would see)."""
    from impactlens.metrics.mentoring import touchpoints

    return touchpoints(load(con, repos=repos)).select("kind", "basis").collect().rows()


def test_onboarding_counts_the_first_five_prs_of_the_organisation_not_of_each_repository(spark, con):
    _mentor_and_newcomer(con)
    for day, number in enumerate(range(2, 7), start=4):
        add_pr(con, number, N, f"2024-03-{day:02d} 09:00", repo="acme/api")
    add_pr(con, 1, N, "2024-03-11 09:00", repo="acme/web")
    add_comment(con, 2, M, "2024-03-04 11:00", repo="acme/api", kind="issue_comment")
    add_comment(con, 1, M, "2024-03-12 11:00", repo="acme/web", kind="issue_comment")
    got = _both(con)
    assert _touchpoints(got) == [
        (M, N, "comment", "acme/web", "1", "tenure"),
        (M, N, "onboarding_comment", "acme/api", "2", "onboarding"),
    ]
    assert _mentoring(got) == {M: (date(2024, 3, 1), 2, 0, 1, 1, 0, 1, 0)}
    # Not vacuous: acme/web on its own reads web PR 1 as one of N's first five.
    assert _kinds(("acme/web",), con) == [("onboarding_comment", "onboarding")]


def test_a_pairing_routed_to_both_buckets_is_one_touchpoint(spark, con):
    _mentor_and_newcomer(con)
    add_commit(con, "c" * 40, "m@x.io", "2024-03-05 10:00", repo="acme/web", coauthors=("n@x.io",))
    got = _both(con)
    assert _touchpoints(got) == [(M, N, "pairing", "acme/web", "c" * 40, "tenure")]
    assert _mentoring(got) == {M: (date(2024, 3, 1), 1, 0, 0, 0, 1, 1, 0)}
    assert _kinds(("acme/web",), con) == []  # acme/web alone: M and N start together, peers
    week = _rows(got["metric_throughput_weekly"].filter(pl.col("period_start").dt.date() == date(2024, 3, 4)),
                 "person_key")
    assert set(week) == {M}
    assert (week[M]["commits"], week[M]["repos_touched"]) == (1, 1)


def _teams(con, members: dict[str, str], author: str = "w") -> None:
    """Teams T0/T1 (from 2023-01-01) with ``members`` (person -> team), W in no team, both repositories."""
    assert (_bucket(T0), _bucket(T1)) == (0, 1)
    for pid, team in members.items():
        _person(con, pid)
        add_member(con, pid, team, "2023-01-01")
    _person(con, author)
    _repos(con)


def test_review_load_gives_a_team_without_reviews_a_row_in_a_month_with_reviews_elsewhere(spark, con):
    _teams(con, {"a": T0, "b": T0, "c": T1, "d": T1})
    for repo in ("acme/api", "acme/web"):
        add_pr(con, 1, "w", "2024-01-08 09:00", repo=repo)
        add_pr(con, 2, "w", "2024-02-05 09:00", repo=repo)
    for pr, who, at, repo in [
        (1, "a", "2024-01-10 10:00", "acme/api"), (1, "a", "2024-01-11 10:00", "acme/web"),
        (1, "b", "2024-01-12 10:00", "acme/api"), (2, "a", "2024-02-06 10:00", "acme/web"),
        (2, "c", "2024-02-07 10:00", "acme/web"), (2, "d", "2024-02-07 11:00", "acme/api"),
        (2, "d", "2024-02-08 10:00", "acme/web"),
    ]:
        add_review(con, pr, who, at, repo=repo)
    got = _both(con)
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    load_rows = {(r["period_start"].date(), r["team_id"]): (r["members"], r["reviews"], r["gini"], r["top_share"])
                 for r in got["metric_review_load_monthly"].iter_rows(named=True)}
    assert load_rows == {
        (jan, T0): (2, 3, pytest.approx(1 / 6), pytest.approx(2 / 3)), (jan, T1): (2, 0, None, None),
        (feb, T0): (2, 1, 0.5, 1.0), (feb, T1): (2, 3, pytest.approx(1 / 6), pytest.approx(2 / 3)),
    }
    shares = {(r["period_start"].date(), r["team_id"], r["person_key"]): (r["reviews"], r["share"])
              for r in got["metric_review_shares_monthly"].iter_rows(named=True)}
    third = pytest.approx(1 / 3)
    assert shares == {
        (jan, T0, "a"): (2, pytest.approx(2 / 3)), (jan, T0, "b"): (1, third),
        (jan, T1, "c"): (0, None), (jan, T1, "d"): (0, None),
        (feb, T0, "a"): (1, 1.0), (feb, T0, "b"): (0, 0.0),
        (feb, T1, "c"): (1, third), (feb, T1, "d"): (2, pytest.approx(2 / 3)),
    }


def test_a_team_bucket_without_any_row_still_gives_its_team_a_row_in_each_month_with_reviews(spark, con):
    # Case 4b: T1's members (C) never review and author nothing, so no row is routed to T1's bucket; only the
    # first stage's marker gives that bucket a task. A (T0) approves W's api PR 1 in January and PR 2 in
    # February. Each month: T0 (members 1, reviews 1, Gini of [1] = 0.0, top_share 1.0), T1 (1, 0, null, null).
    _teams(con, {"a": T0, "c": T1})
    add_pr(con, 1, "w", "2024-01-08 09:00", repo="acme/api")
    add_pr(con, 2, "w", "2024-02-05 09:00", repo="acme/api")
    add_review(con, 1, "a", "2024-01-10 10:00", repo="acme/api")
    add_review(con, 2, "a", "2024-02-06 10:00", repo="acme/api")
    got = _both(con)
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    load_rows = {(r["period_start"].date(), r["team_id"]): (r["members"], r["reviews"], r["gini"], r["top_share"])
                 for r in got["metric_review_load_monthly"].iter_rows(named=True)}
    assert load_rows == {(jan, T0): (1, 1, 0.0, 1.0), (jan, T1): (1, 0, None, None),
                         (feb, T0): (1, 1, 0.0, 1.0), (feb, T1): (1, 0, None, None)}


def test_a_failed_deployment_shipping_two_teams_changes_fails_for_each_team(spark, con):
    _teams(con, {"a": T0, "c": T1})
    add_pr(con, 1, "a", "2024-03-04 09:00", repo="acme/api", merged_at="2024-03-04 10:00")
    add_pr(con, 2, "c", "2024-03-04 08:00", repo="acme/api", merged_at="2024-03-04 11:00")
    add_deployment(con, "d-api", "2024-03-04 12:00", repo="acme/api")
    add_incident(con, "i-1", "2024-03-04 13:00", resolved="2024-03-04 15:00", repo="acme/api", deployment_id="d-api")
    add_pr(con, 1, "w", "2024-03-05 09:00", repo="acme/web", merged_at="2024-03-05 10:00")
    add_deployment(con, "d-web", "2024-03-05 12:00", repo="acme/web")
    assert job.incidents_cross_repositories(con) == 0  # so DORA per team runs in the bucket stage
    got = _both(con)
    columns = ("deployments", "failed_deployments", "change_failure_rate", "changes_deployed", "incidents",
               "recovered_deployments", "failed_deployment_recovery_median_hours", "time_to_restore_median_hours",
               "lead_time_median_hours")
    rows = {(r["period_start"].date(), r["team_id"]): tuple(r[c] for c in columns)
            for r in got["metric_dora_team_monthly"].iter_rows(named=True)}
    march = date(2024, 3, 1)
    assert rows == {(march, T0): (1, 1, 1.0, 1, 1, 1, 3.0, 2.0, 3.0), (march, T1): (1, 1, 1.0, 1, 1, 1, 3.0, 2.0, 4.0)}


def test_a_worker_with_another_polars_version_is_refused_with_both_versions_named():
    # Buckets hash keys with Polars: another version on a worker would route rows to the wrong bucket silently.
    from impactlens.metrics import spark as engine

    engine.same_polars(pl.__version__)  # the same version: no error
    engine.same_polars(None)  # no check asked
    with pytest.raises(engine.SparkUnavailable, match=rf"workers run polars {pl.__version__} and the driver 0\.1\.0"):
        engine.run_bucket(("p0",), engine._rows_out([], [], []), shared={}, seeds={}, config=None,  # type: ignore[arg-type]
                          names=(), buckets=2, polars_version="0.1.0")
