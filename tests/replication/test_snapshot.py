"""Snapshots against a real redis-server: round trip, checksums, trimming, usability by age."""

from __future__ import annotations

import gc
import hashlib
import time
import zlib
from datetime import UTC, datetime

import orjson
import pytest

from replication.entities import AccessKey, Account, Entity, User
from replication.events import ChangeEvent
from replication.log import RedisChangeLog
from replication.snapshot import (
    CorruptSnapshotError,
    UnknownSnapshotSchemaError,
    decode_snapshot,
    encode_snapshot,
    latest_snapshots,
    write_snapshot,
)
from replication.snapshotter import fold_log
from replication.state import IamState, apply, empty_state, put_entity, state_from_entities

ACCOUNT = "111122223333"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _events(start: int, count: int) -> list[ChangeEvent]:
    events = []
    for version in range(start, start + count):
        if version == 1:
            payload = Account(id=ACCOUNT, created_at=NOW).model_dump(mode="json")
            kind = "account.put"
        else:
            user = User(
                account=ACCOUNT,
                name=f"user{version}",
                user_id=f"AIDA{version:017d}",
                created_at=NOW,
            )
            payload, kind = user.model_dump(mode="json"), "user.put"
        events.append(
            ChangeEvent(
                version=version,
                committed_at=time.time(),
                kind=kind,  # type: ignore[arg-type]
                account=ACCOUNT,
                action="Test",
                payload=payload,
            )
        )
    return events


def _fold(events: list[ChangeEvent]) -> IamState:
    state = empty_state()
    for event in events:
        state = apply(state, event)
    return state


def test_snapshot_round_trip_keeps_the_digest() -> None:
    """Decoding an encoded snapshot gives back a state with the same version and digest."""
    state = _fold(_events(1, 50))
    raw, info = encode_snapshot(state, committed_at=1.0)
    restored = decode_snapshot(raw, info.checksum)
    assert (restored.version, restored.digest) == (state.version, state.digest)
    assert restored.entity_count == 50


def test_a_corrupt_snapshot_is_refused() -> None:
    """A flipped byte fails the checksum."""
    raw, info = encode_snapshot(_fold(_events(1, 5)), committed_at=1.0)
    damaged = raw[:-1] + bytes([raw[-1] ^ 1])
    with pytest.raises(CorruptSnapshotError):
        decode_snapshot(damaged, info.checksum)


def test_a_snapshot_of_an_unknown_schema_is_a_clear_error() -> None:
    """A snapshot a newer build wrote (schema 2) is refused by name, never read as schema 1."""
    raw, _info = encode_snapshot(_fold(_events(1, 5)), committed_at=1.0)
    body = orjson.loads(zlib.decompress(raw))
    body["schema"] = 2
    newer = zlib.compress(orjson.dumps(body))
    with pytest.raises(UnknownSnapshotSchemaError, match=r"schema 2; this build reads schema 1"):
        decode_snapshot(newer, hashlib.sha256(newer).hexdigest())


async def test_snapshots_trim_the_log_and_bootstrap_still_works(log: RedisChangeLog) -> None:
    """After two snapshots the log holds only what follows the older one, and folding
    snapshot + tail gives the same state as folding everything."""
    events = _events(1, 30)
    for event in events[:10]:
        await log.append(event)
    await write_snapshot(log.client, _fold(events[:10]), time.time())
    for event in events[10:20]:
        await log.append(event)
    await write_snapshot(log.client, _fold(events[:20]), time.time())
    for event in events[20:]:
        await log.append(event)
    await write_snapshot(log.client, _fold(events), time.time())
    assert [s.version for s in await latest_snapshots(log.client)] == [30, 20]
    remaining = [e.version for e in await log.read_after(0, 100)]
    assert remaining == list(range(21, 31))  # trimmed behind the older kept snapshot
    folded = await fold_log(log)
    assert folded.digest == _fold(events).digest


async def test_a_snapshot_too_young_for_the_delay_is_not_used(log: RedisChangeLog) -> None:
    """A replica with a delay only loads snapshots committed at least that long ago."""
    events = _events(1, 5)
    for event in events:
        await log.append(event)
    now = time.time()
    await write_snapshot(log.client, _fold(events), now)
    assert await log.load_snapshot(usable_before=now - 10) is None
    loaded = await log.load_snapshot(usable_before=now + 1)
    assert loaded is not None and loaded.version == 5


def _entities(users: int) -> list[Entity]:
    """An account, ``users`` users with an inline policy and a key each, and a root key."""
    entities: list[Entity] = [Account(id=ACCOUNT, created_at=NOW)]
    for index in range(users):
        name = f"User-{index:06d}"
        entities.append(
            User(
                account=ACCOUNT,
                name=name,
                user_id=f"AIDA{index:017d}",
                created_at=NOW,
                inline_policies={"p": '{"Version":"2012-10-17","Statement":[]}'},
            )
        )
        entities.append(
            AccessKey(
                account=ACCOUNT,
                access_key_id=f"AKIA{index:016d}",
                secret_access_key="s" * 40,
                user_name=name,
                created_at=NOW,
            )
        )
    entities.append(
        AccessKey(
            account=ACCOUNT,
            access_key_id="AKIAROOT000000000001",
            secret_access_key="r" * 40,
            user_name=None,
            created_at=NOW,
        )
    )
    return entities


def test_state_from_entities_equals_putting_them_one_by_one() -> None:
    """The one-pass build gives the state of put_entity in order, replacements included."""
    entities = _entities(300)
    renamed = entities[1].model_copy(update={"path": "/moved/"})  # same key, put again later
    second_key = entities[2].model_copy(update={"access_key_id": "AKIA9999999999999999"})
    entities += [renamed, second_key, entities[2]]  # a repeated key keeps its first position
    folded = empty_state()
    for entity in entities:
        folded = put_entity(folded, entity)
    built = state_from_entities(7, entities)
    assert (built.version, built.digest) == (7, f"7:{folded.content_hash:064x}")
    assert built.entity_count == folded.entity_count
    assert (
        dict(built.users) == dict(folded.users)
        and dict(built.users)[(ACCOUNT, "user-000000")].path == "/moved/"
    )
    assert dict(built.access_keys) == dict(folded.access_keys)
    assert dict(built.keys_by_owner) == dict(folded.keys_by_owner)
    assert built.keys_by_owner[(ACCOUNT, "user-000000")] == (
        "AKIA0000000000000000",
        "AKIA9999999999999999",
    )


def test_a_large_snapshot_round_trip_keeps_every_entity_and_the_digest() -> None:
    """Tens of thousands of entities come back equal, with the digest the snapshot names,
    and decoding leaves the garbage collector as it found it."""
    entities = _entities(20_000)
    state = state_from_entities(len(entities), entities)
    raw, info = encode_snapshot(state, committed_at=1.0)
    assert gc.isenabled()
    restored = decode_snapshot(raw, info.checksum)
    assert gc.isenabled()
    assert (restored.version, restored.digest) == (state.version, state.digest)
    assert restored.entity_count == state.entity_count == len(entities)
    assert dict(restored.users) == dict(state.users)
    assert dict(restored.access_keys) == dict(state.access_keys)
    assert dict(restored.keys_by_owner) == dict(state.keys_by_owner)
    # the restored state folds on exactly like the original
    event = _events(2, 1)[0].model_copy(update={"version": state.version + 1})
    assert apply(restored, event).digest == apply(state, event).digest
