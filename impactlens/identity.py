"""The identity key, written once: ``kind:lower(trim(value))`` (``'email:ada@example.com'``).

Every table that names a person by a raw value (a commit's author email, a PR's author login, an incident
commander's name) is joined to ``identities`` on this key, and the metrics count an actor as
``coalesce(identities.person_id, identity_id)`` (docs/identities.md). The same rule has three forms, one
per place the key is built; tests/core/test_identity.py checks they agree:

* :func:`identity_id` in Python (``identity_id("email", " Ada@X.com ")`` is ``'email:ada@x.com'``);
* :func:`identity_sql` as a DuckDB SQL expression over a column (``'email:' || lower(trim(c.author_email))``);
* :func:`identity_expr` as a Polars expression over a string column.

:func:`split_key` reads a key back into its kind and value.

Trimming removes spaces around the value; an empty value gives ``'email:'`` (callers skip blank values: the
people area never records an identity for one). A null value gives null in SQL and Polars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Polars is imported by identity_expr only: the SQL and Python forms stay light
    import polars as pl

#: The identity kinds: a commit author's email, a GitHub login, a free-text name (incident responders).
KINDS = ("email", "github_login", "name")


def _check(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown identity kind {kind!r} (known: {', '.join(KINDS)})")
    return kind


def identity_id(kind: str, value: str) -> str:
    """The identity key of ``value`` (an email, a login or a name) of ``kind``: ``kind:lower(trim(value))``.

    Raises:
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    return f"{_check(kind)}:{value.strip(' ').lower()}"


def split_key(key: str) -> tuple[str, str] | None:
    """``(kind, value)`` of an identity key (``'email:ada@x.com'`` -> ``('email', 'ada@x.com')``), or None when
    ``key`` is not one (a person id such as ``'ada'`` or ``'auto:...'``). The inverse of :func:`identity_id` for
    a key it built."""
    kind, sep, value = key.partition(":")
    return (kind, value) if sep and kind in KINDS else None


def identity_sql(value: str, *, kind: str | None = None, kind_sql: str | None = None) -> str:
    """The identity key as a DuckDB SQL expression over the SQL expression ``value`` (a column such as
    ``c.author_email``), for the literal ``kind`` or, with ``kind_sql``, a SQL expression holding the kind.

    ``identity_sql("c.author_email", kind="email")`` is ``'email:' || lower(trim(c.author_email))``.

    Raises:
        ValueError: neither or both of ``kind`` and ``kind_sql``; an unknown ``kind``.
    """
    if (kind is None) == (kind_sql is None):
        raise ValueError("give kind (a literal kind) or kind_sql (an SQL expression), not both")
    prefix = f"'{_check(kind)}:'" if kind is not None else f"{kind_sql} || ':'"
    return f"{prefix} || lower(trim({value}))"


def identity_expr(kind: str, value: pl.Expr | str) -> pl.Expr:
    """The identity key as a Polars expression over ``value`` (an expression or a column name) of ``kind``.

    Raises:
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    import polars as pl

    column = pl.col(value) if isinstance(value, str) else value
    return pl.lit(f"{_check(kind)}:") + column.str.strip_chars(" ").str.to_lowercase()
