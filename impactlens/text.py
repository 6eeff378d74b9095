"""Words for numbers, shared by the dashboard and the evidence packet."""

from __future__ import annotations


def plural(noun: str, count: int) -> str:
    """``noun`` (given in the plural, such as "merged PRs" or "people") in the singular when ``count`` is 1."""
    if count != 1:
        return noun
    if noun.endswith("people"):
        return noun[:-6] + "person"
    return noun[:-1] if noun.endswith("s") else noun


def counted(count: int, noun: str) -> str:
    """``"1 PR"``, ``"3 PRs"``, ``"1,200 reviews"``: ``noun`` is given in the plural."""
    return f"{count:,} {plural(noun, count)}"
