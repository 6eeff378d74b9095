"""``impactlens digest``: the weekly team review as a short message with alerts (docs/assistant.md)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens digest`` to ``app`` (once the digest lands)."""
