"""The typed payload of a change event: each kind carries one model, checked when the event is
built or read, and stored as the same JSON it always was."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_args

import orjson
import pytest
from pydantic import ValidationError

from replication.entities import Account, EntityKey, Role, User
from replication.entries import BadEntry, BadReason, classify_record
from replication.events import (
    BatchChange,
    ChangeEvent,
    ChangeKind,
    RepairNote,
    ReplacedEntry,
    encode_event,
    kind_of,
)
from replication.state import COLLECTIONS, apply, empty_state

ACCOUNT = "111122223333"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNT_ENTITY = Account(id=ACCOUNT, created_at=NOW)
ALICE = User(account=ACCOUNT, name="alice", user_id="AIDA00000000000000001", created_at=NOW)
READER = Role(
    account=ACCOUNT,
    name="reader",
    role_id="AROA00000000000000001",
    created_at=NOW,
    trust_policy="{}",
)


def _record(kind: str, payload: Any, version: int = 1) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "version": version,
        "committed_at": 1.0,
        "kind": kind,
        "account": ACCOUNT,
        "action": "Test",
        "payload": payload,
    }


def _read(kind: str, payload: Any) -> ChangeEvent | BadEntry:
    return classify_record(1, orjson.dumps(_record(kind, payload)))


def _stored_payload(event: ChangeEvent) -> Any:
    return orjson.loads(encode_event(event))["payload"]


def test_every_delete_kind_reads_its_key_and_names_its_kind_back() -> None:
    deletes = [kind for kind in get_args(ChangeKind) if kind.endswith(".delete")]
    assert deletes
    for kind in deletes:
        entity = kind.removesuffix(".delete")
        assert entity in COLLECTIONS
        key = {"entity": entity, "account": ACCOUNT, "name": "x"}
        event = _read(kind, key)
        assert isinstance(event, ChangeEvent), (kind, event)
        assert event.payload == EntityKey(entity=entity, account=ACCOUNT, name="x")
        assert kind_of(event.payload) == kind
        assert _stored_payload(event) == key


def test_every_payload_model_names_the_kind_that_carries_it() -> None:
    """kind_of looks most payloads up by their model: each entity's ``*.put``, the batch's
    and the repair's kinds, and every other kind is a delete."""
    note = RepairNote(reason="r", replaced=ReplacedEntry(reason="r", detail="d", sha256="0"))
    named = {kind_of(BatchChange(entities=())), kind_of(note)}
    for collection in COLLECTIONS.values():
        named.add(kind_of(collection.model.model_construct()))
    deletes = {kind for kind in get_args(ChangeKind) if kind.endswith(".delete")}
    assert named | deletes == set(get_args(ChangeKind))
    assert named == {"batch.put", "log.repair"} | {f"{e}.put" for e in COLLECTIONS}


def test_a_put_reads_as_the_entity_its_kind_names() -> None:
    event = _read("user.put", ALICE.model_dump(mode="json"))
    assert isinstance(event, ChangeEvent)
    assert event.payload == ALICE
    assert kind_of(event.payload) == "user.put"


def test_a_put_carrying_another_entity_than_its_kind_names_is_invalid() -> None:
    entry = _read("role.put", ALICE.model_dump(mode="json"))
    assert isinstance(entry, BadEntry)
    assert entry.reason is BadReason.INVALID
    assert entry.detail.startswith("payload")


def test_a_delete_whose_key_names_another_entity_than_its_kind_is_invalid() -> None:
    """``user.delete`` of a role's key would delete the role: the kind and key must agree."""
    entry = _read("user.delete", {"entity": "role", "account": ACCOUNT, "name": "reader"})
    assert isinstance(entry, BadEntry)
    assert entry.reason is BadReason.INVALID
    assert entry.detail == "payload: key_of_other_entity"


def test_a_batch_deleting_a_key_of_no_known_entity_is_invalid() -> None:
    spaceship = {"entity": "spaceship", "account": ACCOUNT, "name": "x"}
    entry = _read("batch.put", {"entities": [], "deletes": [spaceship]})
    assert isinstance(entry, BadEntry)
    assert entry.detail == "payload.deletes: unknown_entity"


def test_a_batch_is_stored_with_deletes_only_when_it_deletes_something() -> None:
    key = EntityKey(entity="user", account=ACCOUNT, name="alice")
    with_deletes = BatchChange(entities=(READER,), deletes=(key,))
    event = ChangeEvent(
        version=1,
        committed_at=1.0,
        kind="batch.put",
        account=ACCOUNT,
        action="T",
        payload=with_deletes,
    )
    assert _stored_payload(event) == {
        "entities": [READER.model_dump(mode="json")],
        "deletes": [key.model_dump(mode="json")],
    }
    plain = event.model_copy(update={"payload": BatchChange(entities=(READER,))})
    assert _stored_payload(plain) == {"entities": [READER.model_dump(mode="json")]}
    assert classify_record(1, encode_event(event)) == event


def test_a_repair_note_is_stored_as_the_reason_and_the_replaced_entry() -> None:
    note = RepairNote(reason="fixed", replaced=ReplacedEntry(reason="r", detail="d", sha256="ab"))
    event = ChangeEvent(
        version=1, committed_at=1.0, kind="log.repair", account="", action="RepairLog", payload=note
    )
    assert _stored_payload(event) == {
        "reason": "fixed",
        "replaced": {"reason": "r", "detail": "d", "sha256": "ab"},
    }
    assert classify_record(1, encode_event(event)) == event
    assert apply(empty_state(), event).version == 1  # a repair changes nothing but the version


def test_building_an_event_checks_its_payload_against_its_kind() -> None:
    with pytest.raises(ValidationError, match="payload"):
        ChangeEvent(
            version=1, committed_at=1.0, kind="role.put", account=ACCOUNT, action="T", payload=ALICE
        )


def test_the_fold_refuses_an_event_copied_around_validation() -> None:
    """``model_copy(update=...)`` skips validation: the fold checks the kind still names the
    payload and raises the error reading the event would have."""
    put = ChangeEvent(
        version=1, committed_at=1.0, kind="user.put", account=ACCOUNT, action="T", payload=ALICE
    )
    assert ALICE in apply(empty_state(), put).users.values()
    for copied in ({"payload": ACCOUNT_ENTITY}, {"kind": "group.put"}):
        with pytest.raises(ValidationError):
            apply(empty_state(), put.model_copy(update=copied))
