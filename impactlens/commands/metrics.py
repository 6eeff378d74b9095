"""``impactlens metrics``: compute every metric and store the ``metric_*`` tables in the warehouse."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from typing import Annotated

import typer

from impactlens import warehouse
from impactlens.commands import ConfigOption, DbOption, QuietOption, job, progress, user_errors
from impactlens.errors import WarehouseError


def metrics_command(
    db: DbOption = None,
    config: ConfigOption = None,
    szz: Annotated[bool, typer.Option(
        "--szz", help="Also find bug-introducing commits with SZZ (git blame per bug fix; needs the local clones).",
    )] = False,
    quiet: QuietOption = False,
) -> None:
    """Compute PR, review, incident, DORA, mentoring and ownership metrics into metric_* tables.

    Every table is replaced whole; definitions are in docs/metrics.md.
    """
    from impactlens import config as config_mod
    from impactlens import derive
    from impactlens.metrics.job import materialise

    with user_errors():
        cfg = config_mod.resolve(config)
        path = warehouse.resolve_path(db)
        if not path.exists():
            raise WarehouseError(
                f"no warehouse at {path}: collect something first (impactlens collect git PATH) "
                "or try the demo (impactlens demo)."
            )
        with progress(quiet, "tables") as bar, warehouse.writing(path, job=job(config=cfg)) as con:
            task = bar.add_task("metrics", total=None)
            derive.if_pending(con, cfg)  # metrics read identities and incidents
            result = materialise(con, cfg, run_szz=szz,
                                 on_table=lambda name: bar.update(task, description=name, advance=1))
    if not quiet:
        typer.echo(result.summary())
        typer.echo(f"Warehouse: {path}")


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens metrics``."""
    app.command("metrics")(metrics_command)
