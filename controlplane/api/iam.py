"""The IAM Query API endpoint: parse, authenticate and authorize, execute, serialize.

Handlers stay pure (``controlplane.iam``); this edge does the wire work with ``awswire`` and
tags every answer with the log version it reflects (header ``x-iam-planes-version``).
"""

from __future__ import annotations

import uuid

import structlog
from aiohttp import web

from awswire.errors import AwsError, access_denied
from awswire.query import parse_query_request
from awswire.sigv4 import parse_signature
from awswire.wire import WireResponse
from awswire.xml import query_error_response, serialize_query_result
from controlplane.authorizer import DataPlaneAuthorizer
from controlplane.iam import OPERATIONS, Caller, Operation
from controlplane.writer import Writer
from replication.arns import root_arn
from replication.ids import account_of_access_key

__all__ = ["VERSION_HEADER", "IamApi"]

VERSION_HEADER = "x-iam-planes-version"
_log = structlog.get_logger("controlplane.api")

_DENIAL_REASONS = {
    "explicit_deny": "with an explicit deny in an identity-based policy",
    "scp": "because no service control policy allows the {action} action",
    "boundary": "because no permissions boundary allows the {action} action",
    "session": "because no session policy allows the {action} action",
}


def _denied(principal: str, action: str, resource: str, decided_by: str) -> AwsError:
    reason = _DENIAL_REASONS.get(
        decided_by, "because no identity-based policy allows the {action} action"
    ).format(action=action)
    return access_denied(
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        + reason
    )


class IamApi:
    """Serves IAM's Query API from the writer's projection."""

    def __init__(self, writer: Writer, authorizer: DataPlaneAuthorizer) -> None:
        self._writer = writer
        self._authorizer = authorizer

    def _presumed_caller(self, access_key_id: str) -> Caller:
        """Name the caller from the projection, to build the resource ARN it is authorized on."""
        state = self._writer.state
        key = state.access_keys.get(access_key_id)
        account = key.account if key else account_of_access_key(access_key_id) or "000000000000"
        if key is None or key.user_name is None:
            return Caller(account, root_arn(account), None)
        user = state.user(account, key.user_name)
        return Caller(account, user.arn if user else root_arn(account), key.user_name)

    async def _authorize(
        self, request: web.Request, body: bytes, operation: Operation, params: dict[str, object]
    ) -> Caller:
        claim = parse_signature(
            request.method,
            request.rel_url.raw_path,
            request.rel_url.raw_query_string,
            request.headers,
        )
        presumed = self._presumed_caller(claim.access_key_id)
        resource = operation.resource(self._writer.state, params, presumed)
        answer = await self._authorizer.authorize(request, body, operation.iam_action, resource)
        if answer.decision != "Allow":
            raise _denied(answer.principal, operation.iam_action, resource, answer.decided_by)
        return presumed

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one IAM Query request (POST form or GET query string)."""
        request_id = str(uuid.uuid4())
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            body = await request.read()
            call = parse_query_request("iam", body, request.rel_url.raw_query_string)
            operation = OPERATIONS.get(call.operation)
            if operation is None:
                raise AwsError(
                    "NotImplemented", f"iam-planes does not implement {call.operation} yet.", 501
                )
            caller = await self._authorize(request, body, operation, call.params)
            outcome, version = await self._writer.execute(operation, call.params, caller)
            wire = serialize_query_result("iam", call.operation, outcome.result, request_id)
            _log.info("iam_call", action=call.operation, version=version)
            return _to_http(wire, version)
        except AwsError as error:
            _log.info("iam_error", code=error.code, status=error.http_status)
            return _to_http(
                query_error_response(error, request_id, "iam"), self._writer.state.version
            )
        finally:
            structlog.contextvars.unbind_contextvars("request_id")


def _to_http(wire: WireResponse, version: int) -> web.Response:
    headers = {**wire.headers, VERSION_HEADER: str(version)}
    content_type = headers.pop("Content-Type", "text/xml")
    return web.Response(
        status=wire.status, headers=headers, body=wire.body, content_type=content_type.split(";")[0]
    )
