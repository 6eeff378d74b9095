"""The configuration: a frozen, typed :class:`impactlens.config.Config`, resolved once by the command line
(``--config PATH``, else ./impactlens.toml, else the defaults) and passed down; no library function reads the
working directory on its own."""

from __future__ import annotations

import dataclasses
import json

import duckdb
import pytest

from helpers import impactlens
from impactlens import config as config_mod, warehouse
from impactlens.errors import ConfigError
from builders import add_comment, add_member, add_person, add_pr, add_review, insert

# Ada's PR opens Monday 2024-03-11 10:00; Bob comments at 11:00 and submits his review at 14:00. The wait
# for a first review ends at the comment under `review_or_comment` (1 hour) and at the review under
# `review` (4 hours): docs/metrics.md "Time to first review".
REVIEW_ONLY = '[review]\nfirst_response = "review"\n'
REVIEW_OR_COMMENT = '[review]\nfirst_response = "review_or_comment"\n'


@pytest.fixture
def world(tmp_path):
    """A warehouse file, a folder whose impactlens.toml says `review`, and another file that says
    `review_or_comment`."""
    db = tmp_path / "wh" / "impactlens.duckdb"
    db.parent.mkdir()
    con = warehouse.open_for_write(db)
    insert(con, "teams", team_id="core", name="Core")
    add_person(con, "ada", logins=("ada",), emails=("ada@example.com",))
    add_person(con, "bob", logins=("bob",), emails=("bob@example.com",))
    add_member(con, "ada", "core", "2024-01-01")
    add_member(con, "bob", "core", "2024-01-01")
    add_pr(con, 1, "ada", "2024-03-11 10:00", merged_at="2024-03-12 10:00", additions=10, deletions=2)
    add_comment(con, 1, "bob", "2024-03-11 11:00", kind="issue_comment")
    add_review(con, 1, "bob", "2024-03-11 14:00")
    con.execute("CHECKPOINT")
    con.close()
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / "impactlens.toml").write_text(REVIEW_ONLY)
    other = tmp_path / "other.toml"
    other.write_text(REVIEW_OR_COMMENT)
    return db, cwd, other


def _team_ttfr(db, cwd, *extra: str) -> float:
    result = impactlens("report", "--team", "core", "--week", "2024-W11", "--format", "json", "--db", str(db),
                        *extra, cwd=cwd)
    assert result.returncode == 0, result.stderr
    figures = {m["figure"]["name"]: m["figure"]["value"] for m in json.loads(result.stdout)["moved"]}
    return figures["Median time to first review"]


def test_report_uses_the_config_option_over_the_working_folder(world):
    db, cwd, other = world
    assert _team_ttfr(db, cwd) == 4.0  # ./impactlens.toml: the review ends the wait
    assert _team_ttfr(db, cwd, "--config", str(other)) == 1.0  # --config: the comment ends it


def _pr_ttfr(db, cwd, *extra: str) -> float:
    result = impactlens("metrics", "--db", str(db), "--quiet", *extra, cwd=cwd)
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("SELECT time_to_first_review_hours FROM metric_prs WHERE number = 1").fetchall()[0][0]
    finally:
        con.close()


def test_metrics_uses_the_config_option_over_the_working_folder(world):
    db, cwd, other = world
    assert _pr_ttfr(db, cwd) == 4.0
    assert _pr_ttfr(db, cwd, "--config", str(other)) == 1.0


def test_a_missing_config_file_is_one_line_exit_2(world):
    db, cwd, _ = world
    result = impactlens("report", "--team", "core", "--week", "2024-W11", "--db", str(db),
                        "--config", "nope.toml", cwd=cwd)
    assert result.returncode == 2
    assert result.stderr.strip() == "impactlens: error: configuration file nope.toml does not exist."


def test_library_functions_do_not_read_the_working_folder(world, monkeypatch):
    from impactlens.metrics import load

    _, cwd, _ = world
    monkeypatch.chdir(cwd)  # its impactlens.toml says `review`
    assert config_mod.load().review.first_response == "review_or_comment"  # no path: the defaults
    assert config_mod.resolve().review.first_response == "review"  # the command line's rule
    assert config_mod.find() == config_mod.find("impactlens.toml")
    con = duckdb.connect()
    try:
        assert load(con).config.review.first_response == "review_or_comment"
    finally:
        con.close()


def test_the_config_is_frozen_and_typed():
    cfg = config_mod.from_dict({"bots": {"not_bots": ["Sam.Talbot@example.com"]},
                                "access": {"leads": {"core": ["lead@example.com"]}}})
    assert cfg.bots.not_bots == ("Sam.Talbot@example.com",)
    assert cfg["bots"]["not_bots"] == cfg.bots.not_bots  # read like the TOML too
    assert cfg.access.leads["core"] == ("lead@example.com",)
    assert cfg.digest.stale_days == 3 and cfg.business_hours.timezone == "UTC"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.bots.not_bots = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.access.leads["web"] = ()  # type: ignore[index]
    assert config_mod.from_dict(cfg.as_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown key 'bots.not_bot'"):
        config_mod.from_dict({"bots": {"not_bot": []}})


def test_the_dashboard_reads_the_file_the_command_line_resolved(world, monkeypatch):
    from impactlens.dashboard import state

    _, cwd, other = world
    monkeypatch.chdir(cwd)
    monkeypatch.delenv(config_mod.CONFIG_ENV, raising=False)
    assert state.config_path([]) == config_mod.find("impactlens.toml")
    monkeypatch.setenv(config_mod.CONFIG_ENV, str(other))
    assert state.config_path([]) == other
    assert state.current_config().review.first_response == "review_or_comment"
    assert state.config_path(["--db", "x", "--config", "impactlens.toml"]) == config_mod.find("impactlens.toml")


def test_dashboard_takes_config_and_a_missing_file_is_one_line(world):
    db, cwd, _ = world
    result = impactlens("dashboard", "--db", str(db), "--no-browser", "--config", "nope.toml", cwd=cwd)
    assert result.returncode == 2
    assert result.stderr.strip() == "impactlens: error: configuration file nope.toml does not exist."
    bad = cwd / "bad.toml"
    bad.write_text("[review]\nfirst_response = 3\n")
    result = impactlens("dashboard", "--db", str(db), "--no-browser", "--config", str(bad), cwd=cwd)
    assert result.returncode == 2 and "'review.first_response' must be a str" in result.stderr


def test_every_default_key_is_a_typed_field():
    cfg = config_mod.defaults()
    assert list(cfg) == list(config_mod.DEFAULTS)
    for section, keys in config_mod.DEFAULTS.items():
        assert list(cfg[section]) == list(keys), section
        for key, value in keys.items():
            got = cfg[section][key]
            assert got == (tuple(value) if isinstance(value, list) else value) or (isinstance(value, dict) and not got)
