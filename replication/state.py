"""The folded IAM state and the pure fold ``apply(state, event) -> state``.

Both planes fold the same log with this module. The state is persistent (``immutables.Map``
shares structure between versions), so a fold step costs O(log n) and any version can be kept
while the next one is built: a replica swaps one reference and its indexes and version change
together. The version is part of the state it describes, never kept beside it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import immutables
import orjson

from replication.entities import AccessKey, Account, Entity, EntityKey, User
from replication.events import ChangeEvent

__all__ = ["IamState", "LogGapError", "apply", "empty_state", "entity_hash"]

_HASH_MODULUS = 2**256


class LogGapError(RuntimeError):
    """An event arrived whose version is not the next one: the reader skipped part of the log."""


def entity_hash(entity: Entity) -> int:
    """A canonical 256-bit hash of one entity (sorted-key JSON of all its fields)."""
    canonical = orjson.dumps(entity.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.sha256(canonical).digest(), "big")


def _user_key(account: str, name: str) -> tuple[str, str]:
    # IAM names are unique per account ignoring case (R86)
    return (account, name.lower())


@dataclass(frozen=True, slots=True)
class IamState:
    """Every IAM entity at one log version, plus the indexes both planes read."""

    version: int = 0
    accounts: immutables.Map[str, Account] = field(default_factory=immutables.Map)
    users: immutables.Map[tuple[str, str], User] = field(default_factory=immutables.Map)
    access_keys: immutables.Map[str, AccessKey] = field(default_factory=immutables.Map)
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
        return self.users.get(_user_key(account, name))

    def keys_of(self, account: str, user_name: str | None) -> tuple[AccessKey, ...]:
        """The access keys of a user (or of the root user when ``user_name`` is None)."""
        owner = (account, (user_name or "").lower())
        return tuple(self.access_keys[k] for k in self.keys_by_owner.get(owner, ()))

    def users_of(self, account: str) -> list[User]:
        """The account's users, sorted by name as AWS lists them."""
        found = [u for (acct, _), u in self.users.items() if acct == account]
        return sorted(found, key=lambda u: u.name.lower())

    @property
    def entity_count(self) -> int:
        """How many entities the state holds."""
        return len(self.accounts) + len(self.users) + len(self.access_keys)


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


def _put_account(state: IamState, payload: dict[str, Any]) -> IamState:
    account = Account.model_validate(payload)
    old = state.accounts.get(account.id)
    return replace(
        state,
        accounts=state.accounts.set(account.id, account),
        content_hash=_rehash(state, old, account),
    )


def _put_user(state: IamState, payload: dict[str, Any]) -> IamState:
    user = User.model_validate(payload)
    key = _user_key(user.account, user.name)
    old = state.users.get(key)
    return replace(state, users=state.users.set(key, user), content_hash=_rehash(state, old, user))


def _delete_user(state: IamState, payload: dict[str, Any]) -> IamState:
    ref = EntityKey.model_validate(payload)
    key = _user_key(ref.account, ref.name)
    old = state.users.get(key)
    if old is None:
        return state
    return replace(state, users=state.users.delete(key), content_hash=_rehash(state, old, None))


def _put_access_key(state: IamState, payload: dict[str, Any]) -> IamState:
    access_key = AccessKey.model_validate(payload)
    old = state.access_keys.get(access_key.access_key_id)
    owner = (access_key.account, (access_key.user_name or "").lower())
    owned = state.keys_by_owner.get(owner, ())
    if access_key.access_key_id not in owned:
        owned = (*owned, access_key.access_key_id)
    return replace(
        state,
        access_keys=state.access_keys.set(access_key.access_key_id, access_key),
        keys_by_owner=state.keys_by_owner.set(owner, owned),
        content_hash=_rehash(state, old, access_key),
    )


def _delete_access_key(state: IamState, payload: dict[str, Any]) -> IamState:
    ref = EntityKey.model_validate(payload)
    old = state.access_keys.get(ref.name)
    if old is None:
        return state
    owner = (old.account, (old.user_name or "").lower())
    owned = tuple(k for k in state.keys_by_owner.get(owner, ()) if k != ref.name)
    owners = state.keys_by_owner.set(owner, owned) if owned else state.keys_by_owner.delete(owner)
    return replace(
        state,
        access_keys=state.access_keys.delete(ref.name),
        keys_by_owner=owners,
        content_hash=_rehash(state, old, None),
    )


_FOLDS = {
    "account.put": _put_account,
    "user.put": _put_user,
    "user.delete": _delete_user,
    "access_key.put": _put_access_key,
    "access_key.delete": _delete_access_key,
}


def apply(state: IamState, event: ChangeEvent) -> IamState:
    """Fold one event into the state.

    An event at or below the state's version is already in it and changes nothing; an event
    that skips a version is a reader's bug and raises ``LogGapError``.
    """
    if event.version <= state.version:
        return state
    if event.version != state.version + 1:
        raise LogGapError(f"state is at version {state.version}, event is {event.version}")
    folded = _FOLDS[event.kind](state, event.payload)
    return replace(folded, version=event.version)
