"""SIEM export: incidents, alerts and actions as Elastic Common Schema records.

`ecs` maps store records to ECS documents, `syslog` frames them as RFC 5424 messages,
`sinks` delivers them (JSON-lines file, HTTP, syslog over UDP/TCP), `exporter` finds
what is new since each sink's cursor, and `stage` runs it inside the runtime.
"""
