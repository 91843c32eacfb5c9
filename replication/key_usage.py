"""Access keys' last use: the Redis hash both planes share.

Data-plane replicas note every authentication of a long-term access key in memory and flush
the newest use of each key, every few seconds, into one hash (field: the key id, value: a
``KeyUse`` as JSON). The control plane reads it to answer ``GetAccessKeyLastUsed`` and to
build credential reports. A compare-and-set script keeps the newest use whatever the order
the replicas flush in: an older use never replaces a newer one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "KEY_USAGE_KEY",
    "KeyUse",
    "read_key_uses",
    "record_key_uses",
]

KEY_USAGE_KEY = "iam:key-usage"
#: key ids per script call (ARGV stays small; a flush of many keys takes several calls)
_RECORD_BATCH = 200

# KEYS[1]: the hash. ARGV: key id, epoch seconds, JSON value, repeated. A use replaces the
# stored one only when it is strictly newer: within one second the first use recorded stays,
# as AWS keeps the first use of a span. A value that cannot be read is replaced.
_RECORD_NEWER_SCRIPT = """
local written = 0
for i = 1, #ARGV, 3 do
  local newer = true
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if current then
    local ok, decoded = pcall(cjson.decode, current)
    if ok and type(decoded) == 'table' and tonumber(decoded['at']) then
      newer = tonumber(decoded['at']) < tonumber(ARGV[i + 1])
    end
  end
  if newer then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    written = written + 1
  end
end
return written
"""


class KeyUse(BaseModel):
    """One use of an access key: when (epoch seconds), which service, which region."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    at: int
    service: str
    region: str

    @property
    def used_at(self) -> datetime:
        """When the key was used, as a UTC datetime (seconds precision)."""
        return datetime.fromtimestamp(self.at, UTC)


async def record_key_uses(client: aioredis.Redis, uses: Mapping[str, KeyUse]) -> int:
    """Store each key's use unless the hash already holds a use at least as recent; how
    many fields were written."""
    items = list(uses.items())
    written = 0
    for start in range(0, len(items), _RECORD_BATCH):
        argv: list[str | int] = []
        for key_id, use in items[start : start + _RECORD_BATCH]:
            argv += [key_id, use.at, use.model_dump_json()]
        written += int(await client.eval(_RECORD_NEWER_SCRIPT, 1, KEY_USAGE_KEY, *argv))
    return written


async def read_key_uses(client: aioredis.Redis, key_ids: Iterable[str]) -> dict[str, KeyUse]:
    """The last recorded use of each of ``key_ids`` that has one (unreadable values are
    skipped: a key without a readable use reads as never used)."""
    wanted = list(dict.fromkeys(key_ids))
    if not wanted:
        return {}
    values = await client.hmget(KEY_USAGE_KEY, wanted)
    found: dict[str, KeyUse] = {}
    for key_id, value in zip(wanted, values, strict=True):
        if value is None:
            continue
        try:
            found[key_id] = KeyUse.model_validate_json(value)
        except ValidationError:
            continue
    return found
