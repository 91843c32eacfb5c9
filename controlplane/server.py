"""The control plane's aiohttp application: IAM and Organizations at ``/``, and ``/health``.

Both APIs share the port, as AWS's SDKs only need one endpoint URL per service: an
``X-Amz-Target: AWSOrganizationsV20161128.*`` header routes a request to Organizations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from aiohttp import web

from awswire.errors import AwsError, service_failure
from awswire.xml import query_error_response
from controlplane.api.iam import IamApi
from controlplane.api.organizations import TARGET_PREFIX, OrganizationsApi
from controlplane.writer import Writer
from replication.headers import VERSION_HEADER

__all__ = ["MAX_BODY_BYTES", "build_app"]

_log = structlog.get_logger("controlplane.server")

# above IAM's largest modelled parameter (131,072 characters) so oversized members get AWS's
# ValidationError; anything bigger is refused before it is read
MAX_BODY_BYTES = 2 * 1024 * 1024
WRITER_KEY = web.AppKey("writer", Writer)


def _xml_error(error: AwsError, version: int) -> web.Response:
    wire = query_error_response(error, "00000000-0000-0000-0000-000000000000", "iam")
    return web.Response(
        status=wire.status,
        body=wire.body,
        content_type="text/xml",
        headers={VERSION_HEADER: str(version)},
    )


@web.middleware
async def _never_a_traceback(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Whatever fails leaves as an AWS error document, never an HTML page or a traceback."""
    version = request.app[WRITER_KEY].state.version
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        too_large = AwsError("RequestEntityTooLarge", "Request body is too large.", 413)
        return _xml_error(too_large, version)
    except web.HTTPException:
        raise
    except Exception:
        _log.exception("request_failed")
        return _xml_error(service_failure("The request processing has failed."), version)


async def _health(request: web.Request) -> web.Response:
    """200 while the control plane serves; HALTED (still 200: reads are served) while the log
    holds an entry it cannot apply, with that entry's version and reason."""
    writer = request.app[WRITER_KEY]
    body: dict[str, Any] = {"status": "OK", "version": writer.state.version}
    if writer.halted is not None:
        body["status"] = "HALTED"
        body["halted"] = writer.halted.as_json()
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def build_app(
    writer: Writer, api: IamApi, organizations: OrganizationsApi | None = None
) -> web.Application:
    """The control plane application."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_never_a_traceback])
    app[WRITER_KEY] = writer
    app.router.add_get("/health", _health)

    async def route(request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        if organizations is not None and target.startswith(TARGET_PREFIX):
            return await organizations.handle(request)
        return await api.handle(request)

    app.router.add_route("*", "/", route)
    return app
