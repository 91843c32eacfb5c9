"""Group commit in the writer, against a real redis-server: concurrent writes share appends,
land in the log in order without gaps, and a kill -9 of Redis in the middle of a run loses no
acknowledged write."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from awswire.errors import AwsError
from controlplane.iam import OPERATIONS
from controlplane.iam.operation import (
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    any_resource,
)
from controlplane.writer import Writer
from deploy.redis_server import (
    APPENDFSYNC,
    start_redis_server,
    wait_for_redis,
)
from replication.arns import root_arn
from replication.events import ChangeEvent
from replication.log import RedisChangeLog, connect
from replication.state import IamState
from tests.own_redis import own_redis

ACCOUNT = "123456789012"
CALLER = Requester(ACCOUNT, root_arn(ACCOUNT), None)
CREATE_USER = OPERATIONS["CreateUser"]


class CountingLog(RedisChangeLog):
    """The real change log, counting the appends (Redis calls) the writer makes."""

    def __init__(self, client: aioredis.Redis) -> None:
        super().__init__(client)
        self.appends = 0

    async def append(self, event: ChangeEvent) -> int:
        self.appends += 1
        return await super().append(event)

    async def append_many(self, events: Sequence[ChangeEvent]) -> int:
        self.appends += 1
        return await super().append_many(events)


@pytest.fixture
async def log(redis_url: str) -> AsyncIterator[CountingLog]:
    """A change log on a freshly flushed database."""
    client: aioredis.Redis = connect(redis_url)
    await client.flushdb()
    change_log = CountingLog(client)
    yield change_log
    await change_log.close()


async def _logged_users(log: RedisChangeLog) -> list[tuple[int, str]]:
    """(version, user name) of every event in the log, in log order."""
    return [(e.version, e.payload.name) async for e in log.replay()]


async def test_concurrent_writes_share_appends_and_land_in_order(log: CountingLog) -> None:
    """200 concurrent CreateUser calls: all acknowledged with versions 1..200, each at the
    version its event holds in the log, in fewer appends than writes."""
    writer = Writer(log, clock=time.time)
    await writer.catch_up()
    names = [f"grouped-{i}" for i in range(200)]
    answers = await asyncio.gather(
        *(writer.execute(CREATE_USER, {"UserName": n}, CALLER) for n in names)
    )
    versions = {name: version for name, (_, version) in zip(names, answers, strict=True)}
    assert sorted(versions.values()) == list(range(1, 201))
    logged = await _logged_users(log)
    assert logged == sorted((v, n) for n, v in versions.items())
    assert 1 <= log.appends < len(names)
    assert await log.head() == 200
    assert writer.state.version == 200

    fresh = Writer(log, clock=time.time)
    await fresh.catch_up()
    assert fresh.state.digest == writer.state.digest


async def test_a_write_validated_against_a_pending_one_waits_for_it(log: CountingLog) -> None:
    """A duplicate CreateUser queued behind the pending original is refused (it saw the tip),
    and the read after both sees the one user at its durable version."""
    writer = Writer(log, clock=time.time)
    await writer.catch_up()
    first, second = await asyncio.gather(
        writer.execute(CREATE_USER, {"UserName": "twin"}, CALLER),
        writer.execute(CREATE_USER, {"UserName": "TWIN"}, CALLER),
        return_exceptions=True,
    )
    assert isinstance(first, tuple) and first[1] == 1
    assert isinstance(second, AwsError) and second.code == "EntityAlreadyExists"
    outcome, version = await writer.execute(OPERATIONS["GetUser"], {"UserName": "twin"}, CALLER)
    assert outcome.result["User"]["UserName"] == "twin" and version == 1


class GatedLog(RedisChangeLog):
    """The real change log, whose appends wait until the test opens the gate."""

    def __init__(self, client: aioredis.Redis) -> None:
        super().__init__(client)
        self.appending = asyncio.Event()
        self.gate = asyncio.Event()

    async def append(self, event: ChangeEvent) -> int:
        self.appending.set()
        await self.gate.wait()
        return await super().append(event)


def _nothing_to_change(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    return HandlerResult({})


# a write that changes nothing (ResyncMFADevice with valid codes is one): its answer rests on
# the tip, so it waits for the writes queued before it
NO_CHANGE = Operation("NoChange", _nothing_to_change, any_resource, OperationKind.WRITE)


@pytest.fixture
async def gated(redis_url: str) -> AsyncIterator[tuple[GatedLog, Writer]]:
    """A writer on a flushed log whose appends wait for the test's gate."""
    log = GatedLog(connect(redis_url))
    await log.client.flushdb()
    writer = Writer(log, clock=time.time)
    await writer.catch_up()
    yield log, writer
    await log.close()


