"""The single writer: runs handlers against the projection and appends their changes.

A write is acknowledged only after its event is durably in the log (compare-and-append).
If an append fails in a way that leaves its fate unknown (Redis died mid-call), the
projection is marked stale and rebuilt from the log before the next write, so the control
plane never answers from a state the log does not hold.

If the log holds an entry that cannot be applied (``replication.entries``), the projection
stops at the version before it and every write is refused with ServiceFailure naming that
entry, while reads keep answering from the projection. Each write, and a check every second,
reads the log again, so writes resume by themselves once an operator repairs the entry.

Group commit: concurrent writes share one append (and so one fsync). Handlers run one at a
time against the *tip*, the durable projection plus the events accepted but not yet durable,
so each event's version is the one after its predecessor's; the accepted events queue up and
one flusher appends everything queued as one atomic run of consecutive versions
(``append_many``) while the next writes queue behind it. A write is answered only when the run
holding its event is durable; reads answer from the durable projection alone. If a run fails,
every write in it and queued after it fails with it (those queued behind were validated
against its events): the tip is dropped back to the durable projection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from redis.exceptions import RedisError

from awswire.errors import AwsError, service_failure
from controlplane.iam.operation import HandlerResult, Operation, Params, Requester
from controlplane.stages import current_stages
from replication.entries import BadEntry
from replication.events import ChangeEvent
from replication.log import AppendConflictError, PoisonedLogError, RedisChangeLog
from replication.snapshot import latest_snapshots
from replication.state import IamState, apply, empty_state

__all__ = ["MAX_RUN", "Writer", "halted_failure"]

_log = structlog.get_logger("controlplane.writer")
_HEAD_CHECK_SECONDS = 1.0


def halted_failure(bad: BadEntry) -> AwsError:
    """The ServiceFailure a write gets while the log holds ``bad``: which entry, and why."""
    return service_failure(
        "The request processing has failed because the change log entry at version "
        f"{bad.version} cannot be applied ({bad.reason.value}). Writes resume once an "
        "operator repairs it (iam-planes log repair)."
    )


#: the most events one append carries (bounds the script's arguments and one fsync's size)
MAX_RUN = 128


class _NotSentError(Exception):
    """A run before this write's failed, so its event was never sent: run it again."""


