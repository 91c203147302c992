"""Rich views of chaos runs: a live progress line per scenario and the scorecard table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from firebreak.chaos.runner import Progress as ProgressFn
from firebreak.chaos.runner import Scorecard

_OK, _NO = "[green]yes[/green]", "[red]no[/red]"


def _yn(value: bool) -> str:
    return _OK if value else _NO


def _num(value: float | None, unit: str = "s") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def scorecard_table(card: Scorecard) -> Table:
    table = Table(title=f"Chaos scorecard ({card.profile} profile) - "
                        f"{'[green]PASS[/green]' if card.passed else '[red]FAIL[/red]'}",
                  caption=f"false incidents during the {card.warmup_seconds:g}s clean warm-up: "
                          f"{len(card.false_incidents)}")
    for col in ("scenario", "detected", "category", "TTD", "events", "TTC", "containment",
                "notified", "report"):
        table.add_column(col)
    for s in card.scores:
        category = s.category or "-"
        wanted = "" if s.category_right else f"[red](want {s.expected_category})[/red]"
        gateway = ", ".join(a for a in s.actions if a.startswith("gateway"))
        table.add_row(
            s.scenario, _yn(s.detected), f"{category} {wanted}",
            _num(s.time_to_detect_s), str(s.events_to_detect or "-"), _num(s.time_to_contain_s),
            f"{_yn(s.containment_right)} {gateway}",
            str(s.notifications), _yn(s.report_written))
    return table


@contextmanager
def live_progress(names: list[str], quiet: bool = False) -> Iterator[ProgressFn]:
    """A progress display fed by the runner's progress callback."""
    console = Console(stderr=True, quiet=quiet)
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                   console=console)
    with bar:
        task = bar.add_task("starting the world", total=len(names))

        def progress(stage: str, info: dict[str, Any]) -> None:
            if stage == "warmup":
                bar.update(task, description=f"clean warm-up ({info['seconds']:g}s)")
            elif stage == "soak":
                bar.update(task, description=f"clean phase: {info['answered']:,} of "
                                             f"{info['requests']:,} requests answered")
            elif stage == "injected":
                bar.update(task, description=f"{info['scenario']}: fault injected")
            elif stage == "detected":
                bar.update(task, description=f"{info['scenario']}: incident {info['incident']} "
                                             f"({info['category']})")
            elif stage == "scored":
                bar.advance(task)
                mark = "[green]passed[/green]" if info["passed"] else "[red]failed[/red]"
                console.print(f"  {info['scenario']}: {mark} in {info['elapsed']}s")

        yield progress
