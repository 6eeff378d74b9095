"""Git collector: commits and their files from a local clone into the warehouse.

git itself validates the repository (read only: nothing is written to the clone) and the history comes
from one streamed ``git log`` pass (``--raw --numstat -z``), because PyDriller's per-commit traversal
starts a git process per commit and is 17x slower on a real history (docs/performance.md); PyDriller
is used where it does what git log cannot (SZZ blame in metrics/defects.py).

How a run works:

1. ``git rev-list HEAD --not <heads collected before>`` lists the commits to read, newest first (git's
   own order: a pack stores older versions as deltas of newer ones, so reading oldest first costs git
   15-20% more CPU for the same diffs; an up-to-date run stops here, with nothing to do).
2. Commits already stored (left by an interrupted run) are dropped from that list.
3. ``git log --no-walk=unsorted --stdin`` streams the rest; each batch of ``batch_size`` commits is
   written in one transaction, so a killed run keeps whole batches and the next run resumes after them.
4. git's exit status is checked: a damaged repository (git dies part-way) fails the run, it never
   yields a silently shorter history, and the branch's cursor only moves when a run succeeds.

Merge commits are stored with ``is_merge`` true and no files: their first-parent diff is not anyone's
authored work (``--diff-merges=off``). ``.mailmap`` is honoured (``%aN``/``%aE``) while the raw name and
email are kept. Non-UTF-8 bytes in messages or paths are replaced (U+FFFD), never fatal.
"""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb

from impactlens import config as config_mod
from impactlens import warehouse
from impactlens.derive import die_here_in_tests
from impactlens.errors import CollectionError

SOURCE = "git"
BATCH_SIZE = 5000

# One record per commit: \x1e, then these fields separated by \x1f; the message body comes last
# so that a stray \x1f inside it cannot shift the fixed fields.
_FIELDS = (
    "%H", "%P", "%an", "%ae", "%aN", "%aE", "%cn", "%ce", "%cN", "%cE",
    "%at", "%ad", "%ct", "%cd", "%(trailers:key=Co-authored-by,valueonly,separator=%x1d)", "%s", "%b",
)
_FORMAT = "%x1e" + "%x1f".join(_FIELDS) + "%x1f"
_N_FIXED = len(_FIELDS) - 1

_MERGE_PR = re.compile(r"^Merge pull request #(\d+) from ")
_SQUASH_PR = re.compile(r"\(#(\d+)\)\s*$")
_COAUTHOR = re.compile(r"^\s*(.*?)\s*<([^<>]+)>\s*$")
_REMOTE = re.compile(r"[:/]([^/:]+)/([^/]+?)(?:\.git)?/?$")

COMMIT_COLUMNS = (
    "repo_id", "sha", "author_name", "author_email", "author_name_raw", "author_email_raw",
    "committer_name", "committer_email", "committer_name_raw", "committer_email_raw",
    "authored_at", "author_utc_offset_minutes", "committed_at", "committer_utc_offset_minutes",
    "subject", "body", "parent_shas", "is_merge", "insertions", "deletions", "files_changed", "pr_number",
)
FILE_COLUMNS = (
    "repo_id", "sha", "path", "old_path", "change_type", "additions", "deletions", "is_binary", "category",
)
COAUTHOR_COLUMNS = ("repo_id", "sha", "email", "name")

# DuckDB types of the columns that are not VARCHAR, for warehouse.upsert.
_COMMIT_TYPES = {
    "authored_at": "BIGINT",  # seconds since the epoch, made UTC timestamps by _EPOCHS
    "committed_at": "BIGINT",
    "author_utc_offset_minutes": "SMALLINT",
    "committer_utc_offset_minutes": "SMALLINT",
    "parent_shas": "VARCHAR[]",
    "is_merge": "BOOLEAN",
    "insertions": "INTEGER",
    "deletions": "INTEGER",
    "files_changed": "INTEGER",
    "pr_number": "INTEGER",
}
_EPOCHS = {"authored_at": "to_timestamp(authored_at)", "committed_at": "to_timestamp(committed_at)"}
_FILE_TYPES = {"additions": "INTEGER", "deletions": "INTEGER", "is_binary": "BOOLEAN"}


