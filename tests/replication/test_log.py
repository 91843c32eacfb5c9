"""The Redis change log against a real redis-server: compare-and-append, replay, tail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from replication.events import ChangeEvent
from replication.log import AppendConflictError, RedisChangeLog, connect


def _event(version: int) -> ChangeEvent:
    return ChangeEvent(
        version=version,
        committed_at=time.time(),
        kind="account.put",
        account="111122223333",
        action="Test",
        payload={"id": "111122223333", "created_at": "2026-01-01T00:00:00Z"},
    )


@pytest.fixture
async def log(redis_url: str) -> AsyncIterator[RedisChangeLog]:
    """A change log on a freshly flushed database."""
    client: aioredis.Redis = connect(redis_url)
    await client.flushdb()
    change_log = RedisChangeLog(client)
    yield change_log
    await change_log.close()


async def test_append_assigns_consecutive_versions(log: RedisChangeLog) -> None:
    """Appending versions 1, 2, 3 leaves the head at 3 and replays them in order."""
    for version in (1, 2, 3):
        assert await log.append(_event(version)) == version
    assert await log.head() == 3
    assert [e.version for e in await log.read_after(0, 10)] == [1, 2, 3]
    assert [e.version for e in await log.read_after(1, 10)] == [2, 3]


@pytest.mark.parametrize("wrong", [1, 3, 7])
async def test_append_refuses_any_version_but_the_next(log: RedisChangeLog, wrong: int) -> None:
    """A repeated or skipping version is refused, naming the real head, and nothing is written."""
    await log.append(_event(1))
    with pytest.raises(AppendConflictError) as refused:
        await log.append(_event(wrong) if wrong != 1 else _event(1))
    assert refused.value.head == 1
    assert await log.head() == 1
    assert len(await log.read_after(0, 10)) == 1


async def test_concurrent_writers_never_fork_the_log(log: RedisChangeLog) -> None:
    """Two writers racing for the same version: exactly one wins."""
    results = await asyncio.gather(
        log.append(_event(1)), log.append(_event(1)), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["AppendConflictError", "int"]
    assert await log.head() == 1


async def test_wait_after_blocks_until_an_append(log: RedisChangeLog) -> None:
    """A tailing reader wakes up with the event appended while it waits."""
    waiter = asyncio.create_task(log.wait_after(0, block_ms=5000))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await log.append(_event(1))
    events = await asyncio.wait_for(waiter, 5)
    assert [e.version for e in events] == [1]


async def test_wait_after_returns_empty_on_timeout(log: RedisChangeLog) -> None:
    """With nothing new, the tail returns an empty batch after its block time."""
    assert await log.wait_after(0, block_ms=50) == []
