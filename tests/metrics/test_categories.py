"""File categories: the fast matcher gives pathspec's answer, negated globs included."""

from __future__ import annotations

import pathspec

from impactlens import config
from impactlens.categories import categorizer
from impactlens.config import CATEGORY_ORDER

PATHS = [
    "README.md", "docs/guide/index.rst", "src/pkg/test_util.py", "tests/conftest.py", "vendor/lib/a.js",
    "package-lock.json", "poetry.lock", "api/gen.pb.go", "web/app.min.js", "docs/adr/0001-record.md",
    "runbooks/restart.md", "postmortems/2026-01-outage.md", "src/pkg/core.py", "Makefile", "ünï/tëst_ü.py",
    "a b/c d.md", "src/pkg/__snapshots__/x.snap", "design/rfc-12.md",
]


def pathspec_category(cfg, path: str) -> str:
    for name in CATEGORY_ORDER:
        if pathspec.PathSpec.from_lines("gitignore", cfg["categories"].get(name, [])).match_file(path):
            return name
    return "other"


def test_default_categories_agree_with_pathspec():
    cfg = config.load(None)
    categorize = categorizer(cfg)
    assert [categorize(p) for p in PATHS] == [pathspec_category(cfg, p) for p in PATHS]
    assert categorize("src/pkg/core.py") == "code" and categorize("README.md") == "docs"


def test_a_negated_glob_keeps_the_last_match_rule():
    cfg = config.load(None)
    categories = {name: list(globs) for name, globs in cfg["categories"].items()}
    categories["docs"] = ["*.md", "!CHANGELOG.md"]
    cfg = {**cfg, "categories": categories}
    categorize = categorizer(cfg)
    assert categorize("README.md") == "docs"
    assert categorize("CHANGELOG.md") != "docs"  # excluded by the negation, so another category or other
    assert [categorize(p) for p in PATHS] == [pathspec_category(cfg, p) for p in PATHS]