@dataclass
class GitCollection:
    """What one run of :func:`collect_git` saw and stored."""

    repo_id: str
    ref: str
    head: str
    in_range: int = 0
    already_stored: int = 0
    commits_stored: int = 0
    files_stored: int = 0
    merges: int = 0
    shallow: bool = False
    shallow_boundaries: int = 0
    total_in_warehouse: int = 0
    seconds: float = 0.0
    pending_derivation: bool = False
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def summary(self) -> str:
        """A few human lines: what was read, how fast, and how much history the clone holds."""
        rate = self.commits_stored / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"{self.repo_id} ({self.ref} at {self.head[:12]}): {self.commits_stored} new commits "
            f"({self.merges} merges), {self.files_stored} file changes in {self.seconds:.1f} s "
            f"({rate:,.0f} commits/s).",
        ]
        if self.already_stored:
            lines.append(f"Resumed: {self.already_stored} commits of this range were already stored.")
        if self.in_range == 0 and self.pending_derivation:
            lines.append("No new commits; the derivation an interrupted run left pending follows.")
        elif self.in_range == 0:
            lines.append("Already up to date.")
        lines.append(f"The warehouse holds {self.total_in_warehouse} commits of {self.repo_id}.")
        if self.shallow:
            lines.append(
                f"Shallow clone: history stops at {self.shallow_boundaries} boundary commit(s); "
                "their diffs count every file they hold. `git fetch --unshallow` for full history."
            )
        return "\n".join(lines)


def _git(repo: Path, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        input=input_text.encode() if input_text is not None else None,
        capture_output=True,
        check=False,
    )


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[-1] if text else "no message"


def open_repository(path: str | Path) -> Path:
    """Validate ``path`` as the top folder of a git repository (work tree, bare or shallow) with git itself.

    Only reads: nothing is written to the clone (PyDriller's ``Git`` writes ``blame.markUnblamableLines`` into
    ``.git/config``, which fails on a read-only clone and changes a user's repository). Returns the path to run
    git in. Raises :class:`CollectionError` for a missing path, a folder that is not a repository (or is a
    folder inside one), a repository git refuses to read (its message, such as "dubious ownership", is given),
    or a repository with no commits.
    """
    repo = Path(path).expanduser()
    if not repo.exists():
        raise CollectionError(f"{repo} does not exist: give the path of a local git clone.")
    if not repo.is_dir():
        raise CollectionError(f"{repo} is a file, not a git repository: give the path of a local clone.")
    # One git process answers all three questions (bare? top folder? a first commit?): with --quiet, a
    # repository with no commit exits 1 after printing the first two answers; git that cannot read the
    # folder prints nothing on stdout.
    found = _git(repo, "rev-parse", "--is-bare-repository", "--show-cdup", "--verify", "--quiet", "HEAD^{commit}")
    if found.returncode != 0 and not found.stdout.strip():
        lines = [x.strip() for x in found.stderr.decode("utf-8", "replace").splitlines() if x.strip()]
        message = next((x for x in lines if x.startswith("fatal:")), lines[0] if lines else "no message")
        if "not a git repository" in message:
            raise CollectionError(f"{repo} is not a git repository: give the path of a local clone.")
        if "dubious ownership" in message:
            raise CollectionError(f"git refuses to read {repo}: it belongs to another user (git's 'dubious "
                                  f"ownership'); `git config --global --add safe.directory {repo}` allows it.")
        raise CollectionError(f"git cannot read {repo}: {message.removeprefix('fatal: ')}")
    bare, _, rest = found.stdout.decode("utf-8", "replace").partition("\n")
    cdup = rest.partition("\n")[0] if bare.strip() != "true" else ""
    if cdup.strip():
        top = (repo / cdup.strip()).resolve()
        raise CollectionError(f"{repo} is a folder inside the git repository {top}: give the clone's top folder.")
    if found.returncode != 0:
        raise CollectionError(f"{repo} is an empty repository: it has no commits to collect.")
    return repo


