"""The CODEOWNERS model: who a CODEOWNERS file names as owner of a path, as GitHub resolves it, over time.

(Not the code-ownership metrics, which count authored lines: :mod:`impactlens.metrics.ownership`.)

Syntax (GitHub's "About code owners"): one rule per line, a gitignore-style pattern then owners
separated by spaces; ``#`` starts a comment; owners are ``@login``, ``@org/team`` or an email; a
pattern with no owners leaves the matching paths unowned. The **last** matching rule wins.
Patterns are matched with ``pathspec``'s gitignore implementation, with GitHub's differences: a
trailing ``/*`` matches only the files directly in that folder (``docs/*`` owns ``docs/a.md``, not
``docs/x/b.md``); ``!`` negation and ``[ ]`` ranges are not supported by GitHub, so such lines are
reported as errors and skipped, as GitHub does. Paths are case-sensitive.

GitHub reads the first of ``.github/CODEOWNERS``, ``CODEOWNERS``, ``docs/CODEOWNERS`` that exists
(:data:`LOCATIONS`). Over time, each version of the file applies from the commit that wrote it until
the next; the history comes from the ``codeowners`` table (filled by the GitHub collector or by
:func:`impactlens.collectors.codeowners.collect_codeowners` from git).
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field

import duckdb
import polars as pl
from pathspec.patterns.gitignore.basic import GitIgnoreBasicPattern

from impactlens.identity import identity_id

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")

_OWNER = re.compile(r"^(@[A-Za-z0-9](?:[A-Za-z0-9-]*)(?:\[bot\])?(?:/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+)$")


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line: its 1-based line number, pattern and owners (may be empty)."""

    line: int
    pattern: str
    owners: tuple[str, ...]
    regex: re.Pattern[str] = field(compare=False, repr=False)
    files_only: bool = field(default=False, compare=False, repr=False)

    def matches(self, path: str) -> bool:
        """Whether this rule's pattern covers ``path`` (repository-relative, POSIX)."""
        match = self.regex.match(path)
        if not match:
            return False
        if self.files_only:  # docs/*: the file itself, not things deeper in a matched folder
            return match.end() == len(path) or path[match.end():] == "/"
        return True


@dataclass(frozen=True)
class CodeOwners:
    """A parsed CODEOWNERS file: its rules in file order and the lines GitHub would skip."""

    rules: tuple[Rule, ...]
    errors: tuple[str, ...] = ()

    def rule_for(self, path: str) -> Rule | None:
        """The rule that decides ``path``: the last one that matches (GitHub's rule), or None."""
        path = path.lstrip("/")
        for rule in reversed(self.rules):
            if rule.matches(path):
                return rule
        return None

    def owners(self, path: str) -> tuple[str, ...]:
        """Owners of ``path`` (``'@login'``, ``'@org/team'``, emails); empty when unowned."""
        rule = self.rule_for(path)
        return rule.owners if rule else ()


def parse(text: str) -> CodeOwners:
    """Parse CODEOWNERS ``text``.

    Returns:
        :class:`CodeOwners`; malformed lines (negation, ranges, invalid owners) are left out and
        described in ``errors`` as ``'line N: ...'``, as GitHub skips them.
    """
    rules: list[Rule] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # An unescaped " #" starts a comment; "\#" is a literal '#'.
        line = re.split(r"(?<!\\)\s+#", line, maxsplit=1)[0]
        parts = re.split(r"(?<!\\)\s+", line)
        raw_pattern, owners = parts[0], parts[1:]
        pattern = raw_pattern.replace("\\ ", " ").replace("\\#", "#")
        if pattern.startswith("!"):
            errors.append(f"line {number}: negation ({pattern}) is not supported by GitHub")
            continue
        if "[" in pattern and "]" in pattern:
            errors.append(f"line {number}: character ranges ({pattern}) are not supported by GitHub")
            continue
        bad = [o for o in owners if not _OWNER.match(o)]
        if bad:
            errors.append(f"line {number}: invalid owner(s) {', '.join(bad)}")
            continue
        regex, _ = GitIgnoreBasicPattern.pattern_to_regex(raw_pattern)
        if regex is None:
            continue
        files_only = pattern.rstrip("/").endswith("/*") and not pattern.rstrip("/").endswith("**/*")
        rules.append(Rule(number, pattern, tuple(owners), re.compile(regex), files_only))
    return CodeOwners(tuple(rules), tuple(errors))


@dataclass
class OwnershipHistory:
    """The CODEOWNERS versions of one repository, each valid from its time until the next."""

    repo_id: str
    times: list[dt.datetime]
    files: list[CodeOwners | None]

    def at(self, when: dt.datetime) -> CodeOwners | None:
        """The CODEOWNERS in force at ``when`` (timezone-aware), or None before the first."""
        i = bisect.bisect_right(self.times, when) - 1
        return self.files[i] if i >= 0 else None

    def owners(self, path: str, when: dt.datetime) -> tuple[str, ...]:
        """Owners of ``path`` at ``when``; empty when no CODEOWNERS applied or no rule matched."""
        file = self.at(when)
        return file.owners(path) if file else ()


