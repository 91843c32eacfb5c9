"""A redis-server of a test's own, for tests that stop, kill or reconfigure it (the session's
server in ``conftest.py`` is shared by every test of a worker)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from deploy.ports import free_port_block
from deploy.redis_server import new_password, start_redis_server, wait_for_redis, write_redis_config


@contextlib.contextmanager
def own_redis(
    directory: Path, durability: str = "fsync", extra_config: str = ""
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """A redis-server (AOF, appendfsync as ``durability`` says; ``extra_config`` lines added to
    its config) on a free port: its URL, config and process. Killed at the end."""
    port, password = free_port_block(1), new_password()
    config = write_redis_config(directory, port, password, durability=durability)
    if extra_config:
        with config.open("a") as extra:
            extra.write("\n" + extra_config)
    process = start_redis_server(config)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        wait_for_redis(url)
        yield url, config, process
    finally:
        process.kill()
        process.wait()
