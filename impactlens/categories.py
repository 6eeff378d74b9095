"""File categories: which changed lines are code, tests, docs, generated, or a senior engineer's artifacts.

Globs use gitignore syntax (the same as CODEOWNERS) through ``pathspec``: a pattern with no slash
matches a file name anywhere (``*.md``), ``dir/`` matches everything below any ``dir``,
and ``**`` spans folders. Categories are tried in :data:`impactlens.config.CATEGORY_ORDER`;
the first match wins and a path matching none is ``other``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import pathspec

from impactlens.config import CATEGORY_ORDER, Config

CATEGORIES = (*CATEGORY_ORDER, "other")


def categorizer(config: Config) -> Callable[[str], str]:
    """A function from a repository-relative POSIX path to its category name (cached per path)."""
    globs = config["categories"]
    specs = [
        (name, pathspec.PathSpec.from_lines("gitignore", globs.get(name, [])))
        for name in CATEGORY_ORDER
    ]

    @lru_cache(maxsize=200_000)
    def categorize(path: str) -> str:
        for name, spec in specs:
            if spec.match_file(path):
                return name
        return "other"

    return categorize
