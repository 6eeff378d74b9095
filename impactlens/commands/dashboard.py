"""``impactlens dashboard``: serve the Streamlit dashboard (impactlens/dashboard/app.py) on a warehouse.

Other commands open the dashboard through :func:`launch` (``impactlens demo`` calls
``dashboard.launch(db_path)`` once the demo warehouse is built).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import webbrowser
from pathlib import Path
from typing import Annotated, Optional

import typer

from impactlens import warehouse
from impactlens.commands import DbOption, fail
from impactlens.errors import ImpactlensError

DEFAULT_PORT = 8501


def app_path() -> Path:
    """The Streamlit script of the dashboard (``impactlens/dashboard/app.py`` as installed)."""
    import impactlens.dashboard

    return Path(impactlens.dashboard.__file__).resolve().parent / "app.py"


def streamlit_command(db_path: Path, *, port: int | None = None, address: str | None = None) -> list[str]:
    """The ``streamlit run`` command line serving the dashboard on ``db_path`` (passed after ``--``).

    Streamlit always runs headless: otherwise, on a machine where it has never run, it stops at a prompt
    asking for an e-mail address. :func:`launch` opens the browser tab itself.
    """
    command = [sys.executable, "-m", "streamlit", "run", str(app_path()),
               "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"]
    if port is not None:
        command += ["--server.port", str(port)]
    if address is not None:
        command += ["--server.address", address]
    return [*command, "--", "--db", str(db_path)]


def check(db_path: str | os.PathLike[str] | None) -> Path:
    """The resolved warehouse path, after checking it opens read-only with this code's schema.

    Raises:
        ImpactlensError: no file, not a DuckDB file, or a schema this version cannot read.
    """
    path = warehouse.resolve_path(db_path).resolve()
    warehouse.read_only(path).close()
    return path


def launch(db_path: str | os.PathLike[str] | None, *, port: int | None = None, browser: bool = True) -> int:
    """Serve the dashboard on ``db_path`` until the user stops it (Ctrl-C); returns Streamlit's exit code.

    Opens a browser tab unless ``browser`` is False. The warehouse is read read-only and reloaded when a
    collection publishes a new file, so the dashboard can stay open while collections run.

    Raises:
        ImpactlensError: the warehouse cannot be opened (see :func:`check`).
    """
    path = check(db_path)
    port = port or free_port(DEFAULT_PORT)
    env = {**os.environ, warehouse.DB_ENV: str(path)}
    process = subprocess.Popen(streamlit_command(path, port=port), env=env)
    if browser:
        threading.Thread(target=_open_when_ready, args=(process, port), daemon=True).start()
    if threading.current_thread() is threading.main_thread():  # a `kill` of impactlens stops Streamlit too
        signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        return process.wait()
    except KeyboardInterrupt:  # Streamlit got the same Ctrl-C; let it finish shutting down
        return process.wait()


def free_port(start: int) -> int:
    """The first port from ``start`` on that nothing listens on (as ``streamlit run`` would pick)."""
    for port in range(start, start + 100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise ImpactlensError(f"no free port between {start} and {start + 99}: give one with --port.")


def _open_when_ready(process: subprocess.Popen, port: int, timeout: float = 120) -> None:
    """Open a browser tab on the dashboard once Streamlit answers its health check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                webbrowser.open(f"http://localhost:{port}")
                return
        except OSError:
            time.sleep(0.5)


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens dashboard`` to ``app``."""

    @app.command("dashboard")
    def dashboard_command(
        db: DbOption = None,
        port: Annotated[Optional[int], typer.Option("--port", help="Port to serve on (default 8501, or the next free one).")] = None,
        no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser tab.")] = False,
    ) -> None:
        """Serve the dashboard (My impact, Promotion case, Team health) on the warehouse, read-only."""
        try:
            code = launch(db, port=port, browser=not no_browser)
        except ImpactlensError as exc:
            fail(str(exc))
        raise typer.Exit(code)
