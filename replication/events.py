"""The change-event envelope: the one record the control plane writes and every replica folds.

The envelope is frozen and versioned (``schema_version``). Stored records are decoded by
``replication.entries``, which brings older records to the current schema with the upcasters
of ``replication.upcasting``, so old log entries stay readable when the schema grows, and
refuses records of a newer schema than the reader knows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar, cast, get_args

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from replication.entities import Entity, EntityKey
from replication.upcasting import STORED_SCHEMA

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "REPAIR_KIND",
    "BatchChange",
    "ChangeEvent",
    "ChangeKind",
    "ChangePayload",
    "RepairNote",
    "ReplacedEntry",
    "encode_event",
    "kind_of",
    "validate_event",
    "validator_of",
]

#: the schema this build writes (``replication.upcasting.STORED_SCHEMA``)
CURRENT_SCHEMA_VERSION = STORED_SCHEMA.current

ChangeKind = Literal[
    "account.put",
    "user.put",
    "user.delete",
    "access_key.put",
    "access_key.delete",
    "role.put",
    "role.delete",
    "group.put",
    "group.delete",
    "managed_policy.put",
    "managed_policy.delete",
    "instance_profile.put",
    "instance_profile.delete",
    "oidc_provider.put",
    "oidc_provider.delete",
    "saml_provider.put",
    "saml_provider.delete",
    "mfa_device.put",
    "mfa_device.delete",
    "server_certificate.put",
    "server_certificate.delete",
    "organization.put",
    "organization.delete",
    "batch.put",
    "log.repair",
]

# An operator's repair of a bad log entry (``iam-planes log repair``): it stands in for the
# entry at its version and changes no entity; its payload records why (replication.repairs).
REPAIR_KIND: ChangeKind = "log.repair"
# whole entities one call changes together, and the keys it moves them from
BATCH_KIND: ChangeKind = "batch.put"

# every kind by its name: a name built from an entity ("user" + ".put") is looked up here,
# so it is a ChangeKind to the type checker and a KeyError if no such kind exists
_KINDS: dict[str, ChangeKind] = {kind: kind for kind in get_args(ChangeKind)}
#: each entity model by the name its ``entity`` field carries ("user" -> User)
_ENTITY_MODELS: dict[str, type[Entity]] = {
    model.model_fields["entity"].default: model for model in get_args(Entity)
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BatchChange(_Frozen):
    """What a ``batch.put`` carries: keys to delete first, then whole entities to put."""

    entities: tuple[Annotated[Entity, Field(discriminator="entity")], ...]
    deletes: tuple[EntityKey, ...] = ()

    @field_validator("deletes")
    @classmethod
    def _known_entities(cls, deletes: tuple[EntityKey, ...]) -> tuple[EntityKey, ...]:
        if any(key.entity not in _ENTITY_MODELS for key in deletes):
            raise PydanticCustomError("unknown_entity", "a deleted key names no known entity")
        return deletes

    @model_serializer(mode="wrap")
    def _without_empty_deletes(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # the stored form has no "deletes" at all when there are none (as it always had)
        stored: dict[str, Any] = handler(self)
        if not self.deletes:
            del stored["deletes"]
        return stored


class ReplacedEntry(_Frozen):
    """The bad entry a repair stands in for: why it was bad and the digest of its fields."""

    reason: str
    detail: str
    sha256: str


class RepairNote(_Frozen):
    """What a ``log.repair`` carries: the operator's reason and the entry it replaces."""

    reason: str
    replaced: ReplacedEntry


ChangePayload = Entity | EntityKey | BatchChange | RepairNote
"""What an event carries, by kind: the entity (``*.put``), its key (``*.delete``), a
``BatchChange`` (``batch.put``) or a ``RepairNote`` (``log.repair``)."""

#: the kind that carries each payload model, but EntityKey (its kind depends on its entity)
_KIND_OF_MODEL: dict[type, ChangeKind] = {
    BatchChange: BATCH_KIND,
    RepairNote: REPAIR_KIND,
    **{model: _KINDS[f"{name}.put"] for name, model in _ENTITY_MODELS.items()},
}


