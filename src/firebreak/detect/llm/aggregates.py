"""Per-window state for the LLM detectors: mergeable counters with bounded evidence.

Every aggregate follows firebreak.monitor.base.Aggregate: zero / update / merge /
to_dict / from_dict. Counters add; evidence lists are capped; keyed counters (per API key,
user, source, tool) keep at most KEYS entries, the heaviest, so memory stays bounded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar, Self

from firebreak.detect.llm.text import groundedness, is_refusal, toxic_terms
from firebreak.monitor.base import DeploymentMemory, capped_extend
from firebreak.monitor.profile import ColumnProfile

EVIDENCE = 100
KEYS = 500


def _trim(counter: Counter[str]) -> Counter[str]:
    return counter if len(counter) <= KEYS else Counter(dict(counter.most_common(KEYS)))


class Tally:
    """Named counters, each with capped evidence ids; merge is element-wise addition."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.ids: dict[str, list[str]] = {}

    def add(self, name: str, event_id: str, n: int = 1) -> None:
        self.counts[name] += n
        ids = self.ids.setdefault(name, [])
        if len(ids) < EVIDENCE:
            ids.append(event_id)

    def merge(self, other: Tally) -> Tally:
        out = Tally()
        out.counts = self.counts + other.counts
        out.ids = {k: list(v) for k, v in self.ids.items()}
        for k, v in other.ids.items():
            capped_extend(out.ids.setdefault(k, []), v, EVIDENCE)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "ids": self.ids}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        out = cls()
        out.counts, out.ids = Counter(data["counts"]), {k: list(v) for k, v in data["ids"].items()}
        return out


