"""Parse AWS Query protocol requests (IAM, STS) into an operation name and typed params.

The request's form-encoded body and query string are merged, the ``Action`` and
``Version`` are checked against botocore's service model, and the flat keys
(``Tags.member.1.Key``) are rebuilt into nested params following the operation's input
shape. Every model constraint is then checked, and failures are reported exactly as AWS
Query services do (``ValidationError`` with "N validation error(s) detected: ...").
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from awswire.constraints import Violation, check_structure, int_limits
from awswire.errors import AwsError, invalid_action, invalid_parameter_value, validation_error
from awswire.models import Shape, api_version, operation_model, shape_members, wire_name
from awswire.wire import ApiCall

__all__ = ["AUTH_PARAMS", "parse_query_request", "parse_query_timestamp"]

AUTH_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)
"""Query-string parameters that belong to SigV4 presigning, never to the operation."""

_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")  # longer is out of range anyway
#: a list member's or map entry's index: 1 to 999,999,999 written without a leading zero
_INDEX = re.compile(r"[1-9][0-9]{0,8}")


class _Node:
    """One level of the dotted-key tree built from the flat Query parameters."""

    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def parse_query_request(
    service: str, body: bytes = b"", query_string: str = "", *, validate: bool = True
) -> ApiCall:
    """Parse a Query request for ``service`` into ``ApiCall(operation, params)``.

    ``body`` is the raw (form-encoded) POST body, ``query_string`` the raw URL query; both
    may carry parameters and the body wins on a clash. Raises :class:`AwsError`:
    ``InvalidAction`` for a missing/unknown action or wrong version, ``ValidationError``
    for constraint failures, ``InvalidParameterValue`` for unreadable scalars.
    """
    flat = _form_pairs(query_string, body)
    action, version = flat.pop("Action", None), flat.pop("Version", None)
    model = operation_model(service, action) if action else None
    expected_version = api_version(service)
    if model is None or (version is not None and version != expected_version):
        raise invalid_action(action, version or expected_version)
    shape = model.input_shape
    if shape is None:
        return ApiCall(action or "", {})
    params = _read_structure(shape, _tree(flat.items()), "")
    if validate:
        violations: list[Violation] = []
        check_structure(shape, params, "", violations)
        if violations:
            raise validation_error([v.message() for v in violations])
    return ApiCall(action or "", params)


def _form_pairs(query_string: str, body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AwsError("MalformedQueryString", "The request body is not valid UTF-8.") from exc
    pairs = parse_qsl(query_string, keep_blank_values=True)
    pairs += parse_qsl(text, keep_blank_values=True)
    return {key: value for key, value in pairs if key not in AUTH_PARAMS}


def _tree(pairs: Iterable[tuple[str, str]]) -> _Node:
    root = _Node()
    for key, value in pairs:
        node = root
        for part in key.split("."):
            node = node.children.setdefault(part, _Node())
        node.value = value
    return root


def _read_structure(shape: Shape, node: _Node, path: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, member in shape_members(shape).items():
        child = node.children.get(wire_name(name, member))
        if child is None or (child.value is None and not child.children):
            continue
        member_path = f"{path}.{name}" if path else name
        result[name] = _read_value(member, child, member_path)
    return result


def _read_value(shape: Shape, node: _Node, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _read_structure(shape, node, path)
    if kind == "list":
        return _read_list(shape, node, path)
    if kind == "map":
        return _read_map(shape, node, path)
    return _read_scalar(shape, node.value or "", path)


def _indexed(node: _Node, path: str) -> list[_Node]:
    """Children named 1, 2, 3... in numeric order.

    Query services number list members and map entries from 1; any other index (``0``,
    ``-1``, ``01``, a name, a non-ASCII digit, a number too long to be one) is refused as
    AWS's Query services refuse it, ``MalformedInput``, rather than silently dropped.
    """
    numbered: list[tuple[int, _Node]] = []
    for key, child in node.children.items():
        if not _INDEX.fullmatch(key):
            raise AwsError(
                "MalformedInput",
                f"A member index of {path or 'the request'} is not a valid index: "
                "indexes are positive integers counted from 1.",
            )
        numbered.append((int(key), child))
    return [child for _, child in sorted(numbered, key=lambda pair: pair[0])]


def _read_list(shape: Shape, node: _Node, path: str) -> list[Any]:
    member = shape.member
    if shape.serialization.get("flattened"):
        items = _indexed(node, path)
    else:
        container = node.children.get(member.serialization.get("name", "member"))
        items = _indexed(container, path) if container else []
    return [_read_value(member, item, f"{path}.{i}") for i, item in enumerate(items, start=1)]


def _read_map(shape: Shape, node: _Node, path: str) -> dict[str, Any]:
    entries = node if shape.serialization.get("flattened") else node.children.get("entry")
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    result: dict[str, Any] = {}
    for entry in _indexed(entries, path) if entries else []:
        key_node, value_node = entry.children.get(key_name), entry.children.get(value_name)
        if key_node is None or key_node.value is None:
            continue
        key = _read_scalar(shape.key, key_node.value, path)
        result[key] = None if value_node is None else _read_value(shape.value, value_node, path)
    return result


def _read_scalar(shape: Shape, raw: str, path: str) -> Any:
    kind = shape.type_name
    if kind == "string":
        return raw
    if kind in ("integer", "long"):
        return _read_integer(kind, raw, path)
    if kind == "boolean":
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise _unreadable(raw, path, "boolean")
        return lowered == "true"
    if kind in ("float", "double"):
        try:
            return float(raw)
        except ValueError as exc:
            raise _unreadable(raw, path, kind) from exc
    if kind == "timestamp":
        return _read_timestamp(raw, path)
    if kind == "blob":
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _unreadable(raw, path, "base64-encoded blob") from exc
    raise _unreadable(raw, path, kind)


def _read_integer(kind: str, raw: str, path: str) -> int:
    if not _INTEGER.fullmatch(raw):
        raise _unreadable(raw, path, kind)
    value = int(raw)
    low, high = int_limits(kind)
    if not low <= value <= high:
        raise _unreadable(raw, path, kind)
    return value


def parse_query_timestamp(raw: str) -> datetime:
    """Read an ISO-8601 timestamp (``2023-10-10T00:00:00Z``, offsets, fractions) as UTC."""
    parsed = datetime.fromisoformat(raw)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _read_timestamp(raw: str, path: str) -> datetime:
    try:
        return parse_query_timestamp(raw)
    except ValueError as exc:
        raise _unreadable(raw, path, "ISO-8601 timestamp") from exc


def _unreadable(raw: str, path: str, expected: str) -> AwsError:
    message = f"Value ({raw}) for parameter {path} is invalid. Expected: {expected}."
    return invalid_parameter_value(message)
