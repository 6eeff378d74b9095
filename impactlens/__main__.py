"""``python -m impactlens`` runs the command line."""

from impactlens.cli import app

app(prog_name="impactlens")
