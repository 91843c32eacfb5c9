"""Structured logging for every process: JSON lines in processes, key=value in the console.

Region, AZ and request ids are bound through contextvars at the edge; a redaction processor
drops any value whose key names a secret, so credentials never reach a log line.
"""

from __future__ import annotations

import functools
import json as jsonlib
import logging
import sys
from collections.abc import Callable, MutableMapping
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


@functools.cache  # one encoder per fallback (structlog passes the same one every line)
def _encoder(default: Callable[[Any], Any]) -> jsonlib.JSONEncoder:
    return jsonlib.JSONEncoder(default=default)


def _json_line(value: Any, *, default: Callable[[Any], Any]) -> str:
    """``json.dumps(value, default=default)``, the same text, without building an encoder for
    every line (a quarter of the cost of rendering one)."""
    return _encoder(default).encode(value)


def configure_logging(json: bool = True, level: int = logging.INFO) -> None:
    """Set structlog up for a server process (JSON) or the console (key=value).

    Each line leaves in one write (a print is two with unbuffered output, as the planes run:
    the line, then its newline).
    """
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
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
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # aiohttp's access log would print every request line: keep only its warnings
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
