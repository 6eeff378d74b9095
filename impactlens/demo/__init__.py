"""The demo organisation: a deterministic, realistic company the dashboard opens on before any data is collected.

Public entry points:

* :func:`ensure` / :func:`build`: write the demo warehouse (``sample_data/cache/demo.duckdb`` by default).
* :func:`generate`: the rows themselves, ``{table: {column: [values]}}``, without a database.
* :data:`DEMO_STORIES`: the planted stories (people, teams, repositories, dates) the metrics must reveal;
  :data:`PEOPLE`, :data:`BOTS`, :data:`REPOS`, :data:`TEAMS`: the cast. ``sample_data/README.md`` tells them in prose.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from impactlens.demo.cast import (
    BOTS, DEMO_STORIES, END, ORG, PEOPLE, PEOPLE_BY_ID, PEOPLE_BY_LOGIN, REPOS, SEED, START, TEAMS,
)
from impactlens.demo.generate import generate
from impactlens.demo.store import GENERATOR_VERSION, build, counts, is_current, is_demo_file
from impactlens.errors import WarehouseError

__all__ = [
    "BOTS", "DEMO_STORIES", "END", "GENERATOR_VERSION", "ORG", "PEOPLE", "PEOPLE_BY_ID", "PEOPLE_BY_LOGIN",
    "REPOS", "SEED", "START", "TEAMS", "build", "counts", "default_path", "ensure", "generate", "is_current",
    "is_demo_file",
]

DEMO_DB_ENV = "IMPACTLENS_DEMO_DB"
LOCK_TIMEOUT = 300
_CHECKOUT_SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def default_path() -> Path:
    """Where the demo warehouse lives: ``$IMPACTLENS_DEMO_DB``, else ``sample_data/cache/demo.duckdb`` in a
    source checkout, else ``~/.cache/impactlens/demo.duckdb`` (``$XDG_CACHE_HOME`` honoured)."""
    if os.environ.get(DEMO_DB_ENV):
        return Path(os.environ[DEMO_DB_ENV])
    if _CHECKOUT_SAMPLE_DATA.is_dir():
        return _CHECKOUT_SAMPLE_DATA / "cache" / "demo.duckdb"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "impactlens" / "demo.duckdb"


def ensure(path: str | os.PathLike[str] | None = None, *, rebuild: bool = False,
           tables: dict[str, dict[str, list[Any]]] | None = None) -> tuple[Path, bool]:
    """The demo warehouse at ``path`` (default :func:`default_path`), built unless a current one is there.

    Returns ``(path, built)``; ``built`` is False when an existing file of this generator version was reused.
    ``tables``: rows already made by :func:`generate` (so a caller that has them does not generate twice).

    Raises:
        WarehouseError: ``path`` holds a warehouse that is not a demo build (it is never overwritten), or
            another process held the build lock (``<path>.lock``) for :data:`LOCK_TIMEOUT` seconds.
    """
    target = Path(path) if path else default_path()
    if not rebuild and is_current(target):
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two processes asking for the demo at once (tests, notebooks, the dashboard): one builds, the other reuses.
    try:
        with FileLock(str(target.with_name(target.name + ".lock")), timeout=LOCK_TIMEOUT):
            if not rebuild and is_current(target):
                return target, False
            build(target, tables=tables)
    except Timeout:
        raise WarehouseError(f"another process has been building {target} for {LOCK_TIMEOUT} s; try again.") from None
    return target, True
