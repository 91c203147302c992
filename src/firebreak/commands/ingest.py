"""`firebreak ingest FILE.jsonl`: replay a file of events, with progress and refusal reasons."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import typer

from firebreak.commands.common import console, err_console


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        file: Path = typer.Argument(..., help="a JSONL/NDJSON file, one event per line"),
        url: str = typer.Option(None, envvar="FIREBREAK_URL",
                                help="send to this running server (else write to the database)"),
        token: str = typer.Option(None, envvar="FIREBREAK_TOKEN",
                                  help="API token with the ingest scope (with --url)"),
        batch_size: int = typer.Option(500, min=1, max=10_000, help="events per request"),
    ) -> None:
        """Replay FILE into Firebreak; prints accepted / duplicate / refused counts and reasons.

        Exits 1 when any line was refused, 2 when the file cannot be read.
        """
        if not file.is_file():
            err_console.print(f"[red]error:[/red] {file}: no such file")
            raise typer.Exit(2)
        send = _http_sender(url, token) if url else _store_sender()
        totals, refusals = _replay(file, batch_size, send)
        _report(totals, refusals)
        if refusals:
            raise typer.Exit(1)


def _store_sender() -> Any:
    from firebreak.commands.common import database, settings
    from firebreak.ingest.service import Ingestor

    ingestor, db = Ingestor(settings()), database()

    def send(items: list[Any]) -> dict[str, Any]:
        return ingestor.ingest(db, items, source="file").as_dict()

    return send


def _http_sender(url: str, token: str | None) -> Any:
    import httpx
    import orjson

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60)

    def send(items: list[Any]) -> dict[str, Any]:
        from firebreak.errors import FirebreakError
        from firebreak.ingest.body import BadItem

        lines = [b"{}" if isinstance(i, BadItem) else orjson.dumps(i) for i in items]
        try:
            resp = http.post("/v1/events", content=b"\n".join(lines),
                             headers={"Content-Type": "application/x-ndjson"})
        except httpx.HTTPError as exc:
            raise FirebreakError(f"{url}: {exc}") from exc
        if resp.status_code != 200:
            raise FirebreakError(f"{url} answered {resp.status_code}: {resp.text[:300]}")
        answer: dict[str, Any] = resp.json()
        for r in answer["refused"]:  # a line that was not JSON keeps its own reason
            if isinstance(items[r["index"]], BadItem):
                r.update(field=items[r["index"]].field, reason=items[r["index"]].reason)
        return answer

    return send


Refusals = list[tuple[int, str, str]]  # (line number, field, reason)


def _replay(file: Path, batch_size: int, send: Any) -> tuple[Counter[str], Refusals]:
    import orjson
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from firebreak.ingest.body import BadItem

    totals: Counter[str] = Counter()
    refusals: Refusals = []
    batch: list[Any] = []
    lines: list[int] = []

    def flush() -> None:
        answer = send(batch)
        totals["accepted"] += answer["accepted"]
        totals["duplicates"] += answer["duplicates"]
        refusals.extend((lines[r["index"]], r["field"], r["reason"]) for r in answer["refused"])
        batch.clear()
        lines.clear()

    size = file.stat().st_size
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task(f"ingest {file.name} (bytes)", total=size)
        with file.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                progress.advance(task, len(line))
                if not line.strip():
                    continue
                try:
                    batch.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    batch.append(BadItem("body", f"line is not valid JSON: {exc}"))
                lines.append(number)
                if len(batch) >= batch_size:
                    flush()
        if batch:
            flush()
    return totals, refusals


def _report(totals: Counter[str], refusals: Refusals) -> None:
    from rich.table import Table

    console.print(f"[green]accepted {totals['accepted']}[/green], duplicates "
                  f"{totals['duplicates']}, [red]refused {len(refusals)}[/red]")
    if not refusals:
        return
    grouped: dict[tuple[str, str], list[int]] = {}
    for line, field, reason in refusals:
        grouped.setdefault((field, reason), []).append(line)
    table = Table("count", "field", "reason", "lines", title="refused")
    for (field, reason), lines in sorted(grouped.items(), key=lambda kv: -len(kv[1]))[:20]:
        shown = ", ".join(map(str, lines[:5])) + (" ..." if len(lines) > 5 else "")
        table.add_row(str(len(lines)), field, reason, shown)
    console.print(table)
