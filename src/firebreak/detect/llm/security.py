"""Attack rates: injection, jailbreak and indirect-injection verdicts per deployment, with
the API keys, users, client addresses and RAG sources behind them; canary leaks and
secrets in answers (any is an incident)."""

from __future__ import annotations

from typing import Any, ClassVar

from firebreak.detect.base import DetectionContext
from firebreak.detect.llm.aggregates import VerdictAggregate
from firebreak.detect.llm.base import RateConfig, RateDetector
from firebreak.signals import Contributor, Signal

_BY = (("api_key", "api_key"), ("user", "user"), ("client_ip", "client_ip"))


class _VerdictRate(RateDetector):
    reads: ClassVar[frozenset[str]] = frozenset({"llm.call"})
    aggregates: ClassVar[tuple[type, ...]] = (VerdictAggregate,)
    source: ClassVar[str] = "verdicts"

    def contributors(self, agg: Any) -> list[Contributor]:
        out = []
        for by, kind in (*_BY, ("source", "source"), ("doc", "document")):
            for key, count in agg.top(by, self.counter, 5):
                out.append(Contributor(kind=kind, key=key, value=float(count)))  # type: ignore[arg-type]
        return out

    def facts(self, agg: Any) -> dict[str, Any]:
        return {f"top_{by}s": [k for k, _ in agg.top(by, self.counter, 5)]
                for by in ("api_key", "user", "client_ip", "source")}


class InjectionRate(_VerdictRate):
    """Direct prompt-injection verdicts rising (a campaign)."""

    name, counter, metric, what = ("injection_rate", "injection", "injection_rate",
                                   "prompt-injection attempts")
    category: ClassVar[str] = "prompt_injection"


class JailbreakRate(_VerdictRate):
    """Jailbreak verdicts rising (a wave)."""

    name, counter, metric, what = "jailbreak_rate", "jailbreak", "jailbreak_rate", "jailbreaks"
    category: ClassVar[str] = "jailbreak"


class IndirectInjectionRate(_VerdictRate):
    """Instructions inside retrieved chunks or tool output. Concentrated in one RAG source
    it is RAG poisoning; spread out, indirect injection."""

    name, counter, metric, what = ("indirect_injection_rate", "indirect_injection",
                                   "indirect_injection_rate", "chunks with hidden instructions")
    category: ClassVar[str] = "indirect_injection"

    class Config(RateConfig):
        min_count: int = 3
        poisoned_source_share: float = 0.6

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        signals = super().detect(ctx)
        if not signals:
            return signals
        agg = ctx.window.get(self.source)
        sources = agg.top("source", self.counter, 3)
        total = sum(c for _, c in agg.top("source", self.counter, 1000)) or 1
        if sources and sources[0][1] / total >= self.config.poisoned_source_share:
            sig = signals[0]
            sig.category = "rag_poisoning"
            sig.message += f"; {sources[0][1] / total:.0%} from source {sources[0][0]!r}"
            sig.facts["poisoned_source"] = sources[0][0]
        return signals


class _Leak(_VerdictRate):
    """A leak is an incident at the first occurrences, whatever the baseline."""

    class Config(RateConfig):
        min_count: int = 2
        min_ratio: float = 1.0
        min_lift: float = 0.0
        alpha: float = 1.0


class CanaryLeak(_Leak):
    """The deployment's system-prompt canary appeared in answers."""

    name, counter, metric, what = "canary_leak", "canary_leak", "canary_leaks", \
        "answers leaking the system prompt"
    category: ClassVar[str] = "system_prompt_leak"


class SecretLeak(_Leak):
    """API keys or private keys in answers."""

    name, counter, metric, what = "secret_leak", "secret", "secret_leaks", \
        "answers carrying secrets"
    category: ClassVar[str] = "sensitive_data_leak"
