"""The replica follower against a real redis-server: delays, order, partitions, snapshots."""

from __future__ import annotations

import asyncio
import time

import pytest
from structlog.testing import capture_logs

from dataplane.replica import Replica, ReplicaIdentity, ReplicaStatus, StaleReplicaError
from replication.delay import DelaySpec, RegionDelays
from replication.log import RedisChangeLog
from replication.snapshot import write_snapshot
from replication.state import apply, empty_state
from tests.change_events import numbered_event


async def _running(log: RedisChangeLog, delays: RegionDelays) -> tuple[Replica, asyncio.Task[None]]:
    replica = Replica(ReplicaIdentity("eu-west-1", "eu-west-1a"), log, delays, clock=time.time)
    task = asyncio.create_task(replica.run())
    async with asyncio.timeout(10):
        while replica.status is not ReplicaStatus.OK:
            await asyncio.sleep(0.01)
    return replica, task


async def _until(predicate: object, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_events_wait_for_their_delay_and_apply_in_order(log: RedisChangeLog) -> None:
    """An event is not applied before committed_at + delay, and versions apply in order."""
    replica, task = await _running(log, RegionDelays(default=DelaySpec(base_ms=1000)))
    try:
        first = numbered_event(1)
        await log.append(first)
        await log.append(numbered_event(2))
        # the signal: both events are read (held), a few milliseconds into their second
        await _until(lambda: replica.read_version == 2)
        assert replica.state.version == 0
        await _until(lambda: replica.state.version == 2)
        applied = list(replica.arrivals)
        assert [a.version for a in applied] == [1, 2]
        assert applied[0].applied_at >= first.committed_at + 1.0
    finally:
        task.cancel()


async def test_min_version_waits_or_reports_how_far_behind(log: RedisChangeLog) -> None:
    """wait_for_version returns once the version is applied, or raises StaleReplica."""
    replica, task = await _running(log, RegionDelays(default=DelaySpec(base_ms=200)))
    try:
        await log.append(numbered_event(1))
        state = await replica.wait_for_version(1, timeout=5)
        assert state.version == 1
        with pytest.raises(StaleReplicaError) as stale:
            await replica.wait_for_version(5, timeout=0.2)
        assert stale.value.wanted - stale.value.have == 4
    finally:
        task.cancel()


async def test_a_partition_freezes_the_replica_until_healed(log: RedisChangeLog) -> None:
    """While partitioned nothing new is applied; after the heal the replica catches up."""
    replica, task = await _running(log, RegionDelays())
    witness, witness_task = await _running(log, RegionDelays())
    try:
        await log.append(numbered_event(1))
        await _until(lambda: replica.state.version == 1)
        with capture_logs() as logs:
            replica.set_partitioned(True)
        assert logs[0]["event"] == "partition_changed" and logs[0]["partitioned"] is True
        await log.append(numbered_event(2))
        # the signal: a replica that is not cut off has applied version 2
        await _until(lambda: witness.state.version == 2)
        assert replica.state.version == 1
        replica.set_partitioned(False)
        await _until(lambda: replica.state.version == 2)
    finally:
        task.cancel()
        witness_task.cancel()


async def test_bootstrap_loads_the_newest_snapshot(log: RedisChangeLog) -> None:
    """A new replica starts from the snapshot and reaches the same digest."""
    events = [numbered_event(v) for v in range(1, 6)]
    state = empty_state()
    for event in events:
        await log.append(event)
        state = apply(state, event)
    await write_snapshot(log.client, state, committed_at=time.time() - 60)
    with capture_logs() as logs:
        replica, task = await _running(log, RegionDelays())
    try:
        assert replica.bootstrapped_from_snapshot == 5
        assert replica.state.digest == state.digest
        assert any(entry["event"] == "snapshot_loaded" for entry in logs)
    finally:
        task.cancel()


async def test_events_after_lead_from_a_state_the_replica_moved_past_to_the_head(
    log: RedisChangeLog,
) -> None:
    """A request that read the state and awaited while an event applied still gets every
    event after its state: the applied one (already due), then the pending ones."""
    replica, task = await _running(
        log, RegionDelays(by_kind={"user.put": DelaySpec(base_ms=60_000)})
    )
    try:
        for version in (1, 2, 3):
            await log.append(numbered_event(version))
        await _until(lambda: replica.read_version == 3 and replica.state.version == 1)
        events = replica.events_after(0)
        assert events is not None
        assert [event.version for _, event in events] == [1, 2, 3]
        assert events[0][0] <= time.time() < events[1][0]
        ahead = replica.events_after(1)
        assert ahead is not None
        assert [event.version for _, event in ahead] == [2, 3]
        assert replica.events_after(3) == ()
    finally:
        task.cancel()


async def test_events_after_a_version_a_snapshot_skipped_are_not_held(
    log: RedisChangeLog,
) -> None:
    """After bootstrapping from a snapshot the replica never had the events before it."""
    state = empty_state()
    for version in (1, 2, 3):
        event = numbered_event(version)
        await log.append(event)
        state = apply(state, event)
    await write_snapshot(log.client, state, committed_at=time.time() - 60)
    replica, task = await _running(log, RegionDelays())
    try:
        assert replica.bootstrapped_from_snapshot == 3
        assert replica.events_after(1) is None
        assert replica.events_after(3) == ()
    finally:
        task.cancel()


async def test_a_replica_left_behind_a_trimmed_log_reloads_a_snapshot(log: RedisChangeLog) -> None:
    """Partitioned while snapshots trim the log past its version, the healed replica finds the
    gap, reloads the newest snapshot and converges."""
    replica, task = await _running(log, RegionDelays())
    try:
        state = empty_state()
        for version in (1, 2):
            event = numbered_event(version)
            await log.append(event)
            state = apply(state, event)
        await _until(lambda: replica.state.version == 2)
        replica.set_partitioned(True)
        for version in range(3, 11):
            event = numbered_event(version)
            await log.append(event)
            state = apply(state, event)
            if version in (6, 8):
                await write_snapshot(log.client, state, committed_at=time.time())
        await write_snapshot(log.client, state, committed_at=time.time())
        assert (await log.read_after(0, 100))[0].version > 3  # trimmed past the replica
        with capture_logs() as logs:
            replica.set_partitioned(False)
            await _until(lambda: replica.state.version == 10)
        assert replica.state.digest == state.digest
        assert any(entry["event"] == "log_trimmed_behind_replica" for entry in logs)
    finally:
        task.cancel()


async def _delays_drawn(log: RedisChangeLog, seed: int, versions: int) -> dict[int, int]:
    """The delay each event drew on a replica started with ``seed``, by version."""
    delays = RegionDelays(default=DelaySpec(base_ms=100, jitter_ms=90))
    replica = Replica(
        ReplicaIdentity("eu-west-1", "eu-west-1b"), log, delays, clock=time.time, seed=seed
    )
    task = asyncio.create_task(replica.run())
    try:
        await _until(lambda: replica.state.version == versions)
        return {a.version: a.delay_ms for a in replica.arrivals}
    finally:
        task.cancel()  # not awaited: as in the tests above, the loop's end reaps it


async def test_the_same_seed_replays_the_same_apply_delays(log: RedisChangeLog) -> None:
    """Two runs with one seed draw the same delay for every change; another seed differs."""
    for version in range(1, 11):
        await log.append(numbered_event(version))
    first = await _delays_drawn(log, seed=1234, versions=10)
    second = await _delays_drawn(log, seed=1234, versions=10)
    other = await _delays_drawn(log, seed=4321, versions=10)
    assert len(first) == 10
    assert first == second
    assert first != other
