"""Shared by tests/test_demo*.py: the demo's rows and warehouse, made once per test process (no tests here)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from impactlens import demo

_cache: dict[str, object] = {}


def demo_tables() -> dict:
    """The demo's rows (``{table: {column: [values]}}``), generated once."""
    if "tables" not in _cache:
        _cache["tables"] = demo.generate()
    return _cache["tables"]  # type: ignore[return-value]


def demo_db() -> Path:
    """A demo warehouse built once by :func:`impactlens.demo.ensure` in a temporary folder (removed at exit)."""
    if "db" not in _cache:
        folder = Path(tempfile.mkdtemp(prefix="impactlens-demo-"))
        atexit.register(shutil.rmtree, folder, True)
        path, built = demo.ensure(folder / "demo.duckdb", tables=demo_tables())
        assert built
        _cache["db"] = path
    return _cache["db"]  # type: ignore[return-value]
