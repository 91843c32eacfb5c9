"""Structured logging for every process: JSON lines in processes, key=value in the console.

Region, AZ and request ids are bound through contextvars at the edge; a redaction processor
drops any value whose key names a secret, so credentials never reach a log line.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "redact_secrets"]

_SECRET_MARKERS = ("secret", "password", "token", "signature", "authorization", "redis_url")


def redact_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace the value of any key that names a secret with ``[redacted]``."""
    for key in list(event):
        if _names_a_secret(key):
            event[key] = "[redacted]"
    return event


@functools.lru_cache(maxsize=1024)  # a log line's keys are few and come back on every line
def _names_a_secret(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def configure_logging(json: bool = True, level: int = logging.INFO) -> None:
    """Set structlog up for a server process (JSON) or the console (key=value)."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # aiohttp's access log would print every request line: keep only its warnings
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
