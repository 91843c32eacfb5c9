"""Repairs of bad log entries: what stands in for an entry no reader can apply.

The stream stays append-only: a Redis stream id cannot be rewritten, and deleting the bad
entry would gap the log (every reader would take it for a trimmed log). So a repair is a
record in the hash ``iam:log:repairs``, keyed by the bad entry's version, holding the event
that replaces it (a ``log.repair`` event that changes nothing but the version), the
operator's reason, when it was made and the SHA-256 of the entry it replaces. Readers look a
version up there only when its entry is bad, so the hash costs nothing while the log is
healthy; the bad entry itself stays in the stream (until snapshots trim it) and the repair
record stays for good, so ``iam-planes log show`` can always tell what was replaced and why.

A repair is written by one Lua script that refuses a version with no entry and a version
already repaired; ``RedisChangeLog.repair`` also refuses an entry that is not bad.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from replication.entries import BadEntry, classify_record
from replication.events import REPAIR_KIND, ChangeEvent, RepairNote, ReplacedEntry, encode_event

__all__ = [
    "REPAIRS_KEY",
    "REPAIR_SCRIPT",
    "RepairRecord",
    "entry_sha256",
    "new_repair",
    "parse_repair",
    "replacement_of",
]

REPAIRS_KEY = "iam:log:repairs"
REPAIR_ACTION = "RepairLog"

# KEYS: stream, repairs hash; ARGV: version, record
REPAIR_SCRIPT = """
local id = ARGV[1] .. '-0'
if #redis.call('XRANGE', KEYS[1], id, id) == 0 then
  return redis.error_reply('NOENTRY')
end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then
  return redis.error_reply('REPAIRED')
end
return 1
"""


class RepairRecord(BaseModel):
    """One repair, as stored in ``iam:log:repairs`` under its version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    reason: str
    repaired_at: float
    bad_reason: str
    bad_detail: str
    entry_sha256: str
    event: str  # the encoded replacement event


def entry_sha256(fields: Mapping[bytes, bytes]) -> str:
    """A digest of a stream entry's fields as stored (names and values, in stored order)."""
    digest = hashlib.sha256()
    for name, value in fields.items():
        for part in (name, value):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


def new_repair(bad: BadEntry, sha256: str, reason: str, now: float) -> RepairRecord:
    """The repair of ``bad``: a ``log.repair`` event at its version, and why."""
    event = ChangeEvent(
        version=bad.version,
        committed_at=now,
        kind=REPAIR_KIND,
        account="",
        action=REPAIR_ACTION,
        payload=RepairNote(
            reason=reason,
            replaced=ReplacedEntry(reason=bad.reason.value, detail=bad.detail, sha256=sha256),
        ),
    )
    return RepairRecord(
        version=bad.version,
        reason=reason,
        repaired_at=now,
        bad_reason=bad.reason.value,
        bad_detail=bad.detail,
        entry_sha256=sha256,
        event=encode_event(event).decode(),
    )


def parse_repair(raw: bytes) -> RepairRecord | None:
    """A stored repair record, or None when it cannot be read."""
    try:
        return RepairRecord.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def replacement_of(raw: bytes, version: int) -> ChangeEvent | None:
    """The event a stored repair record puts at ``version``; None if the record is unusable
    (then the entry stays bad: a broken repair must not be read as a fix)."""
    record = parse_repair(raw)
    if record is None or record.version != version:
        return None
    replacement = classify_record(version, record.event)
    return replacement if isinstance(replacement, ChangeEvent) else None
