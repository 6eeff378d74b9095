"""Loading the warehouse into Polars frames, with every actor resolved to a person and bots marked.

This module is the only place metrics read the warehouse. It reads each table once, only the columns
the metrics use, through Arrow (``pl.from_arrow(con.sql(q).to_arrow_table())``), into a
:class:`polars.LazyFrame`, resolving every actor column to a *person key* inside the reading query, as
the shared data contract says (docs/schema.md, docs/metrics.md "Conventions"):

* ``commits.author_email`` -> identity ``email:<lower(trim(email))>`` (:mod:`impactlens.identity`);
  ``*_login`` columns -> identity ``github_login:<lower(trim(login))>``;
* person key = ``coalesce(identities.person_id, identity_id)``, so an unresolved identity still counts
  as its own actor and a person with three emails counts once;
* an actor is a bot when the warehouse's ``actors`` view says so (the person's flag when the identity
  belongs to a person, else the identity's), or the row's ``*_is_bot`` flag does, or, for an identity
  the people area has not recorded yet, the ``[bots]`` rules of :mod:`impactlens.bots` call it one.
  Reviews also carry ``reviewer_bot_kind``: ``'ai_reviewer'``, ``'bot'`` or null.

Tables are read lazily: the first use of ``frames.reviews`` runs the query, later uses reuse it. Keep
the connection open until the metrics you need are computed (or call :meth:`Frames.preload`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property
from typing import Any, Callable, Iterable, Literal

import duckdb
import polars as pl

from impactlens import bots
from impactlens import config as config_mod
from impactlens.identity import identity_expr, identity_sql
from impactlens.membership import member_on_expr
from impactlens.metrics import patterns
from impactlens.metrics.graph import Graph

Grain = Literal["week", "month", "quarter"]
GroupBy = Literal["person", "team", "repo", "org"]

#: Polars truncation interval of each reporting grain (weeks start on Monday, UTC).
GRAIN_INTERVAL = {"week": "1w", "month": "1mo", "quarter": "1q"}

#: Categories of files whose changed lines are not counted as authored work (PR size, ownership).
EXCLUDED_CATEGORIES = ("generated", "lockfile", "vendored")

#: The four categories of a senior engineer's written artifacts.
ARTIFACT_CATEGORIES = ("adr", "design_doc", "runbook", "postmortem")

UTC = "UTC"


def period_start(column: str | pl.Expr, grain: Grain) -> pl.Expr:
    """The first instant (UTC) of the ``grain`` period holding each timestamp of ``column``.

    Raises:
        ValueError: ``grain`` is not week, month or quarter.
    """
    if grain not in GRAIN_INTERVAL:
        raise ValueError(f"grain must be one of week, month, quarter (got {grain!r})")
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.dt.truncate(GRAIN_INTERVAL[grain])


def utc(value: date | datetime | str | None) -> datetime | None:
    """``value`` as an aware UTC datetime (a date or date string means its midnight UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


ACTORS_SQL = """
    SELECT identity_id, actor_id AS person_key, display_name, coalesce(is_bot, false) AS is_bot,
           CASE WHEN is_bot THEN bot_kind END AS bot_kind
    FROM actors
"""


def _split(columns: str) -> list[str]:
    """Split a select list on top-level commas (not inside parentheses or a quoted SQL string)."""
    parts, depth, quoted, current = [], 0, False, ""
    for ch in columns:
        if ch == "'":
            quoted = not quoted
        elif quoted:
            pass
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _materialised(build: Callable[["Frames"], pl.LazyFrame]) -> cached_property:
    """A cached property whose LazyFrame is computed once (read and resolved), then reused in memory."""

    def getter(self: "Frames") -> pl.LazyFrame:
        return build(self).collect().lazy()

    getter.__name__ = build.__name__
    getter.__doc__ = build.__doc__
    return cached_property(getter)


def _is_key(name: str) -> bool:
    """Whether a column is held as :class:`polars.Categorical` (codes) in coded frames: person keys and the
    ids of repositories and teams, which metrics join, group and sort by at millions of rows."""
    return name in ("repo_id", "team_id", "person_key") or name.endswith("_key") or name.endswith("_keys")


def coded(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its key columns (see :func:`_is_key`; str or list[str]) cast to Categorical."""
    casts = []
    for name, dtype in frame.schema.items():
        if not _is_key(name):
            continue
        if dtype == pl.String:
            casts.append(pl.col(name).cast(pl.Categorical))
        elif dtype == pl.List(pl.String):
            casts.append(pl.col(name).cast(pl.List(pl.Categorical)))
    return frame.with_columns(casts) if casts else frame


def plain(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its Categorical columns (and lists of them) cast back to strings, e.g. to store it."""
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Categorical:
            casts.append(pl.col(name).cast(pl.String))
        elif dtype == pl.List(pl.Categorical):
            casts.append(pl.col(name).cast(pl.List(pl.String)))
    return frame.with_columns(casts) if casts else frame


def _read(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None, *, keys_coded: bool = True
) -> pl.LazyFrame:
    relation = con.sql(query, params=params) if params else con.sql(query)
    frame = pl.from_arrow(relation.to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    # DuckDB hands TIMESTAMPTZ over in the session's TimeZone: the same instants, labelled UTC here.
    to_utc = [pl.col(name).dt.convert_time_zone(UTC) for name, dtype in frame.schema.items()
              if isinstance(dtype, pl.Datetime) and dtype.time_zone not in (None, UTC)]
    if to_utc:
        frame = frame.with_columns(to_utc)
    return (coded(frame) if keys_coded else frame).lazy()


@dataclass
class Frames:
    """The warehouse as Polars LazyFrames, actors resolved (see the module docstring).

    Build it with :func:`load`. Attributes (each a LazyFrame; timestamps ``Datetime(us, UTC)``; person
    keys and repository/team ids are Categorical when ``coded``, the default, else str; see :func:`load`):

    * ``actors``: identity_id, person_key, display_name, is_bot (bool), bot_kind (str).
    * ``people``: person_key, display_name, level, start_date (date), is_bot, bot_kind.
    Join keys are UInt64 hashes computed while reading: ``pr_id`` = hash(repo_id, number) on every PR
    row (and ``pr_id`` of a commit's ``pr_number``), ``commit_id`` = hash(repo_id, sha) on every commit row.

    * ``prs``: pr_id, repo_id, number (i32), title, url, state, is_draft, created_at, closed_at, merged_at,
      author_key, author_is_bot, additions, deletions, changed_files, labels (list[str]),
      linked_issues (list[i32]), first_commit_at, head_branch, merge_commit_sha (only the columns metrics
      read).
    * ``reviews``: pr_id, repo_id, review_id, review_key (u64, hash(repo_id, review_id)), pr_number,
      reviewer_key, reviewer_is_bot, reviewer_bot_kind ('bot', 'ai_reviewer' or null), state (lower case),
      submitted_at, comment_count. Pending reviews and reviews without a submission time are left out.
    * ``comments``: pr_id, repo_id, pr_number, review_key (u64 of the review it belongs to, else null),
      author_key, author_is_bot, created_at. Only comments on pull requests.
    * ``timeline``: pr_id, repo_id, pr_number, event_type (snake case, e.g. ready_for_review,
      review_requested, reopened, convert_to_draft), actor_key, actor_is_bot, subject_key,
      subject_is_bot, created_at.
    * ``commits``: commit_id, repo_id, sha, author_key, author_is_bot, committer_key, committer_is_bot, authored_at,
      committed_at, is_merge, pr_number, pr_id (null without a PR), and what the message says, matched
      while reading (:mod:`impactlens.metrics.patterns`): says_fix, is_revert, subject_says_hotfix (bool),
      reverted_sha (str), reverted_pr (i32: 'Reverts owner/repo#12' of this repository, or 'Reverts #12';
      :data:`~impactlens.metrics.patterns.REVERTED_PR`), issue_refs (list[i32], null when the message has no ``#``).
    * ``commit_files``: commit_id, repo_id, path, change_type, additions, deletions, category.
    * ``renames``: commit_id, repo_id, path, old_path, change_type, category: the commit_files rows with an old path
      (renames 'R' and copies 'C'; git's status letter, no similarity score).
    * ``coauthors``: commit_id, coauthor_key, coauthor_is_bot.
    * ``trailer_reviewers``: commit_id, repo_id, sha, trailer ('reviewed-by' | 'acked-by' | 'tested-by'),
      reviewer_key, reviewer_is_bot: one row per such trailer with an email in a commit message
      (:data:`~impactlens.metrics.patterns.REVIEW_TRAILER`; the Linux kernel's and Gerrit's review trailers).
    * ``issues``: repo_id, number, title, state, created_at, closed_at, labels, url.
    * ``incidents``: the incidents table, plus commander_key and responder_keys (list[str]).
    * ``deployments``: the deployments table, plus deployed_at (finished_at, else created_at) and
      is_production_success (status 'success' and is_production).
    * ``memberships``: person_key, team_id, valid_from (date), valid_to (date, exclusive, null = ongoing).
    """

    con: duckdb.DuckDBPyConnection
    config: config_mod.Config = field(default_factory=config_mod.defaults)
    repos: tuple[str, ...] | None = None
    coded: bool = True
    _derived: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)
    _seeded: set[str] = field(default_factory=set, repr=False)

    # ------------------------------------------------------------------ helpers
    @property
    def key_dtype(self) -> pl.DataType:
        """The dtype of person keys and repository/team ids: Categorical when ``coded``, else String."""
        return pl.Categorical() if self.coded else pl.String()

    def _read(self, query: str, params: list[Any] | None = None) -> pl.LazyFrame:
        return _read(self.con, query, params, keys_coded=self.coded)

    def _repo_filter(self, column: str = "repo_id") -> tuple[str, list[Any]]:
        if not self.repos:
            return "", []
        marks = ", ".join("?" for _ in self.repos)
        return f" WHERE {column} IN ({marks})", list(self.repos)

    def _table(self, select: str, table: str) -> pl.LazyFrame:
        where, params = self._repo_filter()
        return self._read(f"SELECT {select} FROM {table}{where}", params)

    def derived(self, name: str, build: Callable[[], pl.LazyFrame | pl.DataFrame]) -> pl.LazyFrame:
        """A frame computed once per :class:`Frames` (e.g. the per-PR facts several metrics share)."""
        if name not in self._derived:
            frame = build()
            self._derived[name] = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        return self._derived[name].lazy()

    def forget(self, *names: str) -> None:
        """Drop these tables (e.g. ``commits``) and derived frames (e.g. ``review_cycles``) from memory.

        A later use reads or computes them again (the connection must still be open then). The metrics
        job calls it once no later table needs a frame, which keeps its peak memory down.
        """
        for name in names:
            if name in self._seeded:  # rows given by :meth:`seed`: nothing to read them again from
                continue
            self._derived.pop(name, None)
            self.__dict__.pop(name, None)

    def seed(self, name: str, frame: pl.DataFrame) -> None:
        """Use ``frame`` as the table (e.g. ``commits``) or derived frame (e.g. ``pr_facts``) ``name``, instead
        of reading or computing it: rows computed elsewhere, e.g. by the first stage of ``--engine spark``
        (:mod:`impactlens.metrics.buckets`). Its columns and dtypes must be those the attribute or derived
        frame has (key columns coded as this Frames codes them). :meth:`forget` keeps a seeded frame."""
        if isinstance(getattr(type(self), name, None), cached_property):
            self.__dict__[name] = frame.lazy()
        else:
            self._derived[name] = frame
        self._seeded.add(name)

    def preload(self) -> "Frames":
        """Read every table now, so the connection may be closed afterwards. Returns self.

        The frames that walk the commit graph (read from the connection, :meth:`graph`) are computed now
        too: the PR's own commits, each commit's first deployment, the direct pushes."""
        for name in ("actors", "people", "prs", "reviews", "comments", "timeline", "commits",
                     "commit_files", "renames", "coauthors", "issues", "incidents", "deployments", "memberships",
                     "trailer_reviewers"):
            getattr(self, name)
        from impactlens.metrics.containment import commit_deployments, direct_pushes  # they read these frames
        from impactlens.metrics.pr import pr_commits

        pr_commits(self)
        commit_deployments(self)
        direct_pushes(self)
        return self

    @cached_property
    def _bot_rules(self) -> "bots.BotRules":
        return bots.rules(self.config)

    def _guessed_bots(self, table: str, column: str, kind: str) -> list[tuple[str, str]]:
        """(identity_id, bot_kind) for the values of ``table.column`` with no identity recorded yet that the
        ``[bots]`` rules (impactlens.bots) call a bot: the fallback until the people area has run."""
        # distinct raw values first: a few thousand, not one per row
        unknown = self.con.sql(
            f"SELECT DISTINCT lower(trim(v)), {identity_sql('v', kind=kind)} FROM "
            f"(SELECT DISTINCT {column} AS v FROM {table} WHERE {column} IS NOT NULL) "
            f"WHERE {identity_sql('v', kind=kind)} NOT IN (SELECT identity_id FROM identities)"
        ).fetchall()
        rules = self._bot_rules
        return [(ident, k) for (v, ident) in unknown if (k := rules.kind(kind, v))]

    def _resolved(
        self,
        table: str,
        columns: str,
        actors: list[tuple[str, str, str, str | None]],
        where: str | None = None,
        with_bot_kind: bool = False,
    ) -> pl.LazyFrame:
        """Read ``columns`` of ``table`` with each actor column resolved in the same query.

        ``actors`` lists (column, prefix, kind, row_flag): for each, the result has ``{prefix}_key``
        (coalesce(identities.person_id, identity_id); null when the column is null) and ``{prefix}_is_bot``
        (see the module docstring; bots and AI reviewers alike), and with ``with_bot_kind`` also
        ``{prefix}_bot_kind``. The raw column and flag are not returned.

        Identities the ``[bots]`` rules call bots (:meth:`_guessed_bots`) join the ``actors`` rows as bots
        that are their own person. Each actor column's distinct raw values are resolved first (a few
        thousand), and the rows join that map on the raw value: no per-row string building.
        """
        selects = [c.strip() if "(" in c or " " in c.strip() else f"t.{c.strip()}" for c in _split(columns)]
        guessed: dict[str, str] = {}
        for column, _, kind, _ in actors:
            guessed.update(self._guessed_bots(table, column, kind))
        actor_keys = ACTORS_SQL
        if guessed:
            rows = ", ".join(f"({_sql_text(i)}, {_sql_text(i)}, NULL::VARCHAR, true, {_sql_text(k)})"
                             for i, k in guessed.items())
            actor_keys += f" UNION ALL SELECT * FROM (VALUES {rows})"
        ctes = [f"_actor_keys AS ({actor_keys})"]
        joins, actor_selects, types = [], [], []
        for n, (column, prefix, kind, flag) in enumerate(actors):
            alias = f"_actor_map_{n}"
            identity = identity_sql("d.v", kind=kind)
            key = f"coalesce(a.person_key, {identity})"
            resolve = (f"SELECT d.v, {{key}} AS person_key, a.identity_id IS NOT NULL AS known, a.is_bot, a.bot_kind "
                       f"FROM (SELECT DISTINCT {column} AS v FROM {table}) d LEFT JOIN _actor_keys a ON a.identity_id = {identity}")
            if self.coded:  # the map's few thousand keys are cast, not the rows that join it
                types.append(self._enum_type(f"WITH {', '.join(ctes)} SELECT DISTINCT person_key FROM "
                                             f"({resolve.format(key=key)})"))
                key = f"CAST({key} AS {types[-1]})"
            ctes.append(f"{alias} AS ({resolve.format(key=key)})")
            row_flag = f"coalesce(t.{flag}, false)" if flag else "false"
            is_bot = (
                f"(CASE WHEN t.{column} IS NULL THEN false WHEN {alias}.known "
                f"THEN {alias}.is_bot OR {row_flag} ELSE {row_flag} END)"
            )
            joins.append(f"LEFT JOIN {alias} ON {alias}.v = t.{column}")
            actor_selects += [f"{alias}.person_key AS {prefix}_key", f"{is_bot} AS {prefix}_is_bot"]
            if with_bot_kind:
                actor_selects.append(f"CASE WHEN NOT {is_bot} THEN NULL ELSE coalesce({alias}.bot_kind, 'bot') "
                                     f"END AS {prefix}_bot_kind")
        if self.coded and "t.repo_id" in selects:
            types.append(self._enum_type(f"SELECT DISTINCT repo_id FROM {table}"))
            selects[selects.index("t.repo_id")] = f"CAST(t.repo_id AS {types[-1]}) AS repo_id"
        conditions = [where] if where else []
        params: list[Any] = []
        if self.repos:
            conditions.append(f"t.repo_id IN ({', '.join('?' for _ in self.repos)})")
            params = list(self.repos)
        query = (
            f"WITH {', '.join(ctes)} SELECT {', '.join(selects + actor_selects)} FROM {table} t {' '.join(joins)}"
            + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
        )
        try:
            return self._read(query, params)
        finally:
            for name in types:
                self.con.execute(f"DROP TYPE IF EXISTS {name}")

    def _enum_type(self, values_query: str) -> str:
        """A temporary DuckDB ENUM type of the (distinct) values ``values_query`` returns; the caller drops it.

        A column cast to it reaches Polars as an Arrow dictionary (Categorical) rather than one string per
        row. The type is made from the query itself (0.06 s for 100,000 values; written out as a literal,
        the same list took 2.6 s to parse)."""
        name = f"_impactlens_keys_{uuid.uuid4().hex[:12]}"
        self.con.execute(f"CREATE TEMP TYPE {name} AS ENUM (SELECT v FROM ({values_query}) q(v) WHERE v IS NOT NULL)")
        return name

    # ------------------------------------------------------------------ people
    @_materialised
    def actors(self) -> pl.LazyFrame:
        return self._read(ACTORS_SQL)

    @_materialised
    def people(self) -> pl.LazyFrame:
        return self._read(
            "SELECT person_id AS person_key, display_name, level, start_date, is_bot, bot_kind FROM people",
        )

    @_materialised
    def memberships(self) -> pl.LazyFrame:
        return self._read(
            "SELECT person_id AS person_key, team_id, valid_from, valid_to FROM team_memberships",
        )

    # ------------------------------------------------------------------ GitHub
    @_materialised
    def prs(self) -> pl.LazyFrame:
        return self._resolved(
            "pull_requests",
            "hash(t.repo_id, t.number) AS pr_id, repo_id, number, title, url, lower(t.state) AS state, is_draft, "
            "created_at, closed_at, merged_at, additions, deletions, changed_files, labels, linked_issues, "
            "first_commit_at, head_branch, merge_commit_sha",
            [("author_login", "author", "github_login", "author_is_bot")],
        )

    @_materialised
    def reviews(self) -> pl.LazyFrame:
        return self._resolved(
            "reviews",
            "hash(t.repo_id, t.pr_number) AS pr_id, repo_id, review_id, hash(t.repo_id, t.review_id) AS review_key, "
            "pr_number, lower(t.state) AS state, submitted_at, comment_count",
            [("reviewer_login", "reviewer", "github_login", "reviewer_is_bot")],
            where="t.submitted_at IS NOT NULL AND lower(t.state) <> 'pending'",
            with_bot_kind=True,
        )

    @_materialised
    def comments(self) -> pl.LazyFrame:
        return self._resolved(
            "comments",
            "hash(t.repo_id, t.parent_number) AS pr_id, repo_id, t.parent_number AS pr_number, "
            "CASE WHEN t.review_id IS NOT NULL THEN hash(t.repo_id, t.review_id) END AS review_key, created_at",
            [("author_login", "author", "github_login", "author_is_bot")],
            where="regexp_matches(lower(t.parent_type), 'pull|^pr$')",
        )

    @_materialised
    def timeline(self) -> pl.LazyFrame:
        raw = self._resolved(
            "pr_timeline_events",
            "hash(t.repo_id, t.pr_number) AS pr_id, repo_id, pr_number, event_type, created_at",
            [("actor_login", "actor", "github_login", None), ("subject_login", "subject", "github_login", None)],
        )
        return raw.with_columns(
            pl.col("event_type")
            .str.replace_all(r"([a-z])([A-Z])", "${1}_${2}")
            .str.to_lowercase()
            .str.replace(r"_event$", "")
        )

    @_materialised
    def issues(self) -> pl.LazyFrame:
        return self._table(
            "repo_id, number, title, lower(state) AS state, created_at, closed_at, labels, url", "issues"
        )

    # ------------------------------------------------------------------ git
    @_materialised
    def commits(self) -> pl.LazyFrame:
        # What the message says is matched here, in the reading query, so 10M messages never reach
        # Polars. Each regular expression runs only on messages holding a word it needs (a cheap
        # substring test on the lower-cased text): the prefilters are implied by the patterns, so the
        # flags are the same as matching every message, at a fraction of the cost. CASE, not AND:
        # DuckDB evaluates both sides of an AND on every row, a CASE branch only on the rows it selects.
        # The prefilters look at the subject and the body apart (none of their words spans the newline):
        # joining the two for every row cost more than the lower-casing (10M commits: 2.6 s -> 1.9 s).
        text = "(t.subject || chr(10) || t.body)"

        def holds(word: str, lower: bool = True) -> str:
            case = (lambda c: f"lower({c})") if lower else (lambda c: c)
            return f"(contains({case('t.subject')}, '{word}') OR contains({case('t.body')}, '{word}'))"

        revert = holds("revert")
        return self._resolved(
            "commits",
            "hash(t.repo_id, t.sha) AS commit_id, repo_id, sha, authored_at, committed_at, is_merge, pr_number, "
            "CASE WHEN t.pr_number IS NOT NULL THEN hash(t.repo_id, t.pr_number) END AS pr_id, "
            f"CASE WHEN {holds('fix')} "
            f"THEN regexp_matches({text}, {_sql_text(patterns.FIX_MESSAGE)}) ELSE false END AS says_fix, "
            f"CASE WHEN {revert} THEN regexp_matches({text}, {_sql_text(patterns.REVERT_MESSAGE)}) ELSE false END "
            "AS is_revert, "
            f"CASE WHEN {revert} THEN nullif(lower(regexp_extract({text}, {_sql_text(patterns.REVERTED_SHA)}, 1)), '') "
            "END AS reverted_sha, "
            # 'Reverts owner/repo#12' names this repository's PR 12 only when owner/repo is this repository.
            f"CASE WHEN {revert} THEN CASE WHEN lower(regexp_extract({text}, {_sql_text(patterns.REVERTED_PR)}, 1)) "
            f"IN ('', lower(t.repo_id)) THEN TRY_CAST(nullif(regexp_extract({text}, {_sql_text(patterns.REVERTED_PR)}, 2), "
            "'') AS INTEGER) END END AS reverted_pr, "
            f"CASE WHEN {holds('#', lower=False)} THEN list_transform(regexp_extract_all({text}, "
            f"{_sql_text(patterns.ISSUE_REF)}, 1), lambda x: TRY_CAST(x AS INTEGER)) END AS issue_refs, "
            f"CASE WHEN contains(lower(t.subject), 'fix') THEN regexp_matches(t.subject, {_sql_text(patterns.HOTFIX)}) "
            "ELSE false END AS subject_says_hotfix",
            [("author_email", "author", "email", None), ("committer_email", "committer", "email", None)],
        )

    def graph(self, repo_id: str) -> Graph:
        """The commit graph of one repository (:class:`~impactlens.metrics.graph.Graph`), read from
        ``commits.parent_shas`` on first use and kept (``forget("graphs")`` drops them)."""
        graphs = self.__dict__.setdefault("graphs", {})
        if repo_id not in graphs:
            rows = self.con.execute(
                "SELECT sha, parent_shas, committed_at FROM commits WHERE repo_id = ?", [repo_id]).fetchall()
            graphs[repo_id] = Graph.of(rows)
        return graphs[repo_id]

    @cached_property
    def repos_with_parents(self) -> frozenset[str]:
        """The repositories whose stored commits have parents recorded (a commit graph to walk)."""
        where, params = self._repo_filter()
        cond = f"{where} AND" if where else " WHERE"
        rows = self.con.execute(
            f"SELECT DISTINCT repo_id FROM commits{cond} len(parent_shas) > 0", params).fetchall()
        return frozenset(r for (r,) in rows)

    @_materialised
    def commit_files(self) -> pl.LazyFrame:
        return self._table(
            "hash(repo_id, sha) AS commit_id, repo_id, path, change_type, additions, deletions, category",
            "commit_files",
        )

    @_materialised
    def renames(self) -> pl.LazyFrame:
        # Only the few rows with an old path: old_path on every commit_files row would cost 16 bytes a row.
        where, params = self._repo_filter()
        return self._read(
            "SELECT hash(repo_id, sha) AS commit_id, repo_id, path, old_path, change_type, category FROM commit_files"
            + (f"{where} AND" if where else " WHERE") + " old_path IS NOT NULL",
            params,
        )

    @_materialised
    def coauthors(self) -> pl.LazyFrame:
        return self._resolved(
            "commit_coauthors", "hash(t.repo_id, t.sha) AS commit_id", [("email", "coauthor", "email", None)]
        )

    @_materialised
    def trailer_reviewers(self) -> pl.LazyFrame:
        # Trailers are read from the stored message (commits.body), so a warehouse collected before this
        # frame existed has them too. Only messages holding "-by:" are split into lines.
        lines = ("(SELECT repo_id, sha, unnest(regexp_extract_all(body, "
                 f"{_sql_text(patterns.REVIEW_TRAILER)})) AS line FROM commits WHERE contains(lower(body), '-by:'))")
        return self._resolved(
            f"(SELECT repo_id, sha, lower(regexp_extract(line, '^\\s*([A-Za-z]+)-by', 1)) || '-by' AS trailer, "
            f"nullif(trim(regexp_extract(line, '<([^<>]+@[^<>]+)>', 1)), '') AS email FROM {lines})",
            "hash(t.repo_id, t.sha) AS commit_id, repo_id, sha, trailer",
            [("email", "reviewer", "email", None)], where="t.email IS NOT NULL",
        )

    # ------------------------------------------------------------------ operations
    def _person_of(self, frame: pl.LazyFrame, column: str, out: str) -> pl.LazyFrame:
        """Resolve free-text actor names (incident commanders and responders) to a person key.

        The value is trimmed; blank is no actor (null). As the people area reads them (impactlens/people.py):
        ``@login`` is the identity ``github_login:login``, a value holding ``@`` is ``email:value``, any other
        is ``name:value`` (lower case). The key is the value itself when it is a person id; else the person
        of that identity; for a bare value, else the person of the login ``github_login:value``; else the
        identity (``name:dave jones`` for an unknown name, the key the people area gives it).
        """
        value = pl.col(column).str.strip_chars()
        lower = value.str.to_lowercase()
        at_login = lower.str.starts_with("@")
        login = lower.str.strip_chars_start("@")
        people = self.people.select(pl.col("person_key").cast(pl.String).alias("_pid"), pl.lit(True).alias("_is_person"))
        actors = self.actors.select(pl.col("identity_id"), pl.col("person_key").cast(pl.String))
        by_login = actors.rename({"identity_id": "_login_id", "person_key": "_by_login"})
        by_name = actors.rename({"identity_id": "_name_id", "person_key": "_by_name"})
        resolved = lambda found, identity: pl.when(pl.col(found) != pl.col(identity)).then(pl.col(found))  # noqa: E731
        return (
            frame.with_columns(
                _value=pl.when(value != "").then(value),
                # '@login' and a bare value are tried as a login; a value holding '@' is an email.
                _login_id=pl.when(at_login).then(pl.when(login != "").then(identity_expr("github_login", login)))
                .when(lower.str.contains("@")).then(identity_expr("email", lower))
                .when(lower != "").then(identity_expr("github_login", lower)),
                _name_id=pl.when(~lower.str.contains("@") & (lower != "")).then(identity_expr("name", lower)),
            )
            .join(people, left_on="_value", right_on="_pid", how="left")
            .join(by_login, on="_login_id", how="left")
            .join(by_name, on="_name_id", how="left")
            .with_columns(
                pl.when(pl.col("_is_person").fill_null(False)).then(pl.col("_value"))
                .otherwise(pl.coalesce(
                    resolved("_by_login", "_login_id"), resolved("_by_name", "_name_id"),
                    pl.when(lower.str.contains("@")).then(pl.col("_login_id")).otherwise(pl.col("_name_id")),
                )).cast(self.key_dtype).alias(out)
            )
            .drop("_value", "_login_id", "_name_id", "_is_person", "_by_login", "_by_name")
        )

    @_materialised
    def incidents(self) -> pl.LazyFrame:
        where, params = self._repo_filter()
        raw = self._read(f"SELECT * FROM incidents{where}", params)
        # commander / responders hold a person_id, an email, a login or a name: resolve each to a person key.
        out = self._person_of(raw, "commander", "commander_key")
        responders = (
            raw.select("incident_id", pl.col("responders").alias("_responder")).explode("_responder")
            .filter(pl.col("_responder").is_not_null() & (pl.col("_responder").str.strip_chars() != ""))
        )
        responders = (
            self._person_of(responders, "_responder", "responder_key")
            .group_by("incident_id").agg(pl.col("responder_key").unique().sort().alias("responder_keys"))
        )
        return out.join(responders, on="incident_id", how="left").with_columns(
            pl.col("responder_keys").fill_null(pl.lit([], pl.List(self.key_dtype)))
        )

    @_materialised
    def deployments(self) -> pl.LazyFrame:
        where, params = self._repo_filter()
        raw = self._read(f"SELECT * FROM deployments{where}", params)
        return raw.with_columns(
            pl.coalesce("finished_at", "created_at").alias("deployed_at"),
            ((pl.col("status").str.to_lowercase() == "success") & pl.col("is_production")).alias(
                "is_production_success"
            ),
        )


def load(
    con: duckdb.DuckDBPyConnection,
    *,
    repos: Iterable[str] | None = None,
    config: config_mod.Config | None = None,
    coded: bool = True,
) -> Frames:
    """The warehouse behind ``con`` as :class:`Frames` (read lazily, table by table).

    Args:
        con: an open warehouse connection (``warehouse.read_only(db)`` or a writing one).
        repos: only these repositories (``repo_id``), default all.
        config: the effective configuration (:class:`impactlens.config.Config`), default the defaults (no file is read).
        coded: hold person keys and repository/team ids (the columns named ``*_key``, ``*_keys``,
            ``repo_id``, ``team_id``) as :class:`polars.Categorical`, which joins, groups and sorts by
            them several times faster at millions of rows (docs/performance.md). Their values, order and
            comparisons with strings are those of the strings; join them only with frames of the same
            dtype (:attr:`Frames.key_dtype`), or load with ``coded=False`` to work with plain strings
            (the dashboard and the evidence do, as they join the metrics with their own string tables).
    """
    return Frames(
        con=con,
        config=config if config is not None else config_mod.defaults(),
        repos=tuple(repos) if repos else None,
        coded=coded,
    )


def from_arrow(
    tables: dict[str, Any],
    *,
    config: config_mod.Config | None = None,
    coded: bool = True,
) -> Frames:
    """:class:`Frames` over warehouse rows held as Arrow tables (e.g. one repository's partition in a Spark task).

    The rows go into a private in-memory DuckDB warehouse with this schema (every migration), so the frames are
    read, and every actor resolved, by the same queries as :func:`load` on a warehouse file.

    Args:
        tables: warehouse table name -> ``pyarrow.Table`` (its columns by name, a subset allowed: the others are
            null). ``actors`` (identity_id, actor_id, person_id, display_name, is_bot, bot_kind: the view, computed
            once elsewhere) replaces the ``actors`` view. Tables left out are empty.
        config, coded: as :func:`load`.

    Raises:
        duckdb.Error: a table name the schema does not have, or a column it does not have.
    """
    from impactlens import warehouse

    con = duckdb.connect(":memory:")
    warehouse.configure(con)
    warehouse.migrate(con)
    for name, table in tables.items():
        con.register("_partition_rows", table)
        try:
            if name == "actors":
                con.execute("DROP VIEW actors")
                con.execute("CREATE TABLE actors AS SELECT * FROM _partition_rows")
            else:
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _partition_rows")
        finally:
            con.unregister("_partition_rows")
    return load(con, config=config, coded=coded)


# ---------------------------------------------------------------------------- scoping


@dataclass(frozen=True)
class Scope:
    """Which work a figure covers: a person, a team, a repository and a UTC date range [start, end).

    Every field is optional; ``start``/``end`` accept dates, datetimes (naive means UTC) or ISO strings.
    """

    person: str | None = None
    team: str | None = None
    repo: str | None = None
    start: date | datetime | str | None = None
    end: date | datetime | str | None = None

    def window(self, frame: pl.LazyFrame, time: str) -> pl.LazyFrame:
        """Rows of ``frame`` whose ``time`` falls in [start, end)."""
        start, end = utc(self.start), utc(self.end)
        if start is not None:
            frame = frame.filter(pl.col(time) >= start)
        if end is not None:
            frame = frame.filter(pl.col(time) < end)
        return frame

    def apply(
        self, frames: Frames, frame: pl.LazyFrame, *, person: str | None, time: str, repo: str | None = "repo_id"
    ) -> pl.LazyFrame:
        """Restrict ``frame`` to this scope; ``person`` names its actor-key column (None: no person filter).

        With a team, rows are kept when the actor was in the team at ``time`` (and ``team_id`` is added).
        """
        frame = self.window(frame, time)
        if self.repo is not None and repo is not None:
            frame = frame.filter(pl.col(repo) == self.repo)
        if self.person is not None and person is not None:
            frame = frame.filter(pl.col(person) == self.person)
        if self.team is not None and person is not None:
            frame = with_team(frames, frame, person, time).filter(pl.col("team_id") == self.team)
        return frame


#: Bits of each part of a packed key (:func:`packed_key`): the period's day gets 22, each code 21.
_DAY_BITS, _CODE_BITS = 22, 21
_US_PER_DAY = 86_400_000_000


def _packable(schema: pl.Schema, columns: list[str]) -> bool:
    cats = [c for c in columns if schema[c] == pl.Categorical]
    rest = [c for c in columns if c not in cats]
    return (
        0 < len(columns) == len(set(columns)) and len(cats) <= 2 and rest in ([], ["period_start"])
        and all(schema[c] == pl.Datetime("us", "UTC") for c in rest)
        and pl.Categorical().categories.to_series().len() < (1 << _CODE_BITS) - 1
    )


def packed_key(
    schema: pl.Schema, columns: list[str]
) -> tuple[pl.Expr, Callable[[pl.Expr], list[pl.Expr]]]:
    """One column standing for the key ``columns``, so a group-by or unique hashes one value, and a
    function that turns that column back into the key columns (expressions named as the columns).

    When ``columns`` are at most ``period_start`` (``Datetime(us, UTC)`` at midnight, as days since
    1970, 22 bits) and two Categorical columns (their codes, 21 bits each), the key is one UInt64:
    grouping on it is about twice as fast as on the columns at 10M rows (docs/performance.md). A
    ``period_start`` more than 5,700 years from 1970 becomes null. Otherwise (strings, more columns,
    over two million categories) the key is a struct of the columns. Null stays null in each column.
    """
    cats = [c for c in columns if schema[c] == pl.Categorical]
    rest = [c for c in columns if c not in cats]
    if not _packable(schema, columns):
        return pl.struct(columns), lambda key: [key.struct.field(c) for c in columns]
    bits = {c: _DAY_BITS if c in rest else _CODE_BITS for c in columns}
    shift, shifts = 0, {}
    for c in reversed(columns):
        shifts[c] = shift
        shift += bits[c]

    def code(c: str) -> pl.Expr:  # 0 = null
        if c in cats:
            value = pl.col(c).to_physical().cast(pl.Int64) + 1
        else:
            days = pl.col(c).dt.epoch("d") + (1 << (_DAY_BITS - 1))
            value = pl.when((days > 0) & (days < (1 << _DAY_BITS))).then(days)
        return value.fill_null(0).cast(pl.UInt64) * (1 << shifts[c])

    key = pl.sum_horizontal([code(c) for c in columns]).cast(pl.UInt64)

    def decode(packed: pl.Expr) -> list[pl.Expr]:
        out = []
        for c in columns:
            value = ((packed // (1 << shifts[c])) % (1 << bits[c])).cast(pl.Int64)
            value = pl.when(value > 0).then(value)
            if c in cats:
                out.append((value - 1).cast(pl.UInt32).cat.to(schema[c]).alias(c))
            else:
                out.append(((value - (1 << (_DAY_BITS - 1))) * _US_PER_DAY).cast(pl.Datetime("us"))
                           .dt.replace_time_zone("UTC").alias(c))
        return out

    return key, decode


def sort_by_repo(frame: pl.DataFrame, number: str, *then: str) -> pl.DataFrame:
    """``frame`` sorted by ``repo_id``, then ``number`` (an integer column), then the ``then`` columns.

    The repository's rank among the frame's repositories and the number are packed into one u64 key,
    the order is found on that key and ``then`` alone, and the frame is gathered once in that order: a
    sort on a string key costs several times more at millions of rows (docs/performance.md). The frame
    is made one chunk first: gathering from the many chunks joins leave cost three times as much (1M PR
    facts in 10 chunks: 2.1 s of CPU against 0.6 s with the copy).
    """
    repos = frame["repo_id"].drop_nulls().unique().sort()
    rank = frame["repo_id"].replace_strict(repos, pl.int_range(len(repos), eager=True, dtype=pl.UInt64),
                                           default=None, return_dtype=pl.UInt64)
    key = rank * (1 << 32) + (frame[number].cast(pl.Int64) + (1 << 31)).cast(pl.UInt64)
    keys = pl.DataFrame([key.alias("_key"), *[frame[c] for c in then]]).with_row_index("_row")
    return frame.rechunk()[keys.sort(["_key", *then])["_row"]]


def with_team(frames: Frames, frame: pl.LazyFrame, person: str, time: str) -> pl.LazyFrame:
    """``frame`` with ``team_id``: the team(s) the actor in ``person`` belonged to at ``time``.

    A row whose actor was in two teams at that time appears once per team (so each team counts it
    once); a row whose actor was in no team is dropped. ``team_memberships.valid_to`` is exclusive
    (:mod:`impactlens.membership`, the rule :func:`impactlens.people.attach_teams` applies in SQL).
    """
    members = frames.memberships.rename({"person_key": "_member"})
    day = pl.col(time).dt.date()
    return (
        frame.join(members, left_on=person, right_on="_member", how="inner")
        .filter(member_on_expr(day))
        .drop("valid_from", "valid_to")
    )


def not_self(actor: str, author: str) -> pl.Expr:
    """True unless ``actor`` is ``author`` (person keys, after identity merging): the self-review rule.

    A deleted account (null key) is nobody: never the author, and two deleted accounts are not known to be
    the same person (docs/metrics.md, "Conventions")."""
    return pl.col(actor).is_null() | pl.col(author).is_null() | (pl.col(actor) != pl.col(author))


def group_columns(
    frames: Frames, frame: pl.LazyFrame, *, by: GroupBy | None, person: str, time: str, grain: Grain | None
) -> tuple[pl.LazyFrame, list[str]]:
    """Add the grouping columns for ``by`` (person_key, team_id, repo_id or none) and ``grain`` (period_start).

    Returns the frame (with ``team_id`` joined when ``by='team'``) and the names to group by. With
    ``by='person'`` rows whose actor is null (a deleted account) are dropped: a deleted account is nobody,
    so it gets no row of its own (docs/metrics.md, "Conventions"); it still counts for the repo and the
    organisation.
    """
    keys: list[str] = []
    if grain is not None:
        frame = frame.with_columns(period_start(time, grain).alias("period_start"))
        keys.append("period_start")
    if by == "person":
        frame = frame.filter(pl.col(person).is_not_null()).with_columns(pl.col(person).alias("person_key"))
        keys.append("person_key")
    elif by == "team":
        if "team_id" not in frame.collect_schema().names():
            frame = with_team(frames, frame, person, time)
        keys.append("team_id")
    elif by == "repo":
        keys.append("repo_id")
    elif by not in (None, "org"):
        raise ValueError(f"by must be person, team, repo or org (got {by!r})")
    return frame, keys


def grouped(frame: pl.LazyFrame, keys: list[str], exprs: list[pl.Expr]) -> pl.LazyFrame:
    """``frame`` grouped by ``keys`` (through :func:`packed_key`) and aggregated with ``exprs``, in no
    particular order: the key columns, then the aggregates."""
    key, decode = packed_key(frame.collect_schema(), keys)
    return frame.group_by(key.alias("_key")).agg(exprs).select(*decode(pl.col("_key")), pl.exclude("_key"))


def distinct_count(frame: pl.LazyFrame, keys: list[str], item: str, name: str) -> pl.LazyFrame:
    """The number of distinct values of ``item`` (nulls not counted) in each group of ``keys``.

    Columns: ``keys``, ``name`` (u32); in no particular order. With packable keys (:func:`packed_key`)
    and a Categorical ``item``, each row becomes one u64 (keys, then the item's code in the low bits);
    sorting those numbers puts each group's items side by side, so the distinct pairs and their count
    per group are found in two linear passes: several times faster than hashing 10M pairs.
    """
    frame = frame.filter(pl.col(item).is_not_null())
    schema = frame.collect_schema()
    if not keys:
        return frame.select(pl.col(item).n_unique().cast(pl.UInt32).alias(name))
    if schema[item] != pl.Categorical or item in keys or not _packable(schema, [*keys, item]):
        return frame.group_by(keys).agg(pl.col(item).n_unique().cast(pl.UInt32).alias(name))
    pair, _ = packed_key(schema, [*keys, item])
    _, decode = packed_key(schema, keys)
    pairs = frame.select(pair.alias("_pair")).collect()["_pair"].sort()
    distinct = pairs.filter((pairs != pairs.shift(1)).fill_null(True))
    runs = (distinct // (1 << _CODE_BITS)).rle().struct.unnest()  # len, value: the keys' packed form
    return runs.lazy().select(*decode(pl.col("value")), pl.col("len").cast(pl.UInt32).alias(name))


def aggregate(frame: pl.LazyFrame, keys: list[str], exprs: list[pl.Expr]) -> pl.LazyFrame:
    """``frame`` grouped by ``keys`` (or whole when there are none) and aggregated with ``exprs``, sorted."""
    if not keys:
        return frame.select(exprs)
    return grouped(frame, keys, exprs).sort(keys)