def repository_id(repo: Path, web_url: str | None = None) -> tuple[str, str | None, str | None]:
    """``(repo_id, owner, url)`` of the clone at ``repo``.

    ``url`` is the repository's web address (``https://host/owner/name``), used for record links:
    ``web_url`` when given, else read from the ``origin`` remote in its https, ssh (``git@host:o/n``,
    ``ssh://git@host:port/o/n``) or git form, for any host (github.com, GitHub Enterprise, GitLab,
    Bitbucket). A remote that is a local path is followed to that clone's own ``origin`` (a clone of a
    local mirror), at most three hops; when no web address is found ``url`` is None and records show
    their sha without a link (a filesystem path is never a link). ``repo_id`` is ``owner/name`` from the
    web address (or remote), else the folder's name.

    Raises:
        CollectionError: ``web_url`` is not an http(s) address with an owner and a name.
    """
    if web_url is not None:
        match = re.match(r"^https?://[^/\s]+/(.+?)(?:\.git)?/?$", web_url.strip())
        parts = match[1].split("/") if match else []
        if len(parts) < 2:
            raise CollectionError(
                f"--web-url {web_url!r} is not a web address like https://github.com/OWNER/NAME.")
        return f"{parts[-2]}/{parts[-1]}", parts[-2], web_url.strip().removesuffix("/").removesuffix(".git")
    url = _origin(repo)
    for _ in range(3):
        if not url or not _is_local(url):
            break
        local = Path(url.removeprefix("file://")).expanduser()
        if not local.is_absolute():
            local = (repo / local).resolve()
        url = _origin(local) if local.exists() else None
    if url and not _is_local(url):
        match = _REMOTE.search(url)
        if match:
            return f"{match[1]}/{match[2]}", match[1], remote_web_url(url)
    top = repo.resolve()
    name = top.name
    if name == ".git":
        name = top.parent.name
    if name.endswith(".git"):
        name = name[: -len(".git")]
    return name, None, None


def stored_repo_id(con: duckdb.DuckDBPyConnection, repo: Path) -> str:
    """The repo_id already used for the clone at ``repo`` (``repositories.source_path``), else
    :func:`repository_id`'s; so a clone collected before keeps its id and no row is stored twice."""
    return _stored_id(con, repo) or repository_id(repo)[0]


def _stored_id(con: duckdb.DuckDBPyConnection, repo: Path) -> str | None:
    rows = con.execute("SELECT repo_id FROM repositories WHERE source_path = ? ORDER BY last_collected_at DESC",
                       [str(repo.resolve())]).fetchall()
    return rows[0][0] if rows else None


def _origin(repo: Path) -> str | None:
    result = _git(repo, "config", "--get", "remote.origin.url")
    return result.stdout.decode().strip() or None if result.returncode == 0 else None


def _is_local(url: str) -> bool:
    return url.startswith(("/", ".", "~", "file:")) or (len(url) > 1 and url[1] == ":" and "@" not in url)


def remote_web_url(url: str) -> str | None:
    """The https web address of a git remote (credentials and ssh ports dropped), or None for a local path.

    ``git@github.com:o/n.git``, ``ssh://git@ghe.corp:7999/o/n.git``, ``https://user:tok@gitlab.com/g/s/n.git``
    and ``git://host/o/n`` give ``https://github.com/o/n``, ``https://ghe.corp/o/n``, ``https://gitlab.com/g/s/n``
    and ``https://host/o/n``.
    """
    if _is_local(url):
        return None
    match = re.match(r"^(?:[a-z+]+://)?(?:[^@/]+@)?([^/:]+)(?::\d+)?[:/](.+?)(?:\.git)?/?$", url.strip())
    if not match:
        return None
    return f"https://{match[1]}/{match[2]}"


def _offset_minutes(text: str) -> int:
    text = text.strip()
    if len(text) != 5:
        return 0
    sign = -1 if text[0] == "-" else 1
    return sign * (int(text[1:3]) * 60 + int(text[3:5]))


def _pr_number(subject: str) -> int | None:
    match = _MERGE_PR.match(subject) or _SQUASH_PR.search(subject)
    return int(match[1]) if match else None


def _parse_diff(part: str) -> list[tuple[str, str | None, str, int | None, int | None, bool]]:
    """Pair ``--raw`` entries with ``--numstat`` entries of one commit (both in git's order)."""
    tokens = part.split("\0")
    raw: list[tuple[str, str | None, str]] = []
    stats: list[tuple[int | None, int | None, bool]] = []
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        i += 1
        if token[:1] == "\n":
            token = token.lstrip("\n")
        if not token:
            continue
        if token[0] == ":":
            kind = token.rsplit(" ", 1)[-1][0]
            if kind in "RC":
                raw.append((tokens[i + 1], tokens[i], kind))
                i += 2
            else:
                raw.append((tokens[i], None, kind))
                i += 1
        else:
            added, deleted, path = token.split("\t", 2)
            if not path:  # a rename: old and new path follow as their own tokens
                i += 2
            stats.append((None, None, True) if added == "-" else (int(added), int(deleted), False))
    if len(raw) != len(stats):
        raise CollectionError("git log output could not be parsed (raw and numstat entries disagree).")
    return [(p, o, k, a, d, b) for (p, o, k), (a, d, b) in zip(raw, stats)]


