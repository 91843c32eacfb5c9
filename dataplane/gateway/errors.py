"""A refused call, rendered exactly as the service it calls renders it: code, status, body.

Authentication failures arrive as the replica's own codes (``InvalidClientTokenId``,
``SignatureDoesNotMatch``, ...) and are renamed per service: S3 says ``InvalidAccessKeyId``,
JSON services ``UnrecognizedClientException``, EC2 ``AuthFailure``. Denials use AWS's explicit
message: "User: ARN is not authorized to perform: ACTION on resource: ARN because ...".
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from awswire.errors import AwsError
from awswire.xml import escape, serialize_query_error
from dataplane.evaluation import Decision, Stage

__all__ = ["Refusal", "backend_unavailable", "denial", "denial_reason", "refusal_of"]

_JSON_TYPE_PREFIX = "com.amazon.coral.service#"
_S3_UNKNOWN_KEY = "The AWS Access Key Id you provided does not exist in our records."
_INVALID_TOKEN = "The security token included in the request is invalid."


@dataclass(frozen=True, slots=True)
class Refusal:
    """The HTTP answer to a refused call."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class Denied(AwsError):
    """An authorization refusal (the engine said no), before it is rendered per service."""


def denial_reason(decision: Decision, action: str) -> str:
    """The end of AWS's denial message: which kind of policy refused, and how."""
    if decision.decided_by is Stage.EXPLICIT_DENY or decision.decision.value == "ExplicitDeny":
        labels = [m.policy for m in decision.matched if m.effect == "Deny"]
        label = labels[0] if labels else ""
        if "service_control_policy" in label:
            where = "a service control policy"
        elif "resource_control_policy" in label:
            where = "a resource control policy"
        elif label == "resource":
            where = "a resource-based policy"
        elif decision.decided_by is Stage.BOUNDARY:
            where = "a permissions boundary"
        elif decision.decided_by is Stage.SESSION:
            where = "a session policy"
        else:
            where = "an identity-based policy"
        return f"with an explicit deny in {where}"
    kind = {
        Stage.SCP: "service control policy",
        Stage.RCP: "resource control policy",
        Stage.BOUNDARY: "permissions boundary",
        Stage.SESSION: "session policy",
        Stage.RESOURCE: "resource-based policy",
    }.get(decision.decided_by, "identity-based policy")
    return f"because no {kind} allows the {action} action"


def denial(principal: str, action: str, resource: str, reason: str) -> Denied:
    """AWS's explicit denial, before the service's code and status are chosen."""
    return Denied(
        "AccessDenied",
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        + reason,
        403,
    )


def _s3(error: AwsError, request_id: str, access_key_id: str | None) -> Refusal:
    code, status, message = error.code, error.http_status, error.message
    extra = ""
    if code == "InvalidClientTokenId":
        code, status, message = "InvalidAccessKeyId", 403, _S3_UNKNOWN_KEY
        extra = f"<AWSAccessKeyId>{escape(access_key_id or '')}</AWSAccessKeyId>"
    elif code == "SignatureDoesNotMatch":
        message = (
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method."
        )
    elif code == "IncompleteSignature":
        code = "AuthorizationHeaderMalformed"
    elif code == "RequestExpired":
        code, status, message = "AccessDenied", 403, "Request has expired"
    elif isinstance(error, Denied):
        code, status = "AccessDenied", 403
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
    )
    return Refusal(status, "application/xml", body.encode(), (("x-amz-request-id", request_id),))


def _json(error: AwsError, request_id: str, status_of_denial: int) -> Refusal:
    code, status, message = error.code, error.http_status, error.message
    if code == "InvalidClientTokenId":
        code, status = "UnrecognizedClientException", status_of_denial
    elif code == "SignatureDoesNotMatch":
        code, status = "InvalidSignatureException", status_of_denial
    elif code == "MissingAuthenticationToken":
        code, status = "MissingAuthenticationTokenException", status_of_denial
    elif isinstance(error, Denied):
        code, status = "AccessDeniedException", status_of_denial
    body = orjson.dumps({"__type": _JSON_TYPE_PREFIX + code, "message": message})
    headers = (("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", code))
    return Refusal(status, "application/x-amz-json-1.1", body, headers)


def _query(error: AwsError, request_id: str, service: str) -> Refusal:
    code = error.code
    if isinstance(error, Denied):
        code = "AuthorizationError" if service == "sns" else "AccessDenied"
    wire = serialize_query_error(
        code, error.message, error.http_status, error.sender_fault, request_id, service
    )
    return Refusal(wire.status, "text/xml", wire.body, (("x-amzn-RequestId", request_id),))


def _ec2(error: AwsError, request_id: str, encoded: str | None) -> Refusal:
    code, status, message = error.code, error.http_status, error.message
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken"):
        code, status = "AuthFailure", 401
        message = "AWS was not able to validate the provided access credentials"
    elif isinstance(error, Denied):
        code, status = "UnauthorizedOperation", 403
        message = "You are not authorized to perform this operation. " + message
        if encoded:
            message += f" Encoded authorization failure message: {encoded}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{request_id}</RequestID></Response>"
    )
    return Refusal(status, "text/xml", body.encode())


def refusal_of(  # noqa: PLR0917 - the error and what its rendering depends on
    error: AwsError,
    service: str,
    protocol: str,
    request_id: str,
    access_key_id: str | None = None,
    encoded_message: str | None = None,
) -> Refusal:
    """``error`` as the service renders it (protocol ``rest-xml``, ``json``, ``rest-json``,
    ``query`` or ``ec2``)."""
    if protocol == "rest-xml":
        return _s3(error, request_id, access_key_id)
    if protocol == "json":
        return _json(error, request_id, 400)
    if protocol == "rest-json":
        return _json(error, request_id, 403)
    if protocol == "ec2":
        return _ec2(error, request_id, encoded_message)
    return _query(error, request_id, service)


def backend_unavailable() -> AwsError:
    """``ServiceUnavailable`` (503, the service's fault) while the services backend is down."""
    return AwsError(
        "ServiceUnavailable",
        "The services backend is not answering; please try again.",
        503,
        sender_fault=False,
    )
