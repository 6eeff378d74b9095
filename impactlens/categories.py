"""File categories: which changed lines are code, tests, docs, generated, or a senior engineer's artifacts.

Globs use gitignore syntax (the same as CODEOWNERS) through ``pathspec``: a pattern with no slash
matches a file name anywhere (``*.md``), ``dir/`` matches everything below any ``dir``,
and ``**`` spans folders. Categories are tried in :data:`impactlens.config.CATEGORY_ORDER`;
the first match wins and a path matching none is ``other``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

import pathspec
from pathspec.util import normalize_file

from impactlens.config import CATEGORY_ORDER, Config

CATEGORIES = (*CATEGORY_ORDER, "other")


def categorizer(config: Config) -> Callable[[str], str]:
    """A function from a repository-relative POSIX path to its category name (cached per path)."""
    globs = config["categories"]
    specs = [(name, _matcher(globs.get(name, []))) for name in CATEGORY_ORDER]

    @lru_cache(maxsize=200_000)
    def categorize(path: str) -> str:
        for name, matches in specs:
            if matches(path):
                return name
        return "other"

    return categorize


def _matcher(globs: list[str]) -> Callable[[str], bool]:
    """Whether a path matches any of ``globs`` (gitignore syntax).

    pathspec tries its patterns one by one (0.5 ms a path for the default 148 globs); with no negated
    (``!``) glob, "any pattern matches" is one search of their regular expressions joined, which gives
    the same answer ten times faster. A category with a negation keeps pathspec's last-match rule.
    """
    spec = pathspec.PathSpec.from_lines("gitignore", globs)
    if any(p.include is False for p in spec.patterns):
        return spec.match_file
    regexes = [p.regex.pattern for p in spec.patterns if p.include and p.regex is not None]
    if not regexes:
        return lambda path: False
    joined = re.compile("|".join(f"(?:{r})" for r in regexes))
    return lambda path: joined.search(normalize_file(path)) is not None
