"""The monitor stage: events in, windows folded and closed, detectors run, signals out.

Subscribes to `bus.EVENTS`; folds each deployment's events into tumbling windows (aligned
to the epoch, by event time); closes a window when the wall clock passes its end plus a
grace period (a timer) or when an event at least that much later arrives (event time).
On close it runs every enabled detector on the window, the deployment's reference and
recent history, publishes firing signals on `bus.SIGNALS`, publishes a "resolved" copy of
each signal that fired before and is now clear, and stores the window. Events for a
window already closed count as late (metric) and are dropped from the live windows; they
stay in the event store.

Settings, under `plugins.monitor` in firebreak.yaml: window_seconds (60), grace_seconds
(5), fold_batch (5000: events buffered per window, then folded in one batch),
warmup_windows (10: merged into the reference when a deployment has none),
history_windows (60), keep_windows (1440), tick_seconds (1), disabled (detector slugs);
detector parameters under `plugins.detectors.<slug>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict

from firebreak import bus as topics
from firebreak import metrics
from firebreak.detect.base import DetectionContext
from firebreak.detect.registry import build_detectors
from firebreak.errors import ValidationFailed
from firebreak.monitor.base import DeploymentMemory
from firebreak.monitor.reference import merge_windows, window_rows
from firebreak.monitor.window import BUILTIN_AGGREGATES, Window, window_bounds
from firebreak.signals import Signal
from firebreak.store import monitor as store

log = structlog.get_logger(__name__)
_TS, _DEPLOYMENT = attrgetter("ts"), attrgetter("deployment")


class MonitorSettings(BaseModel):
    """The `plugins.monitor` block."""

    model_config = ConfigDict(extra="forbid")
    window_seconds: float = 60.0
    grace_seconds: float = 5.0
    warmup_windows: int = 10
    history_windows: int = 60
    keep_windows: int = 1440
    tick_seconds: float = 1.0
    fold_batch: int = 5000          # events buffered per window before one batched fold
    disabled: list[str] = []


class _Deployment:
    """Live state of one deployment: open windows, history, memory, firing signals."""

    def __init__(self, history: int) -> None:
        self.open: dict[datetime, Window] = {}
        self.pending: dict[datetime, list[Any]] = defaultdict(list)
        self.closed_until: datetime | None = None
        self.history: deque[Window] = deque(maxlen=history)
        self.warmup: list[Window] = []
        self.memory = DeploymentMemory()
        self.firing: dict[str, Signal] = {}
        self.reference: Window | None = None
        self.reference_stamp: datetime | None = None
        self.loaded = False


class MonitorStage:
    """See module docstring."""

    name = "monitor"

    def __init__(self, runtime: Any, settings: MonitorSettings | None = None,
                 detectors: list[Any] | None = None) -> None:
        plugins = runtime.settings.plugins
        try:
            self.settings = settings or MonitorSettings(**plugins.get("monitor", {}))
        except Exception as exc:
            raise ValidationFailed("plugins.monitor", str(exc)) from exc
        self.runtime = runtime
        self.db = runtime.db
        self.detectors = detectors if detectors is not None else build_detectors(
            plugins.get("detectors", {}), set(self.settings.disabled))
        self.kinds = [cls for d in self.detectors for cls in d.aggregates]
        self.registry = {**BUILTIN_AGGREGATES, **{c.name: c for c in self.kinds}}
        self.size = timedelta(seconds=self.settings.window_seconds)
        self.grace = timedelta(seconds=self.settings.grace_seconds)
        self.deployments: dict[str, _Deployment] = defaultdict(
            lambda: _Deployment(self.settings.history_windows))
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self.runtime.bus.subscribe(topics.EVENTS, self.handle, name="monitor")
        self._timer = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None

    async def handle(self, events: list[Any]) -> None:
        """Fold a batch of stored events; close windows that event time has passed."""
        async with self._lock:
            for name, batch in _by_deployment(events).items():
                state = self.deployments[name]
                newest = self._fold(name, state, batch)
                await self._close_due(name, state, newest)

    def _fold(self, name: str, state: _Deployment, batch: list[Any]) -> datetime:
        """Buffer the batch in its windows (folding full buffers); returns the newest ts."""
        times = [ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
                 for ts in map(_TS, batch)]
        newest = max(times)
        first = window_bounds(min(times), self.size)[0]
        if first == window_bounds(newest, self.size)[0]:  # usually the batch is in one window
            groups = {first: batch}
        else:
            slots: dict[datetime, list[Any]] = defaultdict(list)
            for e, ts in zip(batch, times, strict=True):
                slots[window_bounds(ts, self.size)[0]].append(e)
            groups = dict(slots)
        for start, group in sorted(groups.items()):
            if state.closed_until is not None and start < state.closed_until:
                metrics.monitor_events.labels(result="late").inc(len(group))
                continue
            window = state.open.get(start)
            if window is None:
                window = state.open[start] = Window.zero(name, start, start + self.size,
                                                         self.kinds)
            buffer = state.pending[start]
            buffer.extend(group)
            if len(buffer) >= self.settings.fold_batch:  # sketches update fastest in bulk
                window.update(buffer, state.memory)
                buffer.clear()
            metrics.monitor_events.labels(result="folded").inc(len(group))
        return newest

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tick_seconds)
            try:
                await self.flush(datetime.now(UTC))
            except Exception:  # the timer must survive one bad window
                log.exception("monitor.tick_failed")

    async def flush(self, now: datetime | None = None) -> list[Signal]:
        """Close every window whose end + grace is before `now` (all windows if None)."""
        published: list[Signal] = []
        async with self._lock:
            for name, state in list(self.deployments.items()):
                published += await self._close_due(name, state, now)
        return published

    async def _close_due(self, name: str, state: _Deployment, now: datetime | None
                         ) -> list[Signal]:
        published: list[Signal] = []
        for start in sorted(state.open):
            window = state.open[start]
            if now is not None and window.end + self.grace > now:
                break
            del state.open[start]
            rest = state.pending.pop(start, [])
            if rest:
                window.update(rest, state.memory)
            state.closed_until = max(state.closed_until or window.end, window.end)
            published += await self._close(name, state, window)
        return published

    async def _close(self, name: str, state: _Deployment, window: Window) -> list[Signal]:
        await asyncio.to_thread(self._load, name, state)
        ctx = DetectionContext(name, window, state.reference, tuple(state.history))
        signals = await asyncio.to_thread(self._run_detectors, ctx, state)
        state.history.append(window)
        await asyncio.to_thread(self._persist, name, state, window)
        metrics.monitor_windows.inc()
        if signals:
            await self.runtime.bus.publish(topics.SIGNALS, signals)
        return signals

    def _run_detectors(self, ctx: DetectionContext, state: _Deployment) -> list[Signal]:
        out: list[Signal] = []
        kinds = set(ctx.window.counts)
        for det in self.detectors:
            if det.reads and not (det.reads & kinds) and not _firing_for(state, det.name):
                continue
            started = time.perf_counter()
            try:
                found = det.detect(ctx)
            except Exception:  # one faulty detector never stops the others
                log.exception("detector.failed", detector=det.name, deployment=ctx.deployment)
                found = None
            metrics.detector_seconds.labels(detector=det.name).observe(
                time.perf_counter() - started)
            if found is not None:
                out += self._transitions(state, det.name, found, ctx.window)
        for sig in out:
            metrics.signals.labels(category=sig.category, status=sig.status).inc()
        return out

    @staticmethod
    def _transitions(state: _Deployment, detector: str, found: list[Signal],
                     window: Window) -> list[Signal]:
        """Firing signals as found, plus resolved copies of this detector's cleared ones."""
        now = {s.fingerprint: s for s in found}
        out = list(found)
        for fp, old in list(state.firing.items()):
            if old.detector == detector and fp not in now:
                del state.firing[fp]
                out.append(old.model_copy(update={
                    "status": "resolved", "ts": window.end, "window_start": window.start,
                    "window_end": window.end, "message": f"cleared: {old.message}"}))
        state.firing.update(now)
        return out

    def _load(self, name: str, state: _Deployment) -> None:
        """Read the reference (when it changed) and, once, the stored history."""
        if not state.loaded:
            state.loaded = True
            bodies = store.recent_windows(self.db, name, self.settings.history_windows)
            state.history.extend(Window.from_bytes(b, self.registry) for b in bodies)
        stamp = store.baseline_stamp(self.db, name)
        if stamp is not None and stamp != state.reference_stamp:
            found = store.get_baseline(self.db, name)
            if found is not None:
                state.reference = Window.from_bytes(found[1], self.registry)
                state.reference_stamp = stamp

    def _persist(self, name: str, state: _Deployment, window: Window) -> None:
        store.save_window(self.db, deployment=name, start=window.start, end=window.end,
                          events=window.events, body=window.to_bytes())
        store.prune_windows(self.db, name, self.settings.keep_windows)
        if state.reference is None and self.settings.warmup_windows > 0 and window.events:
            state.warmup.append(window)
            if len(state.warmup) >= self.settings.warmup_windows:
                ref = merge_windows(state.warmup)
                assert ref is not None
                info = store.set_baseline(
                    self.db, deployment=name, source="warmup",
                    detail=f"{len(state.warmup)} windows from {ref.start.isoformat()}",
                    rows=window_rows(ref), body=ref.to_bytes())
                state.reference, state.reference_stamp = ref, info.created_at
                state.warmup.clear()


def _firing_for(state: _Deployment, detector: str) -> bool:
    return any(s.detector == detector for s in state.firing.values())


def _by_deployment(events: list[Any]) -> dict[str, list[Any]]:
    """The batch split by deployment, in arrival order (one pass when all share one)."""
    names = list(map(_DEPLOYMENT, events))
    if names and names.count(names[0]) == len(names):
        return {names[0]: events}
    out: dict[str, list[Any]] = defaultdict(list)
    for e, name in zip(events, names, strict=True):
        out[name].append(e)
    return out


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def create(runtime: Any) -> MonitorStage:
    """Stage factory listed in runtime.STAGES."""
    return MonitorStage(runtime)