def history(con: duckdb.DuckDBPyConnection, repo_id: str) -> OwnershipHistory:
    """Build the ownership history of ``repo_id`` from the ``codeowners`` table.

    At each time, the file GitHub would read is the first of :data:`LOCATIONS` present then (a row
    with empty ``content`` marks a deletion). Returns an empty history for a repo with no rows.
    """
    rows = con.execute(
        "SELECT path, valid_from, content FROM codeowners WHERE repo_id = ? ORDER BY valid_from", [repo_id]
    ).fetchall()
    current: dict[str, str] = {}
    times: list[dt.datetime] = []
    files: list[CodeOwners | None] = []
    for path, valid_from, content in rows:
        current[path] = content
        chosen = next((current[p] for p in LOCATIONS if current.get(p)), None)
        parsed = parse(chosen) if chosen else None
        if times and times[-1] == valid_from:
            files[-1] = parsed
        else:
            times.append(valid_from)
            files.append(parsed)
    return OwnershipHistory(repo_id, times, files)


def owners_at(con: duckdb.DuckDBPyConnection, repo_id: str, path: str, when: dt.datetime) -> tuple[str, ...]:
    """Owners of ``path`` in ``repo_id`` at ``when`` (UTC-aware datetime), as written in CODEOWNERS."""
    return history(con, repo_id).owners(path, when)


def owner_key(owner: str) -> tuple[str, str]:
    """Map a CODEOWNERS owner to what the warehouse counts.

    Returns:
        ``('team', 'org/team')`` for ``@org/team`` (team ids in ``teams`` may use the team's slug:
        compare with the part after the slash), ``('identity', 'github_login:login')`` for
        ``@login``, ``('identity', 'email:addr')`` for an email. Resolve an identity to its person
        with :func:`impactlens.people.actor_of` or the ``actors`` view.
    """
    if owner.startswith("@") and "/" in owner:
        return "team", owner[1:].lower()
    if owner.startswith("@"):
        return "identity", identity_id("github_login", owner[1:])
    return "identity", identity_id("email", owner)


def resolve_owner(con: duckdb.DuckDBPyConnection, owner: str) -> tuple[str, str]:
    """What a CODEOWNERS owner is in the warehouse: ``('team', team_id)`` or ``('actor', actor key)``.

    A team ``@org/slug`` is the ``teams`` row whose id is ``org/slug`` or ``slug`` (roster team ids
    are slugs), else ``org/slug`` itself. A login or email is its person id when resolved, else its
    identity id (the actor key metrics count, as in view ``actors``).
    """
    kind, key = owner_key(owner)
    if kind == "team":
        short = key.split("/", 1)[1]
        row = con.execute(
            "SELECT team_id FROM teams WHERE lower(team_id) IN (?, ?) ORDER BY lower(team_id) = ? DESC LIMIT 1",
            [key, short, key],
        ).fetchall()
        return "team", row[0][0] if row else key
    row = con.execute("SELECT person_id FROM identities WHERE identity_id = ?", [key]).fetchall()
    return "actor", row[0][0] if row and row[0][0] else key


def attach_owners(
    con: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    *,
    repo_col: str = "repo_id",
    path_col: str = "path",
    time_col: str,
) -> pl.DataFrame:
    """Add the CODEOWNERS owners of each row's path at the row's time (e.g. ``commit_files`` joined
    to ``commits.committed_at``), one row per owner.

    Args:
        frame: rows with ``repo_col`` (str), ``path_col`` (str, repository-relative) and ``time_col``
            (Datetime with time zone).

    Returns:
        ``frame``'s columns plus ``owner`` (str, as written: '@login', '@org/team', email),
        ``owner_kind`` ('team' or 'actor') and ``owner_key`` (team id, or the actor key metrics count:
        see :func:`resolve_owner`). Rows with no owner at that time keep null owner columns.
    """
    histories: dict[str, OwnershipHistory] = {}
    resolved: dict[str, tuple[str, str]] = {}
    owners_col: list[list[str]] = []
    for repo, path, when in frame.select(repo_col, path_col, time_col).iter_rows():
        if repo not in histories:
            histories[repo] = history(con, repo)
        owners = list(histories[repo].owners(path, when)) if when is not None else []
        owners_col.append(owners)
        for owner in owners:
            if owner not in resolved:
                resolved[owner] = resolve_owner(con, owner)
    out = frame.with_columns(pl.Series("owner", owners_col, dtype=pl.List(pl.Utf8))).explode("owner")
    lookup = pl.DataFrame(
        {"owner": list(resolved), "owner_kind": [v[0] for v in resolved.values()],
         "owner_key": [v[1] for v in resolved.values()]},
        schema={"owner": pl.Utf8, "owner_kind": pl.Utf8, "owner_key": pl.Utf8},
    )
    return out.join(lookup, on="owner", how="left", maintain_order="left")
