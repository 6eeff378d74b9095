"""Benchmark: the git collector against `git log --numstat` over the same history, in one process and as a command.

Usage:
    uv run python benchmarks/git_collect.py PATH_TO_CLONE [--repeat N] [--pydriller]

Prints, for the clone's HEAD history (each figure the best of --repeat runs: the machine may be shared):
  * the baseline: one `git log --numstat` pass (output read and discarded), seconds;
  * a full collection into a fresh warehouse (publish included), in process: seconds, commits/s, ratio;
  * the same as the `impactlens collect git` command (start-up, collection, derivation of people), and ratio;
    both ratios are to `git log --numstat` runs interleaved with them (one before each run, so a changing load
    moves both), in wall seconds and in CPU seconds (the collecting process's threads and its git children:
    on a saturated machine the wall ratio tends to the CPU ratio, on an idle one git's and the parser's work
    overlap and the wall ratio is lower);
  * an up-to-date second collection, in process and as the command;
  * the fixed cost of a collection: the same steps on a one-commit repository built for the run, its
    in-process figures each from a new interpreter (the libraries a collection imports are counted);
  * `impactlens --help` as a command (start-up alone);
  * peak memory (max RSS) of this process and of its git children;
  * with --pydriller, PyDriller's per-commit traversal reading the same stats (slow: minutes).
Commands run with the bytecode cache writable (PYTHONDONTWRITEBYTECODE unset), as a user's second run.
Results go in docs/performance.md.
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


def command(*args: str) -> None:
    """Run ``impactlens ARGS`` in a new process, as a user would."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "impactlens", *args], check=True, env=env, stdout=subprocess.DEVNULL)


def cpu_seconds() -> float:
    """CPU seconds of this process (all its threads) and of every child it has waited for (git, commands)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def paired(repeat: int, fn, setup, base):
    """``repeat`` rounds of ``base`` (the baseline) then ``fn`` (``setup`` before it, untimed), so both see the
    same load: the best wall seconds and the least CPU seconds of each, and fn's value from its fastest run.
    Returns ``(fn_s, fn_cpu, base_s, base_cpu, value)``."""
    fn_runs, base_runs = [], []
    for _ in range(repeat):
        start = cpu_seconds()
        base_s, _ = timed(base)
        base_runs.append((base_s, cpu_seconds() - start))
        setup()
        start = cpu_seconds()
        fn_s, value = timed(fn)
        fn_runs.append((fn_s, cpu_seconds() - start, value))
    fastest = min(fn_runs, key=lambda run: run[0])
    return (fastest[0], min(r[1] for r in fn_runs), min(r[0] for r in base_runs), min(r[1] for r in base_runs),
            fastest[2])


def best(repeat: int, fn, setup=None):
    """The fastest of ``repeat`` runs of ``fn`` (``setup`` before each, untimed): seconds and fn's value."""
    runs = []
    for _ in range(repeat):
        if setup:
            setup()
        runs.append(timed(fn))
    return min(runs, key=lambda run: run[0])


