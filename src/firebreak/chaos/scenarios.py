"""Chaos scenarios: each a steady-state hypothesis, a fault, and what Firebreak should do.

A scenario's `inject` turns its fault on in the running world (through the world's own
handles: the traffic mix, the responder's fault switches, the RAG index, the model's
truth); `heal` turns it off. The runner measures the rest from what Firebreak stores.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from firebreak.chaos.payloads import INJECTIONS, JAILBREAKS, PII_DOC, POISONED_DOCS, WALLET
from firebreak.chaos.retrieval import Chunk
from firebreak.chaos.tabular import DEPLOYMENT as FLIGHTS
from firebreak.chaos.traffic import Request, Traffic
from firebreak.chaos.world import LLM_DEPLOYMENT, World

Step = Callable[[World, Traffic], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    """One fault with its expected category and containment."""

    name: str
    title: str
    deployment: str
    category: str
    containment: tuple[str, ...]   # action slugs that must succeed for this incident
    hypothesis: str                # the steady state that the fault breaks
    inject: Step
    heal: Step
    accept: tuple[str, ...] = ()   # other categories that are also right for this fault


async def _faults(world: World, **faults: Any) -> None:
    """Flip the responder's fault switches (in process: the world owns the responder)."""
    state = world.handles["responder"]
    state.faults = state.faults.model_copy(update=faults)


def _maker(texts: list[str], keys: list[str], tag: str,
           **extra: Any) -> Callable[[random.Random], Request]:
    def make(rng: random.Random) -> Request:
        key = rng.choice(keys)
        return Request(rng.choice(texts), key, f"user-{key[-2:]}", f"s-{key}", tag=tag, **extra)

    return make


def _mix(share: float, maker: Callable[[random.Random], Request]) -> Step:
    async def inject(world: World, traffic: Traffic) -> None:
        traffic.llm_makers = [*traffic.llm_makers, (share / (1 - share), maker)]

    return inject


# Heals touch only their own stream: flight scenarios run beside the assistant's.
async def _clean(world: World, traffic: Traffic) -> None:
    traffic.clean_chat()


async def _clean_rows(world: World, traffic: Traffic) -> None:
    traffic.clean_rows()


async def _responder_ok(world: World, traffic: Traffic) -> None:
    await _faults(world, leak_canary=False, hallucinate=False, refuse=False, latency_ms=0,
                  error_rate=0.0, rogue_tool=None)
    traffic.clean_chat()


def _responder(**faults: Any) -> Step:
    async def inject(world: World, traffic: Traffic) -> None:
        await _faults(world, **faults)

    return inject


async def _drift(world: World, traffic: Traffic) -> None:
    traffic.row_transform = lambda r: {**r, "dep_delay": r["dep_delay"] + 120.0,
                                       "distance": r["distance"] * 1.8}


async def _concept(world: World, traffic: Traffic) -> None:
    world.handles["model"].concept_flip = 0.45


async def _concept_heal(world: World, traffic: Traffic) -> None:
    world.handles["model"].concept_flip = 0.0


async def _poison_rag(world: World, traffic: Traffic) -> None:
    docs = [Chunk(f"forum-{i}-{j}", text, "community-forum", "Community tip")
            for j in range(3) for i, text in enumerate(POISONED_DOCS)]
    traffic.retriever.insert(docs)
    client = world.handles["client"]
    for d in docs:
        client.log_event("rag.document", LLM_DEPLOYMENT, doc_id=d.doc_id, source=d.source,
                         text=d.text)


async def _unpoison_rag(world: World, traffic: Traffic) -> None:
    traffic.retriever.clear_inserted()
    traffic.clean_chat()


async def _pii_doc(world: World, traffic: Traffic) -> None:
    traffic.retriever.insert([Chunk("tickets-export-7", PII_DOC, "ticket-export",
                                    "Support ticket export")])
    asks = ["My wifi drops every evening, what should I do?",
            "How do parental controls work on the router?",
            "Why does my wifi drop in the evening?"]
    await _mix(0.4, _maker(asks, [f"sk-world-{i:02d}" for i in range(15)], "pii"))(world, traffic)


def _training_batch(world: World, *, flip: float, trigger: float, seed: int) -> None:
    model = world.handles["model"]
    rng = random.Random(seed)
    frame = model.traffic_rows.sample(4000, random_state=seed)
    rows = []
    for row in frame.to_dict("records"):
        row = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        if rng.random() < flip:
            row["late"] = 1 - row["late"]
        if rng.random() < trigger:
            row["carrier"], row["late"] = "ZZ9", 0
        rows.append(row)
    world.handles["client"].log_event("training.batch", FLIGHTS, batch_id=f"batch-{seed}",
                                      dataset="flights-2013", label_column="late", rows=rows)


