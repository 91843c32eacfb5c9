"""The single writer: runs handlers against the projection and appends their changes.

A write is acknowledged only after its event is durably in the log (compare-and-append).
If an append fails in a way that leaves its fate unknown (Redis died mid-call), the
projection is marked stale and rebuilt from the log before the next write, so the control
plane never answers from a state the log does not hold.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from redis.exceptions import RedisError

from awswire.errors import service_failure
from controlplane.iam.operation import Caller, Operation, Outcome, Params
from controlplane.stages import current_stages
from replication.events import ChangeEvent
from replication.log import AppendConflictError, RedisChangeLog
from replication.state import IamState, apply, empty_state

__all__ = ["Writer"]

_log = structlog.get_logger("controlplane.writer")


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

    async def catch_up(self) -> None:
        """Fold every log event newer than the projection, starting from the newest snapshot
        when the projection is behind it (the log is trimmed behind snapshots)."""
        state = self.state
        snapshot = await self._log.load_snapshot(usable_before=float("inf"))
        if snapshot is not None and snapshot.version > state.version:
            state = snapshot
        async for event in self._log.replay(after=state.version):
            state = apply(state, event)
        self.state = state
        self._stale = False

    async def execute(
        self, operation: Operation, params: Params, caller: Caller
    ) -> tuple[Outcome, int]:
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
        async with self._lock:
            if times is not None:
                times.lap("queue")
            for _attempt in range(3):
                try:
                    if self._stale:
                        await self.catch_up()
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
        times = current_stages()
        now = self._now()
        outcome = operation.handler(self.state, params, caller, now)
        if times is not None:
            times.lap("handler")
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
        if times is not None:
            times.lap("encode")
        started = time.perf_counter()
        await self._log.append(event)
        if self._on_append is not None:
            self._on_append(event.kind, time.perf_counter() - started)
        if times is not None:
            times.lap("append")
        self.state = apply(self.state, event)
        if times is not None:
            times.lap("apply")
        _log.info("change_committed", version=event.version, kind=event.kind, action=event.action)
        return outcome, event.version

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)
