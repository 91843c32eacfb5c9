"""The change log in Redis: a stream whose entry IDs are the log versions (``<version>-0``).

Appends are compare-and-append: a Lua script refuses any version that is not the head plus one,
so a restarted or concurrent writer can never fork or gap the log. The stream and its head
counter change in one atomic script, and with ``appendfsync always`` Redis replies only once
the append is on disk: an acknowledged append is durable.

Each append also publishes its entries on a pub/sub channel (``CHANGES_CHANNEL``), in the same
atomic script, so followers get them pushed: one message each, with no command to send per
entry. That is much cheaper than one blocking XREAD per entry per follower, which mattered when
nine replicas on a small machine woke for every write. A message is only a fast path: it can be
lost (a reconnect, a client too slow for Redis's buffer), so a follower takes a pushed entry
only when it is the next version, reads the stream for anything else, and reads it anyway when
nothing has been pushed for a while (``ChangeFeed``).

Every entry read is decoded by ``replication.entries``: a reader gets events up to the first
entry that cannot be applied and that entry as a ``BadEntry``, never anything after it, unless
an operator has repaired it (``replication.repairs``), in which case its replacement.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from replication.entries import BadEntry, LogEntry, classify_entry, classify_record, version_of
from replication.events import ChangeEvent, encode_event
from replication.pushes import PushSubscription
from replication.repairs import (
    REPAIR_SCRIPT,
    REPAIRS_KEY,
    RepairRecord,
    entry_sha256,
    new_repair,
    replacement_of,
)
from replication.snapshot import load_snapshot, load_snapshot_at
from replication.state import IamState

__all__ = [
    "CHANGES_CHANNEL",
    "READ_BATCH",
    "AppendConflictError",
    "ChangeFeed",
    "ChangeLogReader",
    "ChangeLogWriter",
    "PoisonedLogError",
    "RawEntry",
    "RedisChangeLog",
    "RepairRefusedError",
    "connect",
]

STREAM_KEY = "iam:log"
HEAD_KEY = "iam:head"
#: how many entries a follower reads from the stream in one call
READ_BATCH = 2000
#: where every append publishes ``<version> <encoded event>`` for each entry it adds
CHANGES_CHANNEL = "iam:changes"

_APPEND_SCRIPT = f"""
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
local version = tonumber(ARGV[1])
if version ~= head + 1 then
  return redis.error_reply('CONFLICT head=' .. head)