async def test_a_cancelled_write_never_fails_a_write_waiting_on_its_event(
    gated: tuple[GatedLog, Writer],
) -> None:
    """A write that changes nothing waits for the pending write before it; cancelling that
    pending write's caller cancels its own wait only: the event is still appended and the
    waiting write still answered at its version."""
    log, writer = gated
    pending = asyncio.create_task(writer.execute(CREATE_USER, {"UserName": "p"}, CALLER))
    waiting = asyncio.create_task(writer.execute(NO_CHANGE, {}, CALLER))
    await asyncio.wait_for(log.appending.wait(), 10)
    assert not waiting.done()  # it waits for the pending write's event
    pending.cancel()
    log.gate.set()
    _, version = await asyncio.wait_for(waiting, 10)
    assert version == 1
    assert pending.cancelled()
    assert await log.head() == 1 and writer.state.version == 1


async def test_a_write_that_changes_nothing_waits_for_the_run_in_flight(
    gated: tuple[GatedLog, Writer],
) -> None:
    """The pending write's run is being appended (so no longer queued) when a write that
    changes nothing is validated against the tip holding it: that answer waits until the run
    is durable, and reflects its version."""
    log, writer = gated
    pending = asyncio.create_task(writer.execute(CREATE_USER, {"UserName": "p"}, CALLER))
    await asyncio.wait_for(log.appending.wait(), 10)
    waiting = asyncio.create_task(writer.execute(NO_CHANGE, {}, CALLER))
    await asyncio.sleep(0.1)
    assert not waiting.done()  # its answer rests on the run in flight
    log.gate.set()
    _, version = await asyncio.wait_for(waiting, 10)
    assert version == 1
    await asyncio.wait_for(pending, 10)


@pytest.mark.parametrize("durability", ["fsync", "write"])
async def test_kill_9_of_redis_during_runs_loses_no_acknowledged_write(
    tmp_path: Path, durability: str
) -> None:
    """Eight writers stream CreateUser while redis-server is killed with SIGKILL; after a
    restart from its AOF, every acknowledged user is in the log, the log is gapless, and the
    same writer writes again. Under either durability: ``write`` (appendfsync no) still writes
    the AOF before any reply, and a killed process's writes stay in the page cache."""
    with own_redis(tmp_path, durability) as (url, config, server):
        log = RedisChangeLog(connect(url))
        configured = await log.client.config_get("appendfsync")
        assert configured == {"appendfsync": APPENDFSYNC[durability]}
        writer = Writer(log, clock=time.time)
        await writer.catch_up()
        acknowledged: dict[str, int] = {}
        refused: list[str] = []
        stop = asyncio.Event()

        async def stream(lane: int) -> None:
            index = 0
            while not stop.is_set():
                name = f"lane{lane}-{index}"
                index += 1
                try:
                    _, version = await writer.execute(CREATE_USER, {"UserName": name}, CALLER)
                    acknowledged[name] = version
                except AwsError as error:
                    assert error.code == "ServiceFailure", error
                    refused.append(name)
                    await asyncio.sleep(0.01)

        lanes = [asyncio.create_task(stream(lane)) for lane in range(8)]
        await asyncio.sleep(0.5)
        server.send_signal(signal.SIGKILL)
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*lanes), 30)
        assert acknowledged and refused

        restarted = start_redis_server(config)
        try:
            wait_for_redis(url)
            logged = {name: version for version, name in await _logged_users(log)}
            for name, version in acknowledged.items():
                assert logged.get(name) == version, name
            versions = sorted(logged.values())
            assert versions == list(range(1, len(versions) + 1))
            _, after = await writer.execute(CREATE_USER, {"UserName": "after-restart"}, CALLER)
            assert after == len(versions) + 1
        finally:
            await log.close()
            restarted.kill()
            restarted.wait()
