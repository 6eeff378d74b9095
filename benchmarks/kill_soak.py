"""Kill soak: SIGKILL `impactlens collect git` / `collect github` at random moments, resume, compare with the truth.

    python benchmarks/kill_soak.py git [--repo /work/clones/flask] [--kills 20] [--seed 1] [--work /tmp/soak]
    python benchmarks/kill_soak.py github [--repos 3 --prs 250 --issues 120] [--kills 20] [--seed 1]

How a soak runs (:func:`soak`):

1. One uninterrupted run from an empty warehouse is timed (``duration``) and compared with the truth.
2. Then, from an empty warehouse again, each run is started and killed (SIGKILL) at a moment drawn
   uniformly in (0, ``duration``); the next run resumes what the killed one left. A run that finishes
   before its moment ends a *round*: its warehouse is compared with the truth and the next round
   starts from an empty warehouse, so the later kills hit collections in progress again. This goes on
   until ``kills`` kills have landed while the collector was running (or ``4 * kills`` runs were
   started). The last round is finished by a run that is not killed, and compared too.
3. After every kill the files are checked: the published warehouse must open read-only, and the
   working copy (``<db>.writing``, with its WAL) must open (a copy of it is opened, so the check
   changes nothing). Where the kill landed is recorded: before the working copy existed, while
   collecting (with how many rows the copy held), or during derivation.

Figures (summed over rounds): rows lost (in the truth, not stored), rows extra (stored, not in the
truth), rows doubled (stored twice), rows whose numbers differ (git: additions/deletions), runs that
left a file unreadable, and runs that failed on their own. Target: all 0.

The truth:

* git: ``git log -z --numstat -M --diff-merges=off --format=%x1e%H HEAD`` parsed here: one commit
  per ``rev-list`` commit; one file row per path of a non-merge commit's diff with rename detection
  (``-M``: a renamed file is one row under its new path, with the lines changed by the rename), as
  the collector stores them (collectors/git.py). A binary file is a row with no line counts.
* github: the rows the local server (tests/github_server.py) holds for the organisation built by
  :func:`build_org`: pull requests and issues (repo, number), reviews, comments (PR conversation,
  review comments and issue comments) and PR timeline events (repo, node id).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]

Rows = dict[str, dict[tuple, Any]]  # table -> key -> value compared (None: presence only)


# -- git -------------------------------------------------------------------------------------------


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


def git_truth(repo: Path) -> Rows:
    """``{"commits": {(sha,): None}, "commit_files": {(sha, path): (additions, deletions)}}`` as git
    counts them: rename detection on (``-M``), merges without files, binary files ``(None, None)``."""
    shas = subprocess.run(["git", "-C", str(repo), "rev-list", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.split()
    out = subprocess.run(["git", "-C", str(repo), "log", "-z", "--numstat", "-M", "--diff-merges=off",
                          "--format=%x1e%H", "HEAD"], capture_output=True, check=True).stdout
    files: dict[tuple, Any] = {}
    for record in out.split(b"\x1e")[1:]:
        sha, _, rest = record.partition(b"\0")  # "%H" ends with NUL under -z
        tokens = rest.split(b"\0")
        i = 0
        while i < len(tokens):
            token = tokens[i].lstrip(b"\n")
            i += 1
            if not token:
                continue
            added, deleted, path = token.split(b"\t", 2)
            if not path:  # a rename: "added\tdeleted\t" then the old and the new path
                path = tokens[i + 1]
                i += 2
            counts = (None, None) if added == b"-" else (int(added), int(deleted))
            files.setdefault((sha.decode(), path.decode("utf-8", "replace")), counts)
    return {"commits": {(s,): None for s in shas}, "commit_files": files}


def git_stored(con: Any) -> dict[str, list[tuple[tuple, Any]]]:
    """The same rows from a warehouse, as ``(key, value)`` lists (a doubled row appears twice)."""
    return {
        "commits": [((s,), None) for (s,) in con.sql("SELECT sha FROM commits").fetchall()],
        "commit_files": [((s, p), (a, d)) for s, p, a, d in
                         con.sql("SELECT sha, path, additions, deletions FROM commit_files").fetchall()],
    }


# -- github ----------------------------------------------------------------------------------------

GITHUB_TABLES = {  # table -> key columns
    "pull_requests": ("repo_id", "number"), "reviews": ("repo_id", "review_id"),
    "comments": ("repo_id", "comment_id"), "pr_timeline_events": ("repo_id", "event_id"),
    "issues": ("repo_id", "number"),
}


def build_org(data: Any, *, org: str = "soak", repos: int = 3, prs: int = 250, issues: int = 120,
              seed: int = 1) -> None:
    """Add organisation ``org`` to a ``github_server.Data``: ``repos`` repositories of ``prs`` pull
    requests (reviews, review comments, conversation, timeline events; every 40th PR has 25 reviews
    and 25 comments, more than one page of nested items) and ``issues`` issues with comments."""
    rng = random.Random(seed)
    people = [data.user(name) for name in ("ada", "bob", "cy", "dee", "eve")]
    for r in range(repos):
        repo = data.repository(f"{org}/service-{r}")
        for n in range(1, prs + 1):
            minute = n * 7 + r
            stamp = f"2024-{1 + n % 12:02d}-{1 + n % 27:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z"
            pr = data.pull_request(repo, n, author=rng.choice(people), created=stamp, updated=stamp,
                                   state="MERGED" if n % 3 else "OPEN", merged=stamp if n % 3 else None,
                                   merged_by=people[0])
            many = n % 40 == 0
            for k in range(25 if many else rng.randint(0, 2)):
                review = data.review(pr, author=rng.choice(people), state=rng.choice(["APPROVED", "COMMENTED"]),
                                     submitted=stamp, body=f"review {k}")
                for c in range(rng.randint(0, 2)):
                    data.review_comment(pr, review, author=rng.choice(people), created=stamp, body=f"note {c}",
                                        path=f"src/m{c}.py")
            for c in range(25 if many else rng.randint(0, 3)):
                data.comment(pr, author=rng.choice(people), created=stamp, body=f"comment {c}")
            if n % 2:
                data.event(pr, "REVIEW_REQUESTED_EVENT", actor=pr["author"], created=stamp,
                           reviewer=rng.choice(people))
            if n % 5 == 0:
                data.event(pr, "READY_FOR_REVIEW_EVENT", actor=pr["author"], created=stamp)
        for n in range(prs + 1, prs + issues + 1):
            stamp = f"2024-{1 + n % 12:02d}-{1 + n % 27:02d}T{n // 60 % 24:02d}:{n % 60:02d}:00Z"
            issue = data.issue(repo, n, author=rng.choice(people), created=stamp, updated=stamp)
            for c in range(rng.randint(0, 2)):
                data.comment(issue, author=rng.choice(people), created=stamp, body=f"issue comment {c}")


def github_truth(data: Any, org: str = "soak") -> Rows:
    """The rows of :data:`GITHUB_TABLES` the server holds for ``org``, keyed as the warehouse keys them."""
    rows: Rows = {table: {} for table in GITHUB_TABLES}
    for repo in data.repositories.values():
        name = repo["nameWithOwner"]
        if repo["owner"]["login"] != org:
            continue
        for pr in repo["pullRequests"]:
            rows["pull_requests"][(name, pr["number"])] = None
            for review in pr["reviews"]:
                rows["reviews"][(name, review["id"])] = None
                for comment in review["comments"]:
                    rows["comments"][(name, comment["id"])] = None
            for comment in pr["comments"]:
                rows["comments"][(name, comment["id"])] = None
            for event in pr["timelineItems"]:
                rows["pr_timeline_events"][(name, event["id"])] = None
        for issue in repo["issues"]:
            rows["issues"][(name, issue["number"])] = None
            for comment in issue["comments"]:
                rows["comments"][(name, comment["id"])] = None
    return rows


def github_stored(con: Any) -> dict[str, list[tuple[tuple, Any]]]:
    return {table: [(tuple(row), None) for row in con.sql(f"SELECT {', '.join(keys)} FROM {table}").fetchall()]
            for table, keys in GITHUB_TABLES.items()}


# -- the soak --------------------------------------------------------------------------------------


@dataclass
class Target:
    """What a soak collects: the command line, its environment, the truth and how to read rows back."""

    name: str
    command: list[str]
    truth: Rows
    stored: Callable[[Any], dict[str, list[tuple[tuple, Any]]]]
    progress_table: str  # whose row count in the working copy says how far a killed run got
    env: dict[str, str] = field(default_factory=dict)


def git_target(repo: Path, db: Path) -> Target:
    return Target("git", [sys.executable, "-m", "impactlens", "collect", "git", str(repo), "-q", "--db", str(db)],
                  git_truth(repo), git_stored, "commits")


def github_target(api_url: str, token: str, data: Any, db: Path, org: str = "soak") -> Target:
    return Target("github", [sys.executable, "-m", "impactlens", "collect", "github", org, "--api-url", api_url,
                             "-q", "--db", str(db)],
                  github_truth(data, org), github_stored, "pull_requests", env={"GITHUB_TOKEN": token})


def _files(db: Path) -> list[Path]:
    return [db.with_name(db.name + suffix) for suffix in ("", ".wal", ".writing", ".writing.wal", ".writing.owner")]


def _reset(db: Path) -> None:
    for leftover in _files(db):
        leftover.unlink(missing_ok=True)


def _open(path: Path, read_only: bool) -> Any:
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error:
        return None


def compare(truth: Rows, stored: dict[str, list[tuple[tuple, Any]]]) -> dict[str, dict[str, int]]:
    """Per table: rows in the truth, stored, lost, extra, doubled and differing (same key, other value)."""
    out = {}
    for table, want in truth.items():
        got = stored[table]
        keys: dict[tuple, Any] = {}
        doubled = 0
        for key, value in got:
            doubled += key in keys
            keys[key] = value
        out[table] = {
            "truth": len(want), "stored": len(got), "lost": sum(k not in keys for k in want),
            "extra": sum(k not in want for k in keys), "doubled": doubled,
            "differ": sum(k in keys and keys[k] != v for k, v in want.items()),
        }
    return out


def _check_published(target: Target, db: Path) -> dict[str, dict[str, int]] | None:
    con = _open(db, read_only=True)
    if con is None:
        return None
    with con:
        return compare(target.truth, target.stored(con))


def _inspect_copy(target: Target, db: Path, scratch: Path) -> tuple[str, int | None]:
    """Where a kill left the run: ``("start", None)`` (no working copy yet), ``("collecting", rows)``
    (the copy's owner file says the collection is not complete; ``rows`` in the copy), ``("derive", rows)``
    (collection complete, derivation not done), ``("published", None)`` (killed while exiting after
    publishing), or ``("unreadable", None)`` when the copy does not open."""
    work = db.with_name(db.name + ".writing")
    if not work.exists():  # a round starts empty: a published file is this run's
        return ("published", None) if db.exists() else ("start", None)
    try:
        phase = json.loads(db.with_name(db.name + ".writing.owner").read_text()).get("phase", "?")
    except (OSError, ValueError):
        phase = "no owner"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    copy = scratch / "copy.duckdb"
    shutil.copyfile(work, copy)
    if Path(f"{work}.wal").exists():
        shutil.copyfile(f"{work}.wal", f"{copy}.wal")
    con = _open(copy, read_only=False)  # replays the WAL as the next run would
    if con is None:
        return "unreadable", None
    with con:
        try:
            rows = con.sql(f"SELECT count(*) FROM {target.progress_table}").fetchall()[0][0]
        except Exception:  # the schema is not migrated yet
            rows = 0
    return ("derive" if phase == "derive" else "collecting"), rows


def _sum(total: dict[str, dict[str, int]], part: dict[str, dict[str, int]]) -> None:
    for table, figures in part.items():
        into = total.setdefault(table, {})
        for key, value in figures.items():
            into[key] = into.get(key, 0) + value


def soak(target: Target, db: Path, kills: int, seed: int, cwd: Path | None = None) -> dict[str, Any]:
    """Run the soak described in the module docstring; returns its figures (JSON-ready)."""
    rng = random.Random(seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IMPACTLENS_"))}
    env.update(target.env)
    cwd = cwd or db.parent
    scratch = db.parent / "soak-scratch"

    log = db.parent / "soak-stderr.txt"  # a file, not a pipe: a killed run leaves nothing open

    def start() -> subprocess.Popen[bytes]:
        with open(log, "wb") as err:
            return subprocess.Popen(target.command, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cwd)

    _reset(db)
    began = time.perf_counter()
    first = subprocess.run(target.command, capture_output=True, text=True, env=env, cwd=cwd)
    duration = time.perf_counter() - began
    print(f"{target.name}: uninterrupted run {duration:.1f} s", file=sys.stderr, flush=True)
    if first.returncode != 0:
        raise RuntimeError(f"the uninterrupted run failed: {first.stderr.strip()[-500:]}")
    uninterrupted = _check_published(target, db)

    _reset(db)
    landed = runs = rounds = unreadable = failed = finished_first = 0
    in_round = False  # a kill landed since the last round ended
    phases: dict[str, int] = {}
    kill_log: list[dict[str, Any]] = []
    totals: dict[str, dict[str, int]] = {}
    errors: list[str] = []

    def end_round() -> None:
        nonlocal rounds, unreadable, in_round
        in_round = False
        figures = _check_published(target, db)
        rounds += 1
        if figures is None:
            unreadable += 1
        else:
            _sum(totals, figures)
        _reset(db)

    while landed < kills and runs < 4 * kills:
        moment = rng.uniform(0, duration)
        process = start()
        runs += 1
        try:
            process.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            landed += 1
            in_round = True
            published = _open(db, read_only=True) if db.exists() else None
            published_ok = not db.exists() or published is not None
            if published is not None:
                published.close()
            phase, rows = _inspect_copy(target, db, scratch)
            unreadable += (not published_ok) + (phase == "unreadable")
            phases[phase] = phases.get(phase, 0) + 1
            kill_log.append({"at_s": round(moment, 2), "phase": phase, "rows_in_copy": rows})
            print(f"kill {landed}/{kills} at {moment:.1f} s: {phase}, {rows} {target.progress_table} in the copy",
                  file=sys.stderr, flush=True)
            if db.exists() and not db.with_name(db.name + ".writing").exists():
                end_round()  # killed after publishing, while the process was exiting
            continue
        stderr = log.read_text(errors="replace")
        finished_first += 1
        print(f"run {runs} finished (exit {process.returncode}) before its kill moment {moment:.1f} s",
              file=sys.stderr, flush=True)
        if process.returncode != 0:
            failed += 1
            errors.append(stderr.strip()[-300:])
        end_round()
    if in_round:
        last = subprocess.run(target.command, capture_output=True, text=True, env=env, cwd=cwd)
        runs += 1
        if last.returncode != 0:
            failed += 1
            errors.append(last.stderr.strip()[-300:])
        end_round()
    shutil.rmtree(scratch, ignore_errors=True)
    log.unlink(missing_ok=True)
    truth_totals: dict[str, int] = {table: len(rows) for table, rows in target.truth.items()}
    if "commit_files" in target.truth:
        counted = [v for v in target.truth["commit_files"].values() if v[0] is not None]
        truth_totals["additions"] = sum(a for a, _ in counted)
        truth_totals["deletions"] = sum(d for _, d in counted)
    return {
        "target": target.name, "truth_totals": truth_totals, "uninterrupted_seconds": round(duration, 2), "uninterrupted": uninterrupted,
        "kills_mid_run": landed, "runs_started": runs,
        "runs_finished_before_their_kill_moment": finished_first, "rounds": rounds, "kill_phases": phases,
        "runs_that_left_a_file_unreadable": unreadable, "runs_that_failed": failed, "errors": errors[:3],
        "after_kills": totals, "kills": kill_log,
        "lost": sum(t["lost"] for t in totals.values()), "extra": sum(t["extra"] for t in totals.values()),
        "doubled": sum(t["doubled"] for t in totals.values()), "differ": sum(t["differ"] for t in totals.values()),
    }


def serve_org(**org: Any) -> Any:
    """A running ``tests/github_server.GitHubServer`` (a thread of this process) holding :func:`build_org`'s
    organisation; stop it with ``server.__exit__(None, None, None)``."""
    sys.path.insert(0, str(ROOT / "tests"))
    from github_server import Data, GitHubServer, TOKEN

    from github_server import github_schema

    github_schema()  # built once here, so the first timed run does not wait for it
    data = Data()
    build_org(data, **org)
    server = GitHubServer(data, token=TOKEN)
    server.__enter__()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", choices=["git", "github"])
    parser.add_argument("--repo", type=Path, help="git: a clone (default: a history of --commits commits)")
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--repos", type=int, default=3, help="github: repositories in the organisation")
    parser.add_argument("--prs", type=int, default=250, help="github: pull requests per repository")
    parser.add_argument("--issues", type=int, default=120, help="github: issues per repository")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, help="folder for the warehouse (default: a new temporary folder)")
    parser.add_argument("--full", action="store_true", help="print every kill's moment and phase")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kill-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"soak-{args.source}.duckdb"
    server = None
    if args.source == "git":
        repo = args.repo
        if repo is None:
            repo = work / "history"
            if not repo.exists():
                build_history(repo, args.commits)
        target = git_target(repo, db)
    else:
        server = serve_org(repos=args.repos, prs=args.prs, issues=args.issues, seed=args.seed)
        from github_server import TOKEN

        target = github_target(server.api_url, TOKEN, server.data, db)
    try:
        report = soak(target, db, args.kills, args.seed, cwd=work)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
            report_crashes = list(server.crashes)
    if server is not None:
        report["server_crashes"] = [repr(c) for c in report_crashes]
    if not args.full:
        report.pop("kills")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
