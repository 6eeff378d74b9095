"""Benchmark of the metric job single-process against Spark local[2] (results: docs/scale.md, "Measured").

    uv run python benchmarks/lake_scale.py                  # scale 0.02 of the metrics suite: 20k PRs, 8 repositories
    uv run python benchmarks/lake_scale.py --scale 0.05 --repos 40
    nice -n 5 uv run python benchmarks/lake_scale.py --partitions 8,16,32 --out slope.jsonl   # the slope

The warehouse is the metrics suite's synthetic one (benchmarks/metrics_suite.py, DuckDB SQL), with the number
of repositories set apart from the rows. Each engine runs in its own child process (the same script with
--run), so each peak memory is that run's own: for Spark, the driver's peak plus its children's (the JVM and,
under it, the Python workers: RUSAGE_CHILDREN and their VmHWM).

A 10x organisation (10M PRs, 100M commits) does not fit this machine; it is simulated by partition count.
``--partitions N1,N2,...`` generates, for each N, a warehouse of N repository partitions of one fixed,
realistic size (``--prs-per-partition``, default 2,500 PRs with 10,000 reviews, 10,000 comments and 25,000
commits: the 10x organisation's 10M PRs over 4,000 repositories) and measures both engines on it. The
Spark stages' time is then fitted as ``a + b * N`` (least squares; r^2 printed): ``b`` is the measured cost of one
more partition, and the estimate for the 10x organisation is ``2 * b`` core-seconds (local[2]) times its
partition count, divided by a cluster's cores. Each N's results are appended to ``--out`` (JSON lines), and the
fit reads every line of it, so counts can be measured in separate runs (each kept under ~10 minutes).

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


def _cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process and its descendants, live (the JVM, Spark's
    Python daemon and workers: /proc/<pid>/stat utime + stime) or reaped by them (cutime + cstime): the
    core-seconds a stage cost, whatever share of the shared cores it got. Linux only; 0 elsewhere."""
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError, IndexError):
            continue
    mine = {os.getpid()}
    for _ in range(6):
        mine |= {pid for pid, f in stats.items() if int(f[1]) in mine}
    # fields after the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15), counted from 0 at state
    return sum(sum(int(v) for v in stats[pid][11:15]) for pid in mine if pid in stats) / ticks


def run(engine: str, db: Path) -> dict[str, float]:
    """Compute every metric table of ``db`` with ``engine``; wall seconds and peak MiB (self, children)."""
    from impactlens import warehouse
    from impactlens.metrics.frames import load, plain
    from impactlens.metrics.job import builds

    con = warehouse.read_only(db)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    spark_stage = 0.0
    if engine == "spark":
        from impactlens.metrics import spark

        t = time.perf_counter()
        spark.session()  # the JVM's start, timed apart: once per job, not per partition
        jvm = time.perf_counter() - t
        t, cpu = time.perf_counter(), _cpu_seconds()
        done = spark.metric_tables(con)
        spark_stage = time.perf_counter() - t
        stage_cpu = _cpu_seconds() - cpu
        descendants = _descendants_peak_mib()
        rest = {n: b for n, b in builds(load(con)).items() if n not in done}
    else:
        jvm = stage_cpu = 0.0
        rest = builds(load(con))
    cpu = _cpu_seconds()
    rows = {n: plain(b()).height for n, b in rest.items()}
    wall = time.perf_counter() - started
    now = _cpu_seconds()
    # rest_cpu: the tables built after the Spark stage (all of them, locally); cpu: everything from the start
    out = {"wall": wall, "jvm": jvm, "spark_stage": spark_stage, "stage_cpu": stage_cpu,
           "rest_cpu": now - cpu, "cpu": now - cpu_started, "self_mib": _peak_mib(resource.RUSAGE_SELF),
           "children_mib": _peak_mib(resource.RUSAGE_CHILDREN), "driver_tables": len(rows)}
    if engine == "spark":
        from impactlens.metrics import spark

        spark.session().stop()
        out["children_mib"] = max(_peak_mib(resource.RUSAGE_CHILDREN), descendants)
    con.close()
    return out


