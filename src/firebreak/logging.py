"""Structured logs with structlog: JSON off a TTY, console on one; configured once."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure(fmt: str = "auto", level: str = "info") -> None:
    """Set up structlog and stdlib logging; `fmt` is auto, json or console."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer = (structlog.processors.JSONRenderer() if use_json
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def incident_context(incident_id: str) -> Any:
    """A context manager binding `incident_id` to every log line written inside it."""
    return structlog.contextvars.bound_contextvars(incident_id=incident_id)
