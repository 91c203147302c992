"""`firebreak redteam`: attack an LLM app, score, report; export incidents as suites."""

from __future__ import annotations

from typing import Any

import typer

from firebreak.commands.common import console, err_console


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _gateway_url(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    from firebreak.config import get_settings

    gw = getattr(get_settings(), "gateway", None)
    return f"http://{gw.host}:{gw.port}" if gw else None


def _prepare(target: str, suite: str, *, model: str, key: str | None, gateway_url: str | None,
             rag_hook: str | None, sample: int, data_dir: str | None) -> tuple[Any, Any]:
    """The suite and target the options name; a red one-line error on bad input."""
    from firebreak.errors import ValidationFailed
    from firebreak.redteam.suites import Suite, dataset_probes, resolve
    from firebreak.redteam.targets import resolve_target

    try:
        chosen = resolve(suite)
        if sample:
            if not data_dir:
                raise ValidationFailed("data-dir", "--sample needs --data-dir")
            chosen = Suite(chosen.name, chosen.probes + tuple(dataset_probes(data_dir, sample)))
        gw_url = _gateway_url(gateway_url) if target == "gateway" else None
        tgt = resolve_target(target, model=model, key=key, rag_hook=rag_hook, gateway_url=gw_url)
    except (ValidationFailed, OSError) as exc:
        raise _fail(getattr(exc, "message", str(exc))) from None
    return chosen, tgt


def _attack(tgt: Any, suite: Any, concurrency: int) -> dict[str, Any]:
    """Run with a progress bar; the JSON report."""
    from rich.progress import Progress

    from firebreak.redteam.report import summarise
    from firebreak.redteam.runner import Runner

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"attacking {tgt.name}", total=len(suite.probes))
        result = Runner(tgt, concurrency=concurrency).run(
            suite, progress=lambda _: progress.advance(task))
    return summarise(result)


def _show(report: dict[str, Any]) -> None:
    from rich.table import Column, Table

    s = report["summary"]
    table = Table(Column("attack", no_wrap=True), "success", "severity", "OWASP LLM 2025",
                  "MITRE ATLAS",
                  title=f"findings: {s['successes']} of {s['attack_attempts']} attacks succeeded")
    for f in report["findings"]:
        table.add_row(f["attack"], f"{f['successes']}/{f['attempts']}", f["severity"],
                      ", ".join(t.split(" ")[0] for t in f["owasp"]),
                      ", ".join(t.split(" ")[0] for t in f["atlas"]))
    console.print(table)
    console.print(f"attack success rate {s['success_rate']:.1%} ({s['successes']}/"
                  f"{s['attack_attempts']}), blocked {s['blocked']}, errors {s['errors']}",
                  highlight=False)


def _gate(report: dict[str, Any], threshold: float) -> None:
    """Exit non-zero when nothing was tested or too many attacks succeeded."""
    s = report["summary"]
    if s["errors"] and s["errors"] >= s["attempts"]:
        first = next(a["response"] for a in report["attempts"] if a["outcome"] == "error")
        raise _fail(f"every attempt failed, so nothing was tested: {first}")
    if s["success_rate"] > threshold:
        raise _fail(f"attack success rate {s['success_rate']:.1%} is above the threshold "
                    f"{threshold:.1%}", 1)


def _record(report: dict[str, Any]) -> None:
    """Store the campaign where `firebreak serve` on the same settings reads it."""
    from firebreak.commands.common import database
    from firebreak.redteam.record import record_report

    db = database()
    try:
        saved = record_report(db, report, recorded_by="cli:redteam")
    finally:
        db.dispose()
    console.print(f"recorded as red-team campaign {saved.id} (dashboard: /ui/redteam)",
                  highlight=False)


def register(app: typer.Typer) -> None:
    rt = typer.Typer(help="Red team: attack your LLM apps and agents.", no_args_is_help=True)
    app.add_typer(rt, name="redteam")

    @rt.command("run")
    def run(
        target: str = typer.Option(..., help="URL of an OpenAI-compatible API, 'gateway', "
                                               "or python:module:function"),
        suite: str = typer.Option("owasp-llm", help="built-in suite name or a .jsonl suite file"),
        model: str = typer.Option("default", help="model name sent to the target"),
        key: str = typer.Option(None, envvar="FIREBREAK_REDTEAM_KEY",
                                help="API key for the target"),
        gateway_url: str = typer.Option(None, help="gateway base URL (default: gateway settings)"),
        rag_hook: str = typer.Option(None, help="'responder' or python:module:function giving "
                                                "(insert, remove) document hooks"),
        threshold: float = typer.Option(1.0, min=0.0, max=1.0,
                                        help="exit 1 when the attack success rate exceeds this"),
        json_out: str = typer.Option(None, help="write the JSON report here"),
        html_out: str = typer.Option(None, help="write the HTML report here"),
        concurrency: int = typer.Option(4, min=1, max=64, help="attempts in flight"),
        sample: int = typer.Option(0, min=0, help="also send N attacks sampled from the train "
                                                  "split of the injection data set"),
        data_dir: str = typer.Option(None, envvar="FIREBREAK_INJECTION_DATA",
                                     help="folder of the injection data set (for --sample)"),
        record: bool = typer.Option(False, "--record", help="also record the campaign in the "
                                    "configured store (the dashboard's red-team page)"),
    ) -> None:
        """Run a suite against a target; print findings; write reports."""
        from firebreak.redteam.report import write

        chosen, tgt = _prepare(target, suite, model=model, key=key, gateway_url=gateway_url,
                               rag_hook=rag_hook, sample=sample, data_dir=data_dir)
        report = _attack(tgt, chosen, concurrency)
        _show(report)
        write(report, json_out=json_out, html_out=html_out)
        if record:
            _record(report)
        _gate(report, threshold)

    @rt.command("export")
    def export(incident: str = typer.Argument(..., help="incident id"),
               out: str = typer.Option(..., "--out", help="JSON lines suite file to write"),
               ) -> None:
        """Write an incident's attack samples as a suite that `redteam run --suite` replays."""
        from firebreak.commands.common import database
        from firebreak.errors import FirebreakError

        try:
            from firebreak.forensics.export import export_regression_suite
        except ImportError:
            raise _fail("incident export needs firebreak.forensics, which is not installed",
                        3) from None
        try:
            count = export_regression_suite(database(), incident, out)
        except FirebreakError as exc:
            raise _fail(exc.message, exc.exit_code) from None
        console.print(f"wrote {count} attack samples from {incident} to {out}", highlight=False)
