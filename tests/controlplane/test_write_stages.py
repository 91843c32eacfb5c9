"""A write's stage times name the Redis call apart from the rest of the wait for durability,
against a real redis-server with a replica subscribed to the log's pushes."""

from __future__ import annotations

import asyncio
import time

from controlplane.iam import OPERATIONS
from controlplane.iam.operation import Requester
from controlplane.stages import STAGES, StageTimes, timed_request
from controlplane.writer import Writer
from replication.arns import root_arn
from replication.log import RedisChangeLog, connect

ACCOUNT = "123456789012"
CALLER = Requester(ACCOUNT, root_arn(ACCOUNT), None)
CREATE_USER = OPERATIONS["CreateUser"]


async def _timed_create(writer: Writer, name: str) -> StageTimes:
    with timed_request() as times:
        await writer.execute(CREATE_USER, {"UserName": name}, CALLER)
    return times


async def test_a_write_reports_its_redis_call_inside_the_wait_for_durability(
    log: RedisChangeLog, redis_url: str
) -> None:
    """The ``redis`` stage is the append call, the ``append`` stage the rest of the wait; the
    laps never add up to more than the request's time, and a replica subscribed to the log
    (as every data plane is) is pushed the entry without stalling the write."""
    reader = RedisChangeLog(connect(redis_url))
    writer = Writer(log, clock=time.time)
    await writer.catch_up()
    try:
        async with reader.subscribed() as feed:
            times = await _timed_create(writer, "staged")
            entries = await feed.entries_after(0, 10)
    finally:
        await reader.close()
    assert [entry.version for entry in entries] == [1]
    assert times.durations["redis"] > 0
    assert times.durations["append"] >= 0
    assert set(times.durations) <= set(STAGES)
    assert sum(times.durations.values()) <= times.total()
    assert "redis;dur=" in times.header() and "append;dur=" in times.header()


async def test_writes_sharing_a_run_each_report_its_redis_call(log: RedisChangeLog) -> None:
    """Concurrent writes grouped into runs: each reports the Redis call of the run that made
    it durable, within its own time."""
    writer = Writer(log, clock=time.time)
    await writer.catch_up()
    timed = await asyncio.gather(*(_timed_create(writer, f"grouped-{i}") for i in range(20)))
    assert writer.state.version == 20
    for times in timed:
        assert 0 < times.durations["redis"] <= times.total()
        assert sum(times.durations.values()) <= times.total()
