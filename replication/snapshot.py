"""Snapshots: the folded state at a version, compact and checksummed, stored beside the log.

A snapshot is every entity of the state at one version (zlib-compressed sorted JSON) with a
SHA-256 checksum of the stored bytes and the state's digest. A new or restarted replica loads
the newest snapshot it may use and tails the log from its version; the log is trimmed behind
the oldest snapshot still kept, so the stream stays short however long the cluster runs.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis.asyncio as aioredis
import structlog

from replication.entities import Entity
from replication.events import validator_of
from replication.state import COLLECTIONS, IamState, state_from_entities
from replication.upcasting import STORED_SCHEMA, NewerSchemaError, StoredSchema

__all__ = [
    "SNAPSHOTS_KEPT",
    "CorruptSnapshotError",
    "SnapshotInfo",
    "UnknownSnapshotSchemaError",
    "decode_snapshot",
    "encode_snapshot",
    "latest_snapshots",
    "load_snapshot",
    "write_snapshot",
]

SNAPSHOTS_KEPT = 2
INDEX_KEY = "iam:snapshots"
_STREAM_KEY = "iam:log"

_log = structlog.get_logger("replication.snapshot")


def _snapshot_key(version: int) -> str:
    return f"iam:snapshot:{version}"


class CorruptSnapshotError(ValueError):
    """A stored snapshot whose checksum or digest does not match its content."""


class UnknownSnapshotSchemaError(ValueError):
    """A stored snapshot of a schema this build cannot read (written by a newer one)."""


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """What the snapshot index says about one stored snapshot."""

    version: int
    committed_at: float  # when the snapshot's newest event was committed
    digest: str
    size: int
    checksum: str


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a snapshot's objects are built.

    Decoding creates millions of objects and frees almost none: every young-generation
    collection would scan them again for nothing (it took most of a 100,000-entity load).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def encode_snapshot(state: IamState, committed_at: float) -> tuple[bytes, SnapshotInfo]:
    """The stored bytes of a snapshot of ``state`` and its index record."""
    with _collector_paused():
        body = {
            "schema": STORED_SCHEMA.current,
            "version": state.version,
            "committed_at": committed_at,
            "digest": state.digest,
            "entities": [entity.model_dump(mode="json") for entity in state.entities()],
        }
        raw = zlib.compress(orjson.dumps(body, option=orjson.OPT_SORT_KEYS), 6)
        del body
    checksum = hashlib.sha256(raw).hexdigest()
    return raw, SnapshotInfo(state.version, committed_at, state.digest, len(raw), checksum)


#: each collection's ``model.model_validate`` without its keyword handling, as snapshots
#: load every entity through it
_VALIDATORS: dict[str, Callable[[object], Entity]] = {
    name: validator_of(collection.model) for name, collection in COLLECTIONS.items()
}


def _validated(records: list[dict[str, Any]]) -> Iterator[Entity]:
    """Each record as its entity model, dropping the record once it is built (lower peak RSS)."""
    for position, record in enumerate(records):
        records[position] = {}
        yield _VALIDATORS[record["entity"]](record)


def decode_snapshot(raw: bytes, checksum: str, schema: StoredSchema = STORED_SCHEMA) -> IamState:
    """The state a snapshot holds, read at ``schema`` (an older snapshot upcast to it);
    CorruptSnapshotError if it fails its checks, UnknownSnapshotSchemaError if it is of a
    schema ``schema`` cannot read."""
    if hashlib.sha256(raw).hexdigest() != checksum:
        raise CorruptSnapshotError("snapshot checksum mismatch")
    with _collector_paused():
        body: dict[str, Any] = orjson.loads(zlib.decompress(raw))
        written = body.get("schema")
        if not isinstance(written, int) or isinstance(written, bool) or written < 1:
            raise _unknown_schema(body, written, schema)
        try:
            body = schema.snapshot(body, written)
        except NewerSchemaError:
            raise _unknown_schema(body, written, schema) from None
        records: list[dict[str, Any]] = body.pop("entities")
        state = state_from_entities(int(body["version"]), _validated(records))
        del records
    # the digest was taken over the entities as written: an upcast snapshot is vouched for
    # by its checksum alone (the stored bytes are intact), as its entities changed shape
    if written == schema.current and state.digest != body["digest"]:
        raise CorruptSnapshotError("snapshot digest does not match its entities")
    return state


def _unknown_schema(
    body: dict[str, Any], written: object, schema: StoredSchema
) -> UnknownSnapshotSchemaError:
    return UnknownSnapshotSchemaError(
        f"snapshot at version {body.get('version')} has schema {written!r}; "
        f"this build reads schema {schema.current} and the older ones it upcasts"
    )


def _info(member: bytes) -> SnapshotInfo:
    record = orjson.loads(member)
    return SnapshotInfo(**record)


async def latest_snapshots(client: aioredis.Redis) -> list[SnapshotInfo]:
    """The stored snapshots, newest first."""
    members = cast(list[bytes], await client.zrevrange(INDEX_KEY, 0, -1))
    return [_info(member) for member in members]


async def write_snapshot(
    client: aioredis.Redis, state: IamState, committed_at: float
) -> SnapshotInfo:
    """Store a snapshot of ``state``, keep the newest ``SNAPSHOTS_KEPT``, trim the log behind them.

    The snapshot is written before it is indexed, so a reader never finds an index entry
    without its data; the log is trimmed only behind the oldest snapshot still indexed.
    """
    raw, info = encode_snapshot(state, committed_at)
    record = orjson.dumps(
        {
            "version": info.version,
            "committed_at": info.committed_at,
            "digest": info.digest,
            "size": info.size,
            "checksum": info.checksum,
        }
    )
    await client.set(_snapshot_key(info.version), raw)
    await client.zadd(INDEX_KEY, {record: info.version})
    stale = cast(list[bytes], await client.zrevrange(INDEX_KEY, SNAPSHOTS_KEPT, -1))
    for member in stale:
        await client.delete(_snapshot_key(_info(member).version))
        await client.zrem(INDEX_KEY, member)
    kept = await latest_snapshots(client)
    oldest = min(s.version for s in kept)
    await client.xtrim(_STREAM_KEY, minid=f"{oldest + 1}-0", approximate=False)
    return info


async def load_snapshot_at(client: aioredis.Redis, version: int) -> IamState | None:
    """The newest valid snapshot at or before ``version`` (time travel); None when none is."""
    return await _newest_usable(client, lambda info: info.version <= version)


async def load_snapshot(client: aioredis.Redis, usable_before: float) -> IamState | None:
    """The newest valid snapshot whose events were all committed before ``usable_before``.

    A replica passes ``now - its delay``, so loading a snapshot never shows it a change
    earlier than its propagation delay allows. None when no snapshot qualifies.
    """
    return await _newest_usable(client, lambda info: info.committed_at <= usable_before)


async def _newest_usable(
    client: aioredis.Redis, usable: Callable[[SnapshotInfo], bool]
) -> IamState | None:
    """The newest snapshot that is ``usable`` and decodes; a bad one is logged and skipped."""
    for info in await latest_snapshots(client):
        if not usable(info):
            continue
        raw = cast(bytes | None, await client.get(_snapshot_key(info.version)))
        if raw is None:
            continue
        try:
            return decode_snapshot(raw, info.checksum)
        except (zlib.error, KeyError, ValueError) as error:  # corrupt, unknown schema, not JSON
            # our own errors' messages only: a validation error's would quote entity values
            known = isinstance(error, CorruptSnapshotError | UnknownSnapshotSchemaError)
            reason = str(error) if known else type(error).__name__
            _log.warning("snapshot_unusable", version=info.version, reason=reason)
            continue
    return None
