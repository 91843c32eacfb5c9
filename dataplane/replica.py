"""A replica's runtime: bootstrap from the log, tail it, hold each event, apply in order.

The replica owns one reference to the current ``IamState``; applying an event builds the next
state and swaps the reference, so a request always sees one consistent version. Answers keep
flowing from the last state whatever happens to Redis or the control plane.

An entry it cannot apply (``replication.entries``) halts it at the version before that entry:
it keeps answering at that version, as a partitioned replica does, says HALTED with the
entry's version and reason, logs one error line, and polls the entry until an operator's
repair stands in for it (``iam-planes log repair``); then it resumes by itself.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog
from redis.exceptions import RedisError

from replication.consistency import StaleReplicaError
from replication.delay import RegionDelays, new_seed
from replication.entries import BadEntry, BadReason, LogEntry
from replication.events import ChangeEvent
from replication.log import READ_BATCH, ChangeFeed, ChangeLogReader
from replication.state import IamState, apply, empty_state

__all__ = [
    "Arrival",
    "Clock",
    "Replica",
    "ReplicaIdentity",
    "ReplicaStatus",
    "StaleReplicaError",
]

Clock = Callable[[], float]
"""Wall-clock seconds since the epoch; injected so lag can be tested."""

_log = structlog.get_logger("dataplane.replica")

#: how long a follower waits for a push before it reads the log anyway
_TAIL_WAIT_SECONDS = 1.0
_RETRY_SECONDS = 0.5
_HALTED_RECHECK_SECONDS = 0.5
_ARRIVALS_KEPT = 10_000
#: applied events kept for ``events_after``: a request that awaited I/O (a backend, a version)
#: while its state's successors were applied still finds them; far more than one request sees
_APPLIED_KEPT = 1_000


class ReplicaStatus(StrEnum):
    """Where the replica stands: serving its state, still loading, cut off from its log, or
    halted at an entry it cannot apply (it serves, as it does when cut off)."""

    STARTING = "STARTING"
    OK = "OK"
    NOT_READY = "NOT_READY"
    ERROR = "ERROR"
    HALTED = "HALTED"


@dataclass(frozen=True, slots=True)
class Arrival:
    """When one event was committed, the delay this replica drew for it, and when it applied it
    (later than ``committed_at + delay_ms`` when an earlier event was held longer)."""

    version: int
    kind: str
    action: str
    committed_at: float
    applied_at: float
    delay_ms: int


@dataclass(frozen=True, slots=True)
class ReplicaIdentity:
    """Which region and AZ this replica serves."""

    region: str
    az: str


class VersionUnavailableError(Exception):
    """A version to travel to is not in the log yet, or no longer (trimmed, no snapshot)."""


class LogTrimmedError(RuntimeError):
    """The log no longer holds the events after this replica's version (it was trimmed)."""