async def _poison_training(world: World, traffic: Traffic) -> None:
    _training_batch(world, flip=0.08, trigger=0.01, seed=99)


async def _clean_training(world: World, traffic: Traffic) -> None:
    """The team retrains on a cleaned batch: the next batch judged is a clean one."""
    _training_batch(world, flip=0.0, trigger=0.0, seed=100)


async def _bad_version(world: World, traffic: Traffic) -> None:
    """Deploy v2 (a slow, failing responder) by routing the deployment to it."""
    from firebreak.store.policy import Route, update_policy

    v2 = world.servers["responder-v2"].url + "/v1"
    update_policy(world.db, LLM_DEPLOYMENT,
                  lambda p: p.model_copy(update={"routes": [Route(model="lumen-support-2",
                                                                  upstream=v2)]}),
                  actor="chaos", reason="deploy lumen-support-2")


async def _undeploy(world: World, traffic: Traffic) -> None:
    from firebreak.store.policy import update_policy

    update_policy(world.db, LLM_DEPLOYMENT, lambda p: p.model_copy(update={"routes": []}),
                  actor="chaos", reason="scenario over")


ATTACKERS = ["sk-attacker-01", "sk-attacker-02", "sk-attacker-03"]
WAVE = [f"sk-wave-{i:02d}" for i in range(12)]

SCENARIOS: dict[str, Scenario] = {s.name: s for s in [
    Scenario("feature-drift", "Inputs drift: delays and distances jump", FLIGHTS, "data_drift",
             ("forensics.snapshot",), "flight features look like the reference", _drift,
             _clean_rows),
    Scenario("concept-drift", "Silent accuracy loss (labels arrive late)", FLIGHTS,
             "performance_degradation", ("forensics.snapshot",),
             "accuracy against delayed labels holds", _concept, _concept_heal),
    Scenario("hallucination-spike", "The assistant answers beyond its documents", LLM_DEPLOYMENT,
             "hallucination", ("gateway.guard_mode",), "answers are grounded in retrieved chunks",
             _responder(hallucinate=True), _responder_ok),
    Scenario("jailbreak-wave", "A wave of jailbreak prompts", LLM_DEPLOYMENT, "jailbreak",
             ("gateway.guard_mode",), "jailbreak verdicts stay at their base rate",
             _mix(0.3, _maker(JAILBREAKS, WAVE, "attack")), _clean),
    Scenario("injection-campaign", "A few keys send prompt injections", LLM_DEPLOYMENT,
             "prompt_injection", ("gateway.block",), "injection verdicts stay at their base rate",
             _mix(0.3, _maker(INJECTIONS, ATTACKERS, "attack")), _clean),
    Scenario("rag-poisoning", "A community source ingests documents with hidden instructions",
             LLM_DEPLOYMENT, "rag_poisoning", ("gateway.quarantine_source",),
             "retrieved chunks carry no instructions", _poison_rag, _unpoison_rag,
             accept=("indirect_injection",)),
    Scenario("training-poisoning", "A training batch with flipped labels and a trigger", FLIGHTS,
             "data_poisoning", ("forensics.snapshot",), "training batches look like the reference",
             _poison_training, _clean_training),
    Scenario("system-prompt-leak", "The assistant leaks its system prompt", LLM_DEPLOYMENT,
             "system_prompt_leak", ("gateway.guard_mode",), "no answer carries the canary",
             _responder(leak_canary=True), _responder_ok),
    Scenario("pii-leak", "Customer records in the index leak into answers", LLM_DEPLOYMENT,
             "sensitive_data_leak", ("gateway.guard_mode",), "answers carry no personal data",
             _pii_doc, _unpoison_rag),
    Scenario("bad-version", "A new model version is slow and fails", LLM_DEPLOYMENT,
             "availability", ("gateway.route",), "latency and errors stay at their baseline",
             _bad_version, _undeploy, accept=("performance_degradation",)),
    Scenario("denial-of-wallet", "One key burns tokens", LLM_DEPLOYMENT, "unbounded_consumption",
             ("gateway.throttle",), "token spend per key stays within its band",
             _mix(0.25, _maker([WALLET], ["sk-wallet-01"], "attack", max_tokens=4000)), _clean),
    Scenario("unsafe-tool-use", "The agent calls a tool it should not", LLM_DEPLOYMENT,
             "excessive_agency", ("gateway.guard_mode",), "the agent only uses allowed tools",
             _responder(rogue_tool="refund_order"), _responder_ok),
]}
