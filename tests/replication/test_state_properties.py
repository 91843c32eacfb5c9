"""The fold against a plain model of it, for any sequence of puts, deletes and batches.

The model keeps entities in dicts and computes the content hash from scratch with the formula
other processes and snapshots rely on (the sum of the SHA-256 of each entity's sorted-key JSON,
modulo 2**256), so any shortcut the fold takes must still give exactly these values.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from replication.entities import AccessKey, Entity, EntityKey, Group, Role, User
from replication.entries import classify_record
from replication.events import BatchChange, ChangeEvent, ChangePayload, encode_event, kind_of
from replication.state import COLLECTIONS, IamState, apply, empty_state, state_from_entities

ACCOUNT = "111122223333"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
# few names, differing in case only, so puts replace, deletes hit and keys move between owners
NAMES = ("Alice", "alice", "Bob")
KEY_IDS = ("AKIA0000000000000001", "AKIA0000000000000002", "AKIA0000000000000003")


def _policies() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(("p", "q")), st.text(max_size=8), max_size=2)


def _when() -> st.SearchStrategy[datetime]:
    return st.integers(0, 3).map(lambda days: NOW + timedelta(days=days))


def _users() -> st.SearchStrategy[User]:
    return st.builds(
        User,
        account=st.just(ACCOUNT),
        name=st.sampled_from(NAMES),
        path=st.sampled_from(("/", "/ops/")),
        user_id=st.just("AIDAEXAMPLE0000000001"),
        created_at=_when(),
        inline_policies=_policies(),
        groups=st.lists(st.sampled_from(("devs", "ops")), max_size=2).map(tuple),
    )


def _keys() -> st.SearchStrategy[AccessKey]:
    return st.builds(
        AccessKey,
        account=st.just(ACCOUNT),
        access_key_id=st.sampled_from(KEY_IDS),
        secret_access_key=st.just("s" * 40),
        user_name=st.sampled_from((None, *NAMES)),
        status=st.sampled_from(("Active", "Inactive")),
        created_at=_when(),
    )


def _roles() -> st.SearchStrategy[Role]:
    return st.builds(
        Role,
        account=st.just(ACCOUNT),
        name=st.sampled_from(NAMES),
        role_id=st.just("AROAEXAMPLE0000000001"),
        created_at=_when(),
        trust_policy=st.text(max_size=8),
        description=st.none() | st.text(max_size=4),
        attached_policies=st.lists(st.sampled_from(("arn:a", "arn:b")), max_size=2).map(tuple),
    )


def _groups() -> st.SearchStrategy[Group]:
    return st.builds(
        Group,
        account=st.just(ACCOUNT),
        name=st.sampled_from(NAMES),
        group_id=st.just("AGPAEXAMPLE0000000001"),
        created_at=_when(),
        inline_policies=_policies(),
    )


def _entities() -> st.SearchStrategy[Entity]:
    return st.one_of(_users(), _keys(), _roles(), _groups())


def _deleted_keys() -> st.SearchStrategy[EntityKey]:
    named = st.builds(
        EntityKey,
        entity=st.sampled_from(("user", "role", "group")),
        account=st.just(ACCOUNT),
        name=st.sampled_from(NAMES),
    )
    keys = st.builds(
        EntityKey,
        entity=st.just("access_key"),
        account=st.just(ACCOUNT),
        name=st.sampled_from(KEY_IDS),
    )
    return named | keys


def _payloads() -> st.SearchStrategy[ChangePayload]:
    batches = st.builds(
        BatchChange,
        entities=st.lists(_entities(), max_size=3).map(tuple),
        deletes=st.lists(_deleted_keys(), max_size=2).map(tuple),
    )
    return st.one_of(_entities(), _deleted_keys(), batches)


def _event(version: int, payload: ChangePayload) -> ChangeEvent:
    return ChangeEvent(
        version=version,
        committed_at=0.0,
        kind=kind_of(payload),
        account=ACCOUNT,
        action="Test",
        payload=payload,
    )


class _Model:
    """The fold's meaning, written plainly: dicts of entities and a hash summed from scratch."""

    def __init__(self) -> None:
        self.members: dict[str, dict[Any, Entity]] = {c.field: {} for c in COLLECTIONS.values()}
        self.keys_by_owner: dict[tuple[str, str], list[str]] = {}

    def put(self, entity: Entity) -> None:
        collection = COLLECTIONS[entity.entity]
        self.members[collection.field][collection.key_of(entity)] = entity
        if isinstance(entity, AccessKey):
            owned = self.keys_by_owner.setdefault(_owner(entity), [])
            if entity.access_key_id not in owned:
                owned.append(entity.access_key_id)

    def delete(self, ref: EntityKey) -> None:
        collection = COLLECTIONS[ref.entity]
        old = self.members[collection.field].pop(collection.key_of_ref(ref), None)
        if isinstance(old, AccessKey):
            owned = self.keys_by_owner.get(_owner(old), [])
            if old.access_key_id in owned:
                owned.remove(old.access_key_id)
            if not owned:
                self.keys_by_owner.pop(_owner(old), None)

    def fold(self, payload: ChangePayload) -> None:
        if isinstance(payload, BatchChange):
            for ref in payload.deletes:
                self.delete(ref)
            for entity in payload.entities:
                self.put(entity)
        elif isinstance(payload, EntityKey):
            self.delete(payload)
        else:
            self.put(payload)

    def content_hash(self) -> int:
        total = 0
        for members in self.members.values():
            for entity in members.values():
                canonical = orjson.dumps(
                    entity.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS
                )
                total += int.from_bytes(hashlib.sha256(canonical).digest(), "big")
        return total % 2**256


def _owner(key: AccessKey) -> tuple[str, str]:
    return (key.account, (key.user_name or "").lower())


def _assert_matches(state: IamState, model: _Model, version: int) -> None:
    assert state.version == version
    assert state.content_hash == model.content_hash()
    for name, members in model.members.items():
        assert dict(getattr(state, name)) == members, name
    owners = {owner: tuple(ids) for owner, ids in model.keys_by_owner.items()}
    assert dict(state.keys_by_owner) == owners


@settings(max_examples=300, deadline=None)
@given(payloads=st.lists(_payloads(), min_size=1, max_size=12))
def test_folding_any_history_gives_the_models_entities_indexes_and_hash(
    payloads: list[ChangePayload],
) -> None:
    """After every event, the fold (of the event and of its stored form, decoded) holds the
    model's entities and key index and the content hash computed from scratch."""
    state, model = empty_state(), _Model()
    for version, payload in enumerate(payloads, start=1):
        event = _event(version, payload)
        decoded = classify_record(version, encode_event(event))
        assert decoded == event
        assert isinstance(decoded, ChangeEvent)
        state = apply(state, decoded)
        model.fold(payload)
        _assert_matches(state, model, version)
    # a snapshot of the result loads to the same entities and digest
    rebuilt = state_from_entities(state.version, state.entities())
    assert rebuilt.digest == state.digest
    for collection in COLLECTIONS.values():
        assert dict(getattr(rebuilt, collection.field)) == dict(getattr(state, collection.field))
