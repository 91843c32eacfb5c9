"""The upcasting path, walked with the recorded schema-1 fixtures and a schema 2 of the test's
own: an old log entry and an old snapshot read correctly under a newer schema, and a record
of a schema newer than the reader's is refused by name.

Schema 2 here tags every user it carries over (``schema-1`` = ``carried-over``) and names the
actions of events with their ``iam:`` prefix: changes a reader can see in the state and in the
events, on the entities (puts, batches, snapshots) and on the envelope.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from replication.entities import Account, Tag, User
from replication.entries import BadEntry, BadReason, classify_record
from replication.events import ChangeEvent
from replication.snapshot import UnknownSnapshotSchemaError, decode_snapshot
from replication.state import IamState, apply, empty_state
from replication.upcasting import StoredSchema, Upcaster

FIXTURES = Path(__file__).parent / "fixtures"
LOG = (FIXTURES / "schema_1_log.jsonl").read_text().splitlines()
SNAPSHOT = json.loads((FIXTURES / "schema_1_snapshot.json").read_text())
CARRIED_OVER = Tag(key="schema-1", value="carried-over")


def _tag_users(record: dict[str, Any]) -> dict[str, Any]:
    if record.get("entity") != "user":
        return record
    return {**record, "tags": [*record.get("tags", []), CARRIED_OVER.model_dump()]}


def _prefix_action(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "action": f"iam:{record['action']}"}


SCHEMA_2 = StoredSchema(current=2, upcasters={1: Upcaster(entity=_tag_users, event=_prefix_action)})


def _read_log(schema: StoredSchema) -> list[ChangeEvent]:
    decoded = [classify_record(n, raw, schema) for n, raw in enumerate(LOG, start=1)]
    bad = [entry for entry in decoded if isinstance(entry, BadEntry)]
    assert not bad, bad
    return [entry for entry in decoded if isinstance(entry, ChangeEvent)]


def _fold(events: list[ChangeEvent]) -> IamState:
    state = empty_state()
    for event in events:
        state = apply(state, event)
    return state


def _users(state: IamState) -> list[User]:
    return [entity for entity in state.entities() if isinstance(entity, User)]


def _snapshot_bytes() -> bytes:
    return base64.b64decode(SNAPSHOT["snapshot_base64"])


def test_a_schema_1_log_reads_as_schema_2_through_the_upcaster() -> None:
    events = _read_log(SCHEMA_2)

    assert len(events) == len(LOG)
    assert {event.schema_version for event in events} == {2}
    assert {event.action for event in events} == {"iam:Fixture"}
    puts = [event for event in events if event.kind == "user.put"]
    assert puts
    assert all(CARRIED_OVER in event.payload.tags for event in puts)
    state = _fold(events)
    assert state.version == SNAPSHOT["version"]
    assert _users(state)
    assert all(CARRIED_OVER in user.tags for user in _users(state))


def test_a_schema_1_snapshot_reads_as_the_state_the_upcast_log_folds_to() -> None:
    from_snapshot = decode_snapshot(_snapshot_bytes(), SNAPSHOT["checksum"], SCHEMA_2)
    from_log = _fold(_read_log(SCHEMA_2))

    assert from_snapshot.version == SNAPSHOT["version"]
    assert all(CARRIED_OVER in user.tags for user in _users(from_snapshot))
    assert from_snapshot.digest == from_log.digest
    # the upcaster changed the entities, so the state is not the one schema 1 reads
    assert from_snapshot.digest != SNAPSHOT["digest"]


def test_an_upcast_snapshot_is_still_refused_when_its_bytes_are_damaged() -> None:
    damaged = _snapshot_bytes()[:-1] + bytes([_snapshot_bytes()[-1] ^ 1])
    with pytest.raises(ValueError, match="checksum"):
        decode_snapshot(damaged, SNAPSHOT["checksum"], SCHEMA_2)


def test_a_batch_puts_entities_through_the_entity_upcaster() -> None:
    account = Account(id="111122223333", created_at=datetime(2026, 12, 7, 12, tzinfo=UTC))
    user = User(
        account=account.id,
        name="batched",
        user_id="AIDA00000000000000009",
        created_at=account.created_at,
    )
    entities = [e.model_dump(mode="json") for e in (account, user)]
    record = {
        "schema_version": 1,
        "version": 1,
        "committed_at": 1.0,
        "kind": "batch.put",
        "account": account.id,
        "action": "CreateAccount",
        "payload": {"entities": entities},
    }

    event = classify_record(1, orjson.dumps(record), SCHEMA_2)

    assert isinstance(event, ChangeEvent)
    batched = _users(apply(empty_state(), event))
    assert [u.tags for u in batched] == [(CARRIED_OVER,)]


def test_a_record_of_a_newer_schema_than_the_readers_is_refused_by_name() -> None:
    newer = {**json.loads(LOG[0]), "schema_version": 3}

    entry = classify_record(1, orjson.dumps(newer), SCHEMA_2)
    assert isinstance(entry, BadEntry)
    assert entry.reason is BadReason.NEWER_SCHEMA
    assert entry.detail == "schema_version 3, this build knows up to 2"
    # and this build (schema 1) refuses what schema 2 writes
    written_by_2 = {**json.loads(LOG[0]), "schema_version": 2}
    refused = classify_record(1, orjson.dumps(written_by_2))
    assert isinstance(refused, BadEntry)
    assert refused.reason is BadReason.NEWER_SCHEMA


def test_a_snapshot_of_a_newer_schema_than_the_readers_is_a_clear_error() -> None:
    body = orjson.loads(zlib.decompress(_snapshot_bytes()))
    body["schema"] = 3
    newer = zlib.compress(orjson.dumps(body))
    with pytest.raises(
        UnknownSnapshotSchemaError, match=r"has schema 3; this build reads schema 2"
    ):
        decode_snapshot(newer, hashlib.sha256(newer).hexdigest(), SCHEMA_2)


def test_an_upcaster_that_fails_makes_a_bad_entry_not_a_crash() -> None:
    def broken(record: dict[str, Any]) -> dict[str, Any]:
        raise KeyError(record["no such member"])

    schema = StoredSchema(current=2, upcasters={1: Upcaster(event=broken)})
    entry = classify_record(1, LOG[0], schema)

    assert isinstance(entry, BadEntry)
    assert entry.reason is BadReason.INVALID
    assert entry.detail == "upcasting from schema 1 failed: KeyError"


def test_a_schema_with_a_gap_in_its_upcasters_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="no upcaster from schema 2 to 3"):
        StoredSchema(current=3, upcasters={1: Upcaster()})
