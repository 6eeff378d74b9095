"""``impactlens dashboard``: serve the Streamlit dashboard (impactlens/dashboard/app.py) on a warehouse.

Other commands open the dashboard through :func:`launch` (``impactlens demo`` calls
``dashboard.launch(db_path)`` once the demo warehouse is built).
"""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, fail, user_errors
from impactlens.dashboard.serve import app_path, streamlit_command  # noqa: F401  (app_path: re-exported)
from impactlens.errors import ImpactlensError

DEFAULT_PORT = 8501
DEFAULT_ADDRESS = "127.0.0.1"


def is_local(address: str) -> bool:
    """Whether ``address`` (an IP address or host name) only answers on this machine (loopback)."""
    import ipaddress

    if address.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume it is reachable from the network


def network_warning(address: str) -> str | None:
    """The warning printed before serving on ``address``, or None when it is loopback only."""
    if is_local(address):
        return None
    where = "every network interface" if address in ("0.0.0.0", "::", "[::]") else address
    return (f"serving the dashboard on {where}: anyone who can reach this machine sees every person's figures; "
            "turn on sign-in ([dashboard.auth] in impactlens.toml, see docs/reliability.md) "
            "or serve on 127.0.0.1 (the default).")


def check(db_path: str | os.PathLike[str] | None) -> Path:
    """The resolved warehouse path, after checking it opens read-only with this code's schema.

    Raises:
        ImpactlensError: no file, not a DuckDB file, or a schema this version cannot read.
    """
    path = warehouse.resolve_path(db_path).resolve()
    warehouse.read_only(path).close()
    return path


def choose_port(port: int | None, address: str = DEFAULT_ADDRESS) -> tuple[int, str | None]:
    """The port to serve on and a one-line note when it is not the one the user expects.

    With ``port`` given, that port or an error; without, :data:`DEFAULT_PORT` or the next free one with
    a note that says so (Streamlit would otherwise move silently).

    Raises:
        ImpactlensError: the given port is in use, or no free port near the default.
    """
    if port is not None:
        if not 1 <= port <= 65535:
            raise ImpactlensError(f"--port {port} is not a port number (1-65535).")
        if _in_use(port, address):
            raise ImpactlensError(f"port {port} is already in use: give another with --port, or stop what serves on it.")
        return port, None
    chosen = free_port(DEFAULT_PORT, address)
    if chosen != DEFAULT_PORT:
        return chosen, f"port {DEFAULT_PORT} is in use; serving on port {chosen} instead (choose one with --port)."
    return chosen, None


def _keep_fresh(lake: str, db: Path, config: Optional[Path], seen: tuple, stop: threading.Event) -> None:
    """``dashboard --lake``: every ``LAKE_CHECK_SECONDS`` until ``stop``, read the lake again into the served
    file ``db`` when a table has a Delta version newer than ``seen`` (:func:`impactlens.commands.lake.
    refresh_file`). A lake that cannot be read leaves the served file as it was and says why on stderr; the
    next check tries again."""
    from impactlens.commands import lake as lake_cmd
    from impactlens.dashboard.serve import LAKE_CHECK_SECONDS

    while not stop.wait(LAKE_CHECK_SECONDS):
        try:
            seen = lake_cmd.refresh_file(lake, db, config, seen)
        except (ImpactlensError, OSError) as exc:
            typer.echo(f"impactlens: warning: lake {lake} not read again: {exc}", err=True)