def _columns(names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    """Rows (tuples in ``names``' order) as column lists, for :func:`warehouse.upsert`."""
    return dict(zip(names, map(list, zip(*rows)))) if rows else {}


class _Batch:
    """The commits, file rows and co-author rows of up to ``batch_size`` commits, as row tuples.

    A record is decoded once (UTF-8, undecodable bytes replaced by U+FFFD: the same text as decoding
    each field, since the separators are ASCII), and rows become columns only when stored."""

    def __init__(self, repo_id: str, categorize: Callable[[str], str]) -> None:
        self.repo_id = repo_id
        self.categorize = categorize
        self.commit_rows: list[tuple[Any, ...]] = []
        self.file_rows: list[tuple[Any, ...]] = []
        self.coauthor_rows: list[tuple[Any, ...]] = []
        self.size = 0
        self.merges = 0

    def add(self, record: bytes) -> None:
        fields = record.decode("utf-8", "replace").split("\x1f", _N_FIXED)
        if len(fields) != _N_FIXED + 1:
            raise CollectionError("git log output could not be parsed (a commit record is cut short).")
        body, _, diff = fields[_N_FIXED].rpartition("\x1f")
        (sha, parents, an, ae, a_n, a_e, cn, ce, c_n, c_e, at, ad, ct, cd, trailers, subject) = fields[:_N_FIXED]
        repo_id = self.repo_id
        parent_list = parents.split()
        is_merge = len(parent_list) > 1
        insertions = deletions = changed = 0
        if not is_merge and diff:
            seen_paths = set()
            categorize = self.categorize
            file_rows = self.file_rows
            for path, old, kind, added, deleted, binary in _parse_diff(diff):
                if path in seen_paths:
                    continue
                seen_paths.add(path)
                if not binary:
                    insertions += added  # type: ignore[operator]
                    deletions += deleted  # type: ignore[operator]
                file_rows.append((repo_id, sha, path, old, kind, added, deleted, binary, categorize(path)))
            changed = len(seen_paths)
        if trailers:
            seen_emails = {a_e.lower()}
            for value in trailers.split("\x1d"):
                match = _COAUTHOR.match(value)
                if not match:
                    continue
                email = match[2].strip()
                if email.lower() in seen_emails:
                    continue
                seen_emails.add(email.lower())
                self.coauthor_rows.append((repo_id, sha, email, match[1]))
        self.commit_rows.append((
            repo_id, sha, a_n, a_e, an, ae, c_n, c_e, cn, ce,
            int(at), _offset_minutes(ad), int(ct), _offset_minutes(cd),
            subject, body.strip("\n"), parent_list, is_merge,
            insertions, deletions, changed, _pr_number(subject),
        ))
        self.size += 1
        self.merges += is_merge

    def store(self, con: duckdb.DuckDBPyConnection) -> int:
        """Write the batch in one transaction; returns the number of file rows written.

        The batch's commits are not stored yet (a run reads only those), so plain inserts write them; if
        one is stored after all, the transaction is rolled back and the batch upserted, as loads always are.
        """
        try:
            return self._write(con, warehouse.insert_new)
        except duckdb.ConstraintException:
            return self._write(con, warehouse.upsert)

    def _write(self, con: duckdb.DuckDBPyConnection, write: Callable[..., int]) -> int:
        with warehouse.transaction(con):
            write(con, "commits", _columns(COMMIT_COLUMNS, self.commit_rows), _COMMIT_TYPES, expressions=_EPOCHS)
            files = write(con, "commit_files", _columns(FILE_COLUMNS, self.file_rows), _FILE_TYPES)
            write(con, "commit_coauthors", _columns(COAUTHOR_COLUMNS, self.coauthor_rows))
            warehouse.mark_derive_pending(con)  # with the rows: a kill before derivation leaves it due
        return files


def _stream_records(proc: subprocess.Popen[bytes]) -> Iterator[bytes]:
    """Yield the \\x1e-separated records of git's stdout, read by a thread so git never waits on us.

    The thread passes git's output on in blocks of 256 KiB, so at most that much of the history is left to
    parse when git finishes (blocks of 1 MiB left up to a third of flask's history for after git; passing on
    whatever the pipe holds, a few KiB at a time, cost 0.2 s more CPU in thread hand-offs)."""
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=256)  # at most 64 MiB waiting

    def pump() -> None:
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read(1 << 18)
            if not chunk:
                break
            chunks.put(chunk)
        chunks.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    pending = b""
    while True:
        chunk = chunks.get()
        if chunk is None:
            break
        pending += chunk
        records = pending.split(b"\x1e")
        pending = records.pop()
        for record in records:
            if record:
                yield record
    reader.join()
    if pending:
        yield pending


