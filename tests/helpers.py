"""Helpers shared by test modules (pytest puts tests/ on sys.path, so `from helpers import ...` works)."""

from __future__ import annotations

import subprocess
import sys


def impactlens(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess[str]:
    """Run the ``impactlens`` command line as a user would, in a new process; text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "impactlens", *args], capture_output=True, text=True, cwd=cwd, env=env
    )
