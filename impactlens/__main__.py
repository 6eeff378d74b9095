"""``python -m impactlens`` runs the command line."""

from impactlens.cli import main

main()
