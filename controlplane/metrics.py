"""Prometheus metrics of the control plane: ``GET /metrics``.

Counters and histograms are fed by the writer (append latency per change kind) and by a
middleware (request latency and status); the projection's version, the stream's length and
the newest snapshot's age are read when the page is scraped.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from redis.exceptions import RedisError

from controlplane.stages import StageTimes
from replication.entries import BadEntry
from replication.log import STREAM_KEY, RedisChangeLog
from replication.snapshot import latest_snapshots
from replication.state import IamState

__all__ = ["ControlPlaneMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1)
# a stage of one call takes from microseconds (apply) to a millisecond (the data-plane hop)
_STAGE_BUCKETS = (0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.025, 0.1)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlPlaneMetrics:
    """Every metric the control plane exports, in a registry of its own."""

    def __init__(
        self,
        log: RedisChangeLog,
        state: Callable[[], IamState],
        halted: Callable[[], BadEntry | None] = lambda: None,
    ) -> None:
        self.registry = CollectorRegistry()
        self._log = log
        self._state = state
        self._halted = halted
        self.version = Gauge(
            "iam_planes_controlplane_version",
            "Newest version in the projection",
            registry=self.registry,
        )
        self.halted_bad_version = Gauge(
            "iam_planes_controlplane_halted_bad_version",
            "Version of the log entry that halts writes (0: writes are accepted)",
            registry=self.registry,
        )
        self.stream_length = Gauge(
            "iam_planes_stream_length", "Entries in the change log stream", registry=self.registry
        )
        self.snapshot_age = Gauge(
            "iam_planes_snapshot_age_seconds",
            "Age of the newest snapshot (-1: none)",
            registry=self.registry,
        )
        self.appends = Histogram(
            "iam_planes_append_seconds",
            "Durable compare-and-append latency per change kind",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Histogram(
            "iam_planes_controlplane_request_seconds",
            "Request latency by HTTP status",
            ["status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stages = Histogram(
            "iam_planes_controlplane_stage_seconds",
            "Time of each stage of an IAM call (controlplane.stages), writes and reads apart",
            ["call", "stage"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.redis_up = Gauge(
            "iam_planes_redis_up", "1 when the log's Redis answered the last scrape",
            registry=self.registry,
        )  # fmt: skip
        # labelled children by their labels: every call observes a dozen stages, and labels()
        # (validating and locking) costs more than the observation; the set of labels is small
        self._children: dict[tuple[object, ...], Histogram] = {}

    def _child(self, histogram: Histogram, *labels: str) -> Histogram:
        key = (histogram, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = histogram.labels(*labels)
        return child

    def observe_append(self, kind: str, seconds: float) -> None:
        """Record one durable append (the writer's hook)."""
        self._child(self.appends, kind).observe(seconds)

    def observe_stages(self, writes: bool, times: StageTimes) -> None:
        """Record where one IAM call's time went (the API's hook)."""
        call = "write" if writes else "read"
        for stage, seconds in times.durations.items():
            self._child(self.stages, call, stage).observe(seconds)

    def middleware(self) -> Middleware:
        """Time every request under its HTTP status."""

        @web.middleware
        async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
            started = time.perf_counter()
            response = await handler(request)
            seconds = time.perf_counter() - started
            self._child(self.requests, str(response.status)).observe(seconds)
            return response

        return timed

    async def page(self, request: web.Request) -> web.Response:
        """``GET /metrics``: refresh the gauges that are read, then render."""
        self.version.set(self._state().version)
        halted = self._halted()
        self.halted_bad_version.set(0 if halted is None else halted.version)
        try:
            self.stream_length.set(await self._log.client.xlen(STREAM_KEY))
            snapshots = await latest_snapshots(self._log.client)
            self.snapshot_age.set(time.time() - snapshots[0].committed_at if snapshots else -1)
            self.redis_up.set(1)
        except (RedisError, OSError):
            self.redis_up.set(0)
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
