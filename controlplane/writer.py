"""The single writer: runs handlers against the projection and appends their changes.

A write is acknowledged only after its event is durably in the log (compare-and-append).
If an append fails in a way that leaves its fate unknown (Redis died mid-call), the
projection is marked stale and rebuilt from the log before the next write, so the control
plane never answers from a state the log does not hold.

If the log holds an entry that cannot be applied (``replication.entries``), the projection
stops at the version before it and every write is refused with ServiceFailure naming that
entry, while reads keep answering from the projection. Each write, and a check every second,
reads the log again, so writes resume by themselves once an operator repairs the entry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from redis.exceptions import RedisError

from awswire.errors import AwsError, service_failure
from controlplane.iam.operation import Caller, Operation, Outcome, Params
from replication.entries import BadEntry
from replication.events import ChangeEvent
from replication.log import AppendConflictError, PoisonedLogError, RedisChangeLog
from replication.snapshot import latest_snapshots
from replication.state import IamState, apply, empty_state

__all__ = ["Writer", "halted_failure"]

_log = structlog.get_logger("controlplane.writer")
_HEAD_CHECK_SECONDS = 1.0


def halted_failure(bad: BadEntry) -> AwsError:
    """The ServiceFailure a write gets while the log holds ``bad``: which entry, and why."""
    return service_failure(
        "The request processing has failed because the change log entry at version "
        f"{bad.version} cannot be applied ({bad.reason.value}). Writes resume once an "
        "operator repairs it (iam-planes log repair)."
    )


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
                    await self.catch_up()
            except (RedisError, OSError) as error:
                _log.warning("log_unavailable", error=type(error).__name__)

    async def execute(
        self, operation: Operation, params: Params, caller: Caller
    ) -> tuple[Outcome, int]:
        """Run one action; for a write, return only once its event is durable.

        The second member is the version the answer reflects: the new event's version for a
        write, the projection's version for a read.
        """
        if not operation.writes:
            state = self.state
            return operation.handler(state, params, caller, self._now()), state.version
        async with self._lock:
            for _attempt in range(3):
                try:
                    if self._stale:
                        await self.catch_up()
                    if self.halted is not None:
                        raise halted_failure(self.halted)
                    return await self._write(operation, params, caller)
                except AppendConflictError as conflict:
                    _log.warning("append_conflict", head=conflict.head, wanted=conflict.attempted)
                    self._stale = True
                except (RedisError, OSError) as error:
                    _log.error("log_unavailable", error=type(error).__name__)
                    self._stale = True
                    raise service_failure() from None
            raise service_failure()

    async def _write(
        self, operation: Operation, params: Params, caller: Caller
    ) -> tuple[Outcome, int]:
        now = self._now()
        outcome = operation.handler(self.state, params, caller, now)
        if outcome.change is None:
            return outcome, self.state.version
        event = ChangeEvent(
            version=self.state.version + 1,
            committed_at=self._clock(),
            kind=outcome.change.kind,
            account=caller.account,
            action=operation.name,
            payload=outcome.change.payload,
        )
        started = time.perf_counter()
        await self._log.append(event)
        if self._on_append is not None:
            self._on_append(event.kind, time.perf_counter() - started)
        self.state = apply(self.state, event)
        _log.info("change_committed", version=event.version, kind=event.kind, action=event.action)
        return outcome, event.version

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)
