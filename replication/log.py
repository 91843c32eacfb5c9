"""The change log in Redis: a stream whose entry IDs are the log versions (``<version>-0``).

Appends are compare-and-append: a Lua script refuses any version that is not the head plus one,
so a restarted or concurrent writer can never fork or gap the log. The stream and its head
counter change in one atomic script, and with ``appendfsync always`` Redis replies only once
the append is on disk: an acknowledged append is durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from replication.events import ChangeEvent, decode_event, encode_event
from replication.snapshot import load_snapshot, load_snapshot_at
from replication.state import IamState

__all__ = [
    "AppendConflictError",
    "ChangeLogReader",
    "ChangeLogWriter",
    "RedisChangeLog",
    "connect",
]

STREAM_KEY = "iam:log"
HEAD_KEY = "iam:head"
_FIELD = b"e"

_APPEND_SCRIPT = """
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
local version = tonumber(ARGV[1])
if version ~= head + 1 then
  return redis.error_reply('CONFLICT head=' .. head)
end
redis.call('XADD', KEYS[1], ARGV[1] .. '-0', 'e', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return version
"""


# ARGV: version1, event1, version2, event2, ... (consecutive versions, checked by the caller)
_APPEND_MANY_SCRIPT = """
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
local first = tonumber(ARGV[1])
if first ~= head + 1 then
  return redis.error_reply('CONFLICT head=' .. head)
end
for i = 1, #ARGV, 2 do
  redis.call('XADD', KEYS[1], ARGV[i] .. '-0', 'e', ARGV[i + 1])
end
redis.call('SET', KEYS[2], ARGV[#ARGV - 1])
return tonumber(ARGV[#ARGV - 1])
"""


class AppendConflictError(RuntimeError):
    """The log's head moved: the event's version is not the next one."""

    def __init__(self, head: int, attempted: int) -> None:
        super().__init__(f"log head is {head}, cannot append version {attempted}")
        self.head = head
        self.attempted = attempted


class ChangeLogReader(Protocol):
    """What a replica needs from the log."""

    async def head(self) -> int:
        """The newest version in the log (0 when empty)."""
        ...

    async def read_after(self, version: int, limit: int) -> list[ChangeEvent]:
        """Up to ``limit`` events after ``version``, oldest first, without waiting."""
        ...

    async def wait_after(self, version: int, block_ms: int) -> list[ChangeEvent]:
        """Events after ``version``, waiting up to ``block_ms`` for the first one."""
        ...

    async def load_snapshot(self, usable_before: float) -> IamState | None:
        """The newest usable snapshot (see ``replication.snapshot.load_snapshot``)."""
        ...

    async def load_snapshot_at(self, version: int) -> IamState | None:
        """The newest snapshot at or before ``version``."""
        ...


class ChangeLogWriter(Protocol):
    """What the control plane needs from the log."""

    async def head(self) -> int:
        """The newest version in the log (0 when empty)."""
        ...

    async def append(self, event: ChangeEvent) -> int:
        """Append ``event`` if its version is the head plus one; raise AppendConflictError else."""
        ...


def connect(url: str) -> aioredis.Redis:
    """An asyncio Redis client for ``url`` (hiredis parses replies when installed)."""
    return aioredis.Redis.from_url(url, decode_responses=False, health_check_interval=10)


class RedisChangeLog:
    """The change log on one Redis server (the writer's primary, or a region's replica)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._append = client.register_script(_APPEND_SCRIPT)
        self._append_many = client.register_script(_APPEND_MANY_SCRIPT)

    async def head(self) -> int:
        """The newest version in the log (0 when empty)."""
        raw = await self._client.get(HEAD_KEY)
        return int(raw) if raw is not None else 0

    async def append(self, event: ChangeEvent) -> int:
        """Append ``event`` at its version, atomically checking that it is the next one."""
        try:
            await self._append(
                keys=[STREAM_KEY, HEAD_KEY], args=[event.version, encode_event(event)]
            )
        except ResponseError as error:
            text = str(error)
            if "CONFLICT" not in text:
                raise
            head = int(text.rsplit("=", 1)[1])
            raise AppendConflictError(head, event.version) from error
        return event.version

    async def append_many(self, events: Sequence[ChangeEvent]) -> int:
        """Append ``events`` in one atomic step, or none of them; return the new head.

        Compare-and-append for a run of events: the first one's version must be the head plus
        one (AppendConflictError otherwise) and the versions consecutive (ValueError otherwise).
        Redis runs the script atomically, so no other append lands between them and a reader
        sees all of them or none.
        """
        if not events:
            raise ValueError("append_many needs at least one event")
        first = events[0].version
        args: list[int | bytes] = []
        for offset, event in enumerate(events):
            if event.version != first + offset:
                raise ValueError(
                    f"versions must be consecutive: {event.version} after {first + offset - 1}"
                )
            args += [event.version, encode_event(event)]
        try:
            await self._append_many(keys=[STREAM_KEY, HEAD_KEY], args=args)
        except ResponseError as error:
            text = str(error)
            if "CONFLICT" not in text:
                raise
            head = int(text.rsplit("=", 1)[1])
            raise AppendConflictError(head, first) from error
        return events[-1].version

    async def read_after(self, version: int, limit: int = 1000) -> list[ChangeEvent]:
        """Up to ``limit`` events after ``version``, oldest first."""
        entries: list[tuple[bytes, dict[bytes, bytes]]]
        entries = await self._client.xrange(  # type: ignore[assignment]
            STREAM_KEY, min=f"({version}-0", count=limit
        )
        return [decode_event(fields[_FIELD]) for _, fields in entries]

    async def wait_after(self, version: int, block_ms: int) -> list[ChangeEvent]:
        """Events after ``version``; blocks (XREAD BLOCK) up to ``block_ms`` for the first."""
        reply: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] | None
        reply = await self._client.xread(  # type: ignore[assignment]
            {STREAM_KEY: f"{version}-0"}, block=block_ms, count=1000
        )
        events: list[ChangeEvent] = []
        for _stream, entries in reply or []:
            events.extend(decode_event(fields[_FIELD]) for _, fields in entries)
        return events

    @property
    def client(self) -> aioredis.Redis:
        """The Redis client (snapshots are stored beside the log)."""
        return self._client

    async def load_snapshot(self, usable_before: float) -> IamState | None:
        """The newest valid snapshot whose events were committed before ``usable_before``."""
        return await load_snapshot(self._client, usable_before)

    async def load_snapshot_at(self, version: int) -> IamState | None:
        """The newest valid snapshot at or before ``version`` (time travel)."""
        return await load_snapshot_at(self._client, version)

    async def replay(self, after: int = 0, batch: int = 2000) -> AsyncIterator[ChangeEvent]:
        """Every event after ``after``, oldest first, read in batches."""
        version = after
        while True:
            events = await self.read_after(version, batch)
            if not events:
                return
            for event in events:
                yield event
            version = events[-1].version

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