@dataclass(slots=True)
class _Accepted:
    """A write whose event is queued: the state after it, and the writes waiting for it to
    be durable."""

    event: ChangeEvent
    state: IamState
    #: a future per waiting write, so a cancelled write cancels its own wait and nobody
    #: else's (what asyncio.shield on one shared future did, at the cost of an extra turn of
    #: the event loop and two callbacks per write)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    #: how long the Redis call that made it durable took (the ``redis`` stage)
    redis_seconds: float = 0.0

    def durable(self) -> asyncio.Future[None]:
        """A future of the caller's own, done once the event is durable (or failed)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        return future

    def settle(self, error: BaseException | None = None) -> None:
        """Tell every waiting write: durable (``error`` None) or failed with ``error``."""
        for future in self.waiters:
            if future.done():  # its write was cancelled
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


class Writer:
    """Holds the control plane's projection of the log and is the log's only appender."""

    def __init__(
        self,
        log: RedisChangeLog,
        clock: Callable[[], float],
        on_append: Callable[[str, float], None] | None = None,
    ) -> None:
        self.state: IamState = empty_state()
        self._on_append = on_append
        self._log = log
        self._clock = clock
        self._lock = asyncio.Lock()
        self._stale = True
        self.halted: BadEntry | None = None
        # the durable projection plus every accepted event (None: nothing is pending)
        self._tip: IamState | None = None
        self._queued: list[_Accepted] = []
        #: the newest accepted event (not durable yet while the tip is not None): queued, or
        #: in the run being appended
        self._newest: _Accepted | None = None
        self._flusher: asyncio.Task[None] | None = None

    async def catch_up(self) -> None:
        """Fold every log event newer than the projection, starting from the newest snapshot
        when the projection is behind it (the log is trimmed behind snapshots).

        At an entry that cannot be applied, the projection stays at the version before it,
        ``halted`` names the entry and the projection stays stale (read again next time).
        """
        state = self.state
        snapshots = await latest_snapshots(self._log.client)
        if snapshots and snapshots[0].version > state.version:
            snapshot = await self._log.load_snapshot(usable_before=float("inf"))
            if snapshot is not None and snapshot.version > state.version:
                state = snapshot
        try:
            async for event in self._log.replay(after=state.version):
                state = apply(state, event)
        except PoisonedLogError as poisoned:
            self.state = state
            self._halt(poisoned.entry)
            return
        self.state = state
        self._stale = False
        if self.halted is not None:
            _log.warning("log_entry_repaired", bad_version=self.halted.version)
            self.halted = None

    def _halt(self, bad: BadEntry) -> None:
        if bad != self.halted:
            # version, kind and reason only: the entry may hold secrets
            _log.error(
                "log_entry_unusable",
                bad_version=bad.version,
                halted_at=bad.version - 1,
                kind=bad.kind,
                reason=bad.reason.value,
            )
        self.halted = bad
        self._stale = True

    async def follow_log(self, interval: float = _HEAD_CHECK_SECONDS) -> None:
        """Read the log again whenever it holds more than the projection (an append this
        writer did not make) or the projection is halted; runs until cancelled.

        So a bad entry shows in ``/health`` without waiting for a write, and a repair ends
        the halt without one.
        """
        while True:
            await asyncio.sleep(interval)
            try:
                newest = await self._log.newest_version()
                if newest <= self.state.version and self.halted is None:
                    continue
                async with self._lock:
                    await self._drained()  # our own appends in flight are not news
                    await self.catch_up()
            except (RedisError, OSError) as error:
                _log.warning("log_unavailable", error=type(error).__name__)

    async def execute(
        self, operation: Operation, params: Params, caller: Requester
    ) -> tuple[HandlerResult, int]:
        """Run one action; for a write, return only once its event is durable.

        The second member is the version the answer reflects: the new event's version for a
        write, the projection's version for a read.
        """
        times = current_stages()
        if not operation.writes:
            state = self.state
            outcome = operation.handler(state, params, caller, self._now())
            if times is not None:
                times.lap("handler")
            return outcome, state.version
        for _attempt in range(3):
            try:
                return await self._write(operation, params, caller)
            except AppendConflictError as conflict:
                _log.warning("append_conflict", head=conflict.head, wanted=conflict.attempted)
            except _NotSentError:
                pass
            except (RedisError, OSError) as error:
                _log.error("log_unavailable", error=type(error).__name__)
                raise service_failure() from None
        raise service_failure()

    async def _write(
        self, operation: Operation, params: Params, caller: Requester
    ) -> tuple[HandlerResult, int]:
        """Run the handler against the tip, queue its event, wait until the event is durable."""
        times = current_stages()
        async with self._lock:  # held across catch_up only: the rest never yields
            if self._stale:
                await self._drained()
                await self.catch_up()
            if self.halted is not None:
                raise halted_failure(self.halted)
            if times is not None:
                times.lap("queue")
            tip = self.state if self._tip is None else self._tip
            outcome = operation.handler(tip, params, caller, self._now())
            if times is not None:
                times.lap("handler")
            if outcome.change is None:
                # the tip may hold events already taken off the queue by the run in flight
                last = self._newest if self._tip is not None else None
                accepted = None
            else:
                event = ChangeEvent(
                    version=tip.version + 1,
                    committed_at=self._clock(),
                    kind=outcome.change.kind,
                    account=caller.account,
                    action=operation.name,
                    payload=outcome.change.payload,
                )
                if times is not None:
                    times.lap("encode")
                accepted = last = self._newest = _Accepted(event, apply(tip, event))
                self._tip = accepted.state
                self._queued.append(accepted)
                if times is not None:
                    times.lap("apply")
                if self._flusher is None:
                    self._flusher = asyncio.create_task(self._flush())
            # the answer may rest on writes not yet durable: wait for them
            durable = last.durable() if last is not None else None
        if durable is not None:
            await durable
        if times is not None:
            # the Redis call apart from the rest of the wait, so a slow append names its cause;
            # only a write's own run (it started after the event was queued, so within the wait)
            own = {"redis": accepted.redis_seconds} if accepted is not None else {}
            times.lap_reported("append", own)
        if accepted is None:
            return outcome, tip.version
        return outcome, accepted.event.version

    async def _drained(self) -> None:
        """Wait until the flusher has nothing left to append."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        """Append every queued event, run after run, until the queue is empty."""
        try:
            while self._queued:
                # one turn of the loop first: writes whose requests are already read join
                await asyncio.sleep(0)
                run = self._queued[:MAX_RUN]
                del self._queued[: len(run)]
                started = time.perf_counter()
                try:
                    if len(run) == 1:
                        await self._log.append(run[0].event)
                    else:
                        await self._log.append_many([a.event for a in run])
                except (AppendConflictError, RedisError, OSError) as error:
                    self._fail(run, error)
                    return
                except BaseException as error:  # cancelled: the run's fate is unknown
                    self._fail(run, RedisError(f"append interrupted: {type(error).__name__}"))
                    raise
                self._durable(run, time.perf_counter() - started)
        except BaseException:  # cancelled between runs: nothing queued may wait forever
            if self._queued:
                self._fail([], RedisError("the writer stopped"))
            raise
        finally:
            self._flusher = None

    def _durable(self, run: list[_Accepted], seconds: float) -> None:
        """The run is in the log: move the projection past it and answer its writes."""
        self.state = run[-1].state
        if not self._queued:
            self._tip = None
        for accepted in run:
            event = accepted.event
            accepted.redis_seconds = seconds
            if self._on_append is not None:
                self._on_append(event.kind, seconds)
            _log.info(
                "change_committed", version=event.version, kind=event.kind, action=event.action
            )
            accepted.settle()

    def _fail(self, run: list[_Accepted], error: Exception) -> None:
        """The run's fate is unknown: rebuild from the log before the next write; fail the
        run's writes with ``error`` and those queued behind it as never sent."""
        self._stale = True
        self._tip = None
        behind, self._queued = self._queued, []
        for accepted in run:
            accepted.settle(error)
        for accepted in behind:
            accepted.settle(_NotSentError())

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)
