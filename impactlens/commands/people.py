"""Commands of the people area (not yet built)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add this area's commands to ``app`` or ``collect_app``."""
