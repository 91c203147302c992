"""`python -m firebreak` runs the CLI."""

from firebreak.cli import main

main()
