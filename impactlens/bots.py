"""Bots and AI reviewers: which identities are not people.

Patterns come from the ``[bots]`` section of ``impactlens.toml`` (defaults in
:data:`impactlens.config.DEFAULTS`): globs (``*`` any text, ``?`` one character, everything else
literal, so ``*[bot]`` is a ``[bot]`` suffix; case-insensitive) on GitHub
logins (``login_patterns``, ``ai_reviewer_patterns``) and on emails (``email_patterns``); each has an
``extra_*`` list that extends the defaults, and ``not_bots`` names logins or emails that match a
pattern but belong to people (a human called ``abbot``).

Two kinds (docs/identities.md, "Bots"):

* ``'ai_reviewer'``: AI review bots (Copilot's reviewer, CodeRabbit...). Tested first, because their
  logins usually end in ``[bot]`` too. Their reviews never count as the first human review; they are
  reported apart as AI review coverage.
* ``'bot'``: every other automation (dependabot, renovate, github-actions, CI emails).

Bots stay in the warehouse, flagged; every human figure leaves them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import duckdb
import pyarrow as pa

BOT = "bot"
AI_REVIEWER = "ai_reviewer"

# GitHub's no-reply address of a bot account: 49699333+dependabot[bot]@users.noreply.github.com
_NOREPLY = "@users.noreply.github.com"


@dataclass(frozen=True)
class BotRules:
    """Compiled bot patterns (lower-cased globs)."""

    login_patterns: tuple[str, ...]
    email_patterns: tuple[str, ...]
    ai_reviewer_patterns: tuple[str, ...]
    not_bots: frozenset[str]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "BotRules":
        """Rules from the ``[bots]`` section: defaults plus the ``extra_*`` lists."""
        bots = config["bots"]

        def lower(*lists: list[str]) -> tuple[str, ...]:
            return tuple(p.lower() for items in lists for p in items)

        return cls(
            login_patterns=lower(bots["login_patterns"], bots["extra_login_patterns"]),
            email_patterns=lower(bots["email_patterns"], bots["extra_email_patterns"]),
            ai_reviewer_patterns=lower(bots["ai_reviewer_patterns"], bots["extra_ai_reviewer_patterns"]),
            not_bots=frozenset(v.lower() for v in bots.get("not_bots", [])),
        )

    def login_kind(self, login: str | None) -> str | None:
        """``'ai_reviewer'``, ``'bot'`` or ``None`` (a person) for a GitHub login."""
        if not login:
            return None
        value = login.lower()
        if value in self.not_bots:
            return None
        if _matches(value, self.ai_reviewer_patterns):
            return AI_REVIEWER
        if _matches(value, self.login_patterns):
            return BOT
        return None

    def email_kind(self, email: str | None) -> str | None:
        """``'ai_reviewer'``, ``'bot'`` or ``None`` for an email.

        A GitHub no-reply address (``id+login@users.noreply.github.com``) is judged by its login too,
        so ``...+coderabbitai[bot]@users.noreply.github.com`` is an AI reviewer.
        """
        if not email:
            return None
        value = email.lower()
        if value in self.not_bots:
            return None
        if value.endswith(_NOREPLY):
            login = value[: -len(_NOREPLY)].split("+", 1)[-1]
            kind = self.login_kind(login)
            if kind:
                return kind
        if _matches(value, self.email_patterns):
            return BOT
        return None

    def kind(self, identity_kind: str, value: str | None) -> str | None:
        """Bot kind of an identity (``identity_kind`` is 'email', 'github_login' or 'name')."""
        if identity_kind == "email":
            return self.email_kind(value)
        if identity_kind == "github_login":
            return self.login_kind(value)
        return None


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(_glob(pattern).fullmatch(value) for pattern in patterns)


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` and ``?`` are wildcards; everything else is literal, so ``*[bot]`` means a ``[bot]`` suffix
    (``fnmatch`` would read ``[bot]`` as one of b, o, t and call ``bob`` a bot)."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), re.DOTALL)


def rules(config: dict[str, Any]) -> BotRules:
    """Shorthand for :meth:`BotRules.from_config`."""
    return BotRules.from_config(config)


# Activity tables whose rows carry an ``*_is_bot`` flag next to a login column.
FLAGGED_COLUMNS = (
    ("pull_requests", "author_login", "author_is_bot"),
    ("reviews", "reviewer_login", "reviewer_is_bot"),
    ("comments", "author_login", "author_is_bot"),
    ("issues", "author_login", "author_is_bot"),
)


def flag_identities(con: duckdb.DuckDBPyConnection, config: dict[str, Any]) -> int:
    """Set ``identities.is_bot`` / ``bot_kind`` from the patterns; returns how many identities are bots.

    Every identity is re-judged, so a pattern added to the config (or moved to ``not_bots``) takes
    effect on the next run. A login a collector flagged as a bot (GitHub's account type ``Bot``) is a
    ``'bot'`` even when no pattern names it. The caller owns the transaction.
    """
    bot_rules = rules(config)
    flagged = {
        row[0]
        for table, login, flag in FLAGGED_COLUMNS
        for row in con.execute(
            f"SELECT DISTINCT 'github_login:' || lower({login}) FROM {table} WHERE {flag} AND {login} IS NOT NULL"
        ).fetchall()
    }
    rows = con.execute("SELECT identity_id, kind, value FROM identities").fetchall()
    kinds = []
    for identity_id, kind, value in rows:
        found = bot_rules.kind(kind, value)
        if found is None and identity_id in flagged and value.lower() not in bot_rules.not_bots:
            found = BOT  # GitHub says the account is a Bot, though no pattern names it
        kinds.append((identity_id, found))
    table = pa.table({
        "identity_id": pa.array([k[0] for k in kinds], type=pa.string()),
        "bot_kind": pa.array([k[1] for k in kinds], type=pa.string()),
    })
    con.register("_bot_kinds", table)
    try:
        con.execute(
            "UPDATE identities SET is_bot = b.bot_kind IS NOT NULL, bot_kind = b.bot_kind "
            "FROM _bot_kinds b WHERE identities.identity_id = b.identity_id "
            "AND (identities.is_bot <> (b.bot_kind IS NOT NULL) OR identities.bot_kind IS DISTINCT FROM b.bot_kind)"
        )
    finally:
        con.unregister("_bot_kinds")
    return sum(1 for _, kind in kinds if kind)


def flag_activity(con: duckdb.DuckDBPyConnection) -> None:
    """Align the ``*_is_bot`` flags of pull_requests, reviews, comments and issues with ``actors``.

    A row is a bot's when its login's actor (person, else identity) is a bot, or when the collector
    already flagged it (GitHub's account type ``Bot``), so a flag is only ever added here.
    """
    for table, login, flag in FLAGGED_COLUMNS:
        con.execute(
            f"UPDATE {table} SET {flag} = true FROM actors a "
            f"WHERE a.identity_id = 'github_login:' || lower({table}.{login}) AND a.is_bot AND NOT {table}.{flag}"
        )
