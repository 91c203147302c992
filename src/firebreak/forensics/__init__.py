"""Forensics: evidence chain, snapshot, timeline, analyzers (root cause) and the report.

Callers use `firebreak.forensics.service` (snapshot, write_report) and
`firebreak.forensics.export` (regression suite); the rest is internal.
"""
