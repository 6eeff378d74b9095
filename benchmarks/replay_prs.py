"""Try the GitHub path offline on a real clone: the pull requests its merge commits record, served by the local
GitHub (tests/github_server.py), collected with `impactlens collect github` into a warehouse.

A merge commit on the first-parent line whose subject ends in ``(#N)`` or starts with ``Merge pull request #N``
becomes PR N: its commits are ``merge^1..merge^2`` (their author dates and emails; a GitHub login is read from
a ``users.noreply.github.com`` email, else made from the email's local part), opened at its first commit's
author date, merged at the merge's committer date by the committer, sized by ``git diff --shortstat
merge^1...merge^2``, its merge commit the real one. Git holds no reviews, comments, issues or deployments, so
none are served: the figures that need them stay empty, which is what this shows.

    uv run python benchmarks/replay_prs.py --repo ~/src/flask --name pallets/flask --db flask.duckdb --since 2024-01-01

Collect the clone first (`impactlens collect git CLONE --db W`) for the git half. Prints how many PRs were
reconstructed, then the collector's own output and time. The links the PRs carry point at github.com.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from github_server import TOKEN, Data, GitHubServer  # noqa: E402

PR_SUBJECT = re.compile(r"\(#(\d+)\)$|^Merge pull request #(\d+) from")
NOREPLY = re.compile(r"(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$")


def login_of(email: str) -> str:
    """The GitHub login a commit email stands for: the noreply address's login, else the local part."""
    found = NOREPLY.match(email)
    local = found.group(1) if found else email.split("@")[0]
    return re.sub(r"[^A-Za-z0-9-]", "-", local).strip("-") or "someone"


def reconstruct(clone: Path, name: str, since: str) -> Data:
    """The local GitHub's data for ``name``: one merged PR per PR merge commit of ``clone`` since ``since``."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(clone), *args], capture_output=True, text=True, check=True).stdout

    data = Data()
    data.host = "https://github.com"
    repo = data.repository(name)
    log = git("log", "--first-parent", "--merges", f"--since={since}", "--format=%H%x1f%P%x1f%cI%x1f%ce%x1f%s")
    for line in log.splitlines():
        sha, parents, merged, committer, subject = line.split("\x1f")
        found = PR_SUBJECT.search(subject)
        if not found:
            continue
        first, second = parents.split()[:2]
        branch = [c.split("\x1f") for c in git("log", "--reverse", "--format=%aI%x1f%ae", f"{first}..{second}").splitlines()]
        if not branch:
            continue
        stat = dict((kind, int(n)) for n, kind in re.findall(r"(\d+) (file|insertion|deletion)", git(
            "diff", "--shortstat", f"{first}...{second}")))
        number = int(found.group(1) or found.group(2))
        pr = data.pull_request(
            repo, number, author=data.user(login_of(branch[0][1])), created=branch[0][0],
            title=re.sub(r"\s*\(#\d+\)$", "", subject), state="MERGED", merged=merged,
            merged_by=data.user(login_of(committer)), additions=stat.get("insertion", 0),
            deletions=stat.get("deletion", 0), changed_files=stat.get("file", 0), commits=[c[0] for c in branch])
        pr["mergeCommit"] = {"oid": sha}
        pr["headRefName"] = f"pr-{number}"
        for commit, (_, email) in zip(pr["commits"], branch):
            commit["commit"]["author"] = {"email": email, "user": {"login": login_of(email)}}
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="the clone")
    parser.add_argument("--name", required=True, help="OWNER/NAME, as collect git stored it")
    parser.add_argument("--db", type=Path, required=True, help="the warehouse to collect into")
    parser.add_argument("--since", default="2024-01-01", help="first merge date (YYYY-MM-DD)")
    args = parser.parse_args()
    data = reconstruct(args.repo, args.name, args.since)
    print(f"{len(data.repositories[args.name.lower()]['pullRequests'])} PRs reconstructed from merge commits "
          f"since {args.since}", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IMPACTLENS_"))}
    with GitHubServer(data) as server:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "impactlens", "collect", "github", args.name, "--since",
                               args.since, "--api-url", server.api_url, "--db", str(args.db)],
                              env={**env, "GITHUB_TOKEN": TOKEN})
        print(f"collect github: exit {done.returncode} in {time.perf_counter() - start:.1f} s")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
