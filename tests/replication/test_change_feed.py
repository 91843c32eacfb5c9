"""Appends pushed to followers (``ChangeFeed``) against real redis-servers: what is pushed, what
is read from the stream instead, and pushes through a Redis replica (the replicated topology)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.ports import free_port_block
from deploy.redis_server import (
    start_redis_server,
    wait_for_redis,
    wait_for_replication,
    write_redis_config,
)
from replication.entries import BadEntry
from replication.events import ChangeEvent
from replication.log import CHANGES_CHANNEL, STREAM_KEY, RedisChangeLog, connect
from tests.change_events import numbered_event

#: long enough never to end a test's wait on a healthy machine; pushes come in milliseconds
_WAIT = 10.0


def _versions(entries: list[ChangeEvent | BadEntry]) -> list[int]:
    return [entry.version for entry in entries]


async def test_appends_are_pushed_one_by_one_and_in_runs(log: RedisChangeLog) -> None:
    async with log.subscribed() as feed:
        await log.append(numbered_event(1))
        assert _versions(await feed.entries_after(0, _WAIT)) == [1]
        await log.append_many([numbered_event(2), numbered_event(3), numbered_event(4)])
        got = await feed.entries_after(1, _WAIT)
        while got[-1].version < 4:  # the run's messages may arrive in more than one read
            got += await feed.entries_after(got[-1].version, _WAIT)
        assert _versions(got) == [2, 3, 4]
        assert all(isinstance(entry, ChangeEvent) for entry in got)


async def test_a_waiting_follower_is_woken_by_an_append(log: RedisChangeLog) -> None:
    async with log.subscribed() as feed:
        waiter = asyncio.create_task(feed.entries_after(0, _WAIT))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        await log.append(numbered_event(1))
        assert _versions(await asyncio.wait_for(waiter, _WAIT)) == [1]


async def test_with_nothing_new_the_wait_ends_empty(log: RedisChangeLog) -> None:
    async with log.subscribed() as feed:
        assert await feed.entries_after(0, 0.05) == []


async def test_a_push_after_a_gap_reads_the_gap_from_the_stream(log: RedisChangeLog) -> None:
    """Versions 1-2 appended before subscribing were never pushed to this feed: the push of 3
    does not follow on from 0, so the feed reads 1-3 from the stream."""
    await log.append(numbered_event(1))
    await log.append(numbered_event(2))
    async with log.subscribed() as feed:
        await log.append(numbered_event(3))
        assert _versions(await feed.entries_after(0, _WAIT)) == [1, 2, 3]


async def test_pushes_already_read_are_skipped(log: RedisChangeLog) -> None:
    async with log.subscribed() as feed:
        await log.append(numbered_event(1))
        await log.append(numbered_event(2))
        assert await feed.entries_after(2, 0.5) == []


async def test_nothing_pushed_reads_the_stream_all_the_same(log: RedisChangeLog) -> None:
    """An entry added without the append script is never pushed; the feed still finds it
    when its wait for a push ends."""
    await log.append(numbered_event(1))
    async with log.subscribed() as feed:
        await log.client.xadd(STREAM_KEY, {b"e": b"not json"}, id="2-0")  # type: ignore[arg-type]
        entries = await feed.entries_after(1, 0.2)
    assert len(entries) == 1
    assert isinstance(entries[0], BadEntry)
    assert entries[0].version == 2


async def test_a_bad_push_is_read_from_the_stream(log: RedisChangeLog) -> None:
    """A pushed entry that does not decode is not taken as pushed: the stream (where a repair
    would stand in for it) decides."""
    await log.append(numbered_event(1))
    async with log.subscribed() as feed:
        await log.client.xadd(STREAM_KEY, {b"e": b"not json"}, id="2-0")  # type: ignore[arg-type]
        await log.client.publish(CHANGES_CHANNEL, b"2 not json")
        entries = await feed.entries_after(1, _WAIT)
    assert _versions(entries) == [2]
    assert isinstance(entries[0], BadEntry)


@pytest.fixture
def replica_url(redis_url: str, tmp_path: Path) -> Iterator[str]:
    """A read-only Redis replica of the session's server, as a region has in the replicated
    topology."""
    primary_port = int(redis_url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    password = redis_url.split(":")[2].split("@", maxsplit=1)[0]
    port = free_port_block(1)
    config = write_redis_config(tmp_path, port, password, replica_of=("127.0.0.1", primary_port))
    process = start_redis_server(config)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        wait_for_redis(url)
        wait_for_replication(url)
        yield url
    finally:
        process.kill()
        process.wait()


async def test_pushes_reach_followers_of_a_redis_replica(
    log: RedisChangeLog, replica_url: str
) -> None:
    regional = RedisChangeLog(connect(replica_url))
    try:
        async with regional.subscribed() as feed:
            await log.append(numbered_event(1))
            started = time.monotonic()
            pushed = await feed.pushed(_WAIT)
            assert [version for version, _ in pushed] == [1]
            assert time.monotonic() - started < _WAIT
    finally:
        await regional.close()
