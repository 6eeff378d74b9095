"""Incident exports (real files in tests/fixtures/incidents) into a real warehouse file."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from impactlens.collectors import incidents

FIXTURES = Path(__file__).parents[1] / "fixtures" / "incidents"
UTC = dt.timezone.utc


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def rows(con, source=None):
    where = f"WHERE source = '{source}'" if source else ""
    return {
        r[0]: r[1:]
        for r in con.sql(
            "SELECT incident_id, status, opened_at, acknowledged_at, resolved_at, severity, service, commander, "
            f"responders, postmortem_url, url FROM incidents {where}"
        ).fetchall()
    }


def test_generic_csv(con):
    result = incidents.load_file(con, FIXTURES / "generic.csv")
    assert (result.format, result.incidents, result.open, result.new) == ("generic", 2, 1, 2)
    got = rows(con)
    assert got["generic:INC-1"] == (
        "resolved", t("2024-03-02T09:00"), t("2024-03-02T09:05"), t("2024-03-02T11:30"), "SEV1", "checkout",
        "ada@example.com", ["ada@example.com", "@bob-stone"], "https://wiki.example.com/pm/inc-1", None,
    )
    # 14:00 at +01:00 is 13:00 UTC; no resolution yet: kept open.
    assert got["generic:INC-2"][:4] == ("open", t("2024-03-06T13:00"), None, None)


def test_pagerduty_csv_and_json_are_the_same_incidents(con):
    csv_result = incidents.load_file(con, FIXTURES / "pagerduty.csv")
    first = rows(con)
    json_result = incidents.load_file(con, FIXTURES / "pagerduty.json")
    assert csv_result.format == json_result.format == "pagerduty"
    assert json_result.new == 0
    got = rows(con)
    assert set(got) == {"pagerduty:1042", "pagerduty:1043"}
    # 08:00 at -05:00 is 13:00 UTC; resolved 09:15 -05:00 = 14:15 UTC; priority P1 is the severity.
    assert got["pagerduty:1042"][:7] == (
        "resolved", t("2024-03-03T13:00"), None, t("2024-03-03T14:15"), "P1", "payments-api", "Ada Lovelace"
    )
    assert first["pagerduty:1042"][:6] == got["pagerduty:1042"][:6]
    assert got["pagerduty:1043"][:4] == ("open", t("2024-03-06T17:00"), t("2024-03-06T17:04"), None)
    assert got["pagerduty:1043"][7] == ["Bob Stone"]
    assert got["pagerduty:1042"][9] == "https://acme.pagerduty.com/incidents/Q1ABCDEF"


def test_opsgenie_json(con):
    result = incidents.load_file(con, FIXTURES / "opsgenie.json")
    assert (result.format, result.incidents, result.open) == ("opsgenie", 2, 1)
    got = rows(con)
    # Impact start/end, not alert creation, bound the incident.
    assert got["opsgenie:1791"][:6] == ("resolved", t("2024-03-04T10:00"), None, t("2024-03-04T10:45"), "P2", "orders-worker")
    assert got["opsgenie:1791"][6:8] == ("orders", ["orders"])
    # createdAt in epoch milliseconds: 1709978400000 = 2024-03-09 10:00 UTC.
    assert got["opsgenie:1792"][:2] == ("open", t("2024-03-09T10:00"))


def test_incidentio_csv_skips_declined_and_matches_json(con):
    result = incidents.load_file(con, FIXTURES / "incidentio.csv")
    assert (result.format, result.incidents, result.skipped, result.open) == ("incidentio", 2, 1, 1)
    got = rows(con)
    assert set(got) == {"incidentio:INC-88", "incidentio:INC-90"}
    assert got["incidentio:INC-88"][:7] == (
        "resolved", t("2024-03-05T11:00"), t("2024-03-05T11:10"), t("2024-03-05T12:00"), "Major", "auth", "Ada Lovelace"
    )
    from_csv = got["incidentio:INC-88"]
    incidents.load_file(con, FIXTURES / "incidentio.json")
    from_json = rows(con)["incidentio:INC-88"]
    assert from_json[:7] == from_csv[:7]
    assert from_json[7] == ["Ada Lovelace", "Bob Stone"]
    assert from_json[8:] == ("https://docs.example.com/pm/inc-88", "https://app.incident.io/acme/incidents/88")


def test_loading_twice_stores_once_and_a_newer_export_resolves(con, tmp_path):
    incidents.load_file(con, FIXTURES / "generic.csv")
    before = con.sql("SELECT * FROM incidents ORDER BY incident_id").fetchall()
    again = incidents.load_file(con, FIXTURES / "generic.csv")
    assert again.new == 0
    assert con.sql("SELECT * FROM incidents ORDER BY incident_id").fetchall() == before
    newer = tmp_path / "newer.csv"
    newer.write_text(
        "id,title,severity,service,opened,acknowledged,resolved,commander,responders,postmortem_link\n"
        "INC-2,\"Search slow, timeouts\",SEV3,search,2024-03-06T13:00:00Z,,2024-03-06T15:30:00Z,@bob-stone,,\n"
    )
    incidents.load_file(con, newer)
    assert con.sql("SELECT count(*) FROM incidents").fetchall() == [(2,)]
    assert con.sql("SELECT status, resolved_at FROM incidents WHERE external_id = 'INC-2'").fetchall() == [
        ("resolved", t("2024-03-06T15:30"))
    ]


def test_a_malformed_csv_is_rejected_whole_with_lines_and_columns(con):
    with pytest.raises(incidents.IncidentFileError) as info:
        incidents.load_file(con, FIXTURES / "generic_bad.csv")
    assert info.value.problems == [
        "line 3, column 5 (opened): 'yesterday' is not a date and time (ISO 8601 expected)",
        "line 4, column 7 (resolved): resolved 2024-03-04 09:00 UTC is before it opened (2024-03-04 10:00 UTC)",
        "line 5, column 1 (id): no incident id",
        "line 6, column 1 (id): incident INC-1 is already on line 2",
    ]
    assert con.sql("SELECT count(*) FROM incidents").fetchall() == [(0,)]  # not even line 2
    assert con.sql("SELECT status FROM collection_runs WHERE source = 'incidents'").fetchall() == [("failed",)]


def test_a_malformed_json_is_rejected_with_positions(con, tmp_path):
    with pytest.raises(incidents.IncidentFileError) as info:
        incidents.load_file(con, FIXTURES / "bad.json")
    assert info.value.problems[0].startswith("line 14, column 7 (created_at): '5 March' is not a date")
    broken = tmp_path / "broken.json"
    broken.write_text('{"incidents": [\n  {"id": "1",\n   "opened": "2024-01-01T00:00:00Z"\n  ,}\n]}\n')
    with pytest.raises(incidents.IncidentFileError, match=r"line 4, column 4: invalid JSON"):
        incidents.load_file(con, broken)
    assert con.sql("SELECT count(*) FROM incidents").fetchall() == [(0,)]


def test_unknown_columns_ask_for_a_format(con, tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("when,what\n2024-01-01,boom\n")
    with pytest.raises(incidents.IncidentFileError, match="pass --format"):
        incidents.load_file(con, odd)
    with pytest.raises(incidents.IncidentFileError, match="does not exist"):
        incidents.load_file(con, tmp_path / "missing.csv")


def test_a_file_with_a_renamed_extension_is_read_by_content(con, tmp_path):
    copy = tmp_path / "export.txt"
    shutil.copy(FIXTURES / "opsgenie.json", copy)
    assert incidents.load_file(con, copy).format == "opsgenie"


def test_semicolon_separated_csv_from_a_spreadsheet(con, tmp_path):
    export = tmp_path / "sheet.csv"
    export.write_text(
        "id;title;severity;service;opened;acknowledged;resolved;commander;responders;postmortem_link\n"
        "INC-7;Queue stuck, retries exhausted;SEV2;orders;2024-03-04T10:00:00Z;;2024-03-04T12:00:00Z;@ada;@ada,@bob;\n"
    )
    incidents.load_file(con, export)
    assert rows(con)["generic:INC-7"][:4] == ("resolved", t("2024-03-04T10:00"), None, t("2024-03-04T12:00"))
    assert rows(con)["generic:INC-7"][7] == ["@ada", "@bob"]
