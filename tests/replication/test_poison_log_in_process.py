"""A bad entry in the log, against a real redis-server: readers stop before it, the writer
refuses writes naming it, a replica halts at the version before it (also when it starts on
such a log), and an operator's repair lets every one of them resume."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import orjson
import pytest
from structlog.testing import capture_logs

from awswire.errors import AwsError
from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Requester,
    any_resource,
)
from controlplane.writer import Writer
from dataplane.replica import Replica, ReplicaIdentity, ReplicaStatus
from replication.delay import RegionDelays
from replication.entities import AccessKey, User
from replication.entries import BadEntry, BadReason
from replication.events import REPAIR_KIND, ChangeEvent, encode_event
from replication.log import (
    HEAD_KEY,
    STREAM_KEY,
    AppendConflictError,
    PoisonedLogError,
    RedisChangeLog,
    RepairRefusedError,
    connect,
)
from replication.repairs import REPAIRS_KEY, parse_repair
from tests.change_events import ACCOUNT, NOW, numbered_event

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CALLER = Requester(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", None)


def _secret_key_event(version: int) -> bytes:
    """An access_key.put at ``version`` holding SECRET, re-kinded to a kind nobody knows."""
    key = AccessKey(
        account=ACCOUNT,
        access_key_id="AKIA0000000000000009",
        secret_access_key=SECRET,
        user_name=None,
        created_at=NOW,
    )
    record = orjson.loads(
        encode_event(
            ChangeEvent(
                version=version,
                committed_at=time.time(),
                kind="access_key.put",
                account=ACCOUNT,
                action="CreateAccessKey",
                payload=key.model_dump(mode="json"),
            )
        )
    )
    record["kind"] = "access_key.rotate"
    return orjson.dumps(record)


async def _poison(log: RedisChangeLog, version: int, fields: dict[bytes, bytes]) -> None:
    """Append a raw entry at ``version`` as a buggy writer would (moving the head too)."""
    await log.client.xadd(STREAM_KEY, fields, id=f"{version}-0")  # type: ignore[arg-type]
    await log.client.set(HEAD_KEY, version)


@pytest.fixture
async def log(redis_url: str) -> AsyncIterator[RedisChangeLog]:
    """A change log on a freshly flushed database, holding versions 1..3."""
    change_log = RedisChangeLog(connect(redis_url))
    await change_log.client.flushdb()
    for version in (1, 2, 3):
        await change_log.append(numbered_event(version))
    yield change_log
    await change_log.close()


async def _until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


# -- the log --------------------------------------------------------------------------------


async def test_readers_get_the_events_before_a_bad_entry_and_the_bad_entry_last(
    log: RedisChangeLog,
) -> None:
    await _poison(log, 4, {b"e": b"not json"})
    await log.client.xadd(STREAM_KEY, {b"e": encode_event(numbered_event(5))}, id="5-0")
    entries = await log.read_after(0, 100)
    assert [e.version for e in entries] == [1, 2, 3, 4]  # never 5: it lies past the bad one
    assert isinstance(entries[-1], BadEntry)
    assert entries[-1].reason is BadReason.UNDECODABLE
    async with log.subscribed() as feed:  # a follower, too, stops at the bad entry
        waited = await feed.entries_after(3, 0.01)
    assert len(waited) == 1
    assert isinstance(waited[0], BadEntry)
    replayed = []
    with pytest.raises(PoisonedLogError) as poisoned:
        async for event in log.replay():
            replayed.append(event.version)
    assert replayed == [1, 2, 3]
    assert poisoned.value.entry.version == 4


async def test_a_repair_replaces_the_bad_entry_for_every_reader(log: RedisChangeLog) -> None:
    await _poison(log, 4, {b"x": b"no event field"})
    await log.append(numbered_event(5))  # the writer's next append still lands at the head plus one
    record = await log.repair(4, "a test wrote a bad entry", now=time.time())
    assert record.bad_reason == BadReason.MISSING_FIELD.value
    entries = await log.read_after(0, 100)
    assert [e.version for e in entries] == [1, 2, 3, 4, 5]
    replacement = entries[3]
    assert isinstance(replacement, ChangeEvent)
    assert replacement.kind == REPAIR_KIND
    assert replacement.payload.reason == "a test wrote a bad entry"
    # append-only and auditable: the bad entry is still in the stream, the repair recorded
    raw = await log.raw_entry(4)
    assert raw.fields == {b"x": b"no event field"}
    assert raw.repair is not None
    stored = parse_repair(raw.repair)
    assert stored is not None
    assert stored.entry_sha256 == record.entry_sha256


async def test_a_repair_is_refused_where_there_is_nothing_to_repair(log: RedisChangeLog) -> None:
    with pytest.raises(RepairRefusedError, match="well-formed"):
        await log.repair(2, "by mistake", now=time.time())
    with pytest.raises(RepairRefusedError, match="no entry"):
        await log.repair(9, "no such version", now=time.time())
    await _poison(log, 4, {b"e": b"{}"})
    with pytest.raises(RepairRefusedError, match="reason"):
        await log.repair(4, "  ", now=time.time())
    await log.repair(4, "first", now=time.time())
    with pytest.raises(RepairRefusedError, match="already repaired"):
        await log.repair(4, "second", now=time.time())
    assert await log.client.hlen(REPAIRS_KEY) == 1


async def test_an_unreadable_repair_record_leaves_the_entry_bad(log: RedisChangeLog) -> None:
    await _poison(log, 4, {b"e": b"not json"})
    await log.client.hset(REPAIRS_KEY, "4", b"garbage")
    entries = await log.read_after(3, 10)
    assert isinstance(entries[0], BadEntry)


async def test_an_entry_added_without_moving_the_head_is_a_conflict_for_the_writer(
    log: RedisChangeLog,
) -> None:
    await log.client.xadd(STREAM_KEY, {b"e": b"not json"}, id="4-0")
    assert await log.head() == 3
    assert await log.newest_version() == 4
    with pytest.raises(AppendConflictError):
        await log.append(numbered_event(4))
    writer = Writer(log, clock=time.time)
    await writer.catch_up()
    assert writer.state.version == 3
    assert writer.halted is not None
    assert writer.halted.version == 4


# -- the writer -----------------------------------------------------------------------------


def _create_user(name: str) -> Operation:
    def handler(state: object, params: object, caller: Requester, now: datetime) -> HandlerResult:
        user = User(account=ACCOUNT, name=name, user_id=f"AIDA{name:0>17}", created_at=NOW)
        return HandlerResult({}, Change.put(user))

    return Operation("CreateUser", handler, any_resource, OperationKind.WRITE)  # type: ignore[arg-type]


async def test_the_writer_refuses_writes_naming_the_bad_version_and_resumes_after_a_repair(
    log: RedisChangeLog,
) -> None:
    writer = Writer(log, clock=time.time)
    await writer.catch_up()
    _, acknowledged = await writer.execute(_create_user("before"), {}, CALLER)
    assert acknowledged == 4
    await _poison(log, 5, {b"e": orjson.dumps({"schema_version": 99})})
    with capture_logs() as logs, pytest.raises(AwsError) as refused:
        await writer.execute(_create_user("during"), {}, CALLER)
    assert refused.value.code == "ServiceFailure"
    assert refused.value.http_status == 500
    assert "version 5" in refused.value.message
    assert "schema newer than known" in refused.value.message
    assert [line["event"] for line in logs if line["log_level"] == "error"] == [
        "log_entry_unusable"
    ]
    assert writer.state.version == 4  # reads answer from the projection before the bad entry
    await log.repair(5, "a newer build wrote it; the change is not needed", now=time.time())
    _, version = await writer.execute(_create_user("after"), {}, CALLER)
    assert version == 6
    assert writer.halted is None
    assert writer.state.user(ACCOUNT, "before") is not None  # the acknowledged write is kept
    assert writer.state.user(ACCOUNT, "during") is None  # the refused one was never made


async def test_the_writer_notices_a_bad_entry_and_its_repair_without_a_write(
    log: RedisChangeLog,
) -> None:
    writer = Writer(log, clock=time.time)
    await writer.catch_up()
    follower = asyncio.create_task(writer.follow_log(interval=0.05))
    try:
        await _poison(log, 4, {b"e": b"not json"})
        await _until(lambda: writer.halted is not None)
        await log.repair(4, "test", now=time.time())
        await _until(lambda: writer.halted is None and writer.state.version == 4)
    finally:
        follower.cancel()


# -- the replica ----------------------------------------------------------------------------


def _replica(log: RedisChangeLog) -> tuple[Replica, asyncio.Task[None]]:
    replica = Replica(ReplicaIdentity("eu-west-1", "eu-west-1a"), log, RegionDelays(), time.time)
    return replica, asyncio.create_task(replica.run())


async def test_a_replica_halts_before_a_bad_entry_says_why_and_resumes_after_a_repair(
    log: RedisChangeLog,
) -> None:
    replica, task = _replica(log)
    try:
        await _until(lambda: replica.state.version == 3)
        with capture_logs() as logs:
            await _poison(log, 4, {b"e": _secret_key_event(4)})
            await _until(lambda: replica.status is ReplicaStatus.HALTED)
            await asyncio.sleep(1.2)  # it reads the entry again meanwhile: no second line
        assert replica.state.version == 3
        assert replica.halted is not None
        assert replica.halted.version == 4
        assert replica.halted.reason is BadReason.UNKNOWN_KIND
        errors = [line for line in logs if line["log_level"] == "error"]
        assert len(errors) == 1
        assert errors[0]["bad_version"] == 4
        assert errors[0]["kind"] == "access_key.rotate"
        assert SECRET not in repr(logs)
        await log.repair(4, "unknown kind from a newer build", now=time.time())
        await log.append(numbered_event(5))
        await _until(lambda: replica.state.version == 5)
        assert replica.status is ReplicaStatus.OK
        assert replica.halted is None
    finally:
        task.cancel()


async def test_a_replica_started_on_a_poisoned_log_halts_instead_of_starting_forever(
    log: RedisChangeLog,
) -> None:
    await _poison(log, 4, {b"e": b"{not json"})
    replica, task = _replica(log)
    try:
        await _until(lambda: replica.status is ReplicaStatus.HALTED)
        assert replica.state.version == 3
        await log.repair(4, "test", now=time.time())
        await _until(lambda: replica.status is ReplicaStatus.OK and replica.state.version == 4)
    finally:
        task.cancel()


async def test_a_replica_that_cannot_fold_an_accepted_event_halts_and_keeps_serving(
    log: RedisChangeLog,
) -> None:
    """Decoding checks what the fold reads; should the two ever disagree (a bug), the replica
    halts at the version before the event instead of its follower task dying silently."""
    replica, task = _replica(log)
    try:
        await _until(lambda: replica.state.version == 3)
        unfoldable = numbered_event(4).model_copy(update={"kind": "group.put"})  # a user's payload
        with capture_logs() as logs:
            await replica._take([unfoldable])  # as if decoding had let it through
            await _until(lambda: replica.status is ReplicaStatus.HALTED)
        assert replica.state.version == 3
        assert replica.halted is not None
        assert replica.halted.version == 4
        assert replica.halted.detail == "apply failed with ValidationError"
        assert [line["event"] for line in logs if line["log_level"] == "error"] == [
            "log_entry_unusable"
        ]
        assert not task.done()  # the follower lives on
    finally:
        task.cancel()
