"""``PushSubscription`` against real redis-servers: messages kept as they arrive and taken
together, a bound on what is kept, refusals, and connections that are closed, killed or stop
answering (a redis-server stopped with SIGSTOP)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from deploy.ports import free_port_block
from replication.log import connect
from replication.pushes import PushSubscription
from tests.own_redis import own_redis

#: long enough never to end a test's wait on a healthy machine; messages come in milliseconds
_WAIT = 10.0
_CHANNEL = "test:pushes"
#: publishes ARGV[1] numbered messages (each followed by ARGV[2]) in one script, so they leave
#: Redis together
_PUBLISH_RUN = "for i = 1, tonumber(ARGV[1]) do redis.call('PUBLISH', KEYS[1], i .. ARGV[2]) end"


async def _subscribed(url: str, max_buffered: int = 1000, **options: float) -> PushSubscription:
    client = connect(url)
    try:
        return await PushSubscription.open(
            client.connection_pool, _CHANNEL, max_buffered, **options
        )
    finally:
        await client.aclose()


async def _publish_run(url: str, count: int, padding: bytes = b"") -> None:
    client = connect(url)
    try:
        await client.eval(_PUBLISH_RUN, 1, _CHANNEL, count, padding)  # type: ignore[misc]
    finally:
        await client.aclose()


async def _take(subscription: PushSubscription, count: int) -> tuple[list[bytes], int]:
    """``count`` messages, and how many calls it took."""
    taken: list[bytes] = []
    calls = 0
    while len(taken) < count:
        calls += 1
        more = await subscription.messages(_WAIT)
        assert more, "no message within the wait"
        taken += more
    return taken, calls


@pytest.fixture
async def subscription(redis_url: str) -> AsyncIterator[PushSubscription]:
    subscribed = await _subscribed(redis_url)
    yield subscribed
    subscribed.close()


async def test_messages_that_arrived_together_are_taken_in_one_call(
    redis_url: str, subscription: PushSubscription
) -> None:
    await _publish_run(redis_url, 50)
    await asyncio.sleep(1)  # every byte has arrived long before
    taken = await subscription.messages(_WAIT)
    assert taken == [str(i).encode() for i in range(1, 51)]
    assert await subscription.messages(0.05) == []


async def test_past_the_bound_messages_wait_in_redis_and_none_is_lost(redis_url: str) -> None:
    subscription = await _subscribed(redis_url, max_buffered=3)
    try:
        padding = b" " + b"x" * 1000  # 1 MB in all: more than one read takes
        await _publish_run(redis_url, 1000, padding)
        await asyncio.sleep(1)
        first = await subscription.messages(_WAIT)
        # reading stopped once 3 were kept (one read may bring more than 3, never all 1,000)
        assert 3 <= len(first) < 1000
        rest, _ = await _take(subscription, 1000 - len(first))
        assert first + rest == [b"%d%s" % (i, padding) for i in range(1, 1001)]
    finally:
        subscription.close()


async def test_a_waiting_reader_is_woken_and_can_be_cancelled(
    redis_url: str, subscription: PushSubscription
) -> None:
    waiting = asyncio.create_task(subscription.messages(_WAIT))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    waiting = asyncio.create_task(subscription.messages(_WAIT))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await _publish_run(redis_url, 1)
    assert await asyncio.wait_for(waiting, _WAIT) == [b"1"]


async def test_a_wrong_password_is_refused(redis_url: str) -> None:
    wrong = redis_url.replace(redis_url.split(":")[2].split("@", maxsplit=1)[0], "not-the-password")
    with pytest.raises(RedisError) as refused:
        await _subscribed(wrong)
    assert "not-the-password" not in str(refused.value)


async def test_nobody_listening_is_a_connection_error() -> None:
    port = free_port_block(1)
    with pytest.raises(RedisConnectionError):
        await _subscribed(f"redis://:x@127.0.0.1:{port}/0")


async def test_a_killed_connection_is_reported(
    redis_url: str, subscription: PushSubscription
) -> None:
    client = connect(redis_url)
    try:
        await client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    finally:
        await client.aclose()
    with pytest.raises(RedisConnectionError):
        for _ in range(10):  # the close may take a moment to arrive
            await subscription.messages(1)


async def test_a_closed_subscription_says_so(subscription: PushSubscription) -> None:
    subscription.close()
    with pytest.raises(RedisConnectionError):
        await subscription.messages(_WAIT)


@pytest.fixture
def stoppable_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """A redis-server of this test's own (it may be stopped), also on a Unix socket."""
    socket_path = tmp_path / "redis.sock"
    unix_socket = f"unixsocket {socket_path}\nunixsocketperm 700\n"
    with own_redis(tmp_path, extra_config=unix_socket) as (url, _, process):
        yield url, process, socket_path


@pytest.fixture
async def health_checked(
    stoppable_redis: tuple[str, subprocess.Popen[bytes], Path],
) -> AsyncIterator[PushSubscription]:
    """A subscription to ``stoppable_redis`` that checks its connection every 0.1 s."""
    subscribed = await _subscribed(stoppable_redis[0], health_check_seconds=0.1)
    yield subscribed
    subscribed.close()


async def test_a_connection_that_stops_answering_is_reported(
    stoppable_redis: tuple[str, subprocess.Popen[bytes], Path],
    health_checked: PushSubscription,
) -> None:
    url, process, _ = stoppable_redis
    await _publish_run(url, 1)
    assert await health_checked.messages(_WAIT) == [b"1"]
    process.send_signal(signal.SIGSTOP)  # alive, connected, and silent
    with pytest.raises(RedisConnectionError, match="stopped answering"):
        for _ in range(20):  # quiet past the check, a PING, then no answer by the next
            assert await health_checked.messages(0.2) == []


async def test_a_quiet_healthy_connection_stays(
    stoppable_redis: tuple[str, subprocess.Popen[bytes], Path],
    health_checked: PushSubscription,
) -> None:
    for _ in range(10):  # several checks, each answered
        assert await health_checked.messages(0.2) == []
    await _publish_run(stoppable_redis[0], 2)
    taken, _ = await _take(health_checked, 2)
    assert taken == [b"1", b"2"]


async def test_over_a_unix_socket(
    stoppable_redis: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, _, socket_path = stoppable_redis
    password = url.split(":")[2].split("@", maxsplit=1)[0]
    subscription = await _subscribed(f"unix://:{password}@{socket_path}?db=0")
    try:
        await _publish_run(url, 3)
        taken, _ = await _take(subscription, 3)
        assert taken == [b"1", b"2", b"3"]
    finally:
        subscription.close()
