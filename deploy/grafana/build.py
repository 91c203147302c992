# ruff: noqa: E501  (PromQL and panel definitions read best on one line)
"""Build deploy/grafana/firebreak.json: one panel (or more) per metric in firebreak/metrics.py.

Run from the repository root: .venv/bin/python deploy/grafana/build.py
tests/web/test_deploy_files.py fails when a metric has no panel here.
"""
import json
from pathlib import Path

OUT = Path(__file__).with_name("firebreak.json")
DS = {"type": "prometheus", "uid": "${datasource}"}
panels, y, pid = [], 0, 0

def row(title):
    global y, pid
    pid += 1
    panels.append({"type": "row", "title": title, "id": pid, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
    y += 1

def ts(title, targets, x, w=8, unit="short", h=8, desc=""):
    global pid
    pid += 1
    panels.append({
        "type": "timeseries", "title": title, "id": pid, "datasource": DS, "description": desc,
        "gridPos": {"h": h, "w": w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit, "custom": {"lineWidth": 2, "fillOpacity": 10}}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [{"datasource": DS, "expr": e, "legendFormat": leg, "refId": chr(65 + i)} for i, (e, leg) in enumerate(targets)]})

def stat(title, expr, x, w=6, legend="", unit="short", thresholds=None):
    global pid
    pid += 1
    panels.append({
        "type": "stat", "title": title, "id": pid, "datasource": DS,
        "gridPos": {"h": 4, "w": w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": thresholds or [
            {"color": "green", "value": None}, {"color": "red", "value": 1}]}}, "overrides": []},
        "options": {"colorMode": "background", "graphMode": "none", "reduceOptions": {"calcs": ["lastNotNull"]}},
        "targets": [{"datasource": DS, "expr": expr, "legendFormat": legend, "refId": "A"}]})

J = '{job=~"$job"}'
def sel(extra=""):
    return '{job=~"$job"' + (", " + extra if extra else "") + "}"

row("Incidents")
stat("Open SEV1", 'sum(firebreak_incidents_open' + sel('severity="SEV1"') + ')', 0)
stat("Open SEV2", 'sum(firebreak_incidents_open' + sel('severity="SEV2"') + ')', 6)
stat("Open SEV3 + SEV4", 'sum(firebreak_incidents_open' + sel('severity=~"SEV3|SEV4"') + ')', 12,
     thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 1}])
stat("Accepted events / s", 'sum(rate(firebreak_ingest_events_total' + sel('result="accepted"') + '[5m]))', 18,
     unit="reqps", thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 0.001}])
y += 4
ts("Incidents opened by category and severity", [(f'sum by (category, severity) (increase(firebreak_incidents_total{J}[$__rate_interval]))', "{{category}} {{severity}}")], 0, 12)
ts("Alert transitions by category", [(f'sum by (category, state) (rate(firebreak_alerts_total{J}[$__rate_interval]))', "{{category}} {{state}}")], 12, 12, unit="ops")
y += 8
row("Ingest and detection")
ts("Ingest rate by kind", [('sum by (kind) (rate(firebreak_ingest_events_total' + sel('result="accepted"') + '[$__rate_interval]))', "{{kind}}")], 0, unit="ops")
ts("Refused and duplicate events", [('sum by (result) (rate(firebreak_ingest_events_total' + sel('result!="accepted"') + '[$__rate_interval]))', "{{result}}"),
    (f'sum by (source) (rate(firebreak_ingest_batches_total{J}[$__rate_interval]))', "batches from {{source}}")], 8, unit="ops")
