"""A process's log lines: JSON with the bound context, secrets redacted, one write a line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from replication.logs import configure_logging


class _Writes:
    """A stand-in for stderr that keeps every write it is given."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


class _Unserializable:
    def __repr__(self) -> str:
        return "<unserializable>"


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Writes]:
    """configure_logging's JSON lines, written to a stand-in stderr; structlog's settings and
    context are restored afterwards."""
    saved = structlog.get_config()
    writes = _Writes()
    monkeypatch.setattr(sys, "stderr", writes)
    configure_logging(json=True)
    try:
        yield writes
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.configure(**saved)


def test_each_line_is_one_write_of_the_json_event(stderr: _Writes) -> None:
    structlog.contextvars.bind_contextvars(request_id="r-1")
    log = structlog.get_logger("test")
    log.info("iam_call", action="CreateUser", version=7, odd=_Unserializable())
    log.info("change_committed", secret_access_key="wJalr", kind="user.put", text="caf\u00e9")
    assert len(stderr.writes) == 2 and all(w.endswith("}\n") for w in stderr.writes)
    first: dict[str, Any] = json.loads(stderr.writes[0])
    assert first.pop("timestamp").endswith("Z")
    assert first == {
        "event": "iam_call",
        "action": "CreateUser",
        "version": 7,
        "odd": "<unserializable>",
        "request_id": "r-1",
        "level": "info",
    }
    # the text json.dumps writes (", " and ": " separators, non-ASCII escaped)
    assert stderr.writes[0] == json.dumps(json.loads(stderr.writes[0])) + "\n"
    second = json.loads(stderr.writes[1])
    assert second["secret_access_key"] == "[redacted]" and "wJalr" not in stderr.writes[1]
    assert "\\u00e9" in stderr.writes[1] and second["text"] == "caf\u00e9"