def _feed(proc: subprocess.Popen[bytes], shas: list[str]) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(("\n".join(shas) + "\n").encode())
        proc.stdin.close()
    except BrokenPipeError:  # git died; its exit status tells why
        pass


def collect_git(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    branch: str | None = None,
    since: str | None = None,
    repo_id: str | None = None,
    config: config_mod.Config | None = None,
    web_url: str | None = None,
    batch_size: int = BATCH_SIZE,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> GitCollection:
    """Collect the history of ``branch`` (default: HEAD) of the clone at ``path`` into ``con``.

    Writes ``repositories``, ``commits``, ``commit_files``, ``commit_coauthors``, ``sync_state``
    (cursor: the head collected per ref) and one ``collection_runs`` row. Loads are upserts on the
    tables' primary keys, so running twice changes no row. ``since`` (any date git understands)
    limits the run to commits committed after it. ``web_url`` is the repository's web address when the
    remote does not give it (see :func:`repository_id`). ``on_start(n)`` is told how many commits will be
    read and ``on_progress(k)`` each time ``k`` more are stored.

    Raises:
        CollectionError: bad path, not a repository, empty repository, unknown branch, or git
            failing part-way (damaged repository); the run is then recorded as failed, the cursor
            does not move, and batches already written stay for the next run to resume from.
    """
    started = time.perf_counter()
    repo = open_repository(path)
    cfg = config or config_mod.defaults()
    found_id, owner, url = repository_id(repo, web_url)
    if repo_id is None and web_url is None:
        found_id = _stored_id(con, repo) or found_id  # as stored_repo_id, without asking git again
    repo_id = repo_id or found_id
    ref = branch or "HEAD"
    resolved = _git(repo, "rev-parse", "--is-shallow-repository", "--verify", "--quiet", f"{ref}^{{commit}}")
    answers = resolved.stdout.decode().split()
    if resolved.returncode != 0 or len(answers) != 2:
        raise CollectionError(f"{repo} has no branch or revision '{ref}'.")
    shallow, head = answers[0] == "true", answers[1]
    result = GitCollection(repo_id=repo_id, ref=ref, head=head)

    if shallow:
        git_dir = Path(_git(repo, "rev-parse", "--absolute-git-dir").stdout.decode().strip())
        boundary = git_dir / "shallow"
        result.shallow = True
        result.shallow_boundaries = len(boundary.read_text().split()) if boundary.exists() else 0

    with warehouse.collection_run(con, SOURCE, repo_id, run_id=result.run_id) as run:
        con.execute(
            "INSERT INTO repositories (repo_id, name, owner, url, source_path, default_branch, last_collected_at) "
            "VALUES (?, ?, ?, ?, ?, ?, now()) ON CONFLICT (repo_id) DO UPDATE SET "
            "owner = coalesce(excluded.owner, repositories.owner), "
            # a web address found now (or given) replaces one stored before; an old local path is dropped
            "url = CASE WHEN excluded.url IS NOT NULL THEN excluded.url "
            "WHEN repositories.url LIKE 'http%' THEN repositories.url END, "
            "source_path = excluded.source_path, last_collected_at = excluded.last_collected_at",
            [repo_id, repo_id.split("/")[-1], owner, url, str(repo.resolve()), branch],
        )
        try:
            _collect(con, repo, result, ref, since, cfg, batch_size, on_start, on_progress)
        finally:  # what a failed run stored stays (the next run resumes after it): its counts say so
            run.counts = {"commits": result.commits_stored, "files": result.files_stored}
        run.cursor = {"head": head, "since": since}
        warehouse.save_cursor(con, SOURCE, repo_id, f"ref:{ref}", run.cursor)
        result.total_in_warehouse = con.execute(
            "SELECT count(*) FROM commits WHERE repo_id = ?", [repo_id]
        ).fetchall()[0][0]
        result.seconds = time.perf_counter() - started
        run.counts = {
            "in_range": result.in_range, "already_stored": result.already_stored,
            "commits": result.commits_stored, "files": result.files_stored, "merges": result.merges,
            "shallow": result.shallow,
        }
    return result


def _collect(
    con: duckdb.DuckDBPyConnection,
    repo: Path,
    result: GitCollection,
    ref: str,
    since: str | None,
    cfg: config_mod.Config,
    batch_size: int,
    on_start: Callable[[int], None] | None,
    on_progress: Callable[[int], None] | None,
) -> None:
    heads = [cursor["head"] for cursor in warehouse.cursors(con, SOURCE, result.repo_id).values()]
    if result.head in heads:  # collected up to this head before: `rev-list H --not H` lists nothing
        todo: list[str] = []
    else:
        exclude = [sha for sha in heads if _exists(repo, sha)]
        args = ["rev-list", result.head]  # newest first: see the module's docstring
        if since:
            args.append(f"--since={since}")
        if exclude:
            args += ["--not", *exclude]
        listed = _git(repo, *args)
        if listed.returncode != 0:
            raise CollectionError(f"git rev-list failed in {repo}: {_first_line(listed.stderr)}")
        todo = listed.stdout.decode().split()
    result.in_range = len(todo)
    if todo:
        stored = {
            row[0]
            for row in con.execute("SELECT sha FROM commits WHERE repo_id = ?", [result.repo_id]).fetchall()
        }
        if stored:
            before = len(todo)
            todo = [sha for sha in todo if sha not in stored]
            result.already_stored = before - len(todo)
    if on_start:
        on_start(len(todo))
    if not todo:
        return

    proc = subprocess.Popen(
        [
            "git", "-C", str(repo), "-c", "core.quotepath=off", "log", "--no-walk=unsorted", "--stdin",
            "-z", "--raw", "--numstat", "-M", "--no-abbrev", "--diff-merges=off", "--no-color",
            "--no-show-signature", "--date=format:%z", f"--format={_FORMAT}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    feeder = threading.Thread(target=_feed, args=(proc, todo), daemon=True)
    feeder.start()
    from impactlens.categories import categorizer  # pathspec: only a run with commits to read needs it

    categorize = categorizer(cfg)
    batch = _Batch(result.repo_id, categorize)
    seen = 0
    unparsed: CollectionError | None = None
    try:
        records = _stream_records(proc)
        try:
            for record in records:
                batch.add(record)
                if batch.size >= batch_size:
                    seen += _store(con, batch, result, on_progress)
                    batch = _Batch(result.repo_id, categorize)
        except CollectionError as exc:  # a record cut short: git's exit status says whether git died
            unparsed = exc
            for _ in records:
                pass
        returncode = proc.wait()
        stderr = proc.stderr.read() if proc.stderr else b""
        if returncode != 0:
            raise CollectionError(
                f"git log failed in {repo} after {seen + batch.size} of {len(todo)} commits "
                f"(exit {returncode}: {_first_line(stderr)}); the repository may be damaged "
                "(try `git fsck`). Nothing of this run was published; the next run resumes."
            )
        if unparsed:
            raise unparsed
        if batch.size:
            seen += _store(con, batch, result, on_progress)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        feeder.join()
        for pipe in (proc.stdout, proc.stderr):
            if pipe:
                pipe.close()
    if seen != len(todo):
        raise CollectionError(f"git log returned {seen} of the {len(todo)} commits asked for in {repo}.")


def _store(
    con: duckdb.DuckDBPyConnection, batch: _Batch, result: GitCollection, on_progress: Callable[[int], None] | None
) -> int:
    result.files_stored += batch.store(con)
    die_here_in_tests("collect")
    result.commits_stored += batch.size
    result.merges += batch.merges
    if on_progress:
        on_progress(batch.size)
    return batch.size


def _exists(repo: Path, sha: str) -> bool:
    return _git(repo, "cat-file", "-e", f"{sha}^{{commit}}").returncode == 0
