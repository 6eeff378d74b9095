"""Benchmark of the metric job single-process against Spark local[2] (results: docs/scale.md, "Measured").

    uv run python benchmarks/lake_scale.py                  # scale 0.02 of the metrics suite: 20k PRs, 8 repositories
    uv run python benchmarks/lake_scale.py --scale 0.05 --repos 40

The warehouse is the metrics suite's synthetic one (benchmarks/metrics_suite.py, DuckDB SQL), with the number
of repositories set apart from the rows: a 10x organisation (10M PRs, 100M commits, 4,000 repositories) does
not fit this machine, so its cost is estimated from the measured cost per repository partition. Each engine
runs in its own child process (the same script with --run), so each peak memory is that run's own: for Spark,
the driver's peak plus its children's (the JVM and, under it, the Python workers: RUSAGE_CHILDREN).

Prints, per engine: wall time of the metric tables (computed, not written), peak RSS; Spark / local ratios;
the Spark stage's time per repository partition and the cluster estimate docs/scale.md quotes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _descendants_peak_mib() -> float:
    """The summed peak RSS (VmHWM) of this process's live descendants (the JVM and its Python workers, which
    RUSAGE_CHILDREN misses: they are not waited for before this process exits). Linux only; 0 elsewhere."""
    import os

    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
        except (OSError, ValueError, IndexError):
            continue
    mine, total = {os.getpid()}, 0.0
    for _ in range(6):  # a few generations: JVM -> daemon -> workers
        mine |= {pid for pid, parent in parents.items() if parent in mine}
    for pid in mine - {os.getpid()}:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def run(engine: str, db: Path) -> dict[str, float]:
    """Compute every metric table of ``db`` with ``engine``; wall seconds and peak MiB (self, children)."""
    from impactlens import warehouse
    from impactlens.metrics.frames import load, plain
    from impactlens.metrics.job import builds

    con = warehouse.read_only(db)
    started = time.perf_counter()
    spark_stage = 0.0
    if engine == "spark":
        from impactlens.metrics import spark

        t = time.perf_counter()
        spark.session()  # the JVM's start, timed apart: once per job, not per partition
        jvm = time.perf_counter() - t
        t = time.perf_counter()
        done = spark.repo_tables(con)
        spark_stage = time.perf_counter() - t
        descendants = _descendants_peak_mib()
        rest = {n: b for n, b in builds(load(con)).items() if n not in done}
    else:
        jvm = 0.0
        rest = builds(load(con))
    rows = {n: plain(b()).height for n, b in rest.items()}
    wall = time.perf_counter() - started
    out = {"wall": wall, "jvm": jvm, "spark_stage": spark_stage, "self_mib": _peak_mib(resource.RUSAGE_SELF),
           "children_mib": _peak_mib(resource.RUSAGE_CHILDREN), "driver_tables": len(rows)}
    if engine == "spark":
        from impactlens.metrics import spark

        spark.session().stop()
        out["children_mib"] = max(_peak_mib(resource.RUSAGE_CHILDREN), descendants)
    con.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.02, help="rows, as a share of the metrics suite's 1M PRs")
    parser.add_argument("--repos", type=int, default=None, help="repositories (default the suite's: 400 x scale)")
    parser.add_argument("--run", choices=("local", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run(args.run, args.db)))
        return

    import metrics_suite

    from impactlens import warehouse

    if args.repos:
        base = metrics_suite.sizes

        def sizes(scale: float) -> dict[str, int]:
            n = base(scale)
            n["repos"] = args.repos
            return n

        metrics_suite.sizes = sizes
    with tempfile.TemporaryDirectory(prefix="lake_scale_") as folder:
        db = Path(folder) / "suite.duckdb"
        t = time.perf_counter()
        n = metrics_suite.generate(db, args.scale)
        with warehouse.read_only(db) as con:
            repos = con.sql("SELECT count(DISTINCT repo_id) FROM pull_requests").fetchall()[0][0]
        print(f"warehouse: {n['prs']:,} PRs, {n['reviews']:,} reviews, {n['commits']:,} commits, {repos} repositories "
              f"(generated in {time.perf_counter() - t:.1f} s)")
        results = {}
        for engine in ("local", "spark"):
            done = subprocess.run([sys.executable, __file__, "--run", engine, "--db", str(db)], capture_output=True,
                                  text=True, check=True)
            results[engine] = json.loads(done.stdout.strip().splitlines()[-1])
        local, spark = results["local"], results["spark"]
        print(f"{'engine':<14}{'wall s':>9}{'peak MiB (self + children)':>30}")
        for name, r in results.items():
            print(f"{name:<14}{r['wall']:>9.1f}{r['self_mib']:>15.0f} + {r['children_mib']:>10.0f}")
        print(f"Spark / local: wall {spark['wall'] / local['wall']:.2f}x, peak "
              f"{(spark['self_mib'] + spark['children_mib']) / (local['self_mib'] + local['children_mib']):.2f}x")
        per_partition = (spark["spark_stage"] * 2) / repos  # core-seconds per repository partition (local[2])
        print(f"Spark: JVM start {spark['jvm']:.1f} s; repo-local stage {spark['spark_stage']:.1f} s over {repos} "
              f"partitions = {per_partition:.2f} core-s per partition; driver tables (cross-repository) "
              f"{spark['wall'] - spark['jvm'] - spark['spark_stage']:.1f} s")
        # 10x organisation: 10M PRs over 4,000 repositories of the same size as these (rows per repository).
        rows_per_repo = n["prs"] / repos
        partitions_10x = 10_000_000 / rows_per_repo
        for cores in (32, 128):
            print(f"estimate, 10x organisation ({partitions_10x:,.0f} partitions of {rows_per_repo:,.0f} PRs) on "
                  f"{cores} cores: repo-local stage {partitions_10x * per_partition / cores / 60:.1f} min")


if __name__ == "__main__":
    main()
