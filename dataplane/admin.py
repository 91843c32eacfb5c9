"""Operator endpoints of a replica: partitions for chaos, and Prometheus metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dataplane.metrics import ReplicaMetrics
from dataplane.replica import Replica

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ["admin_routes", "timing_middleware"]


def timing_middleware(metrics: ReplicaMetrics) -> Middleware:
    """Observe every request's latency under its route (the path's first segment)."""

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            route = "/" + request.path.strip("/").split("/", 1)[0]
            metrics.request_latency.labels(route).observe(time.perf_counter() - started)

    return timed


def admin_routes(replica: Replica, metrics: ReplicaMetrics) -> list[web.RouteDef]:
    """``POST /admin/partition`` (``{"partitioned": bool}``) and ``GET /metrics``."""

    async def partition(request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
            wanted = body["partitioned"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return web.json_response(
                {"error": {"code": "ValidationError", "message": 'expected {"partitioned": bool}'}},
                status=400,
            )
        replica.set_partitioned(bool(wanted))
        return web.json_response(
            {"partitioned": replica.partitioned, "version": replica.state.version}
        )

    async def metrics_page(request: web.Request) -> web.Response:
        metrics.refresh()
        return web.Response(
            body=generate_latest(metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    return [web.post("/admin/partition", partition), web.get("/metrics", metrics_page)]
