"""Guard time per request with and without the gateway's verdict cache, in one run.

    python bench/guard_cache.py [--smoke] [--requests N]

The reference responder on loopback is the upstream; the gateway (monitor mode, all
scanners) gets chat requests that each carry 3 retrieved chunks drawn from the 20 support
documents, as a RAG app sends them. Reads the guard time the gateway reports per request
(`x-firebreak-guard-ms`: access checks plus every request-side scan) with the cache off
(size 0) and on (the default), alternating rounds, and prints p50 / p99 of both.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from firebreak.chaos.responder import create_app
from firebreak.chaos.retrieval import benign_questions
from firebreak.chaos.servers import ServerThread

SUPPORT = Path(__file__).resolve().parents[1] / "src/firebreak/chaos/corpus/support.json"


def start_gateway(stack: ExitStack, upstream: str) -> tuple[str, Any]:
    """The gateway over a throwaway SQLite policy store; (url, its Gateway state)."""
    from firebreak.config import GatewaySettings, Settings
    from firebreak.gateway.app import create_gateway_app

    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    settings = Settings(database_url=f"sqlite:///{tmp / 'bench.db'}",  # type: ignore[call-arg]
                        gateway=GatewaySettings(upstream=upstream + "/v1"))
    app = create_gateway_app(settings)
    url = stack.enter_context(ServerThread(app)).url
    return url, app.state.gateway


def body(rng: random.Random, docs: list[dict[str, str]], questions: list[str]) -> dict[str, Any]:
    chunks = [{"doc_id": d["doc_id"], "source": d["source"], "text": d["text"]}
              for d in rng.sample(docs, 3)]
    return {"model": "lumen-support-1", "firebreak": {"retrieved": chunks},
            "messages": [{"role": "user", "content": rng.choice(questions)}]}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * q))], 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="60 requests per mode, for CI")
    ap.add_argument("--requests", type=int, default=600, help="requests per mode")
    args = ap.parse_args()
    n = 60 if args.smoke else args.requests
    docs = json.loads(SUPPORT.read_text(encoding="utf-8"))["documents"]
    questions = [q["q"] for q in benign_questions()]
    rng = random.Random(7)
    times: dict[str, list[float]] = {"cache off": [], "cache on": []}
    with ExitStack() as stack:
        upstream = stack.enter_context(ServerThread(create_app())).url
        url, gateway = start_gateway(stack, upstream)
        size = gateway.verdicts.size
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(2 * n):
                mode = "cache off" if i % 2 == 0 else "cache on"
                gateway.verdicts.size = 0 if mode == "cache off" else size
                r = client.post("/v1/chat/completions", json=body(rng, docs, questions))
                r.raise_for_status()
                times[mode].append(float(r.headers["x-firebreak-guard-ms"]))
        hits, misses = gateway.verdicts.hits, gateway.verdicts.misses
    for mode, xs in times.items():
        print(json.dumps({"mode": mode, "requests": len(xs), "guard_ms_p50": pct(xs, 0.5),
                          "guard_ms_p99": pct(xs, 0.99),
                          "guard_ms_mean": round(statistics.fmean(xs), 3)}))
    print(json.dumps({"cache_hits": hits, "cache_misses": misses}))


if __name__ == "__main__":
    main()
