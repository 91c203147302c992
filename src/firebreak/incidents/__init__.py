"""Incidents: alerting (fingerprint, group, silence, inhibit), correlation, taxonomy,
severity, lifecycle and notifications.

Entry points for other stages: `delivery.enqueue_notification` (queue one notification),
`lifecycle` (ack, transition, assign, resolve), `taxonomy.category` (the category table).
"""
