"""The world's traffic: users with API keys and sessions asking the support assistant
questions (through the gateway, as a RAG app: it retrieves, then sends the chunks along),
and flight-delay predictions whose labels arrive later.

The mix is live: scenarios swap `Traffic.llm_makers` (who asks what), the flight-row
transform (feature drift) and the model's truth (concept drift) while traffic flows.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from firebreak.chaos.retrieval import Chunk, Retriever, benign_questions
from firebreak.chaos.world import LLM_DEPLOYMENT, World


@dataclass
class Request:
    """One chat request the traffic sends through the gateway."""

    question: str
    api_key: str
    user: str
    session: str
    tools: list[dict[str, Any]] | None = None
    max_tokens: int | None = None
    tag: str = "benign"


Maker = Callable[[random.Random], Request]


@dataclass
class Users:
    """A population of users, each with a key and a session."""

    count: int = 60
    keys: int = 15

    def pick(self, rng: random.Random) -> tuple[str, str, str]:
        u = rng.randrange(self.count)
        return f"sk-world-{u % self.keys:02d}", f"user-{u:03d}", f"s-{u:03d}-{rng.randrange(4)}"


TOOLS = [{"type": "function", "function": {"name": "lookup_order", "parameters": {}}},
         {"type": "function", "function": {"name": "refund_order", "parameters": {}}}]


def benign_maker(users: Users, tool_share: float = 0.3) -> Maker:
    """Support questions; some requests come from the agent flavour that offers tools."""
    questions = [q["q"] for q in benign_questions()]

    def make(rng: random.Random) -> Request:
        key, user, session = users.pick(rng)
        tools = TOOLS if rng.random() < tool_share else None
        return Request(rng.choice(questions), key, user, session, tools=tools)

    return make


@dataclass
class Traffic:
    """Drives the world at the profile's rates until stopped; counts what it saw."""

    world: World
    seed: int = 7
    users: Users = field(default_factory=Users)
    retriever: Retriever = field(default_factory=Retriever)
    llm_makers: list[tuple[float, Maker]] = field(default_factory=list)
    row_transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    stats: Counter[str] = field(default_factory=Counter)
    # t, tag, status, text
    outcomes: list[tuple[float, str, int, str]] = field(default_factory=list)
    _stop: asyncio.Event | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.np_rng = np.random.default_rng(self.seed)
        self.clean()

    def clean(self) -> None:
        """Back to clean traffic (both streams)."""
        self.clean_chat()
        self.clean_rows()

    def clean_chat(self) -> None:
        """Back to benign chat traffic (the flight rows are left as they are)."""
        self.llm_makers = [(1.0, benign_maker(self.users))]

    def clean_rows(self) -> None:
        """Back to unaltered flight rows (the chat mix is left as it is)."""
        self.row_transform = None

    def answered(self) -> dict[str, int]:
        """Requests answered so far, per stream (any HTTP status; transport errors excluded)."""
        out = {"chat": 0, "predict": 0}
        for key, n in self.stats.items():
            stream, _, status = key.partition(":")
            if stream in out and status.isdigit():
                out[stream] += n
        return out

    async def run(self, seconds: float | None = None) -> None:
        """Send traffic until `stop()` (or for `seconds`)."""
        self._stop = asyncio.Event()
        # One client per stream, few idle connections: httpx's pool checks every pooled
        # connection on each request, which at 100 requests/s costs more than the rest.
        limits = httpx.Limits(max_connections=120, max_keepalive_connections=8)
        async with httpx.AsyncClient(timeout=30, limits=limits) as chat, \
                httpx.AsyncClient(timeout=30, limits=limits) as predict:
            loops = [self._paced(self.world.profile.llm_rate, lambda: self._chat(chat)),
                     self._paced(self.world.profile.prediction_rate,
                                 lambda: self._predict(predict))]
            tasks = [asyncio.create_task(loop) for loop in loops]
            try:
                if seconds is None:
                    await self._stop.wait()
                else:
                    await asyncio.wait_for(self._stop.wait(), seconds)
            except TimeoutError:
                pass
            finally:
                self._stop.set()
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def _paced(self, rate: float, send: Callable[[], Any]) -> None:
        """Fire `send` `rate` times a second without waiting for answers (open loop)."""
        pending: set[asyncio.Task[Any]] = set()
        start, n = time.monotonic(), 0
        assert self._stop is not None
        while not self._stop.is_set():
            n += 1
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(pending) < 100:  # bounded: a stuck upstream must not pile up requests
                task = asyncio.create_task(send())
                pending.add(task)
                task.add_done_callback(pending.discard)
            else:
                self.stats["skipped"] += 1

    def _make(self) -> Request:
        weights = [w for w, _ in self.llm_makers]
        maker = self.rng.choices([m for _, m in self.llm_makers], weights=weights)[0]
        return maker(self.rng)

    async def _chat(self, http: httpx.AsyncClient) -> None:
        req = self._make()
        chunks: list[Chunk] = self.retriever.search(req.question, k=3)
        body: dict[str, Any] = {
            "model": "lumen-support-1",
            "messages": [{"role": "user", "content": req.question}],
            "firebreak": {"session_id": req.session,
                          "retrieved": [{"doc_id": c.doc_id, "source": c.source, "text": c.text,
                                         "score": c.score} for c in chunks]},
        }
        if req.tools:
            body["tools"] = req.tools
        if req.max_tokens:
            body["max_tokens"] = req.max_tokens
        headers = {"Authorization": f"Bearer {req.api_key}", "x-firebreak-user": req.user,
                   "x-firebreak-deployment": LLM_DEPLOYMENT}
        try:
            resp = await http.post(self.world.url("gateway") + "/v1/chat/completions",
                                   json=body, headers=headers)
            text = _answer(resp)
            self.stats[f"chat:{resp.status_code}"] += 1
            self.outcomes.append((time.monotonic(), req.tag, resp.status_code, text))
            del self.outcomes[:-5000]
        except httpx.HTTPError as exc:
            self.stats[f"chat:{type(exc).__name__}"] += 1

    async def _predict(self, http: httpx.AsyncClient) -> None:
        model = self.world.handles["model"]
        records = model.records()
        row = dict(records[self.rng.randrange(len(records))])
        late = int(row.pop("late"))
        if self.row_transform is not None:
            row = self.row_transform(row)
        features = row
        try:
            resp = await http.post(self.world.url("flights") + "/predict",
                                   json={"features": features})
            self.stats[f"predict:{resp.status_code}"] += 1
            if resp.status_code == 200:
                pid = resp.json()["prediction_id"]
                truth = model.truth(late, self.np_rng)
                asyncio.get_running_loop().call_later(
                    self.world.profile.label_delay, self._label, pid, truth)
        except httpx.HTTPError as exc:
            self.stats[f"predict:{type(exc).__name__}"] += 1

    def _label(self, prediction_id: str, truth: int) -> None:
        from firebreak.chaos.tabular import DEPLOYMENT

        self.world.handles["client"].log_label(DEPLOYMENT, prediction_id=prediction_id, label=truth)
        self.stats["labels"] += 1


def _answer(resp: httpx.Response) -> str:
    try:
        data = resp.json()
        return str(data["choices"][0]["message"].get("content") or "")
    except Exception:
        return ""
