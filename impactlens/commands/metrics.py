"""``impactlens metrics``: compute every metric and store the ``metric_*`` tables in the warehouse."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from typing import Annotated, Optional

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, QuietOption, job, progress, user_errors
from impactlens.commands import lake as lake_cmd
from impactlens.errors import ImpactlensError, WarehouseError


def metrics_command(
    db: DbOption = None,
    config: ConfigOption = None,
    szz: Annotated[bool, typer.Option(
        "--szz", help="Also find bug-introducing commits with SZZ (git blame per bug fix; needs the local clones).",
    )] = False,
    quiet: QuietOption = False,
    engine: Annotated[str, typer.Option(
        "--engine", metavar="local|spark",
        help="Where the metric jobs run: this process (local), or Spark: one task per repository, then one per "
             "bucket of people or teams for their cross-repository tables (docs/scale.md).",
    )] = "local",
    master: Annotated[Optional[str], typer.Option(
        "--master", metavar="<url>",
        help="With --engine spark: the Spark master (default local[2]; spark://host:7077, yarn, k8s://...).",
    )] = None,
    lake: lake_cmd.LakeOption = None,
) -> None:
    """Compute PR, review, incident, DORA, mentoring and ownership metrics into metric_* tables.

    Every table is replaced whole; definitions are in docs/metrics.md. With --lake DEST the lake is read
    (people resolved across repositories) and the metric tables are written back into it: only the
    partitions whose rows changed get a new Delta version (docs/scale.md).
    """
    from impactlens import config as config_mod
    from impactlens import derive
    from impactlens.metrics.job import materialise

    with user_errors():
        if engine not in ("local", "spark"):
            raise UsageError(f"--engine must be local or spark (got {engine!r}).")
        if master and engine != "spark":
            raise UsageError("--master needs --engine spark.")
        cfg = config_mod.resolve(config)
        if lake is not None:
            if db is not None:
                raise UsageError("give --lake or --db, not both.")
            _metrics_into_lake(lake, cfg, szz=szz, engine=engine, master=master, quiet=quiet)
            return
        path = warehouse.resolve_path(db)
        if not path.exists():
            raise WarehouseError(
                f"no warehouse at {path}: collect something first (impactlens collect git PATH) "
                "or try the demo (impactlens demo)."
            )
        with progress(quiet, "tables") as bar, warehouse.writing(path, job=job(config=cfg)) as con:
            task = bar.add_task("metrics", total=None)
            derive.if_pending(con, cfg)  # metrics read identities and incidents
            result = materialise(con, cfg, run_szz=szz, engine=engine,  # type: ignore[arg-type]
                                 master=master,
                                 on_table=lambda name: bar.update(task, description=name, advance=1))
    if not quiet:
        typer.echo(result.summary())
        typer.echo(f"Warehouse: {path}")


def _metrics_into_lake(dest, cfg, *, szz: bool, engine: str, master: Optional[str], quiet: bool) -> None:
    """``metrics --lake DEST``: the lake materialised in memory (:func:`impactlens.lake.materialise`, which
    resolves people across the repositories collectors published), the metric tables computed there, then
    exported back into the lake (only those tables; unchanged partitions are not written)."""
    from impactlens import derive
    from impactlens import lake as lake_mod
    from impactlens.metrics.job import materialise

    con = lake_cmd.materialised(dest, cfg)
    with con, progress(quiet, "tables") as bar:
        task = bar.add_task("metrics", total=None)
        derive.if_pending(con, cfg)
        result = materialise(con, cfg, run_szz=szz, engine=engine,  # type: ignore[arg-type]
                             master=master, on_table=lambda name: bar.update(task, description=name, advance=1))
        written = lake_mod.export(con, dest, only=[*result.rows, "metric_runs"])
    if not quiet:
        typer.echo(result.summary())
        typer.echo(written.summary())


class UsageError(ImpactlensError):
    """A bad combination of options (exit 2)."""


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens metrics``."""
    app.command("metrics")(metrics_command)
