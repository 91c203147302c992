"""Agent behaviour: tools outside the allow-list, tool-call loops, tool-call rate jumps, and
tool arguments that carry instructions or secrets."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from firebreak.detect.base import BaseDetector, DetectionContext
from firebreak.detect.llm.aggregates import AgentAggregate
from firebreak.detect.llm.rates import rate_rise
from firebreak.signals import Contributor, Signal


class AgentTools(BaseDetector):
    """Excessive agency in a deployment's tool calls (see module docstring).

    The allow-list per deployment comes from config; without one, the tools seen in the
    reference are the allow-list (a tool never used before is suspect).
    """

    name: ClassVar[str] = "agent_tools"
    category: ClassVar[str] = "excessive_agency"
    reads: ClassVar[frozenset[str]] = frozenset({"llm.call"})
    aggregates: ClassVar[tuple[type, ...]] = (AgentAggregate,)

    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        allowed_tools: dict[str, list[str]] = Field(default_factory=dict)
        min_calls: int = 2
        alpha: float = 1e-4

    def detect(self, ctx: DetectionContext) -> list[Signal] | None:
        agg = ctx.window.get("agents")
        if agg is None or agg.n == 0:
            return None
        base = ctx.baseline("agents")
        allowed = self.config.allowed_tools.get(ctx.deployment)
        if allowed is None and base is not None:
            allowed = list(base.tools())
        out = []
        forbidden = {t: c for t, c in agg.tools().items()
                     if allowed is not None and t not in allowed}
        if sum(forbidden.values()) >= self.config.min_calls:
            ids = [i for t in forbidden for i in agg.tally.ids.get(f"tool:{t}", [])]
            out.append(self.signal(
                ctx, metric="forbidden_tool_calls", value=sum(forbidden.values()), threshold=1,
                message=f"tool calls outside the allow-list: {', '.join(sorted(forbidden))}",
                contributors=[Contributor(kind="tool", key=t, value=float(c))
                              for t, c in forbidden.items()],
                evidence=ids, facts={"tools": sorted(forbidden)}))
        for counter, metric, what in (("with_tools", "tool_call_rate", "calls using tools"),
                                      ("loop", "tool_loops", "tool-call loops"),
                                      ("risky_args", "risky_tool_arguments",
                                       "tool arguments with instructions or secrets")):
            count = agg.tally.counts.get(counter, 0)
            base_c = base.tally.counts.get(counter, 0) if base is not None else 0
            test = rate_rise(count, agg.n, base_c, base.n if base is not None else 0,
                             min_count=self.config.min_calls, alpha=self.config.alpha)
            if test.fires:
                out.append(self.signal(ctx, metric=metric, value=test.rate,
                                       threshold=test.baseline, message=f"{what}: {count}",
                                       evidence=agg.tally.ids.get(counter, [])))
        return out
