"""Playbooks: schema, loader, matcher, durable engine, approvals, built-in playbooks.

A playbook is YAML validated by `schema.Playbook`; `loader` reads folders of them,
`matcher` picks the ones for an incident, `engine` runs them durably, `stage` wires the
engine to the bus inside the runtime.
"""
