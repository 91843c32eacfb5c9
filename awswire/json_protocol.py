"""Parse and serialize the AWS JSON 1.1 protocol (Organizations).

Requests name their operation in ``X-Amz-Target: {targetPrefix}.{Operation}`` and carry a
JSON body; both are checked against botocore's model, values are converted to Python
types (timestamps from epoch seconds, blobs from base64) and every model constraint is
checked. Responses are JSON with epoch-second timestamps; errors are
``{"__type": code, "Message": message, ...}`` with the error's HTTP status.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from awswire.constraints import Violation, check_structure, int_limits
from awswire.errors import AwsError, validation_error
from awswire.models import Shape, metadata, operation_model, service_model, shape_members
from awswire.query import parse_query_timestamp
from awswire.wire import ApiCall, WireResponse

__all__ = [
    "CONTENT_TYPE",
    "parse_json_request",
    "serialize_json_error",
    "serialize_json_result",
]

CONTENT_TYPE = "application/x-amz-json-1.1"

# Organizations reports constraint failures as InvalidInputException with a Reason; the
# sentences are the ones its API reference gives for each reason.
_REASONS = {
    "required": ("INPUT_REQUIRED", "You must include a value for all required parameters."),
    "pattern": (
        "INVALID_PATTERN",
        "You provided a value that does not match the required pattern.",
    ),
    "enum": ("INVALID_ENUM", "You specified an invalid value."),
    "min_length": (
        "MIN_LENGTH_EXCEEDED",
        "You provided a string parameter that is shorter than allowed.",
    ),
    "max_length": (
        "MAX_LENGTH_EXCEEDED",
        "You provided a string parameter that is longer than allowed.",
    ),
    "min_value": (
        "MIN_VALUE_EXCEEDED",
        "You provided a numeric parameter that has a smaller value than allowed.",
    ),
    "max_value": (
        "MAX_VALUE_EXCEEDED",
        "You provided a numeric parameter that has a larger value than allowed.",
    ),
}


def parse_json_request(
    service: str, target: str | None, body: bytes, *, validate: bool = True
) -> ApiCall:
    """Parse a JSON 1.1 request into ``ApiCall(operation, params)``.

    ``target`` is the ``X-Amz-Target`` header. Raises :class:`AwsError`:
    ``UnknownOperationException`` for a missing/foreign target, ``SerializationException``
    for a body that is not JSON of the modelled types, and the service's validation
    error (``InvalidInputException`` + ``Reason`` for Organizations) for constraints.
    """
    prefix, _, operation = (target or "").partition(".")
    known_prefix = prefix == metadata(service, "targetPrefix")
    model = operation_model(service, operation) if known_prefix else None
    if model is None:
        raise AwsError("UnknownOperationException", "")
    document = _load(body)
    shape = model.input_shape
    if shape is None:
        return ApiCall(operation, {})
    params = _read_structure(shape, document)
    if validate:
        violations: list[Violation] = []
        check_structure(shape, params, "", violations)
        if violations:
            raise _validation_failure(service, violations)
    return ApiCall(operation, params)


def serialize_json_result(
    service: str, operation: str, result: Mapping[str, Any] | None, request_id: str
) -> WireResponse:
    """The 200 JSON response of ``operation`` carrying ``result`` (boto3-shaped output dict).

    Raises ``ValueError`` for an unknown operation or a member the output shape lacks.
    """
    model = operation_model(service, operation)
    if model is None:
        raise ValueError(f"{service} has no operation {operation}")
    shape = model.output_shape
    if shape is None and result:
        raise ValueError(f"{operation} has no output, got {sorted(result)}")
    document = _write_structure(shape, result or {}) if shape is not None else {}
    return _response(200, request_id, document)


def serialize_json_error(error: AwsError, request_id: str) -> WireResponse:
    """The JSON error body ``{"__type", "Message", **extra}`` with the error's status."""
    document: dict[str, Any] = {"__type": error.code, "Message": error.message}
    document.update(error.extra)
    return _response(error.http_status, request_id, document)


def _response(status: int, request_id: str, document: Mapping[str, Any]) -> WireResponse:
    headers = {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id}
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return WireResponse(status, headers, body)


def _validation_failure(service: str, violations: Sequence[Violation]) -> AwsError:
    if "InvalidInputException" in service_model(service).shape_names:
        reason, message = _REASONS[violations[0].kind]
        return AwsError("InvalidInputException", message, 400, extra={"Reason": reason})
    error = validation_error([v.message() for v in violations])
    return AwsError("ValidationException", error.message)


def _load(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _serialization("Malformed JSON body.") from exc
    if not isinstance(document, dict):
        raise _serialization(_unexpected(document, "structure"))
    return document


def _serialization(message: str) -> AwsError:
    return AwsError("SerializationException", message)


def _unexpected(value: Any, expected: str) -> str:
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected."
    if isinstance(value, bool):
        found = "TRUE_VALUE" if value else "FALSE_VALUE"
    elif isinstance(value, int | float):
        found = "NUMBER_VALUE"
    else:
        found = "STRING_VALUE"
    return f"{found} can not be converted to {expected}"


def _read_structure(shape: Shape, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _serialization(_unexpected(value, "a structure"))
    result: dict[str, Any] = {}
    for name, member in shape_members(shape).items():
        item = value.get(name)
        if item is not None:
            result[name] = _read_value(member, item)
    return result


def _read_value(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _read_structure(shape, value)
    if kind == "list":
        if not isinstance(value, list):
            raise _serialization(_unexpected(value, "a list"))
        return [_read_value(shape.member, item) for item in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise _serialization(_unexpected(value, "a map"))
        return {_read_value(shape.key, k): _read_value(shape.value, v) for k, v in value.items()}
    return _read_scalar(kind, value)


def _read_scalar(kind: str, value: Any) -> Any:
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
        low, high = int_limits(kind)
        if low <= value <= high:
            return value
        raise _serialization(f"NUMBER_VALUE {value} is out of range for {kind}")
    if kind in ("float", "double") and _is_number(value):
        return float(value)
    if kind == "timestamp":
        return _read_timestamp(value)
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _serialization("Base64 encoded value expected for a blob.") from exc
    raise _serialization(_unexpected(value, kind))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read_timestamp(value: Any) -> datetime:
    if _is_number(value):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return parse_query_timestamp(value)
        except ValueError:
            pass
    raise _serialization(_unexpected(value, "a timestamp"))


def _write_structure(shape: Shape, value: Mapping[str, Any]) -> dict[str, Any]:
    members = shape_members(shape)
    unknown = [name for name in value if name not in members]
    if unknown:
        raise ValueError(f"{shape.name} has no member(s) {sorted(unknown)}")
    return {
        name: _write_value(member, value[name])
        for name, member in members.items()
        if value.get(name) is not None
    }


def _write_value(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _write_structure(shape, value)
    if kind == "list":
        return [_write_value(shape.member, item) for item in value]
    if kind == "map":
        return {str(k): _write_value(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return _epoch_seconds(value)
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return value


def _epoch_seconds(value: datetime | float) -> int | float:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.timestamp()
    return int(value) if float(value).is_integer() else round(float(value), 3)