ts("Detector latency p95", [(f'histogram_quantile(0.95, sum by (le, detector) (rate(firebreak_detector_seconds_bucket{J}[$__rate_interval])))', "{{detector}}")], 16, unit="s")
y += 8
ts("Monitor: events folded and late", [(f'sum by (result) (rate(firebreak_monitor_events_total{J}[$__rate_interval]))', "{{result}}")], 0, 12, unit="ops")
ts("Monitor: windows closed", [(f'sum(rate(firebreak_monitor_windows_total{J}[$__rate_interval]))', "windows/s")], 12, 12, unit="ops")
y += 8
ts("Signals by category", [(f'sum by (category, status) (rate(firebreak_signals_total{J}[$__rate_interval]))', "{{category}} {{status}}")], 0, 12, unit="ops")
ts("Dropped by bounded queues", [(f'sum by (queue) (increase(firebreak_dropped_total{J}[$__rate_interval]))', "{{queue}}")], 12, 12)
y += 8
row("Response")
ts("Action outcomes", [(f'sum by (action, outcome) (increase(firebreak_actions_total{J}[$__rate_interval]))', "{{action}} {{outcome}}")], 0)
ts("Notifications", [(f'sum by (notifier, outcome) (increase(firebreak_notifications_total{J}[$__rate_interval]))', "{{notifier}} {{outcome}}")], 8)
ts("Notifier retries", [(f'sum by (notifier) (increase(firebreak_notifier_retries_total{J}[$__rate_interval]))', "{{notifier}}")], 16)
y += 8
row("Gateway")
ts("Gateway requests by outcome", [(f'sum by (deployment, outcome) (rate(firebreak_gateway_requests_total{J}[$__rate_interval]))', "{{deployment}} {{outcome}}")], 0, unit="reqps")
ts("Scanner verdicts", [(f'sum by (scanner, label, action) (rate(firebreak_gateway_verdicts_total{J}[$__rate_interval]))', "{{scanner}} {{label}} → {{action}}")], 8, unit="ops")
ts("Guard policy version", [(f'max by (deployment) (firebreak_guard_policy_version{J})', "{{deployment}}")], 16)
y += 8
ts("Gateway latency", [(f'histogram_quantile(0.5, sum by (le, deployment) (rate(firebreak_gateway_latency_seconds_bucket{J}[$__rate_interval])))', "p50 {{deployment}}"),
    (f'histogram_quantile(0.95, sum by (le, deployment) (rate(firebreak_gateway_latency_seconds_bucket{J}[$__rate_interval])))', "p95 {{deployment}}")], 0, 12, unit="s")
ts("Gateway overhead (scanning, policy)", [(f'histogram_quantile(0.5, sum by (le) (rate(firebreak_gateway_overhead_seconds_bucket{J}[$__rate_interval])))', "p50"),
    (f'histogram_quantile(0.99, sum by (le) (rate(firebreak_gateway_overhead_seconds_bucket{J}[$__rate_interval])))', "p99")], 12, 12, unit="s")
y += 8
row("Control plane")
ts("API requests by status", [(f'sum by (status) (rate(firebreak_http_requests_total{J}[$__rate_interval]))', "{{status}}")], 0, unit="reqps")
ts("API latency p95 by route", [(f'histogram_quantile(0.95, sum by (le, route) (rate(firebreak_http_request_seconds_bucket{J}[$__rate_interval])))', "{{route}}")], 8, unit="s")
ts("SIEM exports", [(f'sum by (sink, outcome) (increase(firebreak_siem_exports_total{J}[$__rate_interval]))', "{{sink}} {{outcome}}")], 16)
y += 8

# Any metric in firebreak/metrics.py without a hand-made panel above gets a plain one here.
def auto_panels():
    global y
    import re

    from prometheus_client.metrics import MetricWrapperBase

    from firebreak import metrics as fm
    used = {re.sub(r"_(bucket|count|sum|total)$", "", n) for p in panels for t in p.get("targets", [])
            for n in re.findall(r"firebreak_\w+", t["expr"])}
    todo = [m for m in vars(fm).values() if isinstance(m, MetricWrapperBase)
            and m.describe()[0].name not in used]
    if not todo:
        return
    row("More")
    for i, m in enumerate(todo):
        name, kind, labels = m.describe()[0].name, m._type, list(m._labelnames)
        by = f"sum by ({', '.join(labels)}) " if labels else "sum "
        legend = " ".join("{{" + label + "}}" for label in labels) or name
        if kind == "histogram":
            expr = f"histogram_quantile(0.95, sum by (le{''.join(', ' + lab for lab in labels)}) (rate({name}_bucket{J}[$__rate_interval])))"
            unit = "s"
        elif kind == "counter":
            expr, unit = f"{by}(increase({name}_total{J}[$__rate_interval]))", "short"
        else:
            expr, unit = f"{by}({name}{J})", "short"
        ts(m._documentation, [(expr, legend)], (i % 3) * 8, unit=unit)
        if i % 3 == 2 or i == len(todo) - 1:
            y += 8


auto_panels()

dash = {
    "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
    "title": "Firebreak", "uid": "firebreak-overview", "tags": ["firebreak", "ai", "incident-response"],
    "description": "Firebreak's own health: ingest, detection, incidents, response, gateway, control plane.",
    "timezone": "browser", "schemaVersion": 39, "version": 1, "editable": True, "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"}, "graphTooltip": 1,
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}, "hide": 0},
        {"name": "job", "label": "Job", "type": "query", "datasource": DS, "query": {"query": "label_values(firebreak_http_requests_total, job)", "refId": "job"},
         "definition": "label_values(firebreak_http_requests_total, job)", "includeAll": True, "multi": True, "current": {"text": "All", "value": "$__all"}, "refresh": 2, "allValue": ".*"}]},
    "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True, "name": "Annotations & Alerts", "type": "dashboard"}]},
    "panels": panels,
}
OUT.write_text(json.dumps(dash, indent=2) + "\n")
print(f"{OUT}: {len(panels)} panels")