class Replica:
    """Follows the change log with this replica's propagation delays."""

    def __init__(
        self,
        identity: ReplicaIdentity,
        log: ChangeLogReader,
        delays: RegionDelays,
        clock: Clock,
        seed: int | None = None,
    ) -> None:
        self.identity = identity
        self.delays = delays
        self.state: IamState = empty_state()
        self.status = ReplicaStatus.STARTING
        self.last_applied_at: float | None = None
        self.bootstrapped_from_snapshot: int | None = None
        self.partitioned = False
        self.halted: BadEntry | None = None
        self.halted_since: float | None = None
        self._apply_failed = False  # an event passed decoding but not apply: stop for good
        self._log = log
        self._clock = clock
        #: delays are drawn from (seed, version, region, AZ): the same seed replays them
        self.seed = new_seed() if seed is None else seed
        self._pending: deque[tuple[float, ChangeEvent, int]] = deque()
        self.arrivals: deque[Arrival] = deque(maxlen=_ARRIVALS_KEPT)
        self._applied: deque[tuple[float, ChangeEvent]] = deque(maxlen=_APPLIED_KEPT)
        self._read_version = 0
        self._head: tuple[tuple[int, int], IamState] | None = None
        # pending events by the account that made them, and those changing an organization
        self._pending_by_account: dict[str, int] = {}
        self._pending_organization = 0
        self._past: IamState | None = None  # the last state time travel rebuilt
        self._arrived = asyncio.Event()
        self._version_changed = asyncio.Condition()

    # -- what requests read -------------------------------------------------------------

    def lag_ms(self) -> float:
        """How long the oldest event this replica has read but not applied has been committed."""
        if not self._pending:
            return 0.0
        return max(0.0, (self._clock() - self._pending[0][1].committed_at) * 1000)

    def pending(self) -> tuple[tuple[float, ChangeEvent], ...]:
        """The events read from the log but not applied yet, with when each is due, in order."""
        if not self._pending:
            return ()
        return tuple((due, event) for due, event, _ in self._pending)

    def events_after(self, version: int) -> tuple[tuple[float, ChangeEvent], ...] | None:
        """The events after ``version`` up to the newest read, in order, each with when it is
        (or was) due: what leads from a state this replica had at ``version`` to the head.

        A request may have read ``state`` and then awaited (a backend, Redis) while some of
        the pending events were applied; they are no longer pending, but kept a while, so the
        run still starts at ``version + 1``. None when the replica no longer holds the whole
        run (more than a thousand events applied since, or a snapshot replaced its state)."""
        current = self.state.version
        pending = tuple((due, event) for due, event, _ in self._pending if event.version > version)
        if version >= current:
            return pending
        applied: list[tuple[float, ChangeEvent]] = []
        for due, event in reversed(self._applied):
            if event.version <= version:
                break
            applied.append((due, event))
        applied.reverse()
        # what is kept is one run ending at the current state (cleared when a snapshot
        # replaces the state), so its two ends say whether it covers ``version + 1..current``
        if not applied or applied[0][1].version != version + 1 or applied[-1][1].version != current:
            return None
        return (*applied, *pending)

    def pending_for(self, account: str | None) -> bool:
        """Whether a change read but not applied yet was made by ``account`` (any account's
        when None), or may change an organization, which reaches member accounts: O(1), for
        the hot path."""
        if self._pending_organization:
            return True
        return account is None or account in self._pending_by_account

    def head_state(self) -> IamState:
        """The state at the newest version read (``read_version``): the pending events folded
        onto the current state at once, without waiting for their delays. Built once per
        (state, read version)."""
        state = self.state
        if not self._pending:
            return state
        key = (id(state), self._read_version)
        if self._head is not None and self._head[0] == key:
            return self._head[1]
        head = state
        for _, event, _ in self._pending:
            if event.version > head.version:
                head = apply(head, event)
        self._head = (key, head)
        return head

    async def state_at(self, version: int) -> IamState:
        """The state this replica had (or will have) at ``version``: its own state, its pending
        events folded up to it, or the newest snapshot at or before it plus the log after."""
        current = self.state
        if version == current.version:
            return current
        if version > self._read_version:
            raise VersionUnavailableError(
                f"version {version} is not in the log yet (the newest read is {self._read_version})"
            )
        if version > current.version:
            ahead = current
            for _, event, _ in self._pending:
                if event.version > version:
                    break
                ahead = apply(ahead, event)
            return ahead
        if self._past is not None and self._past.version == version:
            return self._past
        past = await self._log.load_snapshot_at(version) or empty_state()
        while past.version < version:
            events = await self._log.read_after(past.version, min(1000, version - past.version))
            if not events or events[0].version != past.version + 1:
                raise VersionUnavailableError(
                    f"the log no longer holds version {version} (it was trimmed behind a snapshot)"
                )
            for entry in events:
                if isinstance(entry, BadEntry):
                    raise VersionUnavailableError(
                        f"the log entry at version {entry.version} cannot be applied "
                        f"({entry.reason.value}): no state after it can be rebuilt"
                    )
                if entry.version > version:
                    break
                past = apply(past, entry)
        self._past = past
        return past

    @property
    def read_version(self) -> int:
        """The newest version read from the log (applied or still held)."""
        return self._read_version

    async def wait_for_version(self, version: int, timeout: float) -> IamState:
        """The state once it reaches ``version``; StaleReplicaError after ``timeout`` seconds."""
        if self.state.version >= version:
            return self.state
        try:
            async with asyncio.timeout(timeout), self._version_changed:
                await self._version_changed.wait_for(lambda: self.state.version >= version)
        except TimeoutError:
            raise StaleReplicaError(version, self.state.version) from None
        return self.state

    # -- the follower ---------------------------------------------------------------------

    async def run(self) -> None:
        """Read and apply forever: one task tails the log, one applies due events in order."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read_forever())
            group.create_task(self._apply_forever())

    def set_partitioned(self, partitioned: bool) -> None:
        """Cut this replica off from the log (nothing is read or applied) or heal it."""
        self.partitioned = partitioned
        self._arrived.set()
        _log.warning("partition_changed", partitioned=partitioned, version=self.state.version)

    def _serving_status(self) -> ReplicaStatus:
        return ReplicaStatus.HALTED if self.halted is not None else ReplicaStatus.OK

    async def _read_forever(self) -> None:
        first = True
        while True:
            try:
                if self.partitioned or self._apply_failed:
                    await asyncio.sleep(0.05)
                    continue
                if self.halted is not None and not first:
                    # the bad entry is read again and again (not waited for: it is there)
                    # until a repair stands in for it
                    await asyncio.sleep(_HALTED_RECHECK_SECONDS)
                    await self._take(await self._log.read_after(self._read_version, READ_BATCH))
                    continue
                # subscribed before reading what came before: nothing falls between
                async with self._log.subscribed() as feed:
                    if first:
                        await self._bootstrap()
                        first = False
                    else:
                        await self._catch_up()
                    await self._follow(feed)
            except LogTrimmedError:
                _log.warning("log_trimmed_behind_replica", version=self._read_version)
                first = True  # bootstrap again, from a snapshot once one is usable here
                await asyncio.sleep(_RETRY_SECONDS)
            except (RedisError, OSError) as error:
                if self.status is ReplicaStatus.OK:
                    _log.warning("log_unreachable", error=type(error).__name__)
                self.status = ReplicaStatus.NOT_READY if first else ReplicaStatus.ERROR
                await asyncio.sleep(_RETRY_SECONDS)

    async def _follow(self, feed: ChangeFeed) -> None:
        """Take what the log pushes until partitioned, halted or stopped."""
        while not (self.partitioned or self._apply_failed or self.halted is not None):
            entries = await feed.entries_after(self._read_version, _TAIL_WAIT_SECONDS)
            await self._take(entries)

    async def _catch_up(self) -> None:
        """Read the log up to its head (after a partition, a halt, a lost connection)."""
        while self.halted is None and not self.partitioned:
            entries = await self._log.read_after(self._read_version, READ_BATCH)
            if not entries:
                return
            await self._take(entries)

    async def _take(self, entries: list[LogEntry]) -> None:
        """Hold what was read and apply at once what is already due."""
        if self.partitioned:
            return  # what arrived during the partition is read again after the heal
        self._hold(entries)
        self.status = self._serving_status()
        if entries:
            # the common case (no delay): applied here, without waking the applying task
            await self._apply_due_and_announce()
            if self._pending:
                self._arrived.set()

    async def _bootstrap(self) -> None:
        """Load the newest usable snapshot, then read the log after it; events already past
        their due time apply at once."""
        snapshot = await self._log.load_snapshot(self._clock() - self.delays.shortest_s)
        if snapshot is not None and snapshot.version > self.state.version:
            self._pending.clear()
            self._applied.clear()
            self._pending_by_account.clear()
            self._pending_organization = 0
            self.state = snapshot
            self._read_version = snapshot.version
            self.bootstrapped_from_snapshot = snapshot.version
            _log.info("snapshot_loaded", version=snapshot.version)
        await self._catch_up()
        self._apply_due()
        self.status = self._serving_status()
        _log.info("replica_bootstrapped", version=self.state.version, read=self._read_version)

    def _hold(self, entries: list[LogEntry]) -> None:
        fresh = [e for e in entries if e.version > self._read_version]
        if fresh and fresh[0].version != self._read_version + 1:
            raise LogTrimmedError(f"next event is {fresh[0].version}, have {self._read_version}")
        if fresh and self.halted is not None and isinstance(fresh[0], ChangeEvent):
            self._resume(fresh[0])
        region, az = self.identity.region, self.identity.az
        for event in fresh:
            if isinstance(event, BadEntry):
                self._halt(event)
                break
            delay_ms = self.delays.spec_for(event.kind).draw(self.seed, event.version, region, az)
            due = event.committed_at + delay_ms / 1000
            if self._pending:  # never apply out of log order, whatever the jitter drew
                due = max(due, self._pending[-1][0])
            self._pending.append((due, event, delay_ms))
            self._count_pending(event, 1)
            self._read_version = event.version

    def _halt(self, bad: BadEntry) -> None:
        """Stop reading at ``bad``: what was read before it still applies when due."""
        if self.halted == bad:
            return
        self.halted = bad
        self.halted_since = self._clock()
        self.status = ReplicaStatus.HALTED
        # version, kind and reason only: the entry may hold secrets
        _log.error(
            "log_entry_unusable",
            bad_version=bad.version,
            halted_at=bad.version - 1,
            kind=bad.kind,
            reason=bad.reason.value,
        )

    def _resume(self, replacement: ChangeEvent) -> None:
        assert self.halted is not None
        _log.warning(
            "log_entry_repaired",
            bad_version=self.halted.version,
            kind=replacement.kind,
            action=replacement.action,
        )
        self.halted = None
        self.halted_since = None
        self.status = ReplicaStatus.OK

    def _count_pending(self, event: ChangeEvent, step: int) -> None:
        left = self._pending_by_account.get(event.account, 0) + step
        if left:
            self._pending_by_account[event.account] = left
        else:
            self._pending_by_account.pop(event.account, None)
        if event.kind.startswith(("organization", "batch")):  # a batch may change one
            self._pending_organization += step

    def _apply_due(self) -> int:
        if self.partitioned:
            return 0
        now = self._clock()
        state = self.state
        applied = 0
        while self._pending and self._pending[0][0] <= now:
            due, event, delay_ms = self._pending.popleft()
            self._count_pending(event, -1)
            try:
                state = apply(state, event)
            except Exception as error:
                self._stop_applying(event, error)
                break
            applied += 1
            self._applied.append((due, event))
            self.arrivals.append(
                Arrival(event.version, event.kind, event.action, event.committed_at, now, delay_ms)
            )
        if applied:
            self.state = state
            self.last_applied_at = now
        return applied

    def _stop_applying(self, event: ChangeEvent, error: Exception) -> None:
        """An event decoding accepted failed to apply: a bug, not a bad entry. Halt for good
        (a repair cannot replace a well-formed entry); a restart with the fix resumes."""
        self._pending.clear()
        self._apply_failed = True
        detail = f"apply failed with {type(error).__name__}"
        self._halt(BadEntry(event.version, BadReason.INVALID, detail, event.kind))

    async def _apply_due_and_announce(self) -> None:
        """Apply what is due and wake the requests waiting for a version."""
        if self._apply_due():
            _log.debug("events_applied", version=self.state.version)
            async with self._version_changed:
                self._version_changed.notify_all()

    async def _apply_forever(self) -> None:
        while True:
            if not self._pending or self.partitioned:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            wait = self._pending[0][0] - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._apply_due_and_announce()
