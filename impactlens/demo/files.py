"""What the demo's repositories hold: source areas, file paths and PR titles per repository."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class FileChange:
    """One file of a change, shaped like a ``commit_files`` row (additions/deletions None when binary)."""

    path: str
    change_type: str  # A, M, D or R
    additions: int | None
    deletions: int | None
    old_path: str | None = None
    is_binary: bool = False


_PY_MODULES = ("models", "service", "handlers", "schemas", "repository", "tasks", "client", "errors")
_TS_PARTS = ("Page", "Form", "List", "Summary", "Dialog", "Card")
_KT_PARTS = ("ViewModel", "Screen", "Repository", "Mapper", "Api", "UseCase")
_GO_FILES = ("main", "handler", "config", "metrics", "store", "retry")
_TF_FILES = ("main", "variables", "outputs")

AREAS: dict[str, tuple[str, ...]] = {
    "api": ("billing", "orders", "auth", "search", "notifications", "webhooks", "payments", "refunds"),
    "web": ("checkout", "cart", "catalog", "account", "search", "design-system"),
    "mobile": ("checkout", "cart", "catalog", "profile", "onboarding", "push"),
    "platform": ("gateway", "scheduler", "order-queue", "billing-worker", "vpc", "rds", "eks", "redis"),
}
_TERRAFORM = {"vpc", "rds", "eks", "redis"}

NOUNS: dict[str, tuple[str, ...]] = {
    "api": ("invoice totals", "order cancellation", "token refresh", "search ranking", "email digests",
            "webhook retries", "payment intents", "refund status", "rate limiting", "pagination"),
    "web": ("checkout form", "cart drawer", "product grid", "account settings", "search suggestions",
            "button styles", "address validation", "price formatting", "loading states", "error banners"),
    "mobile": ("checkout flow", "cart badge", "catalog paging", "profile screen", "onboarding carousel",
               "push permissions", "offline mode", "deep links", "dark mode", "image cache"),
    "platform": ("gateway timeouts", "cron scheduling", "queue consumers", "worker autoscaling", "VPC peering",
                 "database backups", "node pools", "redis eviction", "alert routing", "TLS certificates"),
}
VERBS = {
    "feature": ("Add", "Support", "Introduce", "Implement"),
    "fix": ("Fix", "Handle", "Guard against errors in", "Correct"),
    "refactor": ("Refactor", "Simplify", "Extract", "Clean up"),
    "test": ("Add tests for", "Cover", "Stabilise tests for"),
    "perf": ("Speed up", "Cache", "Batch"),
}


def _area_files(repo: str, area: str) -> tuple[list[str], list[str]]:
    """(source files, test files) of one area."""
    if repo == "api":
        src = [f"src/acme_api/{area}/{m}.py" for m in _PY_MODULES]
        tests = [f"tests/{area}/test_{m}.py" for m in _PY_MODULES[:5]]
    elif repo == "web":
        stem = "".join(part.capitalize() for part in area.split("-"))
        src = [f"src/features/{area}/{stem}{p}.tsx" for p in _TS_PARTS] + [f"src/features/{area}/use{stem}.ts"]
        tests = [f"src/features/{area}/{stem}{p}.test.tsx" for p in _TS_PARTS[:3]]
    elif repo == "mobile":
        stem = area.capitalize()
        src = [f"app/src/main/java/com/acme/shop/{area}/{stem}{p}.kt" for p in _KT_PARTS]
        tests = [f"app/src/test/java/com/acme/shop/{area}/{stem}{p}Test.kt" for p in _KT_PARTS[:3]]
    elif area in _TERRAFORM:
        src = [f"terraform/modules/{area}/{f}.tf" for f in _TF_FILES]
        tests = [f"terraform/modules/{area}/{area}_test.go"]
    else:
        src = [f"services/{area}/{f}.go" for f in _GO_FILES]
        tests = [f"services/{area}/{f}_test.go" for f in _GO_FILES[:3]]
    return src, tests


LOCKFILES = {"api": ("pyproject.toml", "uv.lock"), "web": ("package.json", "package-lock.json"),
             "mobile": ("gradle/libs.versions.toml", None), "platform": ("go.mod", "go.sum")}
GENERATED = {"api": "src/acme_api/proto/orders_pb2.py", "web": "src/__generated__/graphql.ts",
             "mobile": "app/src/main/java/com/acme/shop/generated/ApiModels.generated.kt",
             "platform": "services/gateway/api.pb.go"}
VENDORED = {"platform": "vendor/github.com/acme/retry/retry.go"}


def title_for(repo: str, kind: str, area: str, rng: random.Random) -> str:
    noun = rng.choice(NOUNS[repo])
    return f"{rng.choice(VERBS[kind])} {noun} in {area}"


def split_lines(total: int, n: int, rng: random.Random) -> list[int]:
    """``total`` lines over ``n`` files, uneven (the first files carry most), each at least 1."""
    weights = [rng.paretovariate(1.3) for _ in range(n)]
    scale = sum(weights)
    parts = [max(1, round(total * w / scale)) for w in weights]
    return parts


def pr_files(repo: str, total_lines: int, rng: random.Random, *, tests: bool = True) -> list[FileChange]:
    """Files of a human PR of about ``total_lines`` changed lines in one or two areas of ``repo``."""
    n_files = max(1, min(40, round(rng.lognormvariate(0, 0.5) * (1 + total_lines ** 0.42) / 1.6)))
    area = rng.choice(AREAS[repo])
    src, test_files = _area_files(repo, area)
    if n_files > 4 and rng.random() < 0.4:
        other_src, other_tests = _area_files(repo, rng.choice(AREAS[repo]))
        src = src + other_src
        test_files = test_files + other_tests
    n_tests = min(len(test_files), n_files // 3 if tests else 0)
    chosen = rng.sample(src, min(len(src), n_files - n_tests)) + rng.sample(test_files, n_tests)
    changes = []
    for path, lines in zip(chosen, split_lines(total_lines, len(chosen), rng)):
        roll = rng.random()
        if roll < 0.10:
            changes.append(FileChange(path, "A", lines, 0))
        elif roll < 0.12:
            changes.append(FileChange(path, "D", 0, lines))
        elif roll < 0.135:
            old = path.rsplit("/", 1)[0] + "/legacy_" + path.rsplit("/", 1)[1]
            changes.append(FileChange(path, "R", max(1, lines // 4), lines // 8, old_path=old))
        else:
            added = max(0, round(lines * rng.betavariate(5, 2)))
            changes.append(FileChange(path, "M", added, lines - added))
    if rng.random() < 0.06 and LOCKFILES[repo][1]:
        manifest, lock = LOCKFILES[repo]
        assert lock is not None  # the condition above
        changes.append(FileChange(manifest, "M", rng.randint(1, 4), rng.randint(0, 3)))
        big = int(rng.lognormvariate(6.5, 0.8))
        changes.append(FileChange(lock, "M", big, int(big * rng.uniform(0.3, 0.9))))
    if rng.random() < 0.03:
        big = int(rng.lognormvariate(6, 0.7))
        changes.append(FileChange(GENERATED[repo], "M", big, big // 2))
    if repo in VENDORED and rng.random() < 0.01:
        changes.append(FileChange(VENDORED[repo], "M", rng.randint(50, 900), rng.randint(10, 300)))
    if repo == "web" and rng.random() < 0.02:
        changes.append(FileChange(f"public/images/{area}-hero.png", "M", None, None, is_binary=True))
    return _dedupe(changes)


def _dedupe(changes: list[FileChange]) -> list[FileChange]:
    seen: set[str] = set()
    out = []
    for change in changes:
        if change.path not in seen:
            seen.add(change.path)
            out.append(change)
    return out


def dependency_files(repo: str, rng: random.Random) -> list[FileChange]:
    """A dependency bump: the manifest and (where the ecosystem has one) a lockfile-sized diff."""
    manifest, lock = LOCKFILES[repo]
    changes = [FileChange(manifest, "M", 1, 1)]
    if lock:
        big = int(rng.lognormvariate(4.5, 1.2))
        changes.append(FileChange(lock, "M", big, big))
    return changes


def doc_file(path: str, rng: random.Random) -> FileChange:
    return FileChange(path, "A", rng.randint(60, 260), 0)
