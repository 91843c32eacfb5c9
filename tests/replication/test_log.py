"""The Redis change log against a real redis-server: compare-and-append, replay, tail."""

from __future__ import annotations

import asyncio
import time

import pytest

from replication.events import ChangeEvent
from replication.log import AppendConflictError, RedisChangeLog


def _event(version: int) -> ChangeEvent:
    return ChangeEvent(
        version=version,
        committed_at=time.time(),
        kind="account.put",
        account="111122223333",
        action="Test",
        payload={"id": "111122223333", "created_at": "2026-01-01T00:00:00Z"},
    )


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


async def test_append_many_appends_a_run_atomically(log: RedisChangeLog) -> None:
    """A run of consecutive events after the head lands whole, readable in order."""
    await log.append(_event(1))
    assert await log.append_many([_event(v) for v in range(2, 502)]) == 501
    assert await log.head() == 501
    assert [e.version for e in await log.read_after(0, 1000)] == list(range(1, 502))
    assert await log.append(_event(502)) == 502


@pytest.mark.parametrize("first", [1, 2, 4])
async def test_append_many_refuses_a_run_not_after_the_head(
    log: RedisChangeLog, first: int
) -> None:
    """Compare-and-append: a run that does not start at head + 1 writes nothing at all."""
    await log.append_many([_event(1), _event(2)])
    with pytest.raises(AppendConflictError) as refused:
        await log.append_many([_event(v) for v in range(first, first + 3)])
    assert (refused.value.head, refused.value.attempted) == (2, first)
    assert await log.head() == 2
    assert [e.version for e in await log.read_after(0, 10)] == [1, 2]


async def test_append_many_refuses_a_gap_inside_the_run(log: RedisChangeLog) -> None:
    """Versions inside a run must be consecutive; an empty run is refused too."""
    with pytest.raises(ValueError, match="consecutive"):
        await log.append_many([_event(1), _event(3)])
    with pytest.raises(ValueError, match="at least one"):
        await log.append_many([])
    assert await log.head() == 0
    assert await log.read_after(0, 10) == []


async def test_concurrent_runs_never_fork_the_log(log: RedisChangeLog) -> None:
    """Two writers racing with runs for the same versions: exactly one run lands."""
    results = await asyncio.gather(
        log.append_many([_event(1), _event(2)]),
        log.append_many([_event(1), _event(2), _event(3)]),
        return_exceptions=True,
    )
    assert sum(isinstance(r, AppendConflictError) for r in results) == 1
    head = await log.head()
    assert head in {2, 3}
    assert [e.version for e in await log.read_after(0, 10)] == list(range(1, head + 1))
