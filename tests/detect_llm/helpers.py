"""Helpers for the LLM detector tests: real texts, cached scanner verdicts, windows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from firebreak.detect.base import DetectionContext
from firebreak.events import Verdict
from firebreak.monitor.base import DeploymentMemory
from firebreak.monitor.window import Window

DATA = Path(__file__).parents[2].parent / "shared" / "data"
if not DATA.exists():  # the CI clone sits beside shared/ as well
    DATA = Path("/work/shared/data")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=1)
def injection_rows() -> list[dict[str, Any]]:
    with open(DATA / "injection" / "dev.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@lru_cache(maxsize=1)
def halueval_rows() -> list[dict[str, Any]]:
    with open(DATA / "hallucination" / "halueval_qa.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@lru_cache(maxsize=4096)
def verdicts_for(text: str, target: str = "input") -> tuple[Verdict, ...]:
    from firebreak.scan import ScanContext, scan_all

    return tuple(scan_all(text, ScanContext(target=target)))  # type: ignore[arg-type]


def window(deployment: str, events: Iterable[Any], aggregates: Sequence[type[Any]],
           index: int = 0, seconds: int = 30, memory: DeploymentMemory | None = None) -> Window:
    start = T0 + timedelta(seconds=seconds * index)
    w = Window.zero(deployment, start, start + timedelta(seconds=seconds), aggregates)
    w.update(list(events), memory or DeploymentMemory())
    return w


def context(w: Window, reference: Window | None,
            history: Sequence[Window] = ()) -> DetectionContext:
    return DetectionContext(deployment=w.deployment, window=w, reference=reference,
                            history=tuple(history))


def merge(windows: Sequence[Window]) -> Window:
    out = windows[0]
    for w in windows[1:]:
        out = out.merge(w)
    return out
