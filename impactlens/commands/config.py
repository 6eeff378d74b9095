"""``impactlens config show``: the effective configuration."""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

import typer

from impactlens.commands import ConfigOption, user_errors

config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective configuration (defaults overridden by the file) as TOML."""
    from impactlens import config as config_mod

    with user_errors():
        cfg = config_mod.resolve(config)
    typer.echo(config_mod.dumps(cfg))


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens config show``."""
    app.add_typer(config_app, name="config")
