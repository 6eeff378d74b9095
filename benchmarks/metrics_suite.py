"""Benchmark of the metrics suite on a synthetic warehouse (results: docs/performance.md, "Metrics suite").

    uv run python benchmarks/metrics_suite.py                 # scale 0.05: 50k PRs, 200k reviews, 500k commits
    uv run python benchmarks/metrics_suite.py --scale 1       # the issue's target: 1M PRs, 4M reviews,
                                                              # 4M comments, 10M commits

The warehouse is generated with DuckDB SQL (range() and hash(): deterministic, no Python loops) in a
child process, so the measured process's peak memory is the metrics' own. The measured process then

1. runs the whole suite (every table ``impactlens metrics`` writes, computed, not written) and reports
   its wall time and peak RSS;
2. times PR size, time to first review and MTTR twice each from a fresh load: the Polars definitions
   (the same functions the suite uses) and the same definitions written as DuckDB SQL, and prints
   the ratio Polars / DuckDB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

FULL = {"prs": 1_000_000, "reviews": 4_000_000, "comments": 4_000_000, "commits": 10_000_000}


def sizes(scale: float) -> dict[str, int]:
    n = {k: max(1, int(v * scale)) for k, v in FULL.items()}
    n["people"] = max(50, int(5000 * scale))
    n["repos"] = max(5, int(400 * scale))
    n["teams"] = max(3, n["people"] // 8)
    n["events"] = n["prs"] // 2
    n["deployments"] = max(10, n["prs"] // 20)
    n["incidents"] = max(10, n["prs"] // 100)
    n["issues"] = max(10, n["prs"] // 10)
    return n


def generate(path: Path, scale: float) -> dict[str, int]:
    """Write a synthetic warehouse of the given scale to ``path`` with DuckDB SQL."""
    from impactlens import warehouse

    n = sizes(scale)
    con = warehouse.open_for_write(path)
    P, R, N = n["people"], n["repos"], n["prs"]
    macros = f"""
    CREATE OR REPLACE MACRO h(i, k) AS hash(i * 16 + k);
    CREATE OR REPLACE MACRO repo(i) AS 'org/repo' || (i % {R});
    CREATE OR REPLACE MACRO num(i) AS (i // {R} + 1)::INTEGER;
    CREATE OR REPLACE MACRO created(i) AS TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds((h(i, 3) % 94608000)::BIGINT);
    CREATE OR REPLACE MACRO merged(i) AS created(i) + to_seconds((3600 + h(i, 4) % 432000)::BIGINT);
    CREATE OR REPLACE MACRO is_merged(i) AS h(i, 5) % 100 < 85;
    CREATE OR REPLACE MACRO login(x) AS 'user' || (x % {P});
    """
    con.execute(macros)
    statements = [
        f"""INSERT INTO people (person_id, display_name, level, is_bot)
            SELECT 'person' || p, 'Person ' || p, 'L' || (3 + p % 4), false FROM range({P}) t(p)""",
        f"""INSERT INTO identities (identity_id, kind, value, person_id, is_bot, source)
            SELECT 'github_login:user' || p, 'github_login', 'user' || p,
                   CASE WHEN p % 10 = 9 THEN NULL ELSE 'person' || p END, false, 'bench' FROM range({P}) t(p)
            UNION ALL
            SELECT 'email:user' || p || '@corp.com', 'email', 'user' || p || '@corp.com', 'person' || p, false, 'bench'
            FROM range({P}) t(p)""",
        """INSERT INTO identities (identity_id, kind, value, person_id, is_bot, bot_kind, source) VALUES
            ('github_login:dependabot[bot]', 'github_login', 'dependabot[bot]', NULL, true, 'bot', 'bench'),
            ('github_login:coderabbitai', 'github_login', 'coderabbitai', NULL, true, 'ai_reviewer', 'bench')""",
        f"""INSERT INTO team_memberships (person_id, team_id, valid_from, valid_to)
            SELECT 'person' || p, 'team' || (p % {n['teams']}), DATE '2021-01-01',
                   CASE WHEN p % 10 = 0 THEN DATE '2023-06-01' END FROM range({P}) t(p)
            UNION ALL
            SELECT 'person' || p, 'team' || ((p + 1) % {n['teams']}), DATE '2023-06-01', NULL
            FROM range({P}) t(p) WHERE p % 10 = 0""",
        f"""INSERT INTO pull_requests BY NAME
            SELECT repo(i) AS repo_id, num(i) AS number, 'PR ' || i AS title,
                   CASE WHEN h(i, 2) % 50 = 0 THEN 'dependabot[bot]' ELSE login(h(i, 1)) END AS author_login,
                   h(i, 2) % 50 = 0 AS author_is_bot,
                   CASE WHEN is_merged(i) THEN 'closed' WHEN h(i, 5) % 100 < 90 THEN 'closed' ELSE 'open' END AS state,
                   false AS is_draft, created(i) AS created_at,
                   CASE WHEN is_merged(i) THEN merged(i) END AS merged_at,
                   CASE WHEN h(i, 5) % 100 < 90 THEN merged(i) END AS closed_at,
                   created(i) - to_seconds((h(i, 6) % 259200)::BIGINT) AS first_commit_at,
                   (h(i, 7) % 800)::INTEGER AS additions, (h(i, 8) % 300)::INTEGER AS deletions,
                   (1 + h(i, 9) % 30)::INTEGER AS changed_files, 'https://example.com/pr/' || i AS url,
                   CASE WHEN h(i, 10) % 40 = 0 THEN 'hotfix/x' ELSE 'feature/x' END AS head_branch,
                   [] AS labels, [] AS linked_issues
            FROM range({N}) t(i)""",
        f"""INSERT INTO reviews BY NAME
            SELECT repo(i) AS repo_id, 'r' || j AS review_id, num(i) AS pr_number,
                   CASE WHEN h(j, 2) % 100 < 3 THEN 'coderabbitai' WHEN h(j, 2) % 100 < 5 THEN 'github-actions[bot]'
                        ELSE login(h(j, 3)) END AS reviewer_login,
                   h(j, 2) % 100 < 5 AS reviewer_is_bot,
                   CASE h(j, 4) % 3 WHEN 0 THEN 'APPROVED' WHEN 1 THEN 'COMMENTED' ELSE 'CHANGES_REQUESTED' END AS state,
                   created(i) + to_seconds((h(j, 5) % 345600)::BIGINT) AS submitted_at,
                   (h(j, 6) % 4)::INTEGER AS comment_count
            FROM (SELECT j, h(j, 1) % {N} AS i FROM range({n['reviews']}) t(j))""",
        f"""INSERT INTO comments BY NAME
            SELECT repo(i) AS repo_id, 'c' || j AS comment_id,
                   CASE WHEN j % 2 = 0 THEN 'review' ELSE 'issue' END AS kind, num(i) AS parent_number,
                   'pull_request' AS parent_type, CASE WHEN j % 2 = 0 THEN 'r' || j END AS review_id,
                   login(h(j, 3)) AS author_login, false AS author_is_bot,
                   created(i) + to_seconds((h(j, 7) % 345600)::BIGINT) AS created_at
            FROM (SELECT j, h(j, 1) % {N} AS i FROM range({n['comments']}) t(j))""",
        f"""INSERT INTO pr_timeline_events BY NAME
            SELECT repo(i) AS repo_id, num(i) AS pr_number, 'e' || k AS event_id,
                   CASE k % 16 WHEN 0 THEN 'ready_for_review' WHEN 4 THEN 'ready_for_review'
                        WHEN 8 THEN 'convert_to_draft' WHEN 12 THEN 'reopened' ELSE 'review_requested' END AS event_type,
                   login(h(i, 1)) AS actor_login, login(h(k, 8)) AS subject_login,
                   created(i) + to_seconds((h(k, 9) % 86400)::BIGINT) AS created_at
            FROM (SELECT k, h(k, 7) % {N} AS i FROM range({n['events']}) t(k))""",
        f"""INSERT INTO commits BY NAME
            SELECT CASE WHEN c < {N} THEN repo(c) ELSE 'org/repo' || (c % {R}) END AS repo_id,
                   md5(c::VARCHAR) || lpad(c::VARCHAR, 8, '0') AS sha,
                   login(h(c, 1)) || '@corp.com' AS author_email,
                   CASE WHEN c < {N} THEN merged(c) ELSE TIMESTAMPTZ '2022-01-01 00:00:00+00'
                        + to_seconds((h(c, 3) % 94608000)::BIGINT) END AS authored_at,
                   0::SMALLINT AS author_utc_offset_minutes,
                   CASE WHEN c < {N} THEN merged(c) ELSE TIMESTAMPTZ '2022-01-01 00:00:00+00'
                        + to_seconds((h(c, 3) % 94608000)::BIGINT) END AS committed_at,
                   0::SMALLINT AS committer_utc_offset_minutes,
                   CASE WHEN c % 97 = 0 THEN 'fix: crash in parser' ELSE 'Change ' || c END AS subject, '' AS body,
                   [] AS parent_shas, c >= {N} AND c % 20 = 0 AS is_merge,
                   (h(c, 4) % 200)::INTEGER AS insertions, (h(c, 5) % 100)::INTEGER AS deletions,
                   3 AS files_changed, CASE WHEN c < {N} AND is_merged(c) THEN num(c) END AS pr_number
            FROM range({n['commits']}) t(c)""",
        f"""INSERT INTO commit_files BY NAME
            SELECT repo(c) AS repo_id, md5(c::VARCHAR) || lpad(c::VARCHAR, 8, '0') AS sha,
                   'src/mod' || (h(c, 6) % 40) || '/sub' || f || '/file' || (h(c, 7 + f) % 9) ||
                       CASE WHEN f = 2 AND h(c, 9) % 10 = 0 THEN '/package-lock.json' ELSE '.py' END AS path,
                   'M' AS change_type, (h(c, 10 + f) % 120)::INTEGER AS additions, (h(c, 13 + f) % 40)::INTEGER AS deletions,
                   false AS is_binary,
                   CASE WHEN f = 2 AND h(c, 9) % 10 = 0 THEN 'lockfile' ELSE 'code' END AS category
            FROM range({N}) t(c), range(3) f(f) WHERE is_merged(c)""",
        f"""INSERT INTO deployments BY NAME
            SELECT 'd' || d AS deployment_id, 'bench' AS source, 'org/repo' || (d % {R}) AS repo_id,
                   'production' AS environment, true AS is_production,
                   TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds((h(d, 1) % 95000000)::BIGINT) AS created_at,
                   CASE WHEN h(d, 2) % 20 = 0 THEN 'failure' ELSE 'success' END AS status
            FROM range({n['deployments']}) t(d)""",
        f"""INSERT INTO incidents BY NAME
            SELECT 'i' || k AS incident_id, 'bench' AS source, 'i' || k AS external_id,
                   'org/repo' || (k % {R}) AS repo_id,
                   CASE WHEN h(k, 1) % 10 = 0 THEN 'open' ELSE 'resolved' END AS status,
                   TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds((h(k, 2) % 94608000)::BIGINT) AS opened_at,
                   TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds((h(k, 2) % 94608000 + 300)::BIGINT) AS acknowledged_at,
                   CASE WHEN h(k, 1) % 10 <> 0 THEN TIMESTAMPTZ '2022-01-01 00:00:00+00'
                        + to_seconds((h(k, 2) % 94608000 + 600 + h(k, 3) % 259200)::BIGINT) END AS resolved_at,
                   login(h(k, 4)) AS commander, [login(h(k, 5)), login(h(k, 6))] AS responders,
                   CASE WHEN k % 3 = 0 THEN 'https://wiki/pm/' || k END AS postmortem_url
            FROM range({n['incidents']}) t(k)""",
        f"""INSERT INTO issues BY NAME
            SELECT 'org/repo' || (k % {R}) AS repo_id, (k // {R} + 1)::INTEGER AS number, 'Issue ' || k AS title,
                   'open' AS state, TIMESTAMPTZ '2022-01-01 00:00:00+00' AS created_at,
                   CASE WHEN k % 4 = 0 THEN ['bug'] ELSE ['feature'] END AS labels
            FROM range({n['issues']}) t(k)""",
    ]
    for statement in statements:
        con.execute(statement)
    con.execute("CHECKPOINT")
    con.close()
    return n


# ---------------------------------------------------------------------------- the same definitions in SQL

SQL_ACTORS = """
WITH actors AS (
    SELECT i.identity_id, coalesce(i.person_id, i.identity_id) AS person_key,
           i.is_bot OR coalesce(p.is_bot, false) AS is_bot
    FROM identities i LEFT JOIN people p ON p.person_id = i.person_id
)"""

SQL_PR_SIZE = SQL_ACTORS + """,
prs AS (
    SELECT pr.repo_id, pr.number, pr.merged_at, pr.additions, pr.deletions,
           coalesce(a.is_bot, false) OR pr.author_is_bot AS author_is_bot
    FROM pull_requests pr LEFT JOIN actors a ON a.identity_id = 'github_login:' || lower(trim(pr.author_login))
),
sizes AS (
    SELECT c.repo_id, c.pr_number AS number,
           sum(CASE WHEN f.category NOT IN ('generated', 'lockfile', 'vendored')
                    THEN coalesce(f.additions, 0) + coalesce(f.deletions, 0) ELSE 0 END) AS changed
    FROM commit_files f JOIN commits c ON c.repo_id = f.repo_id AND c.sha = f.sha
    WHERE c.pr_number IS NOT NULL AND NOT c.is_merge
    GROUP BY ALL
),
per_pr AS (
    SELECT coalesce(s.changed, p.additions + p.deletions) AS changed_lines
    FROM prs p LEFT JOIN sizes s USING (repo_id, number)
    WHERE p.merged_at IS NOT NULL AND NOT p.author_is_bot
)
SELECT count(*) AS prs, median(changed_lines), quantile_cont(changed_lines, 0.9),
       avg((changed_lines < 200)::INTEGER) AS share_under_200
FROM per_pr WHERE changed_lines IS NOT NULL
"""

SQL_TTFR = SQL_ACTORS + """,
prs AS (
    SELECT pr.repo_id, pr.number, pr.created_at, pr.merged_at,
           CASE WHEN pr.merged_at IS NOT NULL THEN 'merged' ELSE lower(pr.state) END AS state,
           CASE WHEN pr.merged_at IS NOT NULL THEN pr.merged_at WHEN lower(pr.state) = 'closed' THEN pr.closed_at END AS end_at,
           coalesce(pr.is_draft, false) AND pr.merged_at IS NULL AS draft_now,
           coalesce(a.person_key, 'github_login:' || lower(trim(pr.author_login))) AS author_key,
           coalesce(a.is_bot, false) OR pr.author_is_bot AS author_is_bot
    FROM pull_requests pr LEFT JOIN actors a ON a.identity_id = 'github_login:' || lower(trim(pr.author_login))
),
-- Ready periods (docs/metrics.md, "Time to first review"): kinds ranked as events ts one instant apply.
events AS (
    SELECT e.repo_id, e.pr_number AS number, greatest(e.created_at, p.created_at) AS ts,
           CASE lower(e.event_type) WHEN 'convert_to_draft' THEN 1 WHEN 'closed' THEN 2
                WHEN 'ready_for_review' THEN 3 ELSE 4 END AS kind
    FROM pr_timeline_events e JOIN prs p ON p.repo_id = e.repo_id AND p.number = e.pr_number
    WHERE lower(e.event_type) IN ('convert_to_draft', 'closed', 'ready_for_review', 'reopened')
      AND (p.end_at IS NULL OR e.created_at <= p.end_at)
),
changing AS (SELECT DISTINCT repo_id, number FROM events),
first_draft AS (
    SELECT repo_id, number, min({'ts': ts, 'kind': kind}).kind = 3 AS draft_first
    FROM events WHERE kind IN (1, 3) GROUP BY ALL
),
stream AS (
    SELECT p.repo_id, p.number, p.created_at AS ts, 0 AS kind, coalesce(d.draft_first, p.draft_now) AS draft0
    FROM prs p JOIN changing USING (repo_id, number) LEFT JOIN first_draft d USING (repo_id, number)
    UNION ALL SELECT repo_id, number, ts, kind, NULL FROM events
    UNION ALL SELECT p.repo_id, p.number, p.end_at, 5, NULL
    FROM prs p JOIN changing USING (repo_id, number) WHERE p.end_at IS NOT NULL
),
states AS (
    SELECT repo_id, number, ts, kind,
           last_value(CASE WHEN kind IN (0, 4) THEN true WHEN kind IN (2, 5) THEN false END IGNORE NULLS) OVER w
           AND NOT last_value(CASE kind WHEN 0 THEN draft0 WHEN 1 THEN true WHEN 3 THEN false END IGNORE NULLS) OVER w
           AS ready
    FROM stream
    WINDOW w AS (PARTITION BY repo_id, number ORDER BY ts, kind ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
marks AS (
    SELECT *, kind = 4 AND ready AND before AS split
    FROM (SELECT *, coalesce(lag(ready) OVER (PARTITION BY repo_id, number ORDER BY ts, kind), false) AS before
          FROM states)
),
numbered AS (
    SELECT *, ready AND (NOT before OR split) AS starts, (before AND NOT ready) OR split AS ends,
           sum((ready AND (NOT before OR split))::INTEGER)
               OVER (PARTITION BY repo_id, number ORDER BY ts, kind ROWS UNBOUNDED PRECEDING) AS period
    FROM marks
),
changed_periods AS (
    SELECT s.repo_id, s.number, s.period, s.ts AS period_start, e.ts AS period_end
    FROM numbered s LEFT JOIN (SELECT repo_id, number, period - split::INTEGER AS period, ts FROM numbered WHERE ends) e
      USING (repo_id, number, period)
    WHERE s.starts
),
periods AS (
    SELECT repo_id, number, period_start, period_end,
           coalesce(period_end = lead(period_start) OVER w, false) AS shared_end,
           lead(period_start) OVER w IS NULL AS is_last
    FROM changed_periods WINDOW w AS (PARTITION BY repo_id, number ORDER BY period)
    UNION ALL
    SELECT p.repo_id, p.number, p.created_at, p.end_at, false, true
    FROM prs p ANTI JOIN changing USING (repo_id, number) WHERE NOT p.draft_now
),
responses AS (
    SELECT r.repo_id, r.pr_number AS number, r.submitted_at AS ts,
           coalesce(a.person_key, 'github_login:' || lower(trim(r.reviewer_login))) AS actor,
           coalesce(a.is_bot, r.reviewer_is_bot) AS is_bot
    FROM reviews r LEFT JOIN actors a ON a.identity_id = 'github_login:' || lower(trim(r.reviewer_login))
    WHERE r.submitted_at IS NOT NULL AND lower(r.state) <> 'pending'
    UNION ALL
    SELECT c.repo_id, c.parent_number, c.created_at,
           coalesce(a.person_key, 'github_login:' || lower(trim(c.author_login))),
           coalesce(a.is_bot, c.author_is_bot)
    FROM comments c LEFT JOIN actors a ON a.identity_id = 'github_login:' || lower(trim(c.author_login))
    WHERE c.parent_type = 'pull_request'
),
first AS (
    SELECT s.repo_id, s.number, min(s.ts) AS first_human, min(w.period_start) AS response_period
    FROM responses s JOIN periods w USING (repo_id, number) JOIN prs p USING (repo_id, number)
    WHERE NOT s.is_bot AND (s.actor IS NULL OR p.author_key IS NULL OR s.actor <> p.author_key)
      AND s.ts >= w.period_start
      AND (w.period_end IS NULL OR s.ts < w.period_end OR (s.ts = w.period_end AND NOT w.shared_end))
    GROUP BY ALL
),
last AS (SELECT repo_id, number, period_start AS last_start, period_end IS NULL AS ready_now FROM periods WHERE is_last),
waits AS (
    SELECT p.merged_at, p.author_is_bot, f.first_human,
           coalesce(f.response_period, CASE WHEN l.ready_now OR p.state <> 'open' THEN l.last_start END) AS ready_at
    FROM prs p LEFT JOIN last l USING (repo_id, number) LEFT JOIN first f USING (repo_id, number)
)
SELECT count(*) AS prs, count(first_human) AS reviewed, median(hours), quantile_cont(hours, 0.9), avg(hours)
FROM (SELECT *, epoch_us(least(first_human, merged_at) - ready_at) / 3.6e9 AS hours FROM waits
      WHERE NOT author_is_bot AND ready_at IS NOT NULL)
"""

SQL_MTTR = """
SELECT count(*) AS incidents, count(resolved_at) AS resolved,
       avg(epoch_us(resolved_at - opened_at) / 3.6e9) AS mttr_mean_hours,
       median(epoch_us(resolved_at - opened_at) / 3.6e9) AS mttr_median_hours
FROM incidents
"""


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads): robust to other processes on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: Path) -> None:
    import duckdb
    import polars as pl

    from impactlens import warehouse
    from impactlens.metrics import load
    from impactlens.metrics.job import _tables
    from impactlens.metrics.pr import SMALL_PR_LINES, _first_responses, _ready_periods, sizes_of

    con = warehouse.read_only(path)
    start, start_cpu = time.perf_counter(), cpu_seconds()
    frames = load(con)
    per_table = {}
    for name, build in _tables(frames).items():
        t, c = time.perf_counter(), cpu_seconds()
        build()
        per_table[name] = (time.perf_counter() - t, cpu_seconds() - c, peak_rss_mib())
    suite, suite_cpu = time.perf_counter() - start, cpu_seconds() - start_cpu
    suite_rss = peak_rss_mib()
    con.close()
    print(f"suite: {suite:.1f} s wall, {suite_cpu:.1f} s CPU, peak RSS {suite_rss:,.0f} MiB")
    for name, (seconds, cpu, peak) in per_table.items():
        print(f"  {name:<30} {seconds:6.2f} s wall {cpu:6.2f} s CPU  peak RSS so far {peak:7,.0f} MiB")

    def polars_pr_size(con):
        # A standalone job reads only the columns and rows it needs (projection and filter pushed into
        # the reading query), then joins and aggregates in Polars with the suite's own sizes_of.
        f = load(con)
        narrow = SimpleNamespace(
            commits=pl.from_arrow(con.sql(
                "SELECT hash(repo_id, sha) AS commit_id, hash(repo_id, pr_number) AS pr_id, is_merge "
                "FROM commits WHERE pr_number IS NOT NULL AND NOT is_merge").to_arrow_table()).lazy(),
            commit_files=pl.from_arrow(con.sql(
                "SELECT hash(repo_id, sha) AS commit_id, path, additions, deletions, category "
                "FROM commit_files").to_arrow_table()).lazy(),
        )
        prs = f._resolved("pull_requests", "hash(t.repo_id, t.number) AS pr_id, merged_at, additions, deletions",
                          [("author_login", "author", "github_login", "author_is_bot")], where="t.merged_at IS NOT NULL")
        prs = prs.filter(~pl.col("author_is_bot")).join(sizes_of(narrow.commit_files, narrow.commits.select("pr_id", "commit_id", pl.lit("commits").alias("source"))), on="pr_id", how="left")
        lines = pl.coalesce("_changed", pl.col("additions").cast(pl.Int64) + pl.col("deletions").cast(pl.Int64))
        return prs.select(lines.alias("c")).filter(pl.col("c").is_not_null()).select(
            pl.len(), pl.col("c").median().alias("median"), pl.col("c").quantile(0.9, "linear").alias("p90"),
            (pl.col("c") < SMALL_PR_LINES).mean().alias("share")
        ).collect()

    def polars_ttfr(con):
        # The suite's own ready periods and first responses, on frames read narrow (only what they use).
        f = load(con)
        timeline = pl.from_arrow(con.sql(
            "SELECT hash(repo_id, pr_number) AS pr_id, lower(event_type) AS event_type, created_at "
            "FROM pr_timeline_events "
            "WHERE lower(event_type) IN ('ready_for_review', 'convert_to_draft', 'closed', 'reopened')"
        ).to_arrow_table()).lazy()
        narrow = SimpleNamespace(
            config=f.config,  # _first_responses reads [review] first_response
            reviews=f._resolved("reviews", "hash(t.repo_id, t.pr_number) AS pr_id, submitted_at",
                                [("reviewer_login", "reviewer", "github_login", "reviewer_is_bot")],
                                where="t.submitted_at IS NOT NULL AND lower(t.state) <> 'pending'"),
            comments=f._resolved("comments", "hash(t.repo_id, t.parent_number) AS pr_id, created_at",
                                 [("author_login", "author", "github_login", "author_is_bot")],
                                 where="regexp_matches(lower(t.parent_type), 'pull|^pr$')"),
        )
        prs = f._resolved(
            "pull_requests", "hash(t.repo_id, t.number) AS pr_id, created_at, merged_at, closed_at, is_draft, "
            "CASE WHEN t.merged_at IS NOT NULL THEN 'merged' ELSE lower(t.state) END AS state",
            [("author_login", "author", "github_login", "author_is_bot")])
        periods = _ready_periods(prs, timeline).lazy()
        last = periods.filter(pl.col("is_last")).select(
            "pr_id", pl.col("period_start").alias("_last_start"), pl.col("period_end").is_null().alias("_ready_now"))
        prs = prs.join(last, on="pr_id", how="left").join(_first_responses(narrow, prs, periods), on="pr_id", how="left")
        ready_at = pl.coalesce(
            "_response_period",
            pl.when(pl.col("_ready_now") | (pl.col("state") != "open")).then(pl.col("_last_start")))
        hours = (pl.min_horizontal("first_human_response_at", "merged_at") - pl.col("ready_at")).dt.total_microseconds() / 3.6e9
        return prs.with_columns(ready_at.alias("ready_at")).filter(
            ~pl.col("author_is_bot") & pl.col("ready_at").is_not_null()).select(
            pl.len(), pl.col("first_human_response_at").is_not_null().sum().alias("reviewed"),
            hours.median().alias("median"), hours.quantile(0.9, "linear").alias("p90"), hours.mean().alias("mean")
        ).collect()

    def polars_mttr(con):
        hours = (pl.col("resolved_at") - pl.col("opened_at")).dt.total_microseconds() / 3.6e9
        incidents = pl.from_arrow(con.sql("SELECT opened_at, resolved_at FROM incidents").to_arrow_table()).lazy()
        return incidents.select(
            pl.len(), pl.col("resolved_at").count().alias("resolved"), hours.mean().alias("mean"),
            hours.median().alias("median"),
        ).collect()

    def sql(query):
        return lambda con: con.sql(query).fetchall()

    rows = []
    for name, pol, q in (("PR size", polars_pr_size, SQL_PR_SIZE), ("time to first review", polars_ttfr, SQL_TTFR),
                         ("MTTR", polars_mttr, SQL_MTTR)):
        timings = {}
        results = {}
        for engine, fn in (("polars", pol), ("duckdb", sql(q))):
            # Best of at least two runs, and of more while they take under a second in all: a 10 ms
            # figure (MTTR) moves by its own size from one run to the next.
            best, spent, runs = None, 0.0, 0
            while runs < 2 or (spent < 1.0 and runs < 20):
                runs += 1
                c = duckdb.connect(str(path), read_only=True)
                c.execute("SET TimeZone = 'UTC'")
                t, cc = time.perf_counter(), cpu_seconds()
                results[engine] = fn(c)
                elapsed = (time.perf_counter() - t, cpu_seconds() - cc)
                c.close()
                spent += elapsed[0]
                best = elapsed if best is None or elapsed[0] < best[0] else best
            timings[engine] = best
        rows.append((name, timings["polars"], timings["duckdb"], results))
    print(f"{'metric':<22} {'polars s':>9} {'duckdb s':>9} {'ratio':>6} {'polars CPU':>11} {'duckdb CPU':>11} {'ratio':>6}")
    for name, p, d, results in rows:
        print(f"{name:<22} {p[0]:9.2f} {d[0]:9.2f} {p[0] / d[0]:6.2f} {p[1]:11.2f} {d[1]:11.2f} "
              f"{p[1] / max(d[1], 1e-3):6.2f}")
        print(f"    polars {results['polars'].rows() if hasattr(results['polars'], 'rows') else results['polars']}")
        print(f"    duckdb {results['duckdb']}")
    print(f"peak RSS of the whole run {peak_rss_mib():,.0f} MiB (the suite alone: {suite_rss:,.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.05, help="fraction of 1M PRs / 4M reviews / 4M comments / 10M commits")
    parser.add_argument("--db", type=Path, help="warehouse file (default a temporary one; reused if it exists)")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:
        t = time.perf_counter()
        n = generate(args.db, args.scale)
        print(f"generated {n} in {time.perf_counter() - t:.1f} s")
        return
    tmp = None
    db = args.db
    if db is None:
        tmp = tempfile.TemporaryDirectory(prefix="impactlens-bench-")
        db = Path(tmp.name) / "bench.duckdb"
    if not db.exists():
        subprocess.run([sys.executable, __file__, "--generate-only", "--scale", str(args.scale), "--db", str(db)],
                       check=True)
    print(f"warehouse {db} ({os.path.getsize(db) / 2**20:,.0f} MiB), scale {args.scale}, {os.cpu_count()} CPUs")
    try:
        measure(db)
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
