"""`firebreak scan [FILE|-]`: run every scanner on texts and print one JSON verdict line each.

Input: one text per line, or JSON lines with `text` and optional `role` (user, assistant,
tool, document) and `source` / `doc_id`. Output: `{"line": n, "flagged": bool,
"verdicts": [...]}` per input line.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import typer

_TARGETS = {"user": "input", "system": "input", "assistant": "output", "tool": "tool",
            "document": "chunk", "chunk": "chunk", None: "text"}


def _parse(line: str, n: int) -> tuple[str, dict[str, Any]]:
    if not line.lstrip().startswith("{"):
        return line, {}
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {n}: not valid JSON ({exc.msg})") from exc
    if not isinstance(obj.get("text"), str):
        raise ValueError(f"line {n}: field 'text' is missing or not a string")
    role = obj.get("role")
    if role not in _TARGETS:
        raise ValueError(f"line {n}: field 'role' must be one of "
                         f"{', '.join(k for k in _TARGETS if k)}")
    target = "chunk" if obj.get("source") and role is None else _TARGETS[role]
    return obj["text"], {"target": target, "source": obj.get("source"),
                         "doc_id": obj.get("doc_id")}


def register(app: typer.Typer) -> None:
    @app.command()
    def scan(
        file: str = typer.Argument("-", help="a file of texts, or - for standard input"),
        canary: str = typer.Option(None, help="canary token to look for in the texts"),
        strict: bool = typer.Option(False, help="lower thresholds (strict mode)"),
    ) -> None:
        """Scan texts (one per line, or JSON lines) and print one JSON verdict per line."""
        from firebreak.commands.common import err_console
        from firebreak.scan import ScanContext, scan_all

        if file != "-" and not Path(file).is_file():
            err_console.print(f"[red]error:[/red] FILE: {file!r} does not exist")
            raise typer.Exit(2)
        # Undecodable bytes become U+FFFD: binary input is scanned, never a traceback.
        stream = (io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
                  if file == "-" else Path(file).open(encoding="utf-8", errors="replace"))  # noqa: SIM115 (closed by the with below)
        with stream:
            for n, raw in enumerate(stream, 1):
                line = raw.rstrip("\n")
                if not line.strip():
                    continue
                try:
                    text, fields = _parse(line, n)
                except ValueError as exc:
                    err_console.print(f"[red]error:[/red] {exc}")
                    raise typer.Exit(2) from None
                ctx = ScanContext(canary=canary, strict=strict, **fields)
                verdicts = [v for v in scan_all(text, ctx) if v.flagged or v.scanner == "injection"]
                typer.echo(json.dumps({"line": n, "flagged": any(v.flagged for v in verdicts),
                                       "verdicts": [v.model_dump(mode="json") for v in verdicts]}))
