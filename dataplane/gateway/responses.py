"""Refusals as aiohttp responses, worded as the called service words them."""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from aiohttp import web

from awswire.errors import AwsError
from dataplane.gateway.errors import Refusal, refusal_of
from dataplane.gateway.incoming import BodyTooLarge, credential_key_id

__all__ = ["refused", "response_of"]

_log = structlog.get_logger("dataplane.gateway")

_WRONG_REGION = "Credential should be scoped to a valid region, not '"


def refused(
    error: AwsError,
    hint: tuple[str, str],
    request_id: str,
    headers: Mapping[str, str],
    region: str,
) -> web.Response:
    service, protocol = hint
    if isinstance(error, BodyTooLarge) and protocol != "rest-xml":
        error = AwsError("RequestEntityTooLarge", "Request body is too large.", 413)
    if protocol == "rest-xml" and error.message.startswith(_WRONG_REGION):
        claimed = error.message[len(_WRONG_REGION) :].split("'", 1)[0]
        error = AwsError(  # S3 names both regions, so the SDK can redirect
            "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; the region '{claimed}' is wrong; "
            f"expecting '{region}'",
            400,
        )
    key_id = None
    if error.code == "InvalidClientTokenId":
        key_id = credential_key_id(headers.get("authorization", ""))
    _log.info("gateway_refused", service=service, code=error.code, status=error.http_status)
    return response_of(refusal_of(error, service, protocol, request_id, key_id))


def response_of(refusal: Refusal) -> web.Response:
    response = web.Response(
        status=refusal.status, body=refusal.body, content_type=refusal.content_type
    )
    for name, value in refusal.headers:
        response.headers[name] = value
    return response
