"""The detector contract: how a detector plugs into the monitor's windows and signals.

A detector is a class registered under the entry-point group ``firebreak.detectors``
(its entry-point name is its slug). It declares, as class attributes:

- ``name``: the slug (same as the entry-point name); ``version``; ``category``: the taxonomy
  slug its signals carry (data_drift, performance_degradation, unbounded_consumption,
  availability; Detection II: prompt_injection, jailbreak, indirect_injection, rag_poisoning,
  data_poisoning, embedding_manipulation, hallucination, unsafe_output, sensitive_data_leak,
  system_prompt_leak, excessive_agency).
- ``reads``: the event kinds it looks at (``"prediction"``, ``"llm.call"``, ``"label"``, ...);
  the monitor skips detectors whose kinds a deployment never sends.
- ``aggregates``: the aggregate classes it needs per window (see ``firebreak.monitor.base``:
  ``zero/update/merge/to_dict/from_dict``). Built-ins: FeatureAggregate ("features"),
  OutputAggregate ("outputs"), OpsAggregate ("ops"), EmbeddingAggregate ("embeddings"),
  PerformanceAggregate ("performance"). A detector that needs other state (e.g. counts of
  flagged scanner verdicts) ships its own aggregate class; the monitor creates one per
  window, folds events into it and merges it like the rest. Names are shared: two detectors
  naming the same aggregate read one instance.
- ``Config``: a pydantic model of its settings (thresholds, minimum sample sizes), filled
  from ``plugins: {detectors: {<slug>: {...}}}`` in firebreak.yaml.

``detect(ctx)`` gets a `DetectionContext` — the closed window, the deployment's reference
window (from a reference file, a pinned window or the warm-up) and the recent closed
windows (robust baselines) — and returns:

- ``None`` when there is not enough data to judge (the monitor then keeps any firing signal
  as it is), or
- a list of firing `Signal`s (empty = all clear). The monitor publishes them, and publishes
  a "resolved" copy of every signal that fired before (same fingerprint) and did not fire
  now. Build them with `BaseDetector.signal(...)`, which fills deployment, detector,
  category and window, and takes the metric, value, threshold, `contributors` (top features,
  API keys, sources, ...) and `evidence` (event ids, at most 1000).

``detect`` is pure: no I/O, no clock, so it is testable with a hand-built window. It must
stay quiet on clean traffic: use minimum sample sizes, multiple-testing control across
columns, and effect-size floors, because the monitor evaluates every window, forever.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from firebreak.monitor.window import Window
from firebreak.signals import Contributor, Signal

CATEGORIES = frozenset({
    "data_drift", "performance_degradation", "unbounded_consumption", "availability",
    "prompt_injection", "jailbreak", "indirect_injection", "rag_poisoning", "data_poisoning",
    "embedding_manipulation", "hallucination", "unsafe_output", "sensitive_data_leak",
    "system_prompt_leak", "excessive_agency",
})


@dataclass(frozen=True)
class DetectionContext:
    """What a detector sees: the closed window, the reference, and recent history."""

    deployment: str
    window: Window
    reference: Window | None = None
    history: Sequence[Window] = field(default_factory=tuple)
    # results shared by the detectors of one window (a baseline merged once, a comparison
    # two detectors read); detectors must treat what they get from here as read-only
    shared: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """compute() once per context and key."""
        if key not in self.shared:
            self.shared[key] = compute()
        return self.shared[key]

    def baseline(self, name: str) -> Any:
        """The reference's aggregate `name`, else the merge of history's, else None."""
        if self.reference is not None and self.reference.get(name) is not None:
            return self.reference.get(name)
        return self.memo(("baseline", name), lambda: self._merged_history(name))

    def _merged_history(self, name: str) -> Any:
        parts = [w.get(name) for w in self.history if w.get(name) is not None]
        if not parts:
            return None
        out = parts[0]
        for part in parts[1:]:
            out = out.merge(part)
        return out


class BaseDetector:
    """Convenience base: settings from `Config`, and `signal()` to build signals."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    category: ClassVar[str] = "data_drift"
    reads: ClassVar[frozenset[str]] = frozenset()
    aggregates: ClassVar[tuple[type[Any], ...]] = ()

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def __init__(self, **params: Any) -> None:
        self.config = self.Config(**params)

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        raise NotImplementedError

    def signal(self, ctx: DetectionContext, *, metric: str, value: float,
               threshold: float | None, message: str,
               contributors: Sequence[Contributor] = (), evidence: Sequence[str] = (),
               facts: Mapping[str, Any] | None = None,
               labels: Mapping[str, str] | None = None) -> Signal:
        """A firing signal for this detector on `ctx.window`."""
        return Signal(
            deployment=ctx.deployment, detector=self.name, metric=metric, value=float(value),
            threshold=None if threshold is None else float(threshold), category=self.category,
            ts=ctx.window.end, window_start=ctx.window.start, window_end=ctx.window.end,
            message=message, contributors=list(contributors)[:20],
            evidence_event_ids=list(dict.fromkeys(evidence))[:1000], facts=dict(facts or {}),
            labels=dict(labels or {}),
        )
