"""Reading one stored log entry: the one step that turns it into a ``ChangeEvent`` or a
``BadEntry`` saying why it cannot be applied.

Every reader of the log (replicas, the control plane's projection, snapshots, ``watch``,
``log show``) decodes entries here, so they all agree on what is applicable. An entry is
applicable only if everything ``apply`` will do with it is known to succeed: its envelope is
well-formed JSON of a schema this code knows, its kind is known, its version is the stream
id's, and its payload is the model its kind names (``ChangeEvent`` checks that). A reader
never guesses past a bad entry: it stops at the version before it, and an operator repairs
the log (``replication.repairs``).

A ``BadEntry`` describes the problem by field names and error types only, never by values:
entries hold secret access keys, and the description goes to logs, metrics and ``/health``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, get_args

import orjson
from pydantic import ValidationError

from replication.events import ChangeEvent, ChangeKind, validate_event
from replication.upcasting import STORED_SCHEMA, NewerSchemaError, StoredSchema

__all__ = [
    "EVENT_FIELD",
    "BadEntry",
    "BadReason",
    "LogEntry",
    "classify_entry",
    "classify_record",
    "version_of",
]

EVENT_FIELD = b"e"
KNOWN_KINDS: frozenset[str] = frozenset(get_args(ChangeKind))
_ENVELOPE_FIELDS = ("version", "committed_at", "kind", "account", "action", "payload")
_ENVELOPE_FIELD_SET = frozenset(_ENVELOPE_FIELDS)
_KIND_SHOWN = 64  # a claimed kind is echoed (truncated) so an operator can recognise it


class BadReason(StrEnum):
    """Why an entry cannot be applied."""

    UNDECODABLE = "undecodable payload"
    MISSING_FIELD = "missing field"
    UNKNOWN_KIND = "unknown kind"
    NEWER_SCHEMA = "schema newer than known"
    INVALID = "invalid event"
    VERSION_MISMATCH = "version mismatch"


@dataclass(frozen=True, slots=True)
class BadEntry:
    """A log entry that cannot be applied: its version, why, and what kind it claims to be.

    ``detail`` names fields and error types, never values, so it is safe to log and show.
    """

    version: int
    reason: BadReason
    detail: str
    kind: str | None = None

    def describe(self) -> str:
        """One line for people: ``version 7: unknown kind (kind 'user.rename' is not ...)``."""
        return f"version {self.version}: {self.reason.value} ({self.detail})"

    def as_json(self) -> dict[str, Any]:
        """The halted state as ``/health``, ``/state`` and ``status`` show it."""
        return {
            "version": self.version - 1,
            "bad_version": self.version,
            "reason": self.reason.value,
            "detail": self.detail,
            "kind": self.kind,
        }


LogEntry = ChangeEvent | BadEntry
"""What reading one entry gives: the event to apply, or why there is none."""


def version_of(entry_id: bytes | str) -> int:
    """The log version of a stream entry id (``<version>-0``)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])


def classify_entry(
    entry_id: bytes | str, fields: Mapping[bytes, bytes], schema: StoredSchema = STORED_SCHEMA
) -> ChangeEvent | BadEntry:
    """The event a stream entry holds, or why it holds none that can be applied."""
    version = version_of(entry_id)
    raw = fields.get(EVENT_FIELD)
    if raw is None:
        return BadEntry(version, BadReason.MISSING_FIELD, "the entry has no 'e' (event) field")
    return classify_record(version, raw, schema)


def classify_record(
    version: int, raw: bytes | str, schema: StoredSchema = STORED_SCHEMA
) -> ChangeEvent | BadEntry:
    """The event an encoded record holds at ``version``, read at ``schema`` (older records
    upcast to it), or why it holds none."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return BadEntry(version, BadReason.UNDECODABLE, "the event is not JSON")
    if not isinstance(record, dict):
        return BadEntry(version, BadReason.UNDECODABLE, "the event is not a JSON object")
    claimed = record.get("kind")
    kind = claimed[:_KIND_SHOWN] if isinstance(claimed, str) else None
    written = record.get("schema_version", 1)
    if not isinstance(written, int) or isinstance(written, bool) or written < 1:
        return BadEntry(
            version, BadReason.INVALID, "schema_version is not a positive integer", kind
        )
    try:
        record = schema.event(record, written)
    except NewerSchemaError as newer:
        return BadEntry(version, BadReason.NEWER_SCHEMA, str(newer), kind)
    except Exception as failed:
        # the error's type only: its message could quote the record's values
        detail = f"upcasting from schema {written} failed: {type(failed).__name__}"
        return BadEntry(version, BadReason.INVALID, detail, kind)
    if not record.keys() >= _ENVELOPE_FIELD_SET:  # one set test; the names only when needed
        missing = [name for name in _ENVELOPE_FIELDS if name not in record]
        return BadEntry(version, BadReason.MISSING_FIELD, "no " + ", ".join(missing), kind)
    if kind is None or claimed not in KNOWN_KINDS:  # not a string: maybe not even hashable
        return BadEntry(version, BadReason.UNKNOWN_KIND, f"kind {kind!r} is not known", kind)
    try:
        event = validate_event(record)
    except ValidationError as error:
        return BadEntry(version, BadReason.INVALID, _fields_of(error), kind)
    if event.version != version:
        detail = f"the event says version {event.version}, the entry id {version}"
        return BadEntry(version, BadReason.VERSION_MISMATCH, detail, kind)
    return event


def _fields_of(error: ValidationError) -> str:
    """The failing fields and error types of a validation error, without the input values."""
    problems = [
        ".".join(str(part) for part in item["loc"]) + f": {item['type']}"
        for item in error.errors(include_url=False, include_input=False)[:3]
    ]
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
