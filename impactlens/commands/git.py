"""``impactlens collect git PATH [PATH ...]``: commits and their files from local clones, then the derive stage.

One clone is collected in this process as it always was. Several (paths, a directory of clones, or a file
listing them: :func:`clone_paths`) are collected one after another, or with ``--lake DEST --engine spark``
one Spark task per clone (impactlens/commands/fanout.py), and end with a per-repository result table.
"""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

import sys
from pathlib import Path
from typing import Annotated, Any, Callable, List, Optional

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, QuietOption, fail, job, progress, user_errors
from impactlens.commands import lake as lake_cmd


def _is_clone(path: Path) -> bool:
    """Whether ``path`` looks like the top folder of a clone: a ``.git`` entry (work tree, worktree or
    submodule) or a bare repository's ``HEAD`` and ``objects``. Cheap (no git process); the collector's
    :func:`~impactlens.collectors.git.open_repository` has the last word."""
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def clone_paths(args: List[Path], paths_from: Optional[Path] = None) -> List[Path]:
    """The clones ``collect git`` collects, in order, each once (by resolved path): the PATH arguments, then
    the lines of ``paths_from`` (``--paths-from FILE``; ``-`` reads stdin: one path a line, blank lines and
    lines starting with ``#`` skipped, relative paths relative to the file's folder). Each path is

    - a folder that is a clone: itself;
    - a folder that is not a clone but has clones as direct subfolders (``~/src`` holding 300 clones): those
      subfolders, sorted by name (subfolders that are not clones are skipped; deeper levels are not searched);
    - anything else (a missing path, a file, a folder with no clone in or under it): itself, so the collector
      reports it (as a row of the result table when there are several).

    Raises:
        OSError: ``paths_from`` cannot be read.
    """
    given = [arg.expanduser() for arg in args]
    if paths_from is not None:
        text = sys.stdin.read() if str(paths_from) == "-" else paths_from.expanduser().read_text(encoding="utf-8")
        base = Path.cwd() if str(paths_from) == "-" else paths_from.expanduser().parent
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                listed = Path(line).expanduser()
                given.append(listed if listed.is_absolute() else base / listed)
    found: List[Path] = []
    for arg in given:
        if arg.is_dir() and not _is_clone(arg):
            subs = sorted((p for p in arg.iterdir() if p.is_dir() and _is_clone(p)), key=lambda p: p.name)
            found.extend(subs or [arg])
        else:
            found.append(arg)
    seen, unique = set(), []
    for path in found:
        key = path.resolve() if path.exists() else path
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def collect_clone(path: Path, *, db: Optional[Path], lake: Optional[str], branch: Optional[str],
                  since: Optional[str], config: Any, job: Callable[[str], warehouse.Job],
                  name: Optional[str] = None, web_url: Optional[str] = None, bar: Any = None) -> tuple:
    """Collect the clone at ``path`` into ``db`` (with ``lake``: its staging warehouse
    ``lake.staging_path(lake, repo_id)``), then derive; nothing is published here.

    ``since`` is a git date (``dates.git_since``), ``config`` a resolved :class:`~impactlens.config.Config`,
    ``job(key)`` makes the :class:`~impactlens.warehouse.Job` resuming ``key`` (a killed run of the same
    repository, branch and ``since`` is continued), ``bar`` a :func:`~impactlens.commands.progress` bar or
    None. Returns ``(GitCollection, Derived or None, warehouse path)``. The one code path of a single
    ``collect git`` and of every fan-out task (impactlens/commands/fanout.py).

    Raises:
        CollectionError: ``path`` is not a clone with commits, the branch is unknown, git fails part-way.
    """
    from impactlens.collectors.git import collect_git, open_repository, repository_id
    from impactlens.derive import after_run

    repo = open_repository(path)  # validate before touching the warehouse
    if lake is not None:  # the collector writes its own staging warehouse, published into the lake after
        db = lake_cmd.staging_db(lake, name or repository_id(repo, web_url)[0], None, config)
    # A run killed part-way is continued by the next run of the same repository, branch and --since.
    this = job(f"git {name or repository_id(repo)[0]} {branch or 'HEAD'} since={since}")
    with warehouse.writing(db, job=this) as con:
        task = bar.add_task(f"git {path}", total=None) if bar is not None else None
        result = collect_git(
            con, path, branch=branch, since=since, repo_id=name, config=config, web_url=web_url,
            on_start=(lambda n: bar.update(task, total=n)) if bar is not None else None,
            on_progress=(lambda k: bar.advance(task, k)) if bar is not None else None,
        )
        # Identities, bot flags and derived rows are refreshed when rows arrived that they do not
        # reflect yet (this run's, or a killed run's), so an up-to-date run stays fast
        # (`impactlens people refresh` re-applies config changes).
        result.pending_derivation = warehouse.derive_pending(con)
        derived = after_run(con, config, this, changed=bool(result.commits_stored or result.already_stored))
    return result, derived, warehouse.resolve_path(db)


