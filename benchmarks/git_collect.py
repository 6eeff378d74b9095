"""Benchmark: the git collector against `git log --numstat` over the same history, in one process.

Usage:
    uv run python benchmarks/git_collect.py PATH_TO_CLONE [--pydriller]

Prints, for the clone's HEAD history:
  * the baseline: one `git log --numstat` pass (output read and discarded), seconds;
  * a full collection into a fresh warehouse (publish included), seconds, commits/s, and the ratio;
  * an up-to-date second collection, seconds (in process, and as the `impactlens` command);
  * peak memory (max RSS) of this process and of its git children;
  * with --pydriller, PyDriller's per-commit traversal reading the same stats (slow: minutes).
Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from impactlens import warehouse
from impactlens.collectors.git import collect_git


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def git_log_numstat(repo: Path) -> int:
    proc = subprocess.Popen(["git", "-C", str(repo), "log", "--numstat"], stdout=subprocess.PIPE)
    total = 0
    assert proc.stdout is not None
    while chunk := proc.stdout.read(1 << 20):
        total += len(chunk)
    proc.wait()
    return total


def pydriller_traversal(repo: Path) -> int:
    from pydriller import Repository

    count = 0
    for commit in Repository(str(repo)).traverse_commits():
        _ = commit.insertions, commit.deletions, [m.new_path for m in commit.modified_files]
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", type=Path)
    parser.add_argument("--pydriller", action="store_true", help="also time PyDriller's traversal")
    args = parser.parse_args()

    commits = int(subprocess.run(["git", "-C", str(args.repo), "rev-list", "--count", "HEAD"],
                                 capture_output=True, text=True, check=True).stdout)
    print(f"history: {args.repo} HEAD, {commits:,} commits")
    base_s, _ = timed(lambda: git_log_numstat(args.repo))
    print(f"baseline  git log --numstat          {base_s:7.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"

        def full():
            with warehouse.writing(db) as con:
                return collect_git(con, args.repo)

        full_s, result = timed(full)
        print(f"impactlens collect git (full)        {full_s:7.2f} s  {result.commits_stored / full_s:8,.0f} commits/s"
              f"  ratio {full_s / base_s:.2f}x")

        def again():
            with warehouse.writing(db) as con:
                return collect_git(con, args.repo)

        again_s, _ = timed(again)
        print(f"second run, up to date (in process)  {again_s:7.2f} s")
        cli_s, _ = timed(lambda: subprocess.run(
            [sys.executable, "-m", "impactlens", "collect", "git", str(args.repo), "--db", str(db), "--quiet"],
            check=True))
        print(f"second run, up to date (command)     {cli_s:7.2f} s  (includes Python start-up and imports)")
        print(f"warehouse file                       {db.stat().st_size / 2**20:7.1f} MiB")

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {own:,.0f} MiB, largest git child {children:,.0f} MiB")

    if args.pydriller:
        py_s, n = timed(lambda: pydriller_traversal(args.repo))
        print(f"PyDriller traverse_commits           {py_s:7.2f} s  ({n:,} commits)  ratio {py_s / base_s:.1f}x")


if __name__ == "__main__":
    main()
