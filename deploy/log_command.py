"""``iam-planes log show VERSION`` and ``iam-planes log repair VERSION --reason TEXT``.

``show`` prints one stream entry as stored (every field, the event as text), what the planes
make of it (an event, or why it cannot be applied) and its repair, if any. Entries hold secret
access keys and password hashes, so values under secret-looking names are printed as
``[redacted]`` unless ``--show-secrets`` is given; in an event that is not JSON they are found
by pattern, which is best effort.

``repair`` puts a ``log.repair`` event in place of a bad entry (``replication.repairs``): the
stream keeps the bad entry, the repair is recorded with its reason, and every replica and the
control plane read the replacement and resume by themselves.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from replication.entries import BadEntry
from replication.log import RawEntry, RedisChangeLog, RepairRefusedError, connect
from replication.repairs import RepairRecord, parse_repair

__all__ = ["log_repair", "log_show", "redact_text", "redact_value"]

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"secret|password|passwd|seed|token|private|credential", re.IGNORECASE)
# "name": "value" where the name looks like a secret's, in text that is not valid JSON
_SECRET_PAIR = re.compile(
    rb'("[^"]*(?:secret|password|passwd|seed|token|private|credential)[^"]*"\s*:\s*)'
    rb'"(?:[^"\\]|\\.)*"',
    re.IGNORECASE,
)


def redact_value(value: Any) -> Any:
    """``value`` with every string under a secret-looking name replaced by ``[redacted]``."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(item, str) and _SECRET_NAME.search(str(key))
            else redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    return value


def redact_text(raw: bytes) -> bytes:
    """A stored field with secret-looking values redacted: as JSON when it is JSON, else by
    pattern (``"...secret...": "value"``)."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _SECRET_PAIR.sub(rb'\1"' + REDACTED.encode() + rb'"', raw)
    return orjson.dumps(redact_value(parsed))


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def render_entry(entry: RawEntry, show_secrets: bool) -> str:
    """What ``log show`` prints for one entry."""
    lines = [f"version {entry.version} (stream id {entry.version}-0 in iam:log)"]
    if entry.fields is None:
        lines.append("no entry at this version (trimmed behind a snapshot, or never appended)")
    else:
        for name, value in entry.fields.items():
            shown = value if show_secrets else redact_text(value)
            lines.append(f"field {_text(name)!r} ({len(value)} bytes): {_text(shown)}")
        if entry.fields and not show_secrets:
            lines.append(
                f"(values under secret-looking names print as {REDACTED}; "
                "--show-secrets prints them as stored)"
            )
    repair = parse_repair(entry.repair) if entry.repair is not None else None
    if isinstance(entry.decoded, BadEntry):
        lines.append(f"decoded: BAD, {entry.decoded.reason.value}: {entry.decoded.detail}")
        lines.append(f"the planes stop at version {entry.version - 1} until it is repaired")
    elif entry.decoded is not None and repair is not None:
        lines.append(
            f"decoded: replaced by its repair, a {entry.decoded.kind} event that changes nothing"
        )
    elif entry.decoded is not None:
        decoded = entry.decoded
        lines.append(f"decoded: OK, {decoded.kind} by {decoded.action} in {decoded.account!r}")
    if repair is not None:
        lines.append(
            f"repaired {_when(repair.repaired_at)}: {repair.bad_reason} ({repair.bad_detail}); "
            f"reason given: {repair.reason!r}; replaced entry sha256 {repair.entry_sha256}"
        )
    elif entry.repair is not None:
        lines.append("a repair record exists but cannot be read: the entry stays bad")
    return "\n".join(lines)


async def _with_log(redis_url: str, work: Any) -> Any:
    log = RedisChangeLog(connect(redis_url))
    try:
        return await work(log)
    finally:
        await log.close()


def log_show(redis_url: str, version: int, show_secrets: bool) -> tuple[int, str]:
    """The exit status and text of ``log show VERSION``."""

    async def show(log: RedisChangeLog) -> RawEntry:
        return await log.raw_entry(version)

    entry: RawEntry = asyncio.run(_with_log(redis_url, show))
    return (0 if entry.fields is not None or entry.repair is not None else 1), render_entry(
        entry, show_secrets
    )


def log_repair(redis_url: str, version: int, reason: str) -> tuple[int, str]:
    """The exit status and text of ``log repair VERSION --reason TEXT``."""

    async def repair(log: RedisChangeLog) -> RepairRecord:
        return await log.repair(version, reason, time.time())

    try:
        record: RepairRecord = asyncio.run(_with_log(redis_url, repair))
    except RepairRefusedError as refused:
        return 1, f"repair refused: {refused}"
    return 0, (
        f"version {version} repaired: the {record.bad_reason} entry is replaced by a "
        "log.repair event that changes nothing; replicas and the control plane resume from "
        f"it by themselves. The entry stays in the stream (sha256 {record.entry_sha256}); "
        f"`iam-planes log show {version}` shows both."
    )
