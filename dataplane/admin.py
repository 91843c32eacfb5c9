"""Operator endpoints of a replica: partitions and delays for chaos, and Prometheus metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from dataplane.metrics import ReplicaMetrics
from dataplane.replica import Replica
from replication.delay import RegionDelays
from replication.queries import AuthorizeQuery

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ["admin_routes", "decision_observer", "timing_middleware"]

_decisions = structlog.get_logger("dataplane.decisions")
_ROUTES_REMEMBERED = 64


def decision_observer(
    metrics: ReplicaMetrics, log_decisions: bool
) -> Callable[[dict[str, Any], AuthorizeQuery], None]:
    """Count every decision by result; with ``log_decisions``, log one line per decision with
    the version it used (the decision log)."""

    counters: dict[str, Any] = {}  # the labelled child of each decision, looked up once

    def observe(answer: dict[str, Any], query: AuthorizeQuery) -> None:
        decision = answer["decision"]
        counter = counters.get(decision)
        if counter is None:
            counter = counters[decision] = metrics.decisions.labels(decision)
        counter.inc()
        if log_decisions:
            _decisions.info(
                "decision",
                decision=answer["decision"],
                decided_by=answer["decided_by"],
                principal=answer["principal"],
                action=query.action,
                resource=query.resource,
                version=answer["version"],
            )

    return observe


def timing_middleware(metrics: ReplicaMetrics) -> Middleware:
    """Observe every request's latency under its route (the path's first segment)."""

    # the labelled child of each route, looked up once (routes are a handful of names)
    histograms: dict[str, Any] = {}

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            elapsed = time.perf_counter() - started
            path = request.path
            histogram = histograms.get(path)
            if histogram is None:
                route = "/" + path.strip("/").split("/", 1)[0]
                histogram = metrics.request_latency.labels(route)
                if len(histograms) < _ROUTES_REMEMBERED:
                    histograms[path] = histogram
            histogram.observe(elapsed)

    return timed


def admin_routes(replica: Replica, metrics: ReplicaMetrics) -> list[web.RouteDef]:
    """``POST /admin/partition`` (``{"partitioned": bool}``), ``/admin/delays`` (GET, POST)
    and ``GET /metrics``."""

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

    async def delays(request: web.Request) -> web.Response:
        """``POST /admin/delays`` (a RegionDelays object): the delays of events read from now
        on; answers the delays it replaced, so a test can put them back."""
        previous = replica.delays
        try:
            replica.delays = RegionDelays.model_validate_json(await request.read())
        except ValidationError as invalid:
            return web.json_response(
                {"error": {"code": "ValidationError", "message": str(invalid.errors()[0]["msg"])}},
                status=400,
            )
        return web.json_response({"previous": previous.model_dump(), "seed": replica.seed})

    async def current_delays(request: web.Request) -> web.Response:
        return web.json_response({"delays": replica.delays.model_dump(), "seed": replica.seed})

    async def metrics_page(request: web.Request) -> web.Response:
        metrics.refresh()
        return web.Response(
            body=generate_latest(metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    return [
        web.post("/admin/partition", partition),
        web.post("/admin/delays", delays),
        web.get("/admin/delays", current_delays),
        web.get("/metrics", metrics_page),
    ]