def kind_of(payload: ChangePayload) -> ChangeKind:
    """The one event kind that carries ``payload``."""
    if isinstance(payload, EntityKey):
        return _KINDS[f"{payload.entity}.delete"]
    return _KIND_OF_MODEL[type(payload)]  # the fold asks this of every event: by type


_M = TypeVar("_M", bound=BaseModel)


def validator_of(model: type[_M]) -> Callable[[object], _M]:
    """What ``model.model_validate`` calls, without its keyword handling (a measurable part
    of decoding a log entry or loading a snapshot, done for every entry and entity)."""
    return cast(Callable[[object], _M], model.__pydantic_validator__.validate_python)


_validate_key = validator_of(EntityKey)


def _deleted_key(entity: str) -> Callable[[object], EntityKey]:
    def validate(value: object) -> EntityKey:
        key = _validate_key(value)
        if key.entity != entity:
            raise PydanticCustomError(
                "key_of_other_entity", "the key names another entity than the event's kind"
            )
        return key

    return validate


def _payload_validators() -> dict[str, Callable[[object], ChangePayload]]:
    validators: dict[str, Callable[[object], ChangePayload]] = {
        BATCH_KIND: validator_of(BatchChange),
        REPAIR_KIND: validator_of(RepairNote),
    }
    for kind in _KINDS:
        entity, verb = kind.split(".", 1)
        if entity in _ENTITY_MODELS:
            model = _ENTITY_MODELS[entity]
            validators[kind] = validator_of(model) if verb == "put" else _deleted_key(entity)
    missing = set(_KINDS) - set(validators)
    if missing:  # a kind with no payload model could never be read
        raise RuntimeError(f"no payload model for {sorted(missing)}")
    return validators


#: each kind's payload validator: the only way a payload becomes a ``ChangePayload``
_PAYLOAD_OF_KIND = _payload_validators()


class ChangeEvent(BaseModel):
    """One accepted change, at log position ``version``.

    ``payload`` is the model its ``kind`` names, checked when the event is built or read: the
    whole entity after the change for ``*.put`` kinds and its key (``EntityKey``) for
    ``*.delete`` kinds, so applying an event twice is harmless. ``batch.put`` carries a
    ``BatchChange``: whole entities one call changes together (CreateAccount: the account, its
    organization and its access role), folded atomically, after its ``deletes`` for a call that
    moves entities to new keys (UpdateUser renaming a user: its old key goes, the user and its
    access keys are put under the new name). ``log.repair`` carries a ``RepairNote`` and
    changes nothing but the version: it is what an operator's repair puts in place of an entry
    no reader could apply. The stored form of a payload is its model's JSON: an entity or a
    key as it is, a batch as ``{"entities": [...], "deletes": [...]}`` (no ``deletes`` when
    there are none).
    ``committed_at`` is the writer's wall clock in epoch seconds when it appended the event:
    replicas hold the event until ``committed_at`` plus their propagation delay.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # no upper bound here: which schemas a reader accepts is its StoredSchema's to say
    schema_version: int = Field(default=CURRENT_SCHEMA_VERSION, ge=1)
    version: int
    committed_at: float
    kind: ChangeKind
    account: str
    action: str
    # each payload serializes as its own model: a plain validator leaves the union's serializer
    # guessing among its members, with a warning per member that is not the one
    payload: SerializeAsAny[ChangePayload]

    @field_validator("payload", mode="plain")
    @classmethod
    def _payload_of_kind(cls, value: object, info: ValidationInfo) -> object:
        kind = info.data.get("kind")
        if kind is None:  # the kind itself is invalid, and already reported
            return value
        return _PAYLOAD_OF_KIND[kind](value)


#: ``ChangeEvent.model_validate`` for readers decoding log entries (``replication.entries``)
validate_event = validator_of(ChangeEvent)


def encode_event(event: ChangeEvent) -> bytes:
    """The stored form of an event: compact JSON with sorted keys."""
    return orjson.dumps(event.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
