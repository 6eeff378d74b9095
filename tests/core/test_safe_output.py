"""Issue 23 item 4: only http(s) URLs become links, and text from the data is escaped in Markdown."""

from __future__ import annotations

from datetime import date

import pytest

from impactlens.evidence.model import Claim, Record, Section
from impactlens.evidence.packet import Packet
from impactlens.text import md_link, md_text, safe_url, slack_link

HOSTILE_TITLE = "<img src=x onerror=alert(1)> <!-- the rest is hidden"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)", " java\tscript:alert(1)",
                                 "data:text/html,<b>x</b>", "vbscript:x", "//evil.example/x", "https:///nohost",
                                 "file:///etc/passwd", "", None, 42])
def test_only_http_and_https_are_links(url):
    assert safe_url(url) is None


def test_http_urls_are_kept_with_link_breaking_characters_encoded():
    assert safe_url("https://github.com/acme/api/pull/7") == "https://github.com/acme/api/pull/7"
    assert safe_url("http://wiki.example/post mortem (db)") == "http://wiki.example/post%20mortem%20%28db%29"
    assert safe_url("mailto:ada@example.com") is None
    assert safe_url("mailto:ada@example.com", mailto=True) == "mailto:ada@example.com"


def test_markdown_text_escapes_html_and_markdown():
    assert md_text(HOSTILE_TITLE) == "&lt;img src=x onerror=alert(1)&gt; &lt;!-- the rest is hidden"
    assert md_text("[click](javascript:alert(1)) *bold* a_b") == "\\[click\\](javascript:alert(1)) \\*bold\\* a\\_b"
    assert md_text("# not a heading\n- not a list") == "\\# not a heading - not a list"
    assert md_text("1. first") == "1\\. first"
    assert md_text("R&D &lt;") == "R&D &amp;lt;"


def test_a_record_with_a_javascript_url_is_plain_text_everywhere():
    rec = Record("incident", "INC-1", "INC-1", None, "javascript:alert(document.cookie)", HOSTILE_TITLE)
    assert rec.url is None
    assert rec.markdown() == "INC-1 (&lt;img src=x onerror=alert(1)&gt; &lt;!-- the rest is hidden)"
    assert md_link("INC-1", "javascript:alert(1)") == "INC-1"
    assert slack_link("a <b> | c", "javascript:x") == "a &lt;b&gt; | c"
    assert slack_link("acme/api#1", "https://github.com/acme/api/pull/1") == "<https://github.com/acme/api/pull/1|acme/api#1>"
    good = Record("pr", "7", "acme/api#7", "acme/api", "https://github.com/acme/api/pull/7", "Fix [x]")
    assert good.markdown() == "[acme/api#7 (Fix \\[x\\])](https://github.com/acme/api/pull/7)"


def test_the_promotion_case_downloads_link_only_http():
    # The Promotion case page offers the packet's own Markdown and HTML.
    records = [Record("incident", "INC-1", "INC-1", None, "javascript:alert(1)", HOSTILE_TITLE),
               Record("pr", "7", "acme/api#7", "acme/api", "https://github.com/acme/api/pull/7", "Fix")]
    claim = Claim("incidents_led", "operational_excellence", "Ada <script> led INC-1.", [], records)
    section = Section("operational_excellence", "Operational excellence", [claim])
    packet = Packet("ada", "Ada <script>", date(2026, 1, 1), date(2026, 3, 31), "core team", "Summary.", [section],
                    "rubric", [], [], [])
    md = packet.to_markdown()
    assert "<img" not in md and "<!--" not in md and "<script>" not in md and "javascript:" not in md
    assert "INC-1 (&lt;img src=x onerror=alert(1)&gt; &lt;!-- the rest is hidden)" in md
    assert "[acme/api#7 (Fix)](https://github.com/acme/api/pull/7)" in md
    page = packet.to_html()
    assert "javascript:" not in page and "<img" not in page and "&lt;img" in page
    assert "<a href='https://github.com/acme/api/pull/7'" in page


def test_md_text_escapes_only_what_would_start_a_block():
    """A date, an issue number or a decimal at the start is plain text (no backslash in the raw Markdown);
    a list marker, heading, quote, thematic break or ordered-list number is escaped."""
    assert md_text("2025-01-01 to 2025-12-31") == "2025-01-01 to 2025-12-31"
    assert md_text("#5962 fixed") == "#5962 fixed"
    assert md_text("1.5 PRs per week") == "1.5 PRs per week"
    assert md_text("- item") == "\\- item"
    assert md_text("1. first") == "1\\. first"
    assert md_text("---") == "\\---"
    assert md_text("> quoted") == "&gt; quoted"


def test_one_of_a_unit_reads_in_the_singular():
    from impactlens.evidence.model import Figure
    from impactlens.text import counted

    assert Figure("repositories", 1, "repositories", "").text() == "1 repository"
    assert Figure("repositories", 2, "repositories", "").text() == "2 repositories"
    assert Figure("authors", 1, "people", "").text() == "1 person"
    assert Figure("prs", 1, "PRs", "").text() == "1 PR"
    assert counted(1, "entries") == "1 entry" and counted(3, "entries") == "3 entries"
