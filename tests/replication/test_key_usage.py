"""Access keys' last use against a real redis-server: the newest use wins across replicas,
the replica's recorder keeps what a failed flush could not store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from dataplane.key_usage import KeyUsage
from deploy.ports import free_port_block
from replication.key_usage import KEY_USAGE_KEY, KeyUse, read_key_uses, record_key_uses
from replication.log import connect

KEY = "AKIAEXAMPLE000000001"
OTHER_KEY = "AKIAEXAMPLE000000002"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client on a database without any recorded use."""
    redis_client: aioredis.Redis = connect(redis_url)
    await redis_client.delete(KEY_USAGE_KEY)
    yield redis_client
    await redis_client.aclose()


async def test_a_newer_use_replaces_an_older_one(client: aioredis.Redis) -> None:
    """Two replicas flushing in either order leave the newest use."""
    older = KeyUse(at=1_800_000_000, service="iam", region="us-east-1")
    newer = KeyUse(at=1_800_000_100, service="sts", region="eu-west-1")
    assert await record_key_uses(client, {KEY: newer}) == 1
    assert await record_key_uses(client, {KEY: older}) == 0  # late flush of an older use
    assert (await read_key_uses(client, [KEY])) == {KEY: newer}
    newest = KeyUse(at=1_800_000_200, service="s3", region="ap-northeast-1")
    assert await record_key_uses(client, {KEY: newest}) == 1
    assert (await read_key_uses(client, [KEY, OTHER_KEY])) == {KEY: newest}


async def test_a_use_in_the_same_second_keeps_the_first(client: aioredis.Redis) -> None:
    """Within one second the use recorded first stays."""
    first = KeyUse(at=1_800_000_000, service="iam", region="us-east-1")
    await record_key_uses(client, {KEY: first})
    await record_key_uses(client, {KEY: first.model_copy(update={"service": "sts"})})
    assert (await read_key_uses(client, [KEY]))[KEY] == first


async def test_an_unreadable_value_is_replaced_and_never_read(client: aioredis.Redis) -> None:
    """A value that is not a use reads as no use, and the next flush replaces it."""
    await client.hset(KEY_USAGE_KEY, KEY, "not json")
    assert await read_key_uses(client, [KEY]) == {}
    use = KeyUse(at=1_800_000_000, service="iam", region="us-east-1")
    assert await record_key_uses(client, {KEY: use}) == 1
    assert (await read_key_uses(client, [KEY])) == {KEY: use}


async def test_many_keys_flush_in_batches(client: aioredis.Redis) -> None:
    """More keys than one script call takes are all stored."""
    uses = {
        f"AKIA{n:016d}": KeyUse(at=1_800_000_000, service="iam", region="us-east-1")
        for n in range(450)
    }
    assert await record_key_uses(client, uses) == 450
    assert len(await read_key_uses(client, uses)) == 450


async def test_recorder_flushes_newest_use_per_key_with_service_and_region(
    client: aioredis.Redis,
) -> None:
    """The action's prefix is the service, the replica's region the region; the recorder
    starts over empty after a flush."""
    usage = KeyUsage("eu-west-1")
    usage.record(KEY, "iam:CreateUser", 1_800_000_000.4)
    usage.record(KEY, "sts", 1_800_000_050.9)
    usage.record(OTHER_KEY, "s3:GetObject", 1_800_000_010.0)
    assert await usage.flush(client) == 2
    assert usage.pending() == 0
    assert await read_key_uses(client, [KEY, OTHER_KEY]) == {
        KEY: KeyUse(at=1_800_000_050, service="sts", region="eu-west-1"),
        OTHER_KEY: KeyUse(at=1_800_000_010, service="s3", region="eu-west-1"),
    }


async def test_a_failed_flush_keeps_the_uses_for_the_next(client: aioredis.Redis) -> None:
    """Redis unreachable: the error surfaces, nothing noted is lost, and a newer use noted
    meanwhile is not overwritten by the one given back."""
    usage = KeyUsage("us-east-1")
    usage.record(KEY, "iam:ListUsers", 1_800_000_000.0)
    usage.record(OTHER_KEY, "iam:ListUsers", 1_800_000_000.0)
    dead = aioredis.Redis(port=free_port_block(1), socket_connect_timeout=1)
    with pytest.raises((RedisError, OSError)):
        await usage.flush(dead)
    await dead.aclose()
    usage.record(KEY, "sts", 1_800_000_100.0)
    usage.give_back({KEY: KeyUse(at=1_800_000_000, service="iam", region="us-east-1")})
    assert usage.pending() == 2
    await usage.flush(client)
    assert (await read_key_uses(client, [KEY]))[KEY].service == "sts"
    assert (await read_key_uses(client, [OTHER_KEY]))[OTHER_KEY].at == 1_800_000_000


async def test_the_flush_task_survives_redis_errors_and_flushes_when_stopped(
    client: aioredis.Redis,
) -> None:
    """The periodic task logs and retries instead of dying; cancelling it flushes once more."""
    usage = KeyUsage("us-east-1")
    dead = aioredis.Redis(port=free_port_block(1), socket_connect_timeout=0.2)
    failing = asyncio.create_task(usage.run(dead, 0.01))
    usage.record(KEY, "iam:GetUser", 1_800_000_000.0)
    await asyncio.sleep(0.2)
    assert not failing.done()
    failing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await failing
    await dead.aclose()
    assert usage.pending() == 1
    stopping = asyncio.create_task(usage.run(client, 3600))
    await asyncio.sleep(0)
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert usage.pending() == 0
    assert KEY in await read_key_uses(client, [KEY])
