"""Taking snapshots: on demand, and periodically in the process that holds the newest state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from redis.exceptions import RedisError

from replication.log import RedisChangeLog
from replication.snapshot import SnapshotInfo, write_snapshot
from replication.state import IamState, apply, empty_state

__all__ = ["fold_log", "snapshot_now", "snapshot_periodically"]

_log = structlog.get_logger("replication.snapshotter")


async def fold_log(log: RedisChangeLog) -> IamState:
    """The newest state: the newest snapshot (if any) plus every event after it."""
    state = await log.load_snapshot(usable_before=float("inf")) or empty_state()
    async for event in log.replay(after=state.version):
        state = apply(state, event)
    return state


async def snapshot_now(log: RedisChangeLog, clock: Callable[[], float]) -> SnapshotInfo:
    """Fold the log and store a snapshot of the result."""
    state = await fold_log(log)
    return await write_snapshot(log.client, state, clock())


async def snapshot_periodically(
    log: RedisChangeLog,
    current: Callable[[], IamState],
    clock: Callable[[], float],
    every_events: int = 1000,
    every_seconds: float = 60.0,
) -> None:
    """Snapshot ``current()`` whenever ``every_events`` new versions or ``every_seconds`` with
    at least one new version have passed; runs until cancelled."""
    last_version = current().version
    last_time = clock()
    while True:
        await asyncio.sleep(1.0)
        state = current()
        grown = state.version - last_version
        if grown <= 0 or (grown < every_events and clock() - last_time < every_seconds):
            continue
        try:
            info = await write_snapshot(log.client, state, clock())
        except RedisError as error:
            _log.warning("snapshot_failed", error=type(error).__name__)
            continue
        last_version, last_time = state.version, clock()
        _log.info("snapshot_written", version=info.version, bytes=info.size)
