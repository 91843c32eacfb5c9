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
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import immutables
import orjson

from replication.arns import parse_iam_arn
from replication.aws_managed import aws_managed_policy
from replication.entities import (
    AccessKey,
    Account,
    Entity,
    EntityKey,
    Group,
    InstanceProfile,
    ManagedPolicy,
    MfaDevice,
    OidcProvider,
    Organization,
    Role,
    SamlProvider,
    ServerCertificate,
    User,
)
from replication.events import BatchChange, ChangeEvent, ChangePayload, RepairNote, kind_of

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
    # entity.model_dump(mode="json"), without passing its dozen keyword arguments per call
    dumped = entity.__pydantic_serializer__.to_python(entity, mode="json")
    canonical = orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)
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
    "group": Collection(
        "groups", Group, lambda e: _named(e.account, e.name), lambda r: _named(r.account, r.name)
    ),
    "managed_policy": Collection(
        "managed_policies",
        ManagedPolicy,
        lambda e: (e.account, e.name),
        lambda r: (r.account, r.name),
    ),
    "instance_profile": Collection(
        "instance_profiles",
        InstanceProfile,
        lambda e: _named(e.account, e.name),
        lambda r: _named(r.account, r.name),
    ),
    "oidc_provider": Collection(
        "oidc_providers", OidcProvider, lambda e: (e.account, e.url), lambda r: (r.account, r.name)
    ),
    "saml_provider": Collection(
        "saml_providers", SamlProvider, lambda e: (e.account, e.name), lambda r: (r.account, r.name)
    ),
    "organization": Collection("organizations", Organization, lambda e: e.id, lambda r: r.name),
    "mfa_device": Collection(
        "mfa_devices", MfaDevice, lambda e: (e.account, e.name), lambda r: (r.account, r.name)
    ),
    "server_certificate": Collection(
        "server_certificates",
        ServerCertificate,
        lambda e: _named(e.account, e.name),
        lambda r: _named(r.account, r.name),
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
    groups: immutables.Map[tuple[str, str], Group] = field(default_factory=immutables.Map)
    managed_policies: immutables.Map[tuple[str, str], ManagedPolicy] = field(
        default_factory=immutables.Map
    )
    instance_profiles: immutables.Map[tuple[str, str], InstanceProfile] = field(
        default_factory=immutables.Map
    )
    oidc_providers: immutables.Map[tuple[str, str], OidcProvider] = field(
        default_factory=immutables.Map
    )
    saml_providers: immutables.Map[tuple[str, str], SamlProvider] = field(
        default_factory=immutables.Map
    )
    mfa_devices: immutables.Map[tuple[str, str], MfaDevice] = field(default_factory=immutables.Map)
    server_certificates: immutables.Map[tuple[str, str], ServerCertificate] = field(
        default_factory=immutables.Map
    )
    organizations: immutables.Map[str, Organization] = field(default_factory=immutables.Map)
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

    def group(self, account: str, name: str) -> Group | None:
        """The group of that name in the account (names ignore case), if any."""
        return self.groups.get(_named(account, name))

    def managed_policy(self, arn: str) -> ManagedPolicy | None:
        """The managed policy (customer or AWS managed) with that exact ARN, if any."""
        if arn.startswith("arn:aws:iam::aws:"):
            return aws_managed_policy(arn)
        parsed = parse_iam_arn(arn)
        if parsed is None or parsed[1] != "policy":
            return None
        found = self.managed_policies.get((parsed[0], parsed[3]))
        return found if found is not None and found.arn == arn else None

    def server_certificate(self, account: str, name: str) -> ServerCertificate | None:
        """The server certificate of that name in the account (names ignore case), if any."""
        return self.server_certificates.get(_named(account, name))

    def roles_of(self, account: str) -> list[Role]:
        """The account's roles, sorted by name."""
        found = [r for (acct, _), r in self.roles.items() if acct == account]
        return sorted(found, key=lambda r: r.name.lower())

    def groups_of(self, account: str) -> list[Group]:
        """The account's groups, sorted by name."""
        found = [g for (acct, _), g in self.groups.items() if acct == account]
        return sorted(found, key=lambda g: g.name.lower())

    def managed_policies_of(self, account: str) -> list[ManagedPolicy]:
        """The account's customer managed policies, sorted by name."""
        found = [p for (acct, _), p in self.managed_policies.items() if acct == account]
        return sorted(found, key=lambda p: p.name)

    def members_of(self, group: Group) -> list[User]:
        """The users of the group's account that are members of it, sorted by name."""
        name = group.name.lower()
        return [u for u in self.users_of(group.account) if any(g.lower() == name for g in u.groups)]

    def groups_of_user(self, user: User) -> tuple[Group, ...]:
        """The groups a user is a member of, in join order."""
        found = (self.group(user.account, name) for name in user.groups)
        return tuple(g for g in found if g is not None)

    def organization_of(self, account: str) -> Organization | None:
        """The organization the account is a member (or the management account) of."""
        for organization in self.organizations.values():
            if organization.member(account) is not None:
                return organization
        return None

    def keys_of(self, account: str, user_name: str | None) -> tuple[AccessKey, ...]:
        """The access keys of a user (or of the root user when ``user_name`` is None)."""
        owner = (account, (user_name or "").lower())
        return tuple(self.access_keys[k] for k in self.keys_by_owner.get(owner, ()))

    def user_count(self, account: str) -> int:
        """How many users the account has (for quotas: no sorting, no list)."""
        return sum(1 for acct, _ in self.users if acct == account)

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


#: IamState's fields in order: the fold builds each next state positionally from them
_STATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(IamState))
_STATE_VALUES = operator.attrgetter(*_STATE_FIELDS)
_POSITION: dict[str, int] = {name: index for index, name in enumerate(_STATE_FIELDS)}


