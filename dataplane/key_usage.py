"""Record each long-term access key's last use on this replica and flush it to Redis.

Authentication is the hot path: recording is one dict store (key id -> time and action),
never I/O. A background task flushes the newest use of each key every few seconds into the
shared hash (``replication.key_usage``), where a compare-and-set keeps the newest use across
replicas and regions. A failed flush is logged once, kept, and retried at the next tick:
authorization never waits for Redis and a Redis outage never stops the replica.
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from replication.key_usage import KeyUse, record_key_uses

__all__ = ["DEFAULT_FLUSH_SECONDS", "FLUSH_SECONDS_ENV", "KeyUsage"]

FLUSH_SECONDS_ENV = "IAM_PLANES_KEY_USAGE_FLUSH_SECONDS"
DEFAULT_FLUSH_SECONDS = 5.0
_FINAL_FLUSH_TIMEOUT = 2.0

_log = structlog.get_logger("dataplane.key_usage")


class KeyUsage:
    """The newest use of each long-term access key seen here since the last flush."""

    __slots__ = ("_failing", "_pending", "region")

    def __init__(self, region: str) -> None:
        self.region = region
        # key id -> (epoch seconds, the action or bare service name it was used for)
        self._pending: dict[str, tuple[float, str]] = {}
        self._failing = False

    def record(self, access_key_id: str, action: str, at: float) -> None:
        """Note a use of ``access_key_id`` for ``action`` (``iam:CreateUser``, or a bare
        service name such as ``sts``) at ``at``. The hot path: one dict store."""
        self._pending[access_key_id] = (at, action)

    def pending(self) -> int:
        """How many keys have a use not yet flushed."""
        return len(self._pending)

    def take(self) -> dict[str, KeyUse]:
        """The uses noted since the last take, as the hash stores them; the recorder starts
        over empty."""
        taken, self._pending = self._pending, {}
        region = self.region
        return {
            key_id: KeyUse(at=int(at), service=action.partition(":")[0], region=region)
            for key_id, (at, action) in taken.items()
        }

    def give_back(self, uses: dict[str, KeyUse]) -> None:
        """Put back uses a flush could not store, unless a newer use was noted meanwhile."""
        pending = self._pending
        for key_id, use in uses.items():
            noted = pending.get(key_id)
            if noted is None or noted[0] < use.at:
                pending[key_id] = (float(use.at), use.service)

    async def flush(self, client: aioredis.Redis) -> int:
        """Store what was noted; on a Redis error, keep it for the next flush and re-raise."""
        uses = self.take()
        if not uses:
            return 0
        try:
            return await record_key_uses(client, uses)
        except BaseException:  # cancelled mid-call too: nothing noted is lost
            self.give_back(uses)
            raise

    async def _flush_logged(self, client: aioredis.Redis) -> None:
        try:
            await self.flush(client)
        except (RedisError, OSError) as error:
            if not self._failing:  # once per outage, not once per tick
                _log.warning("key_usage_flush_failed", error=type(error).__name__)
            self._failing = True
        except Exception as error:  # never let the task die: the uses are kept for the next
            _log.warning("key_usage_flush_error", error=type(error).__name__)
            self._failing = True
        else:
            if self._failing:
                _log.info("key_usage_flush_recovered")
            self._failing = False

    async def run(self, client: aioredis.Redis, every: float) -> None:
        """Flush every ``every`` seconds until cancelled; then flush once more (bounded)."""
        try:
            while True:
                await asyncio.sleep(every)
                await self._flush_logged(client)
        except asyncio.CancelledError:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_FINAL_FLUSH_TIMEOUT):
                    await self._flush_logged(client)
            raise
