"""GET /metrics: parses as Prometheus text, shows every metric, moves with traffic."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from firebreak import metrics as fm
from firebreak.runtime import Runtime


def scrape(client: httpx.Client) -> dict[str, Any]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(resp.text)}


def value(families: dict[str, Any], sample: str, **labels: str) -> float:
    family = families.get(sample.removesuffix("_total")) or families[sample]
    return sum(s.value for s in family.samples
               if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_needs_a_read_token(live_api: tuple[str, Runtime]) -> None:
    url, _ = live_api
    resp = httpx.get(url + "/metrics")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"


def test_every_shared_metric_is_exposed(client: httpx.Client) -> None:
    families = scrape(client)
    declared = [m.describe()[0].name for m in vars(fm).values() if isinstance(m, MetricWrapperBase)]
    assert len(declared) >= 18
    assert sorted(set(declared) - set(families)) == []


def test_counters_move_when_traffic_flows(
        live_api: tuple[str, Runtime], client: httpx.Client, fb: Any) -> None:
    _, runtime = live_api
    before = scrape(client)
    via = fb.ingest(client, runtime.db, fb.traffic("support-bot", 25))
    fb.open_incident(runtime.db, "support-bot")
    after = scrape(client)
    route = {"route": "/ui/api/incidents", "method": "GET", "status": "200"}
    client.get("/ui/api/incidents")
    last = scrape(client)
    assert value(last, "firebreak_http_requests_total", **route) == \
        value(after, "firebreak_http_requests_total", **route) + 1
    if via == "api":  # the ingest router counts what it accepts
        accepted = {"kind": "llm.call", "result": "accepted"}
        assert value(after, "firebreak_ingest_events_total", **accepted) == \
            value(before, "firebreak_ingest_events_total", **accepted) + 25
    # Gauges are refreshed from the store on scrape.
    assert value(after, "firebreak_incidents_open", severity="SEV2") == 1
    assert value(before, "firebreak_incidents_open", severity="SEV2") == 0
