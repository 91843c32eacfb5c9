"""Where each region's Redis stands against the primary: its link, and how far behind it is.

Read from Redis's own ``INFO replication``: a region cut off from us-east-1 reports
``master_link_status:down`` and for how long, while the primary's log head moves on without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from deploy.cluster_file import ClusterFile, RedisRecord
from replication.log import HEAD_KEY

__all__ = ["PrimaryState", "RegionLink", "primary_state", "region_links"]

_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class PrimaryState:
    """The primary's log head and how its replicas have synced (full copies, partial resyncs)."""

    head: int
    offset: int
    full_syncs: int
    partial_syncs: int


@dataclass(frozen=True)
class RegionLink:
    """A regional Redis's replication link to the primary."""

    region: str
    link: str  # "up", "down", or "unreachable" when the regional Redis does not answer
    head: int | None  # the newest log version this region's Redis holds
    silent_s: int | None  # seconds since it last heard from the primary (down: since the cut)
    behind_versions: int | None  # the primary's head minus this region's
    behind_bytes: int | None  # the primary's replication offset minus this region's


def _ask(record: RedisRecord) -> tuple[dict[str, Any], int] | None:
    client = redis.Redis.from_url(
        record.url, socket_timeout=_TIMEOUT_S, socket_connect_timeout=_TIMEOUT_S
    )
    try:
        info: dict[str, Any] = client.info("replication")
        info.update(client.info("stats"))
        head = int(client.get(HEAD_KEY) or 0)
    except (redis.RedisError, OSError, ValueError):
        return None
    finally:
        client.close()
    return info, head


def primary_state(cluster: ClusterFile) -> PrimaryState | None:
    """The primary's head and sync counters (None when it does not answer)."""
    answer = _ask(cluster.redis)
    if answer is None:
        return None
    info, head = answer
    return PrimaryState(
        head=head,
        offset=int(info.get("master_repl_offset", 0)),
        full_syncs=int(info.get("sync_full", 0)),
        partial_syncs=int(info.get("sync_partial_ok", 0)),
    )


def region_links(cluster: ClusterFile, primary: PrimaryState | None) -> list[RegionLink]:
    """Each regional Redis's link to the primary; lags are None when the primary is silent."""
    links = []
    for region, record in cluster.regional_redis.items():
        answer = _ask(record)
        if answer is None:
            links.append(RegionLink(region, "unreachable", None, None, None, None))
            continue
        info, head = answer
        link = str(info.get("master_link_status", "down"))
        since = "master_link_down_since_seconds" if link == "down" else "master_last_io_seconds_ago"
        silent = info.get(since)
        offset = int(info.get("slave_repl_offset", info.get("master_repl_offset", 0)))
        links.append(
            RegionLink(
                region=region,
                link=link,
                head=head,
                silent_s=None if silent is None or int(silent) < 0 else int(silent),
                behind_versions=None if primary is None else max(0, primary.head - head),
                behind_bytes=None if primary is None else max(0, primary.offset - offset),
            )
        )
    return links
