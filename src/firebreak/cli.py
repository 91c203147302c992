"""`firebreak ...`: the command line (Typer + Rich).

Each command group lives in firebreak/commands/<name>.py and exposes `register(app)`.
Heavy imports stay inside the commands so that `firebreak --help` starts fast.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from firebreak.errors import FirebreakError

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
                  help="Firebreak: automated incident response for production AI systems.")

# Command modules, registered in this order (one line per stage).
COMMANDS = [
    "firebreak.commands.serve",
    "firebreak.commands.ingest",
    "firebreak.commands.db",
    "firebreak.commands.config",
    "firebreak.commands.token",
    "firebreak.commands.demo",
    "firebreak.commands.chaos",
    "firebreak.commands.check",
    "firebreak.commands.baseline",
    "firebreak.commands.incidents",
    "firebreak.commands.silence",
    "firebreak.commands.redteam",
    "firebreak.commands.evidence",
    "firebreak.commands.report",
    "firebreak.commands.gateway",
    "firebreak.commands.scan",
    "firebreak.commands.playbook",
]

for _name in COMMANDS:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry: run the app, turning Firebreak errors into exit codes."""
    try:
        app()
    except FirebreakError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc.message}")
        sys.exit(exc.exit_code)
