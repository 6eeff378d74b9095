"""``impactlens demo``: build the demo organisation's warehouse (or reuse it) and open the dashboard on it."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from impactlens.commands import user_errors

SHOWN_TABLES = ("pull_requests", "reviews", "comments", "commits", "issues", "deployments", "incidents", "people")


def summary(path: Path, counts: dict[str, int], *, built: bool, seconds: float) -> str:
    """A few lines: what the demo warehouse holds, its planted stories, and how to explore it."""
    from impactlens import demo

    verb = f"Built in {seconds:.1f} s" if built else "Reused (same generator version; --rebuild to build again)"
    held = ", ".join(f"{counts.get(t, 0):,} {t.replace('_', ' ')}" for t in SHOWN_TABLES)
    lines = [
        f"Demo organisation '{demo.ORG}': {len(demo.PEOPLE)} engineers in {len(demo.TEAMS)} teams, "
        f"{len(demo.REPOS)} repositories, {demo.START} to {demo.END}.",
        f"{verb}: {path}",
        f"It holds {held}.",
        "Planted stories (sample_data/README.md tells them in full):",
    ]
    for name, story in demo.DEMO_STORIES.items():
        lines.append(f"  - {name}: {story['summary']}")
    lines += [
        "Explore it:",
        f"  impactlens dashboard --db {path}",
        f"  impactlens db info --db {path}",
    ]
    return "\n".join(lines)


def open_dashboard(path: Path, *, port: int | None = None, address: str | None = None, browser: bool = True) -> bool:
    """Open the dashboard on the demo warehouse at ``path`` and wait until the user stops it.

    Returns False when this installation has no dashboard to open (the caller then says how to explore
    the warehouse instead). The dashboard area provides ``impactlens.commands.dashboard.launch(db_path)``.
    ``browser`` False serves it without opening a browser tab (a headless machine, a remote shell).
    """
    from impactlens.commands import dashboard

    launch = getattr(dashboard, "launch", None)
    if launch is None:
        return False
    launch(path, port=port, address=address, browser=browser)
    return True


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens demo`` to ``app``."""

    @app.command("demo")
    def demo_command(
        rebuild: Annotated[bool, typer.Option("--rebuild", help="Build the demo warehouse again even if it is current.")] = False,
        no_open: Annotated[bool, typer.Option("--no-open", help="Build (or reuse) it and print a summary; do not serve the dashboard.")] = False,
        no_browser: Annotated[bool, typer.Option("--no-browser", help="Serve the dashboard but do not open a browser tab (a headless machine).")] = False,
        db: Annotated[Optional[Path], typer.Option(
            "--db", help="Where the demo warehouse goes (default sample_data/cache/demo.duckdb; "
            "$IMPACTLENS_DEMO_DB). Never a warehouse of your own: an existing non-demo file is refused.")] = None,
        port: Annotated[Optional[int], typer.Option("--port", help="Port of the dashboard (default 8501, or the next free one).")] = None,
        address: Annotated[Optional[str], typer.Option("--address", help="Address the dashboard listens on (default 127.0.0.1).")] = None,
    ) -> None:
        """Build the demo organisation (about 30 engineers, 2 years, planted stories) and open the dashboard on it."""
        from impactlens import demo

        with user_errors():
            started = time.perf_counter()
            path, built = demo.ensure(db, rebuild=rebuild)
            seconds = time.perf_counter() - started
            typer.echo(summary(path, demo.counts(path), built=built, seconds=seconds))
            if not no_open and not open_dashboard(path, port=port, address=address, browser=not no_browser):
                typer.echo("The dashboard is not available in this installation; explore with the commands above.")
