"""The Organizations JSON 1.1 endpoint, on the control plane's port beside IAM.

Requests are told apart by ``X-Amz-Target: AWSOrganizationsV20161128.<Action>``. Handlers are
pure (``controlplane.organizations``); every accepted write is one ``organization.put`` event.
"""

from __future__ import annotations

import uuid

import structlog
from aiohttp import web

from awswire.errors import AwsError
from awswire.json_protocol import parse_json_request, serialize_json_error, serialize_json_result
from awswire.wire import WireResponse
from controlplane.api.access import CallerAccess
from controlplane.authorizer import DataPlaneAuthorizer
from controlplane.organizations import OPERATIONS
from controlplane.writer import Writer
from replication.headers import VERSION_HEADER

__all__ = ["TARGET_PREFIX", "OrganizationsApi"]

TARGET_PREFIX = "AWSOrganizationsV20161128."
_log = structlog.get_logger("controlplane.organizations")


class OrganizationsApi:
    """Serves Organizations' JSON API from the writer's projection."""

    def __init__(self, writer: Writer, authorizer: DataPlaneAuthorizer) -> None:
        self._writer = writer
        self._access = CallerAccess(writer, authorizer)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one Organizations request."""
        request_id = str(uuid.uuid4())
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            body = await request.read()
            call = parse_json_request("organizations", request.headers.get("X-Amz-Target"), body)
            operation = OPERATIONS.get(call.operation)
            if operation is None:
                raise AwsError(
                    "UnsupportedAPIEndpointException",
                    f"iam-planes does not implement {call.operation} yet.",
                    400,
                )
            caller = await self._access.authorize(request, body, operation, call.params)
            outcome, version = await self._writer.execute(operation, call.params, caller)
            wire = serialize_json_result(
                "organizations", call.operation, outcome.result, request_id
            )
            _log.info("organizations_call", action=call.operation, version=version)
            return _to_http(wire, version)
        except AwsError as error:
            _log.info("organizations_error", code=error.code, status=error.http_status)
            return _to_http(serialize_json_error(error, request_id), self._writer.state.version)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")


def _to_http(wire: WireResponse, version: int) -> web.Response:
    headers = {**wire.headers, VERSION_HEADER: str(version)}
    content_type = headers.pop("Content-Type")
    return web.Response(
        status=wire.status, headers=headers, body=wire.body, content_type=content_type
    )