class _Step:
    """The fields one fold step changes, gathered so the next state is built once.

    ``dataclasses.replace`` runs its bookkeeping and the frozen ``__init__`` over every field
    each time; one event used to call it two or three times (the collection and hash, the key
    index, the version), which was most of what applying an entry cost.
    """

    __slots__ = ("_changes", "_state")

    def __init__(self, state: IamState) -> None:
        self._state = state
        self._changes: dict[str, Any] = {}

    def _current(self, name: str) -> Any:
        changes = self._changes
        return changes[name] if name in changes else getattr(self._state, name)

    def _rehash(self, old: Entity | None, new: Entity | None) -> None:
        value: int = self._current("content_hash")
        if old is not None:
            value -= entity_hash(old)
        if new is not None:
            value += entity_hash(new)
        self._changes["content_hash"] = value % _HASH_MODULUS

    def _index_key(self, key: AccessKey, present: bool) -> None:
        """Keep ``keys_by_owner`` in step with one access key put (present) or deleted."""
        owners: immutables.Map[tuple[str, str], tuple[str, ...]] = self._current("keys_by_owner")
        owner = (key.account, (key.user_name or "").lower())
        current = owners.get(owner, ())
        if present:
            if key.access_key_id not in current:
                self._changes["keys_by_owner"] = owners.set(owner, (*current, key.access_key_id))
            return
        remaining = tuple(k for k in current if k != key.access_key_id)
        if remaining:
            self._changes["keys_by_owner"] = owners.set(owner, remaining)
        elif owner in owners:
            self._changes["keys_by_owner"] = owners.delete(owner)

    def put(self, entity: Entity) -> None:
        """Add or replace ``entity``."""
        collection = COLLECTIONS[entity.entity]
        members: immutables.Map[Any, Entity] = self._current(collection.field)
        key = collection.key_of(entity)
        old = members.get(key)
        self._changes[collection.field] = members.set(key, entity)
        self._rehash(old, entity)
        if isinstance(entity, AccessKey):
            self._index_key(entity, present=True)

    def delete(self, ref: EntityKey) -> None:
        """Remove the entity ``ref`` names (nothing when it is not there)."""
        collection = COLLECTIONS[ref.entity]
        members: immutables.Map[Any, Entity] = self._current(collection.field)
        key = collection.key_of_ref(ref)
        old = members.get(key)
        if old is None:
            return
        self._changes[collection.field] = members.delete(key)
        self._rehash(old, None)
        if isinstance(old, AccessKey):
            self._index_key(old, present=False)

    def built(self) -> IamState:
        """The state with every gathered change (the same state when there is none)."""
        if not self._changes:
            return self._state
        # replace(**changes), positionally: every field of IamState is an __init__ parameter
        # in field order (one that is not would make this raise, never misplace a value)
        values = list(_STATE_VALUES(self._state))
        for name, value in self._changes.items():
            values[_POSITION[name]] = value
        return IamState(*values)

    def at_version(self, version: int) -> IamState:
        """The state with every gathered change, at ``version``."""
        self._changes["version"] = version
        return self.built()


