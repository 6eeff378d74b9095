"""Requests and GraphQL points the GitHub collector spends, measured on the local GitHub server.

    uv run python benchmarks/github_requests.py [--prs 500] [--seed 7]

Builds one repository with ``--prs`` pull requests of realistic shape (0-6 reviews, some with inline
comments, 0-8 conversation comments, review requests, ready-for-review events; a few PRs with more
reviews or comments than fit in their page), half as many issues, releases and deployments; then
collects it three times: a first run, an up-to-date run, and a run after 10 PRs changed. Prints the
requests per GraphQL operation and the points (GitHub's documented cost formula, computed by the
server) for each run. Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from github_server import Data, GitHubServer  # noqa: E402

from impactlens import config as config_mod, warehouse  # noqa: E402
from impactlens.collectors.github import collect_github  # noqa: E402

TOKEN = "ghp_benchmark"


def build(prs: int, seed: int) -> tuple[Data, dict]:
    rng = random.Random(seed)
    d = Data()
    repo = d.repository("bench/service")
    people = [d.user(f"dev{i}") for i in range(30)] + [d.bot("dependabot"), None]

    def stamp(day: int, second: int) -> str:
        return f"2024-{1 + day // 28:02d}-{1 + day % 28:02d}T{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"

    for n in range(1, prs + 1):
        day = n * 300 // prs
        author = rng.choice(people)
        pr = d.pull_request(
            repo, n, author=author, created=stamp(day, 3600 + n), updated=stamp(min(day + 2, 299), 7200 + n),
            state=rng.choice(["MERGED"] * 8 + ["CLOSED", "OPEN"]), merged=stamp(min(day + 2, 299), 7200 + n),
            merged_by=rng.choice(people[:30]), body="Fixes #%d" % n, labels=rng.sample(["bug", "feature", "chore"], 1),
            review_requests=rng.sample(people[:30], rng.randint(0, 2)),
        )
        if rng.random() < 0.3:
            d.event(pr, "READY_FOR_REVIEW_EVENT", actor=author, created=stamp(day, 4000 + n))
        d.event(pr, "REVIEW_REQUESTED_EVENT", actor=author, created=stamp(day, 4100 + n), reviewer=people[n % 30])
        reviews = 30 if n % 100 == 0 else rng.randint(0, 6)  # 1 PR in 100 has more reviews than a page holds
        for r in range(reviews):
            review = d.review(pr, author=rng.choice(people), state=rng.choice(["APPROVED", "COMMENTED", "CHANGES_REQUESTED"]),
                              submitted=stamp(day + 1, 100 + r), body="ok")
            for c in range(rng.choice([0, 0, 1, 3])):
                d.review_comment(pr, review, author=rng.choice(people), created=stamp(day + 1, 200 + c), body="nit",
                                 path="src/app.py")
        for c in range(25 if n % 100 == 50 else rng.randint(0, 8)):
            d.comment(pr, author=rng.choice(people), created=stamp(day + 1, 300 + c), body="comment")
    for n in range(1, prs // 2 + 1):
        issue = d.issue(repo, prs + n, author=rng.choice(people), created=stamp(n * 300 // prs, n),
                        labels=["incident"] if n % 25 == 0 else [])
        for c in range(rng.randint(0, 4)):
            d.comment(issue, author=rng.choice(people), created=stamp(n * 300 // prs, 1000 + c), body="+1")
    for n in range(20):
        d.release(repo, f"v1.{n}.0", author=people[0], created=stamp(n * 14, 0), published=stamp(n * 14, 60))
    for n in range(40):
        d.deployment(repo, environment="production", created=stamp(n * 7, 0), sha=f"{n:040x}", creator=people[1],
                     statuses=[("SUCCESS", stamp(n * 7, 300))])
    d.codeowners_commit(repo, ".github/CODEOWNERS", committed=stamp(0, 0), text="* @bench/core\n")
    return d, repo


def run(server: GitHubServer, con, label: str) -> Counter:
    client = server.client(TOKEN)
    server.reset_log()
    started = time.perf_counter()
    result = collect_github(con, "bench/service", client=client, config=config_mod.load(None))
    seconds = time.perf_counter() - started
    operations = Counter(r.operation or f"{r.method} {r.path}" for r in server.requests)
    detail = ", ".join(f"{name} {count}" for name, count in sorted(operations.items()))
    print(f"{label}: {len(server.requests)} requests ({detail}); {server.points} points; {seconds:.1f} s")
    assert result.requests == len(server.requests)
    return operations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data, repo = build(args.prs, args.seed)
    reviews = sum(len(pr["reviews"]) for pr in repo["pullRequests"])
    comments = sum(len(pr["comments"]) + sum(len(r["comments"]) for r in pr["reviews"]) for pr in repo["pullRequests"])
    print(f"repository: {args.prs} PRs, {reviews} reviews, {comments} PR comments, {len(repo['issues'])} issues, "
          f"{len(repo['releases'])} releases, {len(repo['deployments'])} deployments")
    with tempfile.TemporaryDirectory() as folder, GitHubServer(data, token=TOKEN, rate_limit=100_000) as server:
        con = warehouse.open_for_write(Path(folder) / "bench.duckdb")
        first = run(server, con, "first run")
        run(server, con, "up-to-date run")
        for pr in repo["pullRequests"][:10]:
            pr["updatedAt"] = "2025-01-01T00:00:00Z"
        run(server, con, "after 10 PRs changed")
        con.close()
    for_prs = first["PullRequests"] + first["FollowUp"]
    print(f"first run: {for_prs} requests for the PRs = {for_prs * 50 / args.prs:.2f} per 50 PRs "
          "(target: at most 1, plus a small constant)")


if __name__ == "__main__":
    main()
