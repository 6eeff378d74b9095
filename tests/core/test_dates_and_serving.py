"""One date parser for every command (impactlens/dates.py), `--version`, the dashboard's bind address
and port, and `note add` messages. Expected values are written out by hand."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from helpers import impactlens
from impactlens import dates, warehouse
from impactlens.commands import dashboard


@pytest.mark.parametrize("text, expected", [
    ("2025-01-02", date(2025, 1, 2)),
    (" 2024-02-29 ", date(2024, 2, 29)),
    ("1970-01-01", date(1970, 1, 1)),
])
def test_iso_days_are_read_as_written(text, expected):
    assert dates.parse_day(text, "--since", warn=None) == expected


@pytest.mark.parametrize("text, fragment", [
    ("01/02/2025", "ambiguous; write YYYY-MM-DD"),
    ("2024-13-45", "month must be in 1..12"),
    ("2023-02-29", "day is out of range"),
    ("yesterday-ish", "write YYYY-MM-DD"),
    ("20250102", "YYYY-MM-DD (2025-01-02)"),
    ("2025-1-2", "two digits"),
    ("2025-01-02T10:00", "give a day"),
    ("", "write YYYY-MM-DD"),
])
def test_anything_else_is_one_line_error_naming_the_option(text, fragment):
    with pytest.raises(dates.DateError) as caught:
        dates.parse_day(text, "--since")
    message = str(caught.value)
    assert message.startswith(f"--since {text!r} is not a date") and fragment in message and "\n" not in message


def test_a_future_day_warns_and_is_kept():
    said = []
    tomorrow = dates.today() + timedelta(days=1)
    assert dates.parse_day(tomorrow.isoformat(), "--until", warn=said.append) == tomorrow
    assert len(said) == 1 and "--until" in said[0] and "in the future" in said[0]
    said.clear()
    dates.parse_day(dates.today().isoformat(), "--until", warn=said.append)
    assert said == []


@pytest.mark.parametrize("text, monday", [
    ("2026-W14", date(2026, 3, 30)),  # 2026-01-01 is a Thursday, so W01 starts 2025-12-29; +13 weeks
    ("2026w14", date(2026, 3, 30)),
    ("2026-04-01", date(2026, 3, 30)),  # a Wednesday in that week
    ("2020-W53", date(2020, 12, 28)),
])
def test_weeks_are_iso_weeks_or_a_day_in_them(text, monday):
    assert dates.parse_week(text, warn=None) == monday


@pytest.mark.parametrize("text, fragment", [
    ("2026-W54", "2026 has no ISO week 54"),
    ("2025-W53", "2025 has no ISO week 53"),
    ("last week", "neither an ISO week"),
    ("2024-13-01", "month must be in 1..12"),
])
def test_bad_weeks(text, fragment):
    with pytest.raises(dates.DateError, match=re.escape(fragment)):
        dates.parse_week(text)


def test_git_since_is_midnight_utc_not_git_approxidate(tmp_path):
    """git reads a bare 2024-01-02 as that day at the current time; the parser hands it midnight UTC."""
    from conftest import GitRepo

    repo = GitRepo(tmp_path / "r")
    repo.write("a", "1")
    repo.commit("late on the 1st", date="2024-01-01T23:30:00+00:00", committer_date="2024-01-01T23:30:00+00:00")
    repo.write("a", "2")
    repo.commit("early on the 2nd", date="2024-01-02T00:30:00+00:00", committer_date="2024-01-02T00:30:00+00:00")
    since = dates.git_since(date(2024, 1, 2))
    listed = repo.git("log", f"--since={since}", "--format=%s").splitlines()
    assert listed == ["early on the 2nd"]


@pytest.mark.parametrize("argv", [
    ["collect", "git", ".", "--since", "01/02/2025"],
    ["collect", "github", "acme", "--since", "01/02/2025"],
    ["report", "--person", "ada", "--since", "01/02/2025"],
    ["report", "--person", "ada", "--since", "2024-01-01", "--until", "01/02/2025"],
    ["note", "add", "Did a thing", "--section", "mentoring", "--date", "01/02/2025"],
    ["people", "list", "--at", "01/02/2025"],
])
def test_every_command_refuses_the_ambiguous_date_the_same_way(argv, tmp_path):
    db = tmp_path / "w.duckdb"
    warehouse.open_for_write(db).close()
    result = impactlens(*argv, "--db", str(db), cwd=tmp_path) if argv[0] != "note" else impactlens(*argv, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "'01/02/2025' is not a date: day and month order is ambiguous" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_report_week_goes_through_the_same_parser(tmp_path):
    db = tmp_path / "w.duckdb"
    warehouse.open_for_write(db).close()
    result = impactlens("report", "--team", "core", "--week", "2026-W54", "--db", str(db))
    assert result.returncode == 2 and "--week '2026-W54': 2026 has no ISO week 54" in result.stderr


def test_version():
    from importlib.metadata import version

    result = impactlens("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"impactlens {version('impactlens')}"


def test_note_add_unknown_section_names_the_option_not_line_zero(tmp_path):
    brag = tmp_path / "brag.md"
    result = impactlens("note", "add", "Fixed it", "--section", "scoop", "--file", str(brag))
    assert result.returncode == 2
    assert "line 0" not in result.stderr
    assert f"{brag}: unknown section 'scoop' (known: " in result.stderr
    assert not brag.exists()


def test_brag_file_lines_count_from_one(tmp_path):
    brag = tmp_path / "brag.md"
    brag.write_text("## 2024-03-01 · scoop\nDid it\n")
    result = impactlens("report", "--person", "ada", "--since", "2024-03-01", "--brag", str(brag),
                        "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 2  # the missing warehouse is reported first; the file alone:
    from impactlens.evidence.brag import BragError, load_brag

    with pytest.raises(BragError, match=re.escape(f"{brag} line 1: unknown section 'scoop'")):
        load_brag(brag)


@pytest.mark.parametrize("address, local", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("dashboard.example.com", False),
])
def test_only_loopback_addresses_are_local(address, local):
    assert dashboard.is_local(address) is local
    assert (dashboard.network_warning(address) is None) is local


def _listener() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_a_busy_default_port_moves_with_a_message(monkeypatch):
    with _listener() as busy:
        taken = busy.getsockname()[1]
        monkeypatch.setattr(dashboard, "DEFAULT_PORT", taken)
        port, note = dashboard.choose_port(None)
        assert port > taken
        assert note == f"port {taken} is in use; serving on port {port} instead (choose one with --port)."
        from impactlens.errors import ImpactlensError

        with pytest.raises(ImpactlensError, match=f"port {taken} is already in use"):
            dashboard.choose_port(taken)


def test_streamlit_is_told_the_address():
    command = dashboard.streamlit_command(warehouse.resolve_path("x.duckdb"), port=9999, address="127.0.0.1")
    assert command[command.index("--server.address") + 1] == "127.0.0.1"


def _serve(argv, tmp_path):
    db = tmp_path / "w.duckdb"
    warehouse.open_for_write(db).close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "impactlens", "dashboard", "--db", str(db), "--no-browser",
                                "--port", str(port), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, port


def _wait_listening(port: int, host: str = "127.0.0.1", timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.3)
    return False


def _host_address() -> str | None:
    """An address of this machine that is not loopback (None when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_dashboard_listens_on_loopback_only_by_default(tmp_path):
    process, port = _serve([], tmp_path)
    try:
        assert _wait_listening(port), "the dashboard never listened"
        other = _host_address()
        if other:
            with socket.socket() as probe:
                assert probe.connect_ex((other, port)) != 0, f"reachable on {other}"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert "warning" not in err


def test_dashboard_on_the_network_warns_first(tmp_path):
    process, port = _serve(["--address", "0.0.0.0"], tmp_path)
    try:
        first = process.stderr.readline()
        assert first.startswith("impactlens: warning: serving the dashboard on every network interface")
        assert "sign-in" in first
        assert _wait_listening(port)
    finally:
        process.terminate()
        process.communicate(timeout=30)
