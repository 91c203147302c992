"""`firebreak silence add / ls / expire`: mute matching alerts for a while."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import typer

from firebreak.commands.common import console, database
from firebreak.errors import ValidationFailed

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `2h`, `1d` (or combinations like `1h30m`)."""
    parts = re.findall(r"(\d+)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValidationFailed("duration", f"{text!r} is not like 30m, 2h or 1d")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))


def register(app: typer.Typer) -> None:
    sil = typer.Typer(help="Silences: mute notifications for matching alerts.",
                      no_args_is_help=True)
    app.add_typer(sil, name="silence")

    @sil.command("add")
    def add(
        matchers: list[str] = typer.Argument(..., help="name=value, name!=value, name=~regex"),
        duration: str = typer.Option("1h", "--duration", "-d", help="e.g. 30m, 2h, 1d"),
        comment: str = typer.Option("", "--comment", "-c"),
        author: str = typer.Option(None, help="who creates it"),
    ) -> None:
        """Create a silence; prints its id."""
        from firebreak.incidents.silences import create_silence, parse_matcher

        by = author or f"cli:{os.environ.get('USER', 'unknown')}"
        parsed, ttl = [parse_matcher(m) for m in matchers], parse_duration(duration)
        s = create_silence(database(), matchers=parsed, created_by=by, comment=comment,
                           duration=ttl)
        console.print(f"{s.id} until {s.ends_at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)

    @sil.command("ls")
    def ls(state: str = typer.Option(None, help="active, pending or expired")) -> None:
        """List silences."""
        from datetime import UTC, datetime

        from rich.table import Column, Table

        from firebreak.incidents.silences import list_silences

        now = datetime.now(UTC)
        table = Table(Column("id", no_wrap=True), "state", "matchers", "ends", "by", "comment")
        for s in list_silences(database(), state=state, now=now):
            ms = ", ".join(f"{m.name}{'=' if m.isEqual else '!'}{'~' if m.isRegex else ''}"
                           f"{'' if m.isEqual or m.isRegex else '='}{m.value}"
                           for m in s.matchers)
            table.add_row(s.id, s.state(now), ms, f"{s.ends_at:%Y-%m-%d %H:%M}", s.created_by,
                          s.comment)
        console.print(table)

    @sil.command("expire")
    def expire(silence_id: str) -> None:
        """End a silence now."""
        from firebreak.incidents.silences import expire_silence

        expire_silence(database(), silence_id)
        console.print(f"{silence_id} expired")
