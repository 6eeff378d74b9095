"""Words for numbers, and safe links and Markdown, shared by the dashboard, the reports and the digest."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def plural(noun: str, count: int) -> str:
    """``noun`` (given in the plural, such as "merged PRs" or "people") in the singular when ``count`` is 1."""
    if count != 1:
        return noun
    if noun.endswith("people"):
        return noun[:-6] + "person"
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    return noun[:-1] if noun.endswith("s") else noun


def counted(count: int, noun: str) -> str:
    """``"1 PR"``, ``"3 PRs"``, ``"1,200 reviews"``: ``noun`` is given in the plural."""
    return f"{count:,} {plural(noun, count)}"


# -- links and Markdown from data -------------------------------------------------------------------
# Every link an output renders (HTML, Markdown, Slack, Teams, dashboard tables, MCP answers) goes
# through safe_url, and every text from the data that goes into Markdown through md_text: an incident
# export or a PR can carry ``javascript:`` URLs, ``<img onerror=...>`` or ``<!--``.

_LINK_SCHEMES = ("http", "https")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_url(url: object, *, mailto: bool = False) -> str | None:
    """``url`` if it is an absolute ``http``/``https`` address (``mailto:`` too when ``mailto``), else None.

    Spaces and the characters that would end a Markdown link or an HTML attribute (``( ) < > " '``)
    are percent-encoded, so the result can be placed in ``[text](url)``, ``<url|text>`` or ``href='...'``
    as is (HTML output still escapes it). A URL with control characters (``java\\tscript:``) is refused.
    """
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or _CONTROL.search(text):
        return None
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in _LINK_SCHEMES:
        if not parts.hostname:
            return None
    elif not (mailto and scheme == "mailto" and "@" in parts.path):
        return None
    for char, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E"), ('"', "%22"),
                       ("'", "%27"), ("|", "%7C")):
        text = text.replace(char, code)
    return text


# Characters with a meaning anywhere in CommonMark/GFM inline text, escaped with a backslash; ``( ) !``
# only mean something after ``]`` or before ``[``, which are escaped. Block markers matter only first.
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
_MD_BLOCK_START = re.compile(r"^(\d*)(>|(?<!\d)[#+=-](?=\s|$)|(?<!\d)[=-](?=[\s=-]*$)|(?<=\d)[.)](?=\s|$))")
_ENTITY = re.compile(r"&(#?[A-Za-z0-9]+;)")


def md_text(text: object) -> str:
    """Text from the data (a title, a name, an incident summary, a note) safe to place in Markdown.

    Newlines become spaces (one field stays on its line, so it cannot start a table row or a block
    of its own); ``<`` and ``>`` become ``&lt;``/``&gt;`` (and ``&`` before an entity ``&amp;``), so
    raw HTML (``<img onerror=...>``, ``<!--``) is shown as text, never run or hidden; Markdown
    punctuation (``\\ ` * _ [ ] | ~``, a leading ``>``, and a leading ``#``, ``-``, ``+``, ``=`` or ``1.`` that a
    space follows) is backslash-escaped,
    so a title cannot make a link, an image, emphasis or a heading. Renders as the original text.
    """
    value = " ".join(str(text if text is not None else "").split())
    value = _ENTITY.sub(r"&amp;\1", value).replace("<", "&lt;").replace(">", "&gt;")
    value = _MD_INLINE.sub(r"\\\1", value)
    return _MD_BLOCK_START.sub(r"\1\\\2", value)


def md_link(label: object, url: object) -> str:
    """``[label](url)`` with the label escaped (:func:`md_text`), or the escaped label alone when
    ``url`` is not a safe link (:func:`safe_url`)."""
    link = safe_url(url)
    return f"[{md_text(label)}]({link})" if link else md_text(label)


def slack_text(text: object) -> str:
    """Text for Slack mrkdwn: ``& < >`` as entities (Slack's only escapes), newlines as spaces."""
    value = " ".join(str(text if text is not None else "").split())
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(label: object, url: object) -> str:
    """``<url|label>`` for Slack, or the label alone when ``url`` is not a safe link."""
    link = safe_url(url)
    return f"<{link}|{slack_text(label).replace('|', '¦')}>" if link else slack_text(label)
