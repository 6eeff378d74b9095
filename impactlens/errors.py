"""Errors a user can act on.

Every error raised for bad input derives from :class:`ImpactlensError`; the CLI prints its message
on one line and exits with code 2. Messages never contain secrets (tokens).
"""

from __future__ import annotations


class ImpactlensError(Exception):
    """A problem with the user's input or environment, reported as one line and exit code 2."""

    exit_code = 2

    def __init__(self, *args: object) -> None:
        from impactlens.redact import redact

        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class WarehouseError(ImpactlensError):
    """The warehouse file cannot be used as asked (busy, too new, damaged)."""


class SchemaTooNewError(WarehouseError):
    """The warehouse was written by a newer impactlens than this one."""


class SchemaOutdatedError(WarehouseError):
    """A read-only open found a warehouse that needs an upgrade first."""


class CollectionError(ImpactlensError):
    """A collector could not read its source (bad path, damaged repository, revoked token...)."""


class ConfigError(ImpactlensError):
    """The configuration file is malformed or names an unknown key."""


class FileProblemsError(ImpactlensError):
    """An input file (roster, incident export) was rejected whole; nothing from it was stored.

    ``problems`` lists every problem found, each naming its line (and column where it has one).
    """

    shown = 20

    def __init__(self, path: object, verdict: str, problems: list[str]) -> None:
        self.problems = list(problems)
        listed = "; ".join(self.problems[: self.shown])
        more = f"; and {len(self.problems) - self.shown} more" if len(self.problems) > self.shown else ""
        super().__init__(f"{path}: {verdict}: {len(self.problems)} problem(s): {listed}{more}")
