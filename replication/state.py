"""The folded IAM state and the pure fold ``apply(state, event) -> state``.

Both planes fold the same log with this module. The state is persistent (``immutables.Map``
shares structure between versions), so a fold step costs O(log n) and any version can be kept
while the next one is built: a replica swaps one reference and its indexes and version change
together. The version is part of the state it describes, never kept beside it.

Every entity kind is one row of ``COLLECTIONS``: the state field that holds it, the model, and
how an entity (or the key of a delete event) maps to its key there. Adding a kind of entity is
adding a row, a field and its event kinds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import immutables
import orjson

from replication.entities import AccessKey, Account, Entity, EntityKey, Role, User
from replication.events import ChangeEvent

__all__ = [
    "COLLECTIONS",
    "IamState",
    "LogGapError",
    "apply",
    "empty_state",
    "entity_hash",
    "state_from_entities",
]

_HASH_MODULUS = 2**256


class LogGapError(RuntimeError):
    """An event arrived whose version is not the next one: the reader skipped part of the log."""


def entity_hash(entity: Entity) -> int:
    """A canonical 256-bit hash of one entity (sorted-key JSON of all its fields)."""
    canonical = orjson.dumps(entity.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.sha256(canonical).digest(), "big")


def _named(account: str, name: str) -> tuple[str, str]:
    # IAM names are unique per account ignoring case (R86)
    return (account, name.lower())


@dataclass(frozen=True, slots=True)
class Collection:
    """Where one kind of entity lives in the state and how it is keyed."""

    field: str
    model: type[Entity]
    key_of: Callable[[Any], Any]
    key_of_ref: Callable[[EntityKey], Any]


COLLECTIONS: dict[str, Collection] = {
    "account": Collection("accounts", Account, lambda e: e.id, lambda r: r.name),
    "user": Collection(
        "users", User, lambda e: _named(e.account, e.name), lambda r: _named(r.account, r.name)
    ),
    "access_key": Collection("access_keys", AccessKey, lambda e: e.access_key_id, lambda r: r.name),
    "role": Collection(
        "roles", Role, lambda e: _named(e.account, e.name), lambda r: _named(r.account, r.name)
    ),
}


@dataclass(frozen=True, slots=True)
class IamState:
    """Every IAM entity at one log version, plus the indexes both planes read."""

    version: int = 0
    accounts: immutables.Map[str, Account] = field(default_factory=immutables.Map)
    users: immutables.Map[tuple[str, str], User] = field(default_factory=immutables.Map)
    access_keys: immutables.Map[str, AccessKey] = field(default_factory=immutables.Map)
    roles: immutables.Map[tuple[str, str], Role] = field(default_factory=immutables.Map)
    # (account, lower user name or "" for root) -> access key ids, in creation order
    keys_by_owner: immutables.Map[tuple[str, str], tuple[str, ...]] = field(
        default_factory=immutables.Map
    )
    # order-independent multiset hash of every entity: updated per event in O(1)
    content_hash: int = 0

    @property
    def digest(self) -> str:
        """Canonical hash of the state, equal on every replica at the same version."""
        return f"{self.version}:{self.content_hash:064x}"

    def user(self, account: str, name: str) -> User | None:
        """The user of that name in the account (names ignore case), if any."""
        return self.users.get(_named(account, name))

    def role(self, account: str, name: str) -> Role | None:
        """The role of that name in the account (names ignore case), if any."""
        return self.roles.get(_named(account, name))

    def keys_of(self, account: str, user_name: str | None) -> tuple[AccessKey, ...]:
        """The access keys of a user (or of the root user when ``user_name`` is None)."""
        owner = (account, (user_name or "").lower())
        return tuple(self.access_keys[k] for k in self.keys_by_owner.get(owner, ()))

    def users_of(self, account: str) -> list[User]:
        """The account's users, sorted by name as AWS lists them."""
        found = [u for (acct, _), u in self.users.items() if acct == account]
        return sorted(found, key=lambda u: u.name.lower())

    def entities(self) -> Iterator[Entity]:
        """Every entity of the state, collection by collection (for snapshots)."""
        for collection in COLLECTIONS.values():
            yield from getattr(self, collection.field).values()

    @property
    def entity_count(self) -> int:
        """How many entities the state holds."""
        return sum(len(getattr(self, c.field)) for c in COLLECTIONS.values())


def empty_state() -> IamState:
    """The state before the first event."""
    return IamState()


def _rehash(state: IamState, old: Entity | None, new: Entity | None) -> int:
    value = state.content_hash
    if old is not None:
        value -= entity_hash(old)
    if new is not None:
        value += entity_hash(new)
    return value % _HASH_MODULUS


def _index_key(state: IamState, key: AccessKey, present: bool) -> IamState:
    """Keep ``keys_by_owner`` in step with one access key put (present) or deleted."""
    owner = (key.account, (key.user_name or "").lower())
    current = state.keys_by_owner.get(owner, ())
    if present:
        if key.access_key_id in current:
            return state
        return replace(
            state, keys_by_owner=state.keys_by_owner.set(owner, (*current, key.access_key_id))
        )
    remaining = tuple(k for k in current if k != key.access_key_id)
    if remaining:
        return replace(state, keys_by_owner=state.keys_by_owner.set(owner, remaining))
    if owner in state.keys_by_owner:
        return replace(state, keys_by_owner=state.keys_by_owner.delete(owner))
    return state


def put_entity(state: IamState, entity: Entity) -> IamState:
    """The state with ``entity`` added or replaced."""
    collection = COLLECTIONS[entity.entity]
    members: immutables.Map[Any, Entity] = getattr(state, collection.field)
    key = collection.key_of(entity)
    old = members.get(key)
    changes: dict[str, Any] = {
        collection.field: members.set(key, entity),
        "content_hash": _rehash(state, old, entity),
    }
    state = replace(state, **changes)
    if isinstance(entity, AccessKey):
        state = _index_key(state, entity, present=True)
    return state


def delete_entity(state: IamState, ref: EntityKey) -> IamState:
    """The state without the entity ``ref`` names (unchanged when it is not there)."""
    collection = COLLECTIONS[ref.entity]
    members: immutables.Map[Any, Entity] = getattr(state, collection.field)
    key = collection.key_of_ref(ref)
    old = members.get(key)
    if old is None:
        return state
    changes: dict[str, Any] = {
        collection.field: members.delete(key),
        "content_hash": _rehash(state, old, None),
    }
    state = replace(state, **changes)
    if isinstance(old, AccessKey):
        state = _index_key(state, old, present=False)
    return state


def apply(state: IamState, event: ChangeEvent) -> IamState:
    """Fold one event into the state.

    An event at or below the state's version is already in it and changes nothing; an event
    that skips a version is a reader's bug and raises ``LogGapError``.
    """
    if event.version <= state.version:
        return state
    if event.version != state.version + 1:
        raise LogGapError(f"state is at version {state.version}, event is {event.version}")
    entity_kind, verb = event.kind.split(".", 1)
    if verb == "delete":
        folded = delete_entity(state, EntityKey.model_validate(event.payload))
    else:
        entity = COLLECTIONS[entity_kind].model.model_validate(event.payload)
        folded = put_entity(state, entity)
    return replace(folded, version=event.version)


def state_from_entities(version: int, entities: Iterator[Entity] | list[Entity]) -> IamState:
    """The state that holds exactly ``entities`` at ``version`` (loading a snapshot)."""
    state = empty_state()
    for entity in entities:
        state = put_entity(state, entity)
    return replace(state, version=version)
