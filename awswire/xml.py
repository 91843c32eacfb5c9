"""Serialize results and errors as AWS Query protocol XML (IAM, STS).

The document follows the operation's output shape from botocore's model:
``<{Op}Response xmlns=...><{Op}Result>...</{Op}Result><ResponseMetadata>...``, lists as
``<member>`` elements, maps as ``<entry><key/><value/></entry>``, timestamps ISO-8601 UTC
with ``Z``, booleans lowercase, blobs base64. The namespace is the model's
``xmlNamespace`` (``https://iam.amazonaws.com/doc/2010-05-08/`` for IAM).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape as _escape

from awswire.errors import AwsError
from awswire.models import Shape, metadata, operation_model, result_wrapper, shape_members
from awswire.models import wire_name as _wire_name
from awswire.wire import WireResponse

__all__ = [
    "format_query_timestamp",
    "query_error_response",
    "serialize_error",
    "serialize_query_error",
    "serialize_query_result",
]

CONTENT_TYPE = "text/xml"
_ENTITIES = {"\r": "&#13;"}


def escape(text: str) -> str:
    """Escape element text; carriage returns become ``&#13;`` so parsers keep them."""
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return _escape(text, _ENTITIES)
    return text  # most text has nothing to escape: four scans instead of four replaces


def serialize_query_result(
    service: str, operation: str, result: Mapping[str, Any] | None, request_id: str
) -> WireResponse:
    """The 200 XML response of ``operation`` carrying ``result`` (boto3-shaped output dict).

    Raises ``ValueError`` if ``result`` holds a member the output shape does not have,
    or if the operation is unknown: both are programming errors in the caller.
    """
    model = operation_model(service, operation)
    if model is None:
        raise ValueError(f"{service} has no operation {operation}")
    parts = [f'<{operation}Response xmlns="{metadata(service, "xmlNamespace")}">']
    shape = model.output_shape
    if shape is not None:
        wrapper = result_wrapper(shape) or f"{operation}Result"
        parts.append(f"<{wrapper}>")
        _write_members(shape, result or {}, parts)
        parts.append(f"</{wrapper}>")
    elif result:
        raise ValueError(f"{operation} has no output, got {sorted(result)}")
    parts.append(_response_metadata(request_id))
    parts.append(f"</{operation}Response>")
    return _response(200, request_id, "".join(parts))


def serialize_query_error(  # noqa: PLR0917 - mirrors the AwsError fields in order
    code: str,
    message: str,
    http_status: int,
    sender_fault: bool,
    request_id: str,
    service: str,
) -> WireResponse:
    """AWS's Query ``<ErrorResponse>`` document for one error, with its HTTP status."""
    fault = "Sender" if sender_fault else "Receiver"
    body = (
        f'<ErrorResponse xmlns="{metadata(service, "xmlNamespace")}">'
        f"<Error><Type>{fault}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    )
    return _response(http_status, request_id, body)


serialize_error = serialize_query_error
"""Alias of :func:`serialize_query_error` (the Query protocol is this module's only one)."""


def query_error_response(error: AwsError, request_id: str, service: str) -> WireResponse:
    """:func:`serialize_query_error` for an :class:`AwsError` raised by a handler or parser."""
    return serialize_query_error(
        error.code, error.message, error.http_status, error.sender_fault, request_id, service
    )


def format_query_timestamp(value: datetime | float) -> str:
    """ISO-8601 UTC with ``Z`` (milliseconds only when present), as AWS Query services send."""
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    # what strftime("%Y-%m-%dT%H:%M:%S") writes (the year unpadded, as glibc's %Y), a third
    # cheaper
    text = (
        f"{value.year}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        return f"{text}.{value.microsecond // 1000:03d}Z"
    return text + "Z"


def _response(status: int, request_id: str, document: str) -> WireResponse:
    headers = {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id}
    return WireResponse(status, headers, document.encode("utf-8"))


def _response_metadata(request_id: str) -> str:
    return f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"


@functools.cache  # botocore keeps one Shape object per shape: one plan each, made once
def _plan(shape: Shape) -> tuple[frozenset[str], tuple[tuple[str, str, str, Shape], ...]]:
    """A structure's member names, and per member in model order: its name, its element's
    opening and closing tags, its shape."""
    members = shape_members(shape)
    plan = []
    for name, member in members.items():
        tag = _wire_name(name, member)
        plan.append((name, f"<{tag}>", f"</{tag}>", member))
    return frozenset(members), tuple(plan)


def _write_members(shape: Shape, value: Mapping[str, Any], parts: list[str]) -> None:
    names, plan = _plan(shape)
    if not names.issuperset(value):
        unknown = [name for name in value if name not in names]
        raise ValueError(f"{shape.name} has no member(s) {sorted(unknown)}")
    for name, opening, closing, member in plan:
        item = value.get(name)
        if item is not None:
            _write_element(opening, closing, member, item, parts)


def _write_element(opening: str, closing: str, shape: Shape, value: Any, parts: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        parts.append(opening)
        _write_members(shape, value, parts)
    elif kind == "list":
        member = shape.member
        if shape.serialization.get("flattened"):
            for item in value:
                _write_element(opening, closing, member, item, parts)
            return
        parts.append(opening)
        member_tag = member.serialization.get("name", "member")
        member_opening, member_closing = f"<{member_tag}>", f"</{member_tag}>"
        for item in value:
            _write_element(member_opening, member_closing, member, item, parts)
    elif kind == "map":
        parts.append(opening)
        _write_map(shape, value, parts)
    elif kind == "string" and type(value) is str:  # most members: no conversion to make
        parts.append(opening)
        parts.append(escape(value))
    else:
        parts.append(opening)
        parts.append(escape(_scalar_text(kind, value)))
    parts.append(closing)


def _write_map(shape: Shape, value: Mapping[str, Any], parts: list[str]) -> None:
    key_tag = shape.key.serialization.get("name", "key")
    value_tag = shape.value.serialization.get("name", "value")
    key_tags = (f"<{key_tag}>", f"</{key_tag}>")
    value_tags = (f"<{value_tag}>", f"</{value_tag}>")
    for key, item in value.items():
        parts.append("<entry>")
        _write_element(*key_tags, shape.key, key, parts)
        _write_element(*value_tags, shape.value, item, parts)
        parts.append("</entry>")


def _scalar_text(kind: str, value: Any) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return format_query_timestamp(value)
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind in ("float", "double"):
        return repr(float(value))
    return str(value)
