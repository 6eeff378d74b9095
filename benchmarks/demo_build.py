"""Benchmark of the demo build (``impactlens demo --rebuild``), step by step (results: docs/performance.md).

    uv run python benchmarks/demo_build.py [--repeat 3]

Prints, for each run, the wall and CPU seconds of generating the rows, writing the activity tables, the
incident import, the roster import, and the whole build; then the best of the runs. CPU seconds are given
beside wall seconds because the machine is shared: CPU time moves less when other processes are busy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from impactlens import config, people, warehouse
from impactlens.collectors import incidents
from impactlens.demo import samples, store
from impactlens.demo.generate import generate


def timed(label: str, results: dict[str, tuple[float, float]], fn, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args, **kwargs)
    results[label] = (time.perf_counter() - wall, time.process_time() - cpu)
    return value


def run(folder: Path) -> dict[str, tuple[float, float]]:
    results: dict[str, tuple[float, float]] = {}
    tables = timed("generate rows", results, generate)
    activity = {k: v for k, v in tables.items() if k != "incidents"}
    roster, export = folder / "roster.yaml", folder / "incidents.csv"
    roster.write_text(samples.roster_yaml(), encoding="utf-8")
    export.write_text(samples.incidents_csv(tables["incidents"]), encoding="utf-8")
    con = warehouse.open_for_write(folder / "steps.duckdb")
    timed("write activity tables", results, store.write_tables, con, activity)
    timed("incident import", results, incidents.load_file, con, export, fmt="generic")
    timed("roster import + identity resolution", results, people.import_roster, con, roster, config.DEFAULTS)
    con.close()
    timed("whole build (store.build)", results, store.build, folder / "demo.duckdb")
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    best: dict[str, tuple[float, float]] = {}
    for k in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            results = run(Path(folder))
        print(f"run {k + 1}: " + ", ".join(f"{label} {w:.2f} s ({c:.2f} s CPU)" for label, (w, c) in results.items()))
        for label, (w, c) in results.items():
            best[label] = min(best.get(label, (w, c)), (w, c))
    print("best:")
    for label, (w, c) in best.items():
        print(f"  {label:<38} {w:6.2f} s wall  {c:6.2f} s CPU")


if __name__ == "__main__":
    main()