def launch(db_path: str | os.PathLike[str] | None, *, port: int | None = None, browser: bool = True,
           address: str | None = None, config: str | os.PathLike[str] | None = None,
           lake: str | None = None) -> int:
    """Serve the dashboard on ``db_path`` until the user stops it (Ctrl-C); returns Streamlit's exit code.

    Listens on ``address`` (default 127.0.0.1, this machine only); any other address prints
    :func:`network_warning` on stderr first. Without ``port``, 8501 or the next free port, saying so when
    it moved. Opens a browser tab unless ``browser`` is False. The warehouse is read read-only and reloaded
    when a collection publishes a new file, so the dashboard can stay open while collections run.
    The configuration is ``config``, else ./impactlens.toml when present, else the defaults
    (:func:`impactlens.config.find`); Streamlit gets its path in ``$IMPACTLENS_CONFIG``.

    Raises:
        ImpactlensError: the warehouse cannot be opened (see :func:`check`); the port is taken; the
            configuration is missing or not valid (ConfigError).
    """
    from impactlens import config as config_mod

    config_file = config_mod.find(config)
    config_mod.load(config_file)  # a bad file fails here, in one line, not in the browser
    path = check(db_path)
    address = address or DEFAULT_ADDRESS
    port, moved = choose_port(port, address)
    warning = network_warning(address)
    if warning:
        typer.echo(f"impactlens: warning: {warning}", err=True)
    if moved:
        typer.echo(f"impactlens: {moved}", err=True)
    env = {**os.environ, warehouse.DB_ENV: str(path)}
    env.pop(config_mod.CONFIG_ENV, None)
    if config_file is not None:
        env[config_mod.CONFIG_ENV] = str(config_file.resolve())
    started: list[subprocess.Popen] = []
    if threading.current_thread() is threading.main_thread():  # a `kill` of impactlens stops Streamlit too
        signal.signal(signal.SIGTERM, lambda *_: started[0].terminate() if started else sys.exit(143))
    process = subprocess.Popen(streamlit_command(path, port=port, address=address, lake=lake), env=env)
    started.append(process)
    if browser:
        threading.Thread(target=_open_when_ready, args=(process, port), daemon=True).start()
    try:
        return process.wait()
    except KeyboardInterrupt:  # Streamlit got the same Ctrl-C; let it finish shutting down
        return process.wait()


def _in_use(port: int, address: str = DEFAULT_ADDRESS) -> bool:
    """Whether ``port`` cannot be bound on ``address`` (something listens there already)."""
    host = "127.0.0.1" if is_local(address) else ("" if address in ("0.0.0.0", "::", "[::]") else address)
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    with socket.socket() as probe:  # a server on another loopback address still answers here
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port(start: int, address: str = DEFAULT_ADDRESS) -> int:
    """The first port from ``start`` on that is free on ``address`` (as ``streamlit run`` would pick)."""
    for port in range(start, start + 100):
        if not _in_use(port, address):
            return port
    raise ImpactlensError(f"no free port between {start} and {start + 99}: give one with --port.")


def _open_when_ready(process: subprocess.Popen, port: int, timeout: float = 120) -> None:
    """Open a browser tab on the dashboard once Streamlit answers its health check."""
    import urllib.request
    import webbrowser

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                webbrowser.open(f"http://localhost:{port}")
                return
        except OSError:
            time.sleep(0.5)


AddressOption = Annotated[Optional[str], typer.Option(
    "--address", help="Address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 serves the "
    "network, with a warning: turn on sign-in first).")]
PortOption = Annotated[Optional[int], typer.Option("--port", help="Port to serve on (default 8501, or the next free one).")]


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens dashboard`` to ``app``."""

    @app.command("dashboard")
    def dashboard_command(
        db: DbOption = None,
        port: Annotated[Optional[int], typer.Option("--port", help="Port to serve on (default 8501, or the next free one).")] = None,
        no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser tab.")] = False,
        address: AddressOption = None,
        config: ConfigOption = None,
        lake: Annotated[Optional[str], typer.Option(
            "--lake", help="Serve a Delta Lake folder or object-store URL (docs/scale.md), copied into a temporary "
                           "warehouse at start.")] = None,
    ) -> None:
        """Serve the dashboard (My impact, Promotion case, Team health) on the warehouse, read-only.

        It listens on 127.0.0.1 (this machine only) unless --address says otherwise."""
        if lake is not None:
            from impactlens.commands import lake as lake_cmd

            if db is not None:
                fail("give --lake or --db, not both.")
            from impactlens import lake as lake_mod

            with user_errors():  # a remote lake is opened with the configuration's storage options
                lake_cmd.use_config(config)
                seen = lake_mod.snapshot(lake)  # before reading it: a commit landing meanwhile is read again
            with lake_cmd.materialised_file(lake, config) as db:
                stop = threading.Event()
                threading.Thread(target=_keep_fresh, args=(lake, db, config, seen, stop), daemon=True).start()
                try:
                    code = launch(db, port=port, browser=not no_browser, address=address, config=config, lake=lake)
                except ImpactlensError as exc:
                    fail(str(exc))
                finally:
                    stop.set()
            raise typer.Exit(code)
        try:
            code = launch(db, port=port, browser=not no_browser, address=address, config=config)
        except ImpactlensError as exc:
            fail(str(exc))
        raise typer.Exit(code)
