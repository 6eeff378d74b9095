"""``impactlens mcp``: serve the warehouse to AI assistants over the Model Context Protocol (docs/assistant.md).

stdio by default (the client starts the process); ``--http`` serves streamable HTTP on 127.0.0.1 only.
Nothing is printed to stdout: on stdio it carries the protocol.
"""

# No `from __future__ import annotations` here: Typer would eval() every command's string annotations at
# each start-up (50 ms; docs/performance.md, "Start-up").

from typing import Annotated

import typer

from impactlens.commands import ConfigOption, DbOption, user_errors


def mcp(
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP on 127.0.0.1 instead of stdio.")] = False,
    port: Annotated[int, typer.Option("--port", help="Port of --http.")] = 8765,
    demo: Annotated[bool, typer.Option("--demo", help="Serve the demo organisation's warehouse (built if missing).")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve read-only evidence tools (find_person, person_summary, metric, sql, ...) to an MCP client."""
    from impactlens import config as config_mod
    from impactlens import warehouse
    from impactlens.commands import fail
    from impactlens.mcp_server import build_server, configured_me

    with user_errors():
        cfg = config_mod.resolve(config)
        if demo:
            from impactlens import demo as demo_mod

            if db is not None:
                fail("give --demo or --db, not both.")
            db, _ = demo_mod.ensure()
        warehouse.read_only(db).close()  # fail now, in one line, rather than in every tool call
    server = build_server(db, configured_me(cfg), cfg)
    if http:
        typer.echo(f"impactlens mcp: serving http://127.0.0.1:{port}/mcp", err=True)
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run("stdio")


def register(app: typer.Typer, collect_app: typer.Typer) -> None:
    """Add ``impactlens mcp`` to ``app``."""
    app.command("mcp")(mcp)
