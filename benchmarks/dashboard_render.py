"""Time each dashboard page's render on the demo warehouse with streamlit.testing.v1.AppTest.

    uv run python benchmarks/dashboard_render.py [DEMO_DB] [--runs N]

Without DEMO_DB the demo warehouse is built (or reused) where ``impactlens demo`` keeps it. For each page it
reports: the first render (the warehouse load for the first page, then the page's own figures), the median
of N reruns with nothing changed (target < 1.5 s), and a rerun after picking another person or week (the
figures for that choice are computed afresh; the warehouse stays loaded). Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
# (page file, widget key to change, value to pick)
PAGES = (
    ("my_impact.py", "my_impact_person", "nina-petrova"),
    ("promotion_case.py", "promotion_person", "dan-kowalski"),
    ("team_health.py", "team_week", None),  # None: the week before the default
)


def timed(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"the page raised: {at.exception[0].value}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", nargs="?", help="demo warehouse (default: build or reuse the demo's)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.db:
        db = Path(args.db)
    else:
        from impactlens import demo

        db, _ = demo.ensure()
    os.environ["IMPACTLENS_DB"] = str(db)

    at = AppTest.from_file(str(APP), default_timeout=600)
    at.query_params["person"] = "dan-kowalski"
    at.query_params["team"] = "web"
    print(f"warehouse {db}")
    print(f"{'page':<20} {'first':>8} {'rerun median':>13} {'rerun max':>10} {'new choice':>11}")
    first_load = True
    for page, key, value in PAGES:
        if first_load:
            first = timed(at)
            if page != "my_impact.py":
                at.switch_page(page)
                first = timed(at)
            first_load = False
        else:
            at.switch_page(page)
            first = timed(at)
        reruns = [timed(at) for _ in range(args.runs)]
        widget = at.selectbox(key=key)
        widget.set_value(widget.value - timedelta(days=7) if value is None else value)
        changed = timed(at)
        print(f"{page:<20} {first:>7.2f}s {statistics.median(reruns):>12.2f}s {max(reruns):>9.2f}s {changed:>10.2f}s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
