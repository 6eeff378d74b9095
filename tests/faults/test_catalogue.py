"""The fault catalogue (issue 18): each bad input, run as a user runs it, ends in exit code 2, one line on
stderr that names the fix, no traceback, and a warehouse file byte for byte as before.

`IMPACTLENS_WRITE_CATALOGUE=1 pytest tests/faults` also prints the table into docs/reliability.md."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GitRepo

ROOT = Path(__file__).resolve().parents[2]

# (case, argv with {db} {repo} {tmp} placeholders, setup name or None, expected fragment of the message)
CASES = [
    ("non-repo path", ["collect", "git", "{tmp}/plain"], "plain", "not a git repository"),
    ("missing path", ["collect", "git", "{tmp}/nowhere"], None, "nowhere"),
    ("empty repo", ["collect", "git", "{tmp}/empty"], "empty", "no commits"),
    ("ambiguous date git", ["collect", "git", "{repo}", "--since", "01/02/2025"], None, "day and month order is ambiguous"),
    ("impossible date git", ["collect", "git", "{repo}", "--since", "2024-13-45"], None, "month must be in 1..12"),
    ("word date git", ["collect", "git", "{repo}", "--since", "yesterday-ish"], None, "write YYYY-MM-DD"),
    ("compact date git", ["collect", "git", "{repo}", "--since", "20250102"], None, "YYYY-MM-DD (2025-01-02)"),
    ("ambiguous date github", ["collect", "github", "acme", "--since", "01/02/2025"], None, "day and month order is ambiguous"),
    ("impossible date github", ["collect", "github", "acme", "--since", "2023-02-29"], None, "day is out of range"),
    ("bad github target", ["collect", "github", "not a/valid/target"], None, "is not OWNER or OWNER/REPO"),
    ("report: neither person nor team", ["report"], None, "give either --person"),
    ("report: both person and team", ["report", "--person", "ada", "--team", "core"], None, "give either --person"),
    ("report: unknown format", ["report", "--person", "ada", "--since", "2024-01-01", "--format", "pdf"], None, "--format must be one of"),
    ("report: since missing", ["report", "--person", "ada"], None, "--since is required"),
    ("report: week missing", ["report", "--team", "core"], None, "--week is required"),
    ("report: ambiguous since", ["report", "--person", "ada", "--since", "03/04/2024"], None, "day and month order is ambiguous"),
    ("report: impossible until", ["report", "--person", "ada", "--since", "2024-01-01", "--until", "2024-02-30"], None, "day is out of range"),
    ("report: until before since", ["report", "--person", "ada", "--since", "2024-03-01", "--until", "2024-02-01"], None, "is before --since"),
    ("report: unknown person", ["report", "--person", "zed", "--since", "2024-01-01"], None, "zed"),
    ("report: week 54", ["report", "--team", "core", "--week", "2026-W54"], None, "2026 has no ISO week 54"),
    ("report: word week", ["report", "--team", "core", "--week", "last week"], None, "neither an ISO week"),
    ("report: unknown team", ["report", "--team", "nobody", "--week", "2024-W10"], None, "nobody"),
    ("note: unknown section", ["note", "add", "x", "--section", "scoop", "--file", "{tmp}/brag.md"], None, "unknown section 'scoop'"),
    ("note: ambiguous date", ["note", "add", "x", "--section", "mentoring", "--date", "1/2/24", "--file", "{tmp}/brag.md"], None, "ambiguous"),
    ("people list: bad --at", ["people", "list", "--at", "2024-00-10"], None, "month must be in 1..12"),
    ("DB that is not DuckDB", ["db", "info", "--db", "{tmp}/junk.duckdb"], "junk_db", "junk.duckdb"),
    ("missing DB for reading", ["db", "info", "--db", "{tmp}/none.duckdb"], None, "none.duckdb"),
    ("malformed TOML", ["config", "show", "--config", "{tmp}/bad.toml"], "bad_toml", "bad.toml"),
    ("unknown config section", ["config", "show", "--config", "{tmp}/unknown.toml"], "unknown_key", "nonsense"),
    ("misspelt config key", ["config", "show", "--config", "{tmp}/misspelt.toml"], "misspelt_key", "categoires"),
    ("malformed roster YAML", ["people", "import", "{tmp}/roster.yaml"], "bad_roster", "roster.yaml"),
    ("duplicate people in roster", ["people", "import", "{tmp}/dupes.yaml"], "dupe_roster", "ada"),
    ("incident export missing", ["collect", "incidents", "{tmp}/none.csv"], None, "none.csv"),
    ("incident export empty", ["collect", "incidents", "{tmp}/empty.csv"], "empty_csv", "empty.csv"),
    ("incident export wrong columns", ["collect", "incidents", "{tmp}/wrong.csv"], "wrong_csv", "wrong.csv"),
    ("incident export truncated JSON", ["collect", "incidents", "{tmp}/cut.json"], "cut_json", "cut.json"),
    ("incident unknown format", ["collect", "incidents", "{tmp}/wrong.csv", "--format", "splunk"], "wrong_csv", "splunk"),
    ("missing token", ["collect", "github", "acme"], None, "GITHUB_TOKEN"),
    ("note: empty text", ["note", "add", " ", "--section", "mentoring", "--file", "{tmp}/brag.md"], None, "has no text"),
    ("dashboard on a non-DuckDB file", ["dashboard", "--no-browser", "--db", "{tmp}/junk.duckdb"], "junk_db", "junk.duckdb"),
    ("dashboard port out of range", ["dashboard", "--no-browser", "--port", "70000"], None, "--port 70000 is not a port number"),
    ("demo refuses a user's warehouse", ["demo", "--no-open", "--db", "{db}"], None, "w.duckdb"),
    ("roster date that does not exist", ["people", "import", "{tmp}/dates.yaml"], "bad_date_roster",
     "line 7: from '2024-13-01' is not a date"),
    ("incident date that does not exist", ["collect", "incidents", "{tmp}/dates.csv"], "bad_date_csv",
     "line 2, column 3 (opened): '2024-02-30T10:00:00Z' is not a date and time"),
    ("--db whose parent is a file", ["collect", "git", "{repo}", "--db", "{tmp}/afile/w.duckdb"], "afile",
     "a file is in the way where a directory is needed"),
    # Failed runs that used to leave <db>.writing behind (issue 23): they now remove their copy.
    ("unmerge unknown id", ["people", "unmerge", "m-does-not-exist"], None, "m-does-not-exist"),
    ("merge unknown ids", ["people", "merge", "ghost1", "ghost2", "--reason", "same"], None, "ghost1"),
    ("unknown branch", ["collect", "git", "{repo}", "--branch", "nope"], None, "has no branch or revision 'nope'"),
]


def _setup(name: str | None, tmp: Path) -> None:
    if name == "plain":
        (tmp / "plain").mkdir()
    elif name == "empty":
        GitRepo(tmp / "empty")
    elif name == "junk_db":
        (tmp / "junk.duckdb").write_bytes(os.urandom(4096))
    elif name == "bad_toml":
        (tmp / "bad.toml").write_text("[people\nroster = 'x'\n")
    elif name == "unknown_key":
        (tmp / "unknown.toml").write_text("[nonsense]\nx = 1\n")
    elif name == "misspelt_key":
        (tmp / "misspelt.toml").write_text("[categoires]\nx = ['a']\n")
    elif name == "bad_roster":
        (tmp / "roster.yaml").write_text("people:\n  - id: ada\n   name: [unclosed\n")
    elif name == "dupe_roster":
        (tmp / "dupes.yaml").write_text("people:\n  - id: ada\n    name: Ada\n    emails: [ada@example.com]\n"
                                        "  - id: ada\n    name: Ada again\n    emails: [ada2@example.com]\n")
    elif name == "empty_csv":
        (tmp / "empty.csv").write_text("")
    elif name == "wrong_csv":
        (tmp / "wrong.csv").write_text("colour,size\nred,3\n")
    elif name == "bad_date_roster":
        (tmp / "dates.yaml").write_text("people:\n  - id: ada\n    name: Ada\n    emails: [ada@example.com]\n"
                                        "    teams:\n      - team: core\n        from: 2024-13-01\n")
    elif name == "bad_date_csv":
        (tmp / "dates.csv").write_text("id,title,opened\nINC-1,DB down,2024-02-30T10:00:00Z\n")
    elif name == "afile":
        (tmp / "afile").write_text("a file, not a directory")
    elif name == "cut_json":
        (tmp / "cut.json").write_text('[{"id": "INC-1", "created_at": "2024-01-0')


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One small collected repository in a warehouse; each case runs on a copy."""
    base = tmp_path_factory.mktemp("faults")
    repo = GitRepo(base / "repo")
    repo.write("a.py", "print(1)\n")
    repo.commit("first")
    db = base / "w.duckdb"
    done = subprocess.run([sys.executable, "-m", "impactlens", "collect", "git", str(repo.path), "-q", "--db", str(db)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return repo.path, db.read_bytes()


def run_case(argv, setup, world, tmp: Path):
    repo, data = world
    db = tmp / "w.duckdb"
    db.write_bytes(data)
    _setup(setup, tmp)
    args = [a.format(db=db, repo=repo, tmp=tmp) for a in argv]
    if "--db" not in args and args[:2] not in (["config", "show"],) and args[0] != "note":
        args += ["--db", str(db)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "IMPACTLENS_"))}
    result = subprocess.run([sys.executable, "-m", "impactlens", *args], capture_output=True, text=True, cwd=tmp, env=env)
    return result, hashlib.sha256(data).hexdigest(), hashlib.sha256(db.read_bytes()).hexdigest(), args


