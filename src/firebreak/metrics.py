"""Prometheus metrics for every stage of the loop, defined once and shared.

Stages import the metric they move; `/metrics` exposes the default registry. Names
follow Prometheus conventions: `firebreak_<stage>_<what>_<unit>`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

ingest_events = Counter("firebreak_ingest_events_total", "Events received at ingest",
                        ["kind", "result"])  # result: accepted | duplicate | refused
ingest_batches = Counter("firebreak_ingest_batches_total", "Ingest requests handled", ["source"])
detector_seconds = Histogram("firebreak_detector_seconds", "Time a detector takes per window",
                             ["detector"], buckets=_FAST)
signals = Counter("firebreak_signals_total", "Signals raised", ["category", "status"])
alerts = Counter("firebreak_alerts_total", "Alert state changes", ["category", "state"])
incidents = Counter("firebreak_incidents_total", "Incidents opened", ["category", "severity"])
incidents_open = Gauge("firebreak_incidents_open", "Incidents not yet resolved", ["severity"])
actions = Counter("firebreak_actions_total", "Playbook action outcomes", ["action", "outcome"])
notifications = Counter("firebreak_notifications_total", "Notifications sent",
                        ["notifier", "outcome"])
notifier_retries = Counter("firebreak_notifier_retries_total", "Notification retries",
                           ["notifier"])
gateway_requests = Counter("firebreak_gateway_requests_total", "Requests through the gateway",
                           ["deployment", "outcome"])
gateway_verdicts = Counter("firebreak_gateway_verdicts_total", "Scanner verdicts at the gateway",
                           ["scanner", "label", "action"])
gateway_latency = Histogram("firebreak_gateway_latency_seconds", "End-to-end gateway latency",
                            ["deployment"], buckets=_FAST)
gateway_overhead = Histogram("firebreak_gateway_overhead_seconds",
                             "Time the gateway adds (scanning, policy)", buckets=_FAST)
policy_version = Gauge("firebreak_guard_policy_version", "Guard policy version in force",
                       ["deployment"])
dropped = Counter("firebreak_dropped_total", "Items dropped by a bounded queue", ["queue"])
http_requests = Counter("firebreak_http_requests_total", "Control-plane API requests handled",
                        ["route", "method", "status"])
http_seconds = Histogram("firebreak_http_request_seconds", "Control-plane API request latency",
                         ["route"], buckets=_FAST)
siem_exports = Counter("firebreak_siem_exports_total", "Records sent to a SIEM sink",
                       ["sink", "outcome"])  # outcome: sent | failed
monitor_events = Counter("firebreak_monitor_events_total", "Events folded into monitor windows",
                         ["result"])  # result: folded | late
monitor_windows = Counter("firebreak_monitor_windows_total", "Monitor windows closed")
forensics_reports = Counter("firebreak_forensics_reports_total", "Forensic reports written",
                            ["trigger"])
gateway_redis_fallback = Counter("firebreak_gateway_redis_fallback_total",
                                 "Rate-limit checks decided without Redis", ["mode"])  # open|closed
api_refused = Counter("firebreak_api_refused_total",
                      "Control-API requests refused by a limit or guard",
                      ["reason"])  # reason: body_too_large | rate_limited | csrf