class _TallyAggregate:
    """Base for aggregates made of a request count, a Tally and keyed Counters."""

    name: ClassVar[str] = ""
    kinds: ClassVar[frozenset[str]] = frozenset({"llm.call"})
    keyed: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.n = 0
        self.tally = Tally()
        self.by: dict[str, Counter[str]] = {k: Counter() for k in self.keyed}

    @classmethod
    def zero(cls) -> Self:
        return cls()

    def merge(self, other: Self) -> Self:
        out = type(self)()
        out.n = self.n + other.n
        out.tally = self.tally.merge(other.tally)
        out.by = {k: _trim(self.by[k] + other.by[k]) for k in self.keyed}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "tally": self.tally.to_dict(),
                "by": {k: dict(v) for k, v in self.by.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        out = cls()
        out.n, out.tally = int(data["n"]), Tally.from_dict(data["tally"])
        out.by = {k: Counter(data["by"].get(k, {})) for k in cls.keyed}
        return out

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        for e in events:
            if e.kind in self.kinds and self.fold(e):
                self.n += 1
        for k in self.keyed:
            self.by[k] = _trim(self.by[k])

    def fold(self, e: Any) -> bool:
        """Fold one event; False when it does not count towards `n`."""
        raise NotImplementedError


class VerdictAggregate(_TallyAggregate):
    """Flagged scanner verdicts by label, and by API key, user, client address and source."""

    name: ClassVar[str] = "verdicts"
    keyed: ClassVar[tuple[str, ...]] = ("api_key", "user", "client_ip", "source", "doc")

    def fold(self, e: Any) -> bool:
        labels = {v.label for v in e.verdicts if v.counted}
        for label in labels:
            self.tally.add(label, e.event_id)
            for key, value in (("api_key", e.api_key_id), ("user", e.user_id),
                               ("client_ip", e.client_ip)):
                if value:
                    self.by[key][f"{label}|{value}"] += 1
        for v in e.verdicts:
            if v.counted and v.source:
                self.by["source"][f"{v.label}|{v.source}"] += 1
            if v.counted and v.doc_id:
                self.by["doc"][f"{v.label}|{v.doc_id}"] += 1
        return True

    def top(self, by: str, label: str | set[str], k: int = 5) -> list[tuple[str, int]]:
        """The keys (API keys, users, sources, ...) behind `label` verdicts, heaviest first."""
        labels = {label} if isinstance(label, str) else label
        merged: Counter[str] = Counter()
        for composite, count in self.by[by].items():
            lab, _, value = composite.partition("|")
            if lab in labels:
                merged[value] += count
        return merged.most_common(k)


class QualityAggregate(_TallyAggregate):
    """Refusals, empty and truncated answers, toxic terms, PII and answer lengths."""

    name: ClassVar[str] = "llm_quality"

    def __init__(self) -> None:
        super().__init__()
        self.length = ColumnProfile()

    def fold(self, e: Any) -> bool:
        answer = e.response or ""
        if e.status != "ok":
            return False
        self.tally.add("answered", e.event_id)
        if not answer.strip():
            self.tally.add("empty", e.event_id)
        elif is_refusal(answer):
            self.tally.add("refusal", e.event_id)
        if e.finish_reason == "length":
            self.tally.add("truncated", e.event_id)
        if toxic_terms(answer):
            self.tally.add("toxic", e.event_id)
        if any(v.counted and v.target == "output" and v.label in ("pii", "secret")
               for v in e.verdicts):
            self.tally.add("pii", e.event_id)
        return True

    def update(self, events: Sequence[Any], memory: DeploymentMemory) -> None:
        super().update(events, memory)
        import numpy as np

        lengths = [len((e.response or "").split()) for e in events
                   if e.kind == "llm.call" and e.status == "ok" and e.response]
        if lengths:
            self.length.update(np.asarray(lengths, dtype=float))

    def merge(self, other: Self) -> Self:
        out = super().merge(other)
        out.length = self.length.merge(other.length)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "length": self.length.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        out = super().from_dict(data)
        out.length = ColumnProfile.from_dict(data["length"])
        return out


class GroundingAggregate(_TallyAggregate):
    """Answers scored against their retrieved chunks; ungrounded ones counted by source."""

    name: ClassVar[str] = "grounding"
    keyed: ClassVar[tuple[str, ...]] = ("source",)
    threshold: ClassVar[float] = 0.5

    def fold(self, e: Any) -> bool:
        if e.status != "ok" or not e.response or not e.retrieved or is_refusal(e.response):
            return False  # only answers that could be grounded count towards the rate
        question = next((m.content for m in reversed(e.messages) if m.role == "user"), "")
        score = groundedness(e.response, [c.text for c in e.retrieved], question)
        if score < self.threshold:
            self.tally.add("ungrounded", e.event_id)
            for c in e.retrieved:
                if c.source:
                    self.by["source"][c.source] += 1
        return True


class AgentAggregate(_TallyAggregate):
    """Tool calls by tool, repeated identical calls (loops) and risky tool arguments."""

    name: ClassVar[str] = "agents"
    keyed: ClassVar[tuple[str, ...]] = ("tool", "api_key")
    loop_repeats: ClassVar[int] = 3

    def fold(self, e: Any) -> bool:
        if not e.tool_calls:
            return True
        self.tally.add("with_tools", e.event_id)
        seen: Counter[str] = Counter()
        for call in e.tool_calls:
            self.by["tool"][call.name] += 1
            self.tally.add(f"tool:{call.name}", e.event_id)
            seen[f"{call.name}:{call.arguments!s}"] += 1
            if _risky_arguments(call.arguments):
                self.tally.add("risky_args", e.event_id)
        if seen and max(seen.values()) >= self.loop_repeats:
            self.tally.add("loop", e.event_id)
        if e.api_key_id:
            self.by["api_key"][e.api_key_id] += len(e.tool_calls)
        return True

    def tools(self) -> Counter[str]:
        return self.by["tool"]


def _risky_arguments(arguments: Any) -> bool:
    """Instructions aimed at a model, or secrets, inside tool arguments."""
    from firebreak.scan import ScanContext, scan_all

    text = arguments if isinstance(arguments, str) else str(arguments)
    if len(text) < 12:
        return False
    verdicts = scan_all(text[:4000], ScanContext(target="tool"))
    return any(v.counted and v.label in ("injection", "jailbreak", "indirect_injection", "secret")
               for v in verdicts)