end
redis.call('XADD', KEYS[1], ARGV[1] .. '-0', 'e', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('PUBLISH', '{CHANGES_CHANNEL}', ARGV[1] .. ' ' .. ARGV[2])
return version
"""


# ARGV: version1, event1, version2, event2, ... (consecutive versions, checked by the caller)
_APPEND_MANY_SCRIPT = f"""
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
local first = tonumber(ARGV[1])
if first ~= head + 1 then
  return redis.error_reply('CONFLICT head=' .. head)
end
for i = 1, #ARGV, 2 do
  redis.call('XADD', KEYS[1], ARGV[i] .. '-0', 'e', ARGV[i + 1])
end
redis.call('SET', KEYS[2], ARGV[#ARGV - 1])
for i = 1, #ARGV, 2 do
  redis.call('PUBLISH', '{CHANGES_CHANNEL}', ARGV[i] .. ' ' .. ARGV[i + 1])
end
return tonumber(ARGV[#ARGV - 1])
"""


class AppendConflictError(RuntimeError):
    """The log's head moved: the event's version is not the next one."""

    def __init__(self, head: int, attempted: int) -> None:
        super().__init__(f"log head is {head}, cannot append version {attempted}")
        self.head = head
        self.attempted = attempted


class PoisonedLogError(RuntimeError):
    """The log holds an entry that cannot be applied, and no repair stands in for it."""

    def __init__(self, entry: BadEntry) -> None:
        super().__init__(f"the change log cannot be applied past {entry.describe()}")
        self.entry = entry


class RepairRefusedError(ValueError):
    """``log repair`` refused: no such entry, the entry is well-formed, or already repaired."""


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One stream entry as stored, with what reading it gives and its repair, if any."""

    version: int
    fields: dict[bytes, bytes] | None  # None: no entry at that version (trimmed, or never)
    decoded: LogEntry | None
    repair: bytes | None


class ChangeFeed:
    """The entries appended after a version: those pushed on ``CHANGES_CHANNEL`` while they
    follow on from it, the stream for the rest.

    A pushed entry is taken only when it is the next version and decodes to an event; anything
    else (a gap left by a lost message, a bad entry that may have a repair) is read from the
    stream, which stays the source of truth. When nothing is pushed for ``timeout`` seconds
    the stream is read all the same: an entry appended without the script is found that way.
    """

    def __init__(self, log: RedisChangeLog, subscription: PushSubscription) -> None:
        self._log = log
        self._subscription = subscription

    async def entries_after(self, version: int, timeout: float) -> list[LogEntry]:
        """The entries after ``version``, waiting up to ``timeout`` seconds for the first
        push; oldest first, a bad entry last."""
        pushed = await self.pushed(timeout)
        if not pushed:
            return await self._log.read_after(version, READ_BATCH)
        entries: list[LogEntry] = []
        expected = version + 1
        for pushed_version, raw in pushed:
            if pushed_version < expected:
                continue  # already read (pushed again after the stream was read)
            entry = classify_record(pushed_version, raw) if pushed_version == expected else None
            if not isinstance(entry, ChangeEvent):
                # a gap, or an entry to read as stored (a repair may stand in for it)
                return entries + await self._log.read_after(expected - 1, READ_BATCH)
            entries.append(entry)
            expected += 1
        return entries

    async def pushed(self, timeout: float) -> list[tuple[int, bytes]]:
        """Every message pushed so far, or the first ones within ``timeout``, as (version,
        encoded event); a message that does not start with a version is dropped (the stream
        has the entry)."""
        pushed: list[tuple[int, bytes]] = []
        for message in await self._subscription.messages(timeout):
            head, _, raw = message.partition(b" ")
            with contextlib.suppress(ValueError):
                pushed.append((int(head), raw))
        return pushed


class ChangeLogReader(Protocol):
    """What a replica needs from the log."""

    async def head(self) -> int:
        """The newest version in the log (0 when empty)."""
        ...

    async def read_after(self, version: int, limit: int) -> list[LogEntry]:
        """Up to ``limit`` entries after ``version``, oldest first, without waiting; a bad
        entry comes last."""
        ...

    def subscribed(self) -> contextlib.AbstractAsyncContextManager[ChangeFeed]:
        """Entries pushed as they are appended, from the moment this returns."""
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
        self._repair = client.register_script(REPAIR_SCRIPT)

    async def head(self) -> int:
        """The newest version in the log (0 when empty)."""
        raw = await self._client.get(HEAD_KEY)
        return int(raw) if raw is not None else 0

    async def newest_version(self) -> int:
        """The version of the stream's newest entry (0 when empty), whatever the head says:
        an entry appended without the script (so without moving the head) counts too."""
        newest: list[tuple[bytes, dict[bytes, bytes]]]
        newest = await self._client.xrevrange(STREAM_KEY, count=1)  # type: ignore[assignment]
        return version_of(newest[0][0]) if newest else 0

    async def append(self, event: ChangeEvent) -> int:
        """Append ``event`` at its version, atomically checking that it is the next one."""
        try:
            await self._append(
                keys=[STREAM_KEY, HEAD_KEY], args=[event.version, encode_event(event)]
            )
        except ResponseError as error:
            raise await self._conflict(error, event.version) from error
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
            raise await self._conflict(error, first) from error
        return events[-1].version

    async def _conflict(self, error: ResponseError, attempted: int) -> Exception:
        """The AppendConflictError an append script's error means, or the error itself.

        Besides the script's CONFLICT, XADD refusing the id means an entry already sits at
        that version although the head counter says otherwise (something appended without
        the script): the writer must read the log again, as for any conflict.
        """
        text = str(error)
        if "CONFLICT" in text:
            return AppendConflictError(int(text.rsplit("=", 1)[1]), attempted)
        if "equal or smaller" in text:
            return AppendConflictError(await self.head(), attempted)
        return error

    async def read_after(self, version: int, limit: int = 1000) -> list[LogEntry]:
        """Up to ``limit`` entries after ``version``, oldest first; a bad entry comes last."""
        entries: list[tuple[bytes, dict[bytes, bytes]]]
        entries = await self._client.xrange(  # type: ignore[assignment]
            STREAM_KEY, min=f"({version}-0", count=limit
        )
        return await self._decoded(entries)

    @contextlib.asynccontextmanager
    async def subscribed(self) -> AsyncIterator[ChangeFeed]:
        """Entries pushed as they are appended, from the moment this returns (subscribe
        first, then read what came before, and nothing falls between)."""
        # a connection of its own, to the server the log's client reaches
        subscription = await PushSubscription.open(
            self._client.connection_pool, CHANGES_CHANNEL, max_buffered=READ_BATCH
        )
        try:
            yield ChangeFeed(self, subscription)
        finally:
            subscription.close()

    async def _decoded(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[LogEntry]:
        """Each entry decoded, up to and including the first bad one that has no repair."""
        decoded: list[LogEntry] = []
        for entry_id, fields in entries:
            entry = classify_entry(entry_id, fields)
            if isinstance(entry, BadEntry):
                entry = await self._repaired(entry)
            decoded.append(entry)
            if isinstance(entry, BadEntry):
                break  # nothing after a bad entry may be applied before it is dealt with
        return decoded

    async def _repaired(self, bad: BadEntry) -> LogEntry:
        raw = cast(bytes | None, await self._client.hget(REPAIRS_KEY, str(bad.version)))
        if raw is None:
            return bad
        return replacement_of(raw, bad.version) or bad

    async def raw_entry(self, version: int) -> RawEntry:
        """The entry at ``version`` as stored, what reading it gives, and its repair record."""
        entry_id = f"{version}-0"
        found: list[tuple[bytes, dict[bytes, bytes]]]
        found = await self._client.xrange(  # type: ignore[assignment]
            STREAM_KEY, min=entry_id, max=entry_id
        )
        repair = cast(bytes | None, await self._client.hget(REPAIRS_KEY, str(version)))
        if not found:
            return RawEntry(version, None, None, repair)
        fields = found[0][1]
        decoded = await self._decoded(found)
        return RawEntry(version, fields, decoded[0], repair)

    async def repair(self, version: int, reason: str, now: float) -> RepairRecord:
        """Put a ``log.repair`` event in place of the bad entry at ``version``, for ``reason``.

        Refused (RepairRefusedError) when there is no entry at that version, when the entry
        can be applied (nothing to repair), or when it is already repaired.
        """
        if not reason.strip():
            raise RepairRefusedError("a repair needs a reason")
        entry = await self.raw_entry(version)
        if entry.fields is None:
            raise RepairRefusedError(f"the log holds no entry at version {version}")
        if entry.repair is not None:
            raise RepairRefusedError(f"the entry at version {version} is already repaired")
        bad = classify_entry(f"{version}-0", entry.fields)
        if not isinstance(bad, BadEntry):
            raise RepairRefusedError(f"the entry at version {version} is well-formed")
        record = new_repair(bad, entry_sha256(entry.fields), reason, now)
        try:
            await self._repair(
                keys=[STREAM_KEY, REPAIRS_KEY], args=[version, record.model_dump_json()]
            )
        except ResponseError as error:
            if "REPAIRED" in str(error):
                refused = f"the entry at version {version} is already repaired"
                raise RepairRefusedError(refused) from None
            if "NOENTRY" in str(error):
                refused = f"the log holds no entry at version {version}"
                raise RepairRefusedError(refused) from None
            raise
        return record

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
        """Every event after ``after``, oldest first, read in batches; PoisonedLogError at
        the first entry that cannot be applied (after every event before it)."""
        version = after
        while True:
            entries = await self.read_after(version, batch)
            if not entries:
                return
            for entry in entries:
                if isinstance(entry, BadEntry):
                    raise PoisonedLogError(entry)
                yield entry
            version = entries[-1].version

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
