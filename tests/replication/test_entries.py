"""Decoding log entries (pure): every way an entry can be unusable is told apart, and no
description of a bad entry ever quotes a value from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from replication.entities import AccessKey, Account, User
from replication.entries import BadEntry, BadReason, classify_entry, classify_record
from replication.events import CURRENT_SCHEMA_VERSION, ChangeEvent, encode_event

ACCOUNT = "111122223333"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _user_event(version: int = 7) -> ChangeEvent:
    user = User(account=ACCOUNT, name="alice", user_id="AIDA00000000000000007", created_at=NOW)
    return ChangeEvent(
        version=version,
        committed_at=1.0,
        kind="user.put",
        account=ACCOUNT,
        action="CreateUser",
        payload=user.model_dump(mode="json"),
    )


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = _user_event().model_dump(mode="json")
    record.update(changes)
    return record


def _bad(raw: bytes, version: int = 7) -> BadEntry:
    entry = classify_entry(f"{version}-0".encode(), {b"e": raw})
    assert isinstance(entry, BadEntry), entry
    assert entry.version == version
    return entry


def test_a_well_formed_entry_is_its_event() -> None:
    event = _user_event()
    assert classify_entry(b"7-0", {b"e": encode_event(event)}) == event


def test_an_entry_without_the_event_field_is_missing_a_field() -> None:
    entry = classify_entry(b"7-0", {b"x": encode_event(_user_event())})
    assert isinstance(entry, BadEntry)
    assert entry.reason is BadReason.MISSING_FIELD
    assert entry.as_json()["version"] == 6  # the last version a reader applies


@pytest.mark.parametrize("raw", [b"not json {", b"\xff\xfe", b""])
def test_a_payload_that_is_not_json_is_undecodable(raw: bytes) -> None:
    assert _bad(raw).reason is BadReason.UNDECODABLE


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_json_that_is_not_an_object_is_undecodable(raw: bytes) -> None:
    assert _bad(raw).reason is BadReason.UNDECODABLE


def test_an_unknown_kind_is_told_and_named() -> None:
    entry = _bad(orjson.dumps(_record(kind="user.rename")))
    assert entry.reason is BadReason.UNKNOWN_KIND
    assert entry.kind == "user.rename"


@pytest.mark.parametrize("kind", [["user.put"], {"user": "put"}, 5, None])
def test_a_kind_that_is_not_a_string_is_unknown(kind: object) -> None:
    """Even one that is not hashable (a JSON array or object): a bad entry, not an error."""
    entry = _bad(orjson.dumps(_record(kind=kind)))
    assert (entry.reason, entry.kind) == (BadReason.UNKNOWN_KIND, None)


def test_a_newer_schema_is_refused_not_applied_as_the_current_one() -> None:
    entry = _bad(orjson.dumps(_record(schema_version=99)))
    assert entry.reason is BadReason.NEWER_SCHEMA
    assert "99" in entry.detail
    assert str(CURRENT_SCHEMA_VERSION) in entry.detail


def test_a_newer_schema_is_refused_even_with_a_kind_this_build_does_not_know() -> None:
    """A newer schema may add kinds: the schema is the reason, not the kind."""
    entry = _bad(orjson.dumps(_record(schema_version=2, kind="user.rename")))
    assert entry.reason is BadReason.NEWER_SCHEMA


@pytest.mark.parametrize("schema", [0, -1, "1", True, None])
def test_a_schema_version_that_is_not_a_positive_integer_is_invalid(schema: object) -> None:
    assert _bad(orjson.dumps(_record(schema_version=schema))).reason is BadReason.INVALID


@pytest.mark.parametrize("field", ["version", "kind", "payload", "committed_at"])
def test_a_missing_envelope_field_is_named(field: str) -> None:
    record = _record()
    del record[field]
    entry = _bad(orjson.dumps(record))
    assert entry.reason is BadReason.MISSING_FIELD
    assert field in entry.detail


def test_an_event_whose_version_is_not_its_entry_ids_is_refused() -> None:
    entry = _bad(encode_event(_user_event(version=8)), version=7)
    assert entry.reason is BadReason.VERSION_MISMATCH


def test_a_payload_that_is_not_the_entity_its_kind_names_is_invalid() -> None:
    entry = _bad(orjson.dumps(_record(payload={"name": "alice"})))
    assert entry.reason is BadReason.INVALID
    assert "payload" in entry.detail


@pytest.mark.parametrize(
    "payload",
    [
        {"entities": "not a list"},
        {"entities": [{"entity": "spaceship"}]},
        {"entities": [], "deletes": [{"entity": "spaceship", "account": ACCOUNT, "name": "x"}]},
    ],
)
def test_a_batch_with_unreadable_members_is_invalid(payload: dict[str, Any]) -> None:
    entry = _bad(orjson.dumps(_record(kind="batch.put", payload=payload)))
    assert entry.reason is BadReason.INVALID


def test_a_well_formed_batch_is_accepted() -> None:
    account = Account(id=ACCOUNT, created_at=NOW).model_dump(mode="json")
    record = _record(kind="batch.put", payload={"entities": [account]})
    assert isinstance(classify_record(7, orjson.dumps(record)), ChangeEvent)


def test_a_description_never_quotes_a_value_of_the_entry() -> None:
    """Bad entries are logged and shown: their detail names fields, never values."""
    key = AccessKey(
        account=ACCOUNT,
        access_key_id="AKIA0000000000000007",
        secret_access_key=SECRET,
        user_name="alice",
        created_at=NOW,
    ).model_dump(mode="json")
    key["status"] = SECRET  # a wrong value in the entry: named, not quoted
    key["created_at"] = SECRET
    entry = _bad(orjson.dumps(_record(kind="access_key.put", payload=key)))
    assert entry.reason is BadReason.INVALID
    assert "status" in entry.detail
    assert SECRET not in entry.detail
    assert SECRET not in entry.describe()
    assert SECRET not in str(entry.as_json())
