"""Kill soak: SIGKILL `impactlens collect git` at random moments, resume each time, compare with git.

    python benchmarks/kill_soak.py [--repo /work/clones/flask] [--kills 20] [--seed 1] [--db-dir /tmp/soak]

Without --repo it builds a history of --commits commits. After the kills, one run completes; then the
warehouse is compared with the truth: `git rev-list --count HEAD` and the numstat totals of `git log
--numstat` (additions, deletions, file rows). Prints rows lost, rows doubled and runs that left the file
unreadable (a read-only open fails). Target: 0, 0, 0. The GitHub half (tests/github_server.py) is not
done yet.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build_history(path: Path, commits: int) -> None:
    """A repository of ``commits`` commits, each touching a few files (git fast-import, seconds)."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    lines = []
    for i in range(commits):
        lines += ["commit refs/heads/main", f"committer Dev {i % 7} <dev{i % 7}@example.com> {1_600_000_000 + i * 3600} +0000",
                  "data <<EOM", f"change {i}", "EOM"]
        for k in range(1 + i % 3):
            body = "".join(f"line {j} {i}\n" for j in range(1 + (i + k) % 5))
            lines += [f"M 644 inline src/f{(i + k) % 40}.py", f"data {len(body.encode())}", body.rstrip("\n")]
            lines[-1] += "\n"
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input="\n".join(lines).encode() + b"\n", check=True)
    subprocess.run(["git", "-C", str(path), "reset", "-q", "--hard", "main"], check=True)


def truth(repo: Path) -> dict[str, int]:
    """Commits, file rows, additions and deletions as git counts them (merges' files are not counted)."""
    count = int(subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True, check=True).stdout)
    out = subprocess.run(["git", "-C", str(repo), "log", "--numstat", "--format=", "--no-renames", "HEAD"],
                         capture_output=True, text=True, check=True).stdout
    adds = dels = files = 0
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            files += 1
            adds += int(parts[0]) if parts[0].isdigit() else 0
            dels += int(parts[1]) if parts[1].isdigit() else 0
    return {"commits": count, "file_rows": files, "additions": adds, "deletions": dels}


def stored(db: Path) -> dict[str, int] | None:
    """The same figures from the warehouse, plus distinct counts; None when the file cannot be opened."""
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return None
    with con:
        c, dc = con.sql("SELECT count(*), count(DISTINCT sha) FROM commits").fetchall()[0]
        f, df, a, d = con.sql("SELECT count(*), count(DISTINCT (sha, path)), coalesce(sum(additions), 0), "
                              "coalesce(sum(deletions), 0) FROM commit_files").fetchall()[0]
    return {"commits": c, "distinct_commits": dc, "file_rows": f, "distinct_file_rows": df, "additions": a, "deletions": d}


def soak(repo: Path, db: Path, kills: int, seed: int, max_delay: float) -> dict:
    rng = random.Random(seed)
    command = [sys.executable, "-m", "impactlens", "collect", "git", str(repo), "-q", "--db", str(db)]
    unreadable = finished_early = 0
    for _ in range(kills):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, max_delay))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        else:
            finished_early += 1
        process.wait()
        if db.exists() and stored(db) is None:
            unreadable += 1
    final = subprocess.run(command, capture_output=True, text=True)
    got, want = stored(db), truth(repo)
    report = {"kills": kills, "runs_finished_before_kill": finished_early, "final_exit": final.returncode,
              "final_stderr": final.stderr.strip()[-300:], "truth": want, "stored": got, "unreadable_after_kill": unreadable}
    if got:
        report["commits_lost"] = max(0, want["commits"] - got["distinct_commits"])
        report["commits_doubled"] = got["commits"] - got["distinct_commits"]
        report["file_rows_lost"] = max(0, want["file_rows"] - got["distinct_file_rows"])
        report["file_rows_doubled"] = got["file_rows"] - got["distinct_file_rows"]
        report["numstat_equal"] = (got["additions"], got["deletions"]) == (want["additions"], want["deletions"])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=6.0, help="latest kill moment after a start, seconds")
    parser.add_argument("--db-dir", type=Path)
    args = parser.parse_args()
    work = args.db_dir or Path(tempfile.mkdtemp(prefix="kill-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    repo = args.repo
    if repo is None:
        repo = work / "history"
        if not repo.exists():
            build_history(repo, args.commits)
    db = work / "soak.duckdb"
    for leftover in (db, Path(f"{db}.writing"), Path(f"{db}.wal")):
        leftover.unlink(missing_ok=True)
    print(json.dumps(soak(repo, db, args.kills, args.seed, args.max_delay), indent=2))


if __name__ == "__main__":
    main()