@pytest.mark.parametrize("case, argv, setup, fragment", CASES, ids=[c[0] for c in CASES])
def test_fault(case, argv, setup, fragment, world, tmp_path):
    result, before, after, _ = run_case(argv, setup, world, tmp_path)
    err = result.stderr.strip()
    assert result.returncode == 2, (result.returncode, err)
    assert "Traceback" not in result.stderr
    assert len(err.splitlines()) == 1, err
    assert fragment in err, err
    assert before == after, "the warehouse changed"
    assert not Path(str(tmp_path / "w.duckdb") + ".writing").exists()


def test_catalogue_is_big_enough():
    assert len(CASES) >= 40


@pytest.mark.skipif(not os.environ.get("IMPACTLENS_WRITE_CATALOGUE"), reason="set IMPACTLENS_WRITE_CATALOGUE=1")
def test_write_catalogue_into_docs(world, tmp_path):
    rows = []
    for i, (case, argv, setup, _) in enumerate(CASES):
        tmp = tmp_path / str(i)
        tmp.mkdir()
        result, *_ = run_case(argv, setup, world, tmp)
        shown = " ".join(a if not a.startswith(str(tmp)) else a.replace(str(tmp), "$TMP") for a in
                         [a.format(db="$DB", repo="$REPO", tmp="$TMP") for a in argv])
        message = result.stderr.strip().replace(str(tmp), "$TMP").replace("|", "\\|")
        rows.append(f"| {case} | `impactlens {shown}` | {result.returncode} | {message} |")
    doc = ROOT / "docs" / "reliability.md"
    text = doc.read_text() if doc.exists() else "# Reliability\n"
    start, end = "<!-- catalogue:start -->", "<!-- catalogue:end -->"
    table = "\n".join([start, "| Case | Command | Exit | Message |", "|---|---|---|---|", *rows, end])
    if start in text:
        text = text[: text.index(start)] + table + text[text.index(end) + len(end):]
    else:
        text += "\n" + table + "\n"
    doc.write_text(text)
