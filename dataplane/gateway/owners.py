"""Who owns each S3 bucket: the account whose allowed CreateBucket made it.

Every other resource names its account in its ARN or URL, or is named by a bare name that AWS
resolves in the caller's own account; bucket names are global and name none. So when a
CreateBucket is allowed and succeeds, the gateway records the caller's account in Redis, where
every replica of every region reads it (and DeleteBucket removes it). A bucket the gateway did
not see created (made straight on the backend) is taken as the caller's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis.exceptions

__all__ = ["BUCKET_OWNERS_KEY", "BucketOwners"]

BUCKET_OWNERS_KEY = "iam-planes:gateway:bucket-owners"
_KEPT_SECONDS = 5.0
_UNKNOWN_KEPT_SECONDS = 0.5
_KEPT_LIMIT = 100_000


class BucketOwners:
    """Bucket -> owning account, in a Redis hash, each answer kept a few seconds here."""

    def __init__(
        self, reader: Any, writer: Any, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._clock = clock
        self._kept: dict[str, tuple[float, str | None]] = {}

    async def owner(self, bucket: str) -> str | None:
        """The account that created ``bucket`` through the gateway (None: not known)."""
        kept = self._kept.get(bucket)
        now = self._clock()
        if kept is not None and kept[0] > now:
            return kept[1]
        try:
            raw = await self._reader.hget(BUCKET_OWNERS_KEY, bucket)
        except (redis.exceptions.RedisError, OSError):
            return kept[1] if kept is not None else None  # Redis away: what was last known
        account = raw.decode() if isinstance(raw, bytes) else raw
        if len(self._kept) > _KEPT_LIMIT:
            self._kept.clear()
        # an unknown bucket may be created any moment (through another replica): ask again soon
        self._kept[bucket] = (now + (_KEPT_SECONDS if account else _UNKNOWN_KEPT_SECONDS), account)
        return account

    async def created(self, bucket: str, account: str) -> None:
        """Record that ``account`` created ``bucket``."""
        await self._writer.hset(BUCKET_OWNERS_KEY, bucket, account)
        self._kept[bucket] = (self._clock() + _KEPT_SECONDS, account)

    async def deleted(self, bucket: str) -> None:
        """Forget ``bucket`` (deleted: its name is free for anyone)."""
        await self._writer.hdel(BUCKET_OWNERS_KEY, bucket)
        self._kept.pop(bucket, None)
