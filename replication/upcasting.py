"""The stored schema and its upcasters: how records an older build wrote are read by this one.

Log entries (``ChangeEvent`` records) and snapshots hold the same entity records, so they share
one schema number: an event's ``schema_version``, a snapshot's ``schema``. When a change of
shape bumps it from N to N+1, an :class:`Upcaster` registered under N says how an N record
becomes an N+1 record: ``entity`` rewrites one entity record wherever records hold one (a
``*.put`` payload, a ``batch.put``'s entities, a snapshot's entities), ``event`` rewrites the
event envelope. Reading applies the upcasters in order up to :attr:`StoredSchema.current`;
a record of a newer schema than that is refused by name (:class:`NewerSchemaError`), never
read as the current one.

Upcasters work on the stored JSON (plain dicts), before anything is validated: only the
record they return, of the current schema, is built into a ``ChangeEvent`` with its typed
payload (``replication.entries``) or into entities (``replication.snapshot``), so the models
only ever describe the current schema.

:data:`STORED_SCHEMA` is what this build reads and writes. Readers take the schema as a
parameter, so a test can read the recorded schema-1 fixtures under a schema 2 of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "STORED_SCHEMA",
    "NewerSchemaError",
    "StoredSchema",
    "Upcaster",
]

Record = dict[str, Any]


def _unchanged(record: Record) -> Record:
    return record


@dataclass(frozen=True, slots=True)
class Upcaster:
    """How the records of one schema become records of the next."""

    #: one entity record (carries ``entity``: its collection), as a put, a batch or a
    #: snapshot holds it
    entity: Callable[[Record], Record] = _unchanged
    #: the event envelope (``kind``, ``action``, ...), after its entities were rewritten
    event: Callable[[Record], Record] = _unchanged


class NewerSchemaError(ValueError):
    """A record of a schema newer than the reader's (written by a newer build)."""

    def __init__(self, schema: int, current: int) -> None:
        super().__init__(f"schema_version {schema}, this build knows up to {current}")
        self.schema = schema
        self.current = current


@dataclass(frozen=True, slots=True)
class StoredSchema:
    """The schema a reader reads at (``current``) and the upcasters that bring older records
    there, keyed by the schema they start from."""

    current: int
    upcasters: Mapping[int, Upcaster] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [n for n in range(1, self.current) if n not in self.upcasters]
        if missing:  # a gap would strand every record older than it
            raise ValueError(f"no upcaster from schema {missing[0]} to {missing[0] + 1}")
        object.__setattr__(self, "upcasters", MappingProxyType(dict(self.upcasters)))

    def _steps(self, schema: int) -> list[Upcaster]:
        if schema > self.current:
            raise NewerSchemaError(schema, self.current)
        return [self.upcasters[n] for n in range(schema, self.current)]

    def event(self, record: Record, schema: int) -> Record:
        """An event record of ``schema`` as a record of the current schema."""
        if schema == self.current:  # nearly every record: nothing to do, checked cheaply
            return record
        for step in self._steps(schema):
            record = step.event(_entities_rewritten(record, step.entity))
        if schema < self.current:
            record = {**record, "schema_version": self.current}
        return record

    def snapshot(self, body: Record, schema: int) -> Record:
        """A snapshot body of ``schema`` (its ``entities`` a list of records) as a body of the
        current schema."""
        for step in self._steps(schema):
            entities = body.get("entities")
            if isinstance(entities, list):
                rewritten = [step.entity(e) if isinstance(e, dict) else e for e in entities]
                body = {**body, "entities": rewritten}
        if schema < self.current:
            body = {**body, "schema": self.current}
        return body


def _entities_rewritten(record: Record, entity: Callable[[Record], Record]) -> Record:
    """The event record with ``entity`` applied to each entity record its payload holds (a
    deleted key is a key, not an entity record, and is left as it is)."""
    if entity is _unchanged:
        return record
    kind, payload = record.get("kind"), record.get("payload")
    if not isinstance(kind, str) or not isinstance(payload, dict):
        return record  # left for the envelope's own checks to name
    if kind == "batch.put":
        entities = payload.get("entities")
        if isinstance(entities, list):
            rewritten = [entity(e) if isinstance(e, dict) else e for e in entities]
            return {**record, "payload": {**payload, "entities": rewritten}}
        return record
    if kind.endswith(".put"):
        return {**record, "payload": entity(payload)}
    return record


#: the schema this build writes, and the upcasters that read older records (none yet: the
#: first change of shape registers ``1: Upcaster(...)`` here and sets ``current=2``)
STORED_SCHEMA = StoredSchema(current=1)