def collect_git_command(
    paths: Annotated[Optional[List[Path]], typer.Argument(
        help="Local clones (work tree, bare or shallow), or folders whose subfolders are clones.",
        metavar="PATH...", show_default=False)] = None,
    branch: Annotated[Optional[str], typer.Option("--branch", "-b", help="Branch or revision (default HEAD).")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only commits committed from this day on (YYYY-MM-DD, UTC).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Repository id (default owner/name of origin); one clone only.")] = None,
    web_url: Annotated[Optional[str], typer.Option(
        "--web-url", help="Web address of the repository (https://github.com/OWNER/NAME) when the remote is a "
                          "local path: record links and the repository id come from it. One clone only.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
    lake: lake_cmd.LakeOption = None,
    engine: Annotated[str, typer.Option(
        "--engine", metavar="local|spark",
        help="With --lake: collect in this process (local), or one Spark task per clone, each publishing its "
             "repository into the lake (docs/scale.md).")] = "local",
    master: Annotated[Optional[str], typer.Option(
        "--master", metavar="<url>",
        help="With --engine spark: the Spark master (default local[2,3]: two tasks at once, three attempts each; "
             "spark://host:7077, yarn, k8s://...).")] = None,
    paths_from: Annotated[Optional[Path], typer.Option(
        "--paths-from", metavar="FILE",
        help="Also the clones listed in FILE, one path a line (# comments; - reads stdin).")] = None,
) -> None:
    """Collect commits and their files from local git clones (into a lake with --lake DEST: docs/scale.md).

    Several clones end with one line per repository and exit 2 when any did not succeed."""
    from impactlens import config as config_mod
    from impactlens import dates

    if engine not in ("local", "spark"):
        fail(f"--engine must be local or spark (got {engine!r}).")
    if engine == "spark" and lake is None:
        fail("--engine spark needs --lake DEST (every task publishes its repository into the lake).")
    if master and engine != "spark":
        fail("--master needs --engine spark.")
    lake_cmd.one_target(lake, db)
    with user_errors():
        since_day = dates.parse_day(since, "--since")
        since = dates.git_since(since_day) if since_day else None
        cfg = config_mod.resolve(config)
        clones = clone_paths(paths or [], paths_from)
        if not clones:
            fail("no clone to collect: give PATH (a clone, or a folder of clones) or --paths-from FILE.")
        if len(clones) > 1 and (name or web_url):
            fail(f"--name and --web-url name one repository; {len(clones)} clones were given.")
        if engine == "local" and len(clones) == 1:
            with progress(quiet, "commits") as bar:
                result, derived, used = collect_clone(
                    clones[0], db=db, lake=lake, branch=branch, since=since, config=cfg, name=name,
                    web_url=web_url, bar=bar, job=lambda key: job(resumes=key, config=cfg))
    if engine == "local" and len(clones) == 1:
        return lake_cmd.finish_collection(result.summary(), derived, used, lake, [result.repo_id], quiet)
    _fan_out(clones, db, lake, branch, since, config, quiet, engine, master)


def _absolute_lake(lake: Optional[str]) -> Optional[str]:
    """``lake`` as every task can open it: an object-store URL as given, a local folder made absolute."""
    from impactlens import lake as lake_mod

    if lake is None or lake_mod.is_remote(lake):
        return lake
    return str(Path(lake_mod.location(lake)).absolute())


def _fan_out(clones, db, lake, branch, since, config, quiet, engine, master) -> None:
    """Several clones (or ``--engine spark``): one task per clone (impactlens/commands/fanout.py), on Spark or
    here one after another; prints the per-repository table, exits 2 when any did not succeed."""
    from impactlens.commands import fanout

    # Absolute paths: a Spark task's working folder need not be this one.
    tasks = fanout.plan_git([p.absolute() for p in clones], _absolute_lake(lake),
                            db=warehouse.resolve_path(db).absolute() if lake is None else None, branch=branch,
                            since=since, config_path=str(Path(config).absolute()) if config else None)
    with user_errors():
        outcomes = fanout.run(tasks, master=master) if engine == "spark" else fanout.run_here(tasks)
    if not quiet:
        typer.echo(fanout.table(outcomes))
        if lake is not None:
            typer.echo(f"Lake: {lake}")
        else:
            typer.echo(f"Warehouse: {warehouse.resolve_path(db)}")
    bad = [o for o in outcomes if o.status != "succeeded"]
    if bad:
        fail(f"{len(bad)} of {len(outcomes)} repositories did not succeed "
             f"({', '.join(o.repo or o.path for o in bad)}): {bad[0].status}")


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens collect git``."""
    collect_app.command("git")(collect_git_command)