def put_entity(state: IamState, entity: Entity) -> IamState:
    """The state with ``entity`` added or replaced."""
    step = _Step(state)
    step.put(entity)
    return step.built()


def delete_entity(state: IamState, ref: EntityKey) -> IamState:
    """The state without the entity ``ref`` names (unchanged when it is not there)."""
    step = _Step(state)
    step.delete(ref)
    return step.built()


def apply(state: IamState, event: ChangeEvent) -> IamState:
    """Fold one event into the state.

    An event at or below the state's version is already in it and changes nothing; an event
    that skips a version is a reader's bug and raises ``LogGapError``.
    """
    if event.version <= state.version:
        return state
    if event.version != state.version + 1:
        raise LogGapError(f"state is at version {state.version}, event is {event.version}")
    step = _Step(state)
    match _checked_payload(event):
        case RepairNote():
            pass
        case BatchChange(entities=entities, deletes=deletes):
            for key in deletes:  # keys that move (a rename): gone first
                step.delete(key)
            for entity in entities:
                step.put(entity)
        case EntityKey() as key:
            step.delete(key)
        case entity:
            step.put(entity)
    return step.at_version(event.version)


def _checked_payload(event: ChangeEvent) -> ChangePayload:
    """The event's payload, once it is known to be what its kind names.

    Building or reading an event checks that; only a copy made around validation
    (``model_copy(update=...)``, ``model_construct``) can disagree, and validating it now
    raises the ``ValidationError`` reading it would have.
    """
    if kind_of(event.payload) == event.kind:
        return event.payload
    return ChangeEvent.model_validate(event.model_dump()).payload


def state_from_entities(version: int, entities: Iterator[Entity] | list[Entity]) -> IamState:
    """The state that holds exactly ``entities`` at ``version`` (loading a snapshot).

    The same state as putting the entities one by one (a later entity with the same key
    replaces an earlier one), built in one pass: plain dicts first, then one ``Map.update``
    per collection, and the content hash summed once.
    """
    members: dict[str, dict[Any, Entity]] = {c.field: {} for c in COLLECTIONS.values()}
    owners: dict[tuple[str, str], list[str]] = {}
    content_hash = 0
    for entity in entities:
        collection = COLLECTIONS[entity.entity]
        found = members[collection.field]
        key = collection.key_of(entity)
        old = found.get(key)
        if old is not None:
            content_hash -= entity_hash(old)
        found[key] = entity
        content_hash += entity_hash(entity)
        if isinstance(entity, AccessKey):  # as _index_key: creation (here: input) order
            owned = owners.setdefault((entity.account, (entity.user_name or "").lower()), [])
            if entity.access_key_id not in owned:
                owned.append(entity.access_key_id)
    empty: immutables.Map[Any, Any] = immutables.Map()
    fields: dict[str, Any] = {name: empty.update(found) for name, found in members.items()}
    return IamState(
        version=version,
        keys_by_owner=empty.update({owner: tuple(ids) for owner, ids in owners.items()}),
        content_hash=content_hash % _HASH_MODULUS,
        **fields,
    )
