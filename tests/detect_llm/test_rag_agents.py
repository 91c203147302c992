"""RAG index and agent detectors on real documents (BIPIA contexts in the injection set)."""

from __future__ import annotations

import random

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from firebreak.detect.llm.agents import AgentTools
from firebreak.detect.llm.aggregates import AgentAggregate
from firebreak.detect.llm.rag import RagAggregate, RagManipulation, RagPoisoning
from firebreak.events import LLMCall, RagDocument, ToolCall
from firebreak.monitor.base import DeploymentMemory

from .helpers import context, injection_rows, merge, window


def _bipia(kind: str) -> list[str]:
    return [r["text"] for r in injection_rows()
            if r["source"].startswith("bipia/") and r["source"].endswith(kind)]


def test_rag_poisoning_fires_on_injected_documents_not_on_clean_ones() -> None:
    rng = random.Random(2)
    clean, injected = _bipia("-clean"), _bipia("-injected")
    memory = DeploymentMemory()
    docs = lambda texts, p, src: [RagDocument(event_id=f"{p}{i}", deployment="kb", doc_id=f"{p}{i}",  # noqa: E731
                                              source=src, text=t) for i, t in enumerate(texts)]
    ref = window("kb", docs(rng.sample(clean, 60), "r", "wiki"), [RagAggregate], 0, memory=memory)
    quiet = window("kb", docs(rng.sample(clean, 60), "c", "wiki"), [RagAggregate], 1, memory=memory)
    assert RagPoisoning().detect(context(quiet, ref)) == []
    poisoned = (docs(rng.sample(clean, 40), "m", "wiki")
                + docs(rng.sample(injected, 12), "x", "forum"))
    poisoned_window = window("kb", poisoned, [RagAggregate], 2, memory=memory)
    (sig,) = RagPoisoning().detect(context(poisoned_window, ref)) or []
    assert sig.facts["poisoned_source"] == "forum"
    assert sig.contributors[0].key == "forum"


def test_burst_and_embedding_outliers() -> None:
    rng = random.Random(9)
    clean = _bipia("-clean")
    vec = TfidfVectorizer(max_features=5000).fit(clean)
    svd = TruncatedSVD(24, random_state=0).fit(vec.transform(clean))
    emb = lambda texts: svd.transform(vec.transform(texts))  # noqa: E731

    def docs(texts, prefix, source, vectors=None):  # type: ignore[no-untyped-def]
        vectors = emb(texts) if vectors is None else vectors
        return [RagDocument(event_id=f"{prefix}{i}", deployment="kb", doc_id=f"{prefix}{i}",
                            source=source, text=t, embedding=list(map(float, v)))
                for i, (t, v) in enumerate(zip(texts, vectors, strict=True))]

    sources = ["wiki", "handbook", "faq", "blog"]
    ref = merge([window("kb", docs(rng.sample(clean, 40), f"r{j}-", sources[j % 4]),
                        [RagAggregate], j) for j in range(4)])
    normal = window("kb", [d for j in range(4)
                           for d in docs(rng.sample(clean, 10), f"n{j}-", sources[j])],
                    [RagAggregate], 10)
    assert RagManipulation().detect(context(normal, ref)) == []
    burst_docs = (docs(rng.sample(clean, 60), "b", "pastebin")
                  + docs(rng.sample(clean, 5), "o", "wiki"))
    burst = window("kb", burst_docs, [RagAggregate], 11)
    signals = RagManipulation().detect(context(burst, ref)) or []
    assert [s.metric for s in signals] == ["source_burst"]
    assert signals[0].facts["source"] == "pastebin"
    texts = rng.sample(clean, 10)
    far = emb(texts) + 5 * np.abs(emb(texts)).max()  # pushed far from the index
    planted = docs(rng.sample(clean, 30), "k", "wiki") + docs(texts, "e", "wiki", far)
    planted_window = window("kb", planted, [RagAggregate], 12)
    signals = RagManipulation().detect(context(planted_window, ref)) or []
    (sig,) = [s for s in signals if s.metric == "embedding_outliers"]
    found = sig.facts["documents"]
    assert set(found) <= {f"e{i}" for i in range(10)} and len(found) >= 8


def _agent_calls(prefix: str, n: int, tools: list[str], rng: random.Random) -> list[LLMCall]:
    return [LLMCall(event_id=f"{prefix}{i}", deployment="agent", api_key_id=f"k{i % 7}",
                    tool_calls=[ToolCall(name=rng.choice(tools), arguments={"q": f"order {i}"})])
            for i in range(n)]


def test_agent_forbidden_tool_and_loops() -> None:
    rng = random.Random(1)
    allowed = ["search_docs", "get_order"]
    ref = window("agent", _agent_calls("r", 200, allowed, rng), [AgentAggregate], 0)
    det = AgentTools()
    clean = window("agent", _agent_calls("c", 200, allowed, rng), [AgentAggregate], 1)
    assert det.detect(context(clean, ref)) == []
    bad = _agent_calls("b", 200, allowed, rng) + _agent_calls("x", 3, ["delete_account"], rng)
    (sig,) = det.detect(context(window("agent", bad, [AgentAggregate], 2), ref)) or []
    assert sig.facts["tools"] == ["delete_account"] and sig.category == "excessive_agency"
    loop = [LLMCall(event_id=f"l{i}", deployment="agent",
                    tool_calls=[ToolCall(name="search_docs", arguments={"q": "same"})] * 4)
            for i in range(10)]
    signals = det.detect(context(window("agent", _agent_calls("c2", 200, allowed, rng) + loop,
                                        [AgentAggregate], 3), ref)) or []
    assert "tool_loops" in {s.metric for s in signals}
