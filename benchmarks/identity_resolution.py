"""Benchmark of identity resolution (``people.refresh``) on a synthetic warehouse (results: docs/performance.md).

    uv run python benchmarks/identity_resolution.py               # 200k commits, 50k PRs, 150k reviews
    uv run python benchmarks/identity_resolution.py --scale 5     # 1M commits, 250k PRs, 750k reviews

3,000 authors x (one email, one older address that .mailmap maps to it on every 7th commit), 2,500 GitHub
logins, 2,000 of them tied to an email through ``login_emails``. Prints the wall time of the first refresh
(everything new), of a second one (nothing changed) and of ``people unresolved``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from impactlens import config, people, warehouse


def build(con, scale: float) -> None:
    commits, prs, reviews = int(200_000 * scale), int(50_000 * scale), int(150_000 * scale)
    con.execute(f"""
        INSERT INTO commits SELECT 'r', 'sha' || i, 'N' || (i % 3000), 'u' || (i % 3000) || '@ex.com', 'N' || (i % 3000),
          CASE WHEN i % 7 = 0 THEN 'old' || (i % 3000) || '@ex.com' ELSE 'u' || (i % 3000) || '@ex.com' END,
          'N', 'u' || (i % 3000) || '@ex.com', 'N', 'u' || (i % 3000) || '@ex.com',
          TIMESTAMPTZ '2024-01-01' + INTERVAL (i) MINUTE, 0, TIMESTAMPTZ '2024-01-01' + INTERVAL (i) MINUTE, 0,
          's', '', [], false, 1, 1, 1, NULL FROM range({commits}) t(i)""")
    con.execute(f"""INSERT INTO pull_requests (repo_id, number, title, author_login, state, created_at)
        SELECT 'r', i, 't', 'login' || (i % 2500), 'open', TIMESTAMPTZ '2024-01-01' + INTERVAL (i) MINUTE
        FROM range({prs}) t(i)""")
    con.execute(f"""INSERT INTO reviews (repo_id, review_id, pr_number, reviewer_login, state, submitted_at)
        SELECT 'r', 'rv' || i, i % {prs}, 'login' || (i % 2500), 'APPROVED', TIMESTAMPTZ '2024-01-01' + INTERVAL (i) MINUTE
        FROM range({reviews}) t(i)""")
    con.execute("INSERT INTO login_emails SELECT 'login' || i, 'u' || i || '@ex.com', 'x', NULL FROM range(2000) t(i)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    path = tempfile.mktemp(suffix=".duckdb")
    con = warehouse.open_for_write(path)
    try:
        build(con, args.scale)
        import pyarrow as pa

        pa.array([], type=pa.string())  # pyarrow's first use imports pandas (~5 s here): not resolution's cost
        cfg = config.DEFAULTS
        for label in ("first refresh", "second refresh (nothing changed)"):
            started = time.perf_counter()
            result = people.refresh(con, cfg)
            print(f"{label}: {time.perf_counter() - started:.1f} s")
        print(result.summary())
        started = time.perf_counter()
        people.unresolved(con, limit=50)
        print(f"people unresolved: {time.perf_counter() - started:.1f} s")
    finally:
        con.close()
        os.remove(path)


if __name__ == "__main__":
    main()