def one_commit_repo(where: Path) -> Path:
    repo = where / "one"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-01-05T10:00:00Z", "GIT_COMMITTER_DATE": "2026-01-05T10:00:00Z"}
    for args in (["init", "-q"], ["config", "user.name", "Ada"], ["config", "user.email", "ada@example.com"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    (repo / "main.py").write_text("print('hi')\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "First"], check=True, env=env)
    return repo


FRESH = """
import sys, time
from impactlens import warehouse
from impactlens.collectors.git import collect_git
start = time.perf_counter()
with warehouse.writing(sys.argv[2]) as con:
    collect_git(con, sys.argv[1])
print(time.perf_counter() - start)
"""


def in_fresh_process(repo: Path, db: Path) -> float:
    """Seconds of one collection in a new interpreter (the imports a collection makes are counted, Python's
    and the collector module's start-up are not): the fixed cost a run pays, which a warm process hides."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", FRESH, str(repo), str(db)], check=True, env=env,
                          capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def measure(repo: Path, tmp: Path, repeat: int, label: str, fresh_process: bool = False, base=None) -> Path:
    """Print the in-process and command figures for ``repo``; returns the up-to-date warehouse.

    ``fresh_process``: the in-process figures come from a new interpreter each (see :func:`in_fresh_process`);
    otherwise ``base`` (the baseline) runs before each full run and the ratios are to those runs."""
    db = tmp / f"{label}.duckdb"

    def fresh() -> None:
        for leftover in tmp.glob(f"{label}.duckdb*"):
            leftover.unlink()

    def full():
        with warehouse.writing(db) as con:
            return collect_git(con, repo)

    def cli_full() -> None:
        command("collect", "git", str(repo), "--db", str(db), "--quiet")

    if fresh_process:
        runs = []
        for _ in range(repeat):
            fresh()
            runs.append(in_fresh_process(repo, db))
        print(f"{label:<8}: collect git, full (in process)  {min(runs):7.2f} s")
        cli_full_s, _ = best(repeat, cli_full, fresh)
        print(f"{label:<8}: collect git, full (command)     {cli_full_s:7.2f} s  (start-up, collection, people)")
    else:
        # Each run right after a baseline run, so a load that changes between rounds moves both.
        for name, fn, note in (("in process", full, ""), ("command", cli_full, "  (start-up, collection, people)")):
            fn_s, fn_cpu, paired_s, paired_cpu, result = paired(repeat, fn, fresh, base)
            rate = f"  {result.commits_stored / fn_s:,.0f} commits/s" if result else ""
            print(f"{label:<8}: collect git, full ({name + ')':<12}{fn_s:7.2f} s  ratio {fn_s / paired_s:.2f}x to "
                  f"git log's {paired_s:.2f} s in the same rounds; CPU {fn_cpu:.2f} s, ratio {fn_cpu / paired_cpu:.2f}x "
                  f"to {paired_cpu:.2f} s{rate}{note}")

    if fresh_process:
        again_s = min(in_fresh_process(repo, db) for _ in range(repeat))
    else:
        again_s, _ = best(repeat, full)  # the warehouse holds the history now: nothing to read
    print(f"{label:<8}: up to date (in process)         {again_s:7.2f} s")
    cli_s, _ = best(repeat, lambda: command("collect", "git", str(repo), "--db", str(db), "--quiet"))
    print(f"{label:<8}: up to date (command)            {cli_s:7.2f} s  (includes Python start-up and imports)")
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the best is printed (default 1)")
    parser.add_argument("--pydriller", action="store_true", help="also time PyDriller's traversal")
    args = parser.parse_args()

    commits = int(subprocess.run(["git", "-C", str(args.repo), "rev-list", "--count", "HEAD"],
                                 capture_output=True, text=True, check=True).stdout)
    print(f"history: {args.repo} HEAD, {commits:,} commits; best of {args.repeat}; load {os.getloadavg()[0]:.1f}")
    base_s, _ = best(args.repeat, lambda: git_log_numstat(args.repo))
    print(f"baseline  git log --numstat          {base_s:7.2f} s")

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        db = measure(args.repo, tmp, args.repeat, "history", base=lambda: git_log_numstat(args.repo))
        print(f"warehouse file                       {db.stat().st_size / 2**20:7.1f} MiB")
        measure(one_commit_repo(tmp), tmp, args.repeat, "1 commit", fresh_process=True)
    help_s, _ = best(args.repeat, lambda: command("--help"))
    print(f"impactlens --help (command)          {help_s:7.2f} s")

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {own:,.0f} MiB, largest child {children:,.0f} MiB; "
          f"load {os.getloadavg()[0]:.1f} at the end")

    if args.pydriller:
        py_s, n = timed(lambda: pydriller_traversal(args.repo))
        print(f"PyDriller traverse_commits           {py_s:7.2f} s  ({n:,} commits)  ratio {py_s / base_s:.1f}x")


if __name__ == "__main__":
    main()