def measure(scale: float, repos: int | None) -> dict:
    """Generate the suite's warehouse at ``scale`` with ``repos`` repositories (default the suite's), run both
    engines on it in child processes; their results and the warehouse's sizes."""
    import metrics_suite

    from impactlens import warehouse

    base = metrics_suite.sizes
    if repos:
        def sizes(scale: float) -> dict[str, int]:
            n = base(scale)
            n["repos"] = repos
            return n

        metrics_suite.sizes = sizes
    try:
        with tempfile.TemporaryDirectory(prefix="lake_scale_") as folder:
            db = Path(folder) / "suite.duckdb"
            t = time.perf_counter()
            n = metrics_suite.generate(db, scale)
            with warehouse.read_only(db) as con:
                found = con.sql("SELECT count(DISTINCT repo_id) FROM pull_requests").fetchall()[0][0]
            generated = time.perf_counter() - t
            results = {}
            for engine in ("local", "spark"):
                done = subprocess.run([sys.executable, __file__, "--run", engine, "--db", str(db)], capture_output=True,
                                      text=True, check=True)
                results[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        metrics_suite.sizes = base
    return {"sizes": n, "partitions": found, "generated": generated, **results}


def report(m: dict) -> None:
    """Print one measurement (:func:`measure`)."""
    n, repos, local, spark = m["sizes"], m["partitions"], m["local"], m["spark"]
    print(f"warehouse: {n['prs']:,} PRs, {n['reviews']:,} reviews, {n['commits']:,} commits, {repos} repositories "
          f"(generated in {m['generated']:.1f} s)")
    print(f"{'engine':<14}{'wall s':>9}{'peak MiB (self + children)':>30}")
    for name in ("local", "spark"):
        r = m[name]
        print(f"{name:<14}{r['wall']:>9.1f}{r['self_mib']:>15.0f} + {r['children_mib']:>10.0f}")
    print(f"Spark / local: wall {spark['wall'] / local['wall']:.2f}x, peak "
          f"{(spark['self_mib'] + spark['children_mib']) / (local['self_mib'] + local['children_mib']):.2f}x")
    per_partition = (spark["spark_stage"] * 2) / repos  # core-seconds per repository partition (local[2])
    print(f"Spark: JVM start {spark['jvm']:.1f} s; stages (per repository, then per person/team bucket) "
          f"{spark['spark_stage']:.1f} s over {repos} partitions = {per_partition:.2f} core-s per partition by wall "
          f"time x 2 ({spark.get('stage_cpu', 0) / repos:.2f} CPU-s per partition measured); "
          f"{spark.get('driver_tables', 0)} tables left to the driver "
          f"{spark['wall'] - spark['jvm'] - spark['spark_stage']:.1f} s; local CPU "
          f"{local.get('rest_cpu', 0):.1f} s", flush=True)


def fit(records: list[dict]) -> None:
    """Fit the Spark stage (and the local run) over partition counts: ``seconds = a + b * partitions``; print
    the slope, r^2 and the 10x estimate that follows from the slope."""
    from statistics import linear_regression, mean

    def line(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
        b, a = linear_regression(xs, ys)
        total = sum((y - mean(ys)) ** 2 for y in ys)
        r2 = 1 - sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys)) / total if total else 1.0
        return a, b, r2

    records = sorted(records, key=lambda r: r["partitions"])
    records = [r for r in records if "stage_cpu" in r["spark"]]  # measured with CPU accounting
    print(f"\n{'partitions':>10}{'PRs':>11}{'commits':>12}{'local s':>9}{'CPU s':>7}{'MiB':>6}{'Spark s':>9}"
          f"{'stage s':>9}{'CPU s':>7}{'JVM s':>7}{'Spark MiB (driver + JVM/workers)':>34}")
    for r in records:
        lo, sp = r["local"], r["spark"]
        print(f"{r['partitions']:>10}{r['sizes']['prs']:>11,}{r['sizes']['commits']:>12,}{lo['wall']:>9.1f}"
              f"{lo['rest_cpu']:>7.1f}{lo['self_mib']:>6.0f}{sp['wall']:>9.1f}{sp['spark_stage']:>9.1f}"
              f"{sp['stage_cpu']:>7.1f}{sp['jvm']:>7.1f}{sp['self_mib']:>17.0f} + {sp['children_mib']:,.0f}")
    sizes = {r["sizes"]["prs"] // r["partitions"] for r in records}
    if len(records) < 2 or len({r["partitions"] for r in records}) < 2:
        print("(a fit needs two partition counts or more)")
        return
    if len(sizes) > 1:
        print(f"warning: the partitions are not all of one size ({sorted(sizes)} PRs): the slope mixes them")
    xs = [float(r["partitions"]) for r in records]
    a, b, r2 = line(xs, [r["spark"]["stage_cpu"] for r in records])
    wa, wb, wr2 = line(xs, [r["spark"]["spark_stage"] for r in records])
    la, lb, lr2 = line(xs, [r["local"]["rest_cpu"] for r in records])
    ma, mb, mr2 = line(xs, [r["local"]["self_mib"] for r in records])
    sa, sb, sr2 = line(xs, [r["spark"]["self_mib"] + r["spark"]["children_mib"] for r in records])
    size = max(sizes)
    print(f"Spark local[2] stages (per repository, then per bucket): CPU = {a:.1f} s + {b:.2f} s x partitions (r^2 {r2:.3f}); wall = "
          f"{wa:.1f} s + {wb:.2f} s x partitions (r^2 {wr2:.3f}, on shared cores)")
    print(f"single process: CPU = {la:.1f} s + {lb:.3f} s x partitions (r^2 {lr2:.3f}); "
          f"peak {ma:.0f} MiB + {mb:.1f} MiB x partitions (r^2 {mr2:.3f})")
    print(f"Spark peak (driver + JVM and workers) = {sa:.0f} MiB + {sb:.1f} MiB x partitions (r^2 {sr2:.3f})")
    partitions_10x = 10_000_000 // size
    for cores in (32, 128):
        print(f"estimate, 10x organisation ({partitions_10x:,} partitions of {size:,} PRs) on {cores} cores: "
              f"Spark stages {(a + b * partitions_10x) / cores / 60:.1f} min (the CPU line at {partitions_10x:,} "
              f"partitions / cores)")
    print(f"single process, 10x organisation by its line: {(la + lb * partitions_10x) / 60:.0f} CPU-min, "
          f"{(ma + mb * partitions_10x) / 1024:.0f} GiB peak (extrapolated far past what was measured)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.02, help="rows, as a share of the metrics suite's 1M PRs")
    parser.add_argument("--repos", type=int, default=None, help="repositories (default the suite's: 400 x scale)")
    parser.add_argument("--partitions", type=str, default=None,
                        help="comma-separated repository partition counts, each of --prs-per-partition PRs")
    parser.add_argument("--prs-per-partition", type=int, default=2_500)
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file the measurements are appended to")
    parser.add_argument("--fit", type=Path, default=None, help="only fit the measurements of this JSON lines file")
    parser.add_argument("--run", choices=("local", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run(args.run, args.db)))
        return
    if args.fit:
        fit([json.loads(line) for line in args.fit.read_text().splitlines() if line.strip()])
        return
    if not args.partitions:
        m = measure(args.scale, args.repos)
        report(m)
        n, repos, spark = m["sizes"], m["partitions"], m["spark"]
        per_partition = (spark["spark_stage"] * 2) / repos
        rows_per_repo = n["prs"] / repos
        partitions_10x = 10_000_000 / rows_per_repo
        for cores in (32, 128):
            print(f"estimate, 10x organisation ({partitions_10x:,.0f} partitions of {rows_per_repo:,.0f} PRs) on "
                  f"{cores} cores: Spark stages {partitions_10x * per_partition / cores / 60:.1f} min")
        return
    records = []
    for count in (int(c) for c in args.partitions.split(",")):
        m = measure(count * args.prs_per_partition / 1_000_000, count)
        report(m)
        records.append(m)
        if args.out:
            with args.out.open("a") as out:
                out.write(json.dumps(m) + "\n")
    fit([json.loads(line) for line in args.out.read_text().splitlines() if line.strip()] if args.out else records)


if __name__ == "__main__":
    main()
