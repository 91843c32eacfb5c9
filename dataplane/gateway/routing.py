"""Which AWS service and operation an HTTP request calls, read with botocore's service models.

The service is the one its SigV4 credential scope names (unsigned requests: the JSON target
prefix, else S3, the one service that serves anonymous callers by path); the operation comes
from ``X-Amz-Target`` (JSON protocols), ``Action=`` (query protocols, and SQS's older query
form), or the method and path matched against the model's ``http.requestUri`` templates
(rest-json, rest-xml; S3 path-style).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from awswire.errors import AwsError

__all__ = [
    "ServiceCall",
    "UnknownOperation",
    "protocol_hint",
    "route",
    "service_model",
    "signing_name_of",
]

#: signing names that differ from botocore's service name
_SERVICE_OF_SIGNING_NAME = {"monitoring": "cloudwatch", "email": "ses", "states": "stepfunctions"}
_LABEL = re.compile(r"\{([^}+]+)(\+?)\}")
#: query parameters botocore adds to a requestUri only to name the operation to proxies
_OPTIONAL_QUERY = frozenset({"x-id"})


class UnknownOperation(AwsError):
    """No operation of the service's model matches the request."""


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """One request, recognized: the service, its protocol, the operation and its parameters.

    ``params`` holds the members the gateway reads: URI labels (S3's Bucket and Key), the
    query string and form members (query protocols), and the JSON body's top level (JSON
    protocols); ``headers`` is lower-cased.
    """

    service: str
    signing_name: str
    protocol: str
    operation: str
    params: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)


@functools.cache
def _session() -> Any:
    # imported on first use: a replica whose gateway is never called does not pay for botocore
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> Any:
    """botocore's model of ``service`` (loaded once); UnknownService when botocore has none."""
    try:
        return _session().get_service_model(service)
    except Exception:  # botocore's UnknownServiceError and data-not-found alike
        raise AwsError(
            "UnknownService", f"iam-planes does not know the AWS service {service!r}.", 400
        ) from None


@functools.cache
def _json_services() -> dict[str, str]:
    """Target prefix -> service, for the services the gateway maps (unsigned JSON requests)."""
    found = {}
    for service in ("dynamodb", "kms", "sqs", "secretsmanager", "ssm", "logs"):
        found[service_model(service).metadata["targetPrefix"]] = service
    return found


@dataclass(frozen=True, slots=True)
class _Template:
    operation: str
    method: str
    segments: tuple[str, ...]
    greedy_last: bool
    query: tuple[tuple[str, str | None], ...]
    #: required members sent in a header or the query string: (location, lower-cased name)
    required: tuple[tuple[str, str], ...] = ()

    @property
    def literal_weight(self) -> int:
        literals = sum(1 for s in self.segments if not s.startswith("{"))
        return literals * 2 + len(self.query) * 3 + len(self.required)


@functools.cache
def _templates(service: str) -> tuple[_Template, ...]:
    model = service_model(service)
    templates = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query_text = http["requestUri"].partition("?")
        segments = tuple(s for s in path.split("/") if s)
        greedy = bool(segments) and segments[-1].endswith("+}")
        query = tuple(
            (key, value or None)
            for key, value in parse_qsl(query_text, keep_blank_values=True)
            if key not in _OPTIONAL_QUERY
        )
        templates.append(
            _Template(
                name, http["method"], segments, greedy, query, _required_locations(model, name)
            )
        )
    return tuple(templates)


def _required_locations(model: Any, operation: str) -> tuple[tuple[str, str], ...]:
    """The operation's required input members that travel in a header or the query string
    (S3's CopyObject needs ``x-amz-copy-source``, AbortMultipartUpload ``uploadId``)."""
    shape = model.operation_model(operation).input_shape
    if shape is None:
        return ()
    found = []
    for name in shape.required_members:
        member = shape.members[name]
        location = member.serialization.get("location")
        if location in ("header", "querystring"):
            wire_name = member.serialization.get("name", name)
            found.append((location, wire_name.lower() if location == "header" else wire_name))
    return tuple(found)


def _match_path(template: _Template, parts: list[str]) -> dict[str, str] | None:
    labels: dict[str, str] = {}
    segments = template.segments
    if template.greedy_last:
        if len(parts) < len(segments):
            return None
    elif len(parts) != len(segments):
        return None
    for index, segment in enumerate(segments):
        label = _LABEL.fullmatch(segment)
        if label is None:
            if parts[index] != segment:
                return None
        elif label.group(2):
            labels[label.group(1)] = unquote("/".join(parts[index:]))
        else:
            labels[label.group(1)] = unquote(parts[index])
    return labels


def _rest_operation(
    service: str,
    method: str,
    raw_path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> tuple[str, dict[str, str]]:
    # split the raw path, so an encoded "/" inside a key stays inside its segment
    raw = raw_path.split("/")
    parts = list(raw[1:]) if raw_path.startswith("/") else raw
    if parts and parts[-1] == "":
        parts = parts[:-1]
    best: tuple[int, str, dict[str, str]] | None = None
    for template in _templates(service):
        if template.method != method:
            continue
        if any(
            key not in query or (v is not None and query[key] != v) for key, v in template.query
        ):
            continue
        if any(
            (name not in headers) if location == "header" else (name not in query)
            for location, name in template.required
        ):
            continue
        labels = _match_path(template, parts)
        if labels is None:
            continue
        weight = template.literal_weight
        if query.get("x-id") == template.operation:  # botocore names the operation itself
            weight += 100
        if best is None or weight > best[0]:
            best = (weight, template.operation, labels)
    if best is None:
        raise UnknownOperation(
            "UnknownOperationException",
            f"iam-planes cannot tell which {service} operation {method} {raw_path} calls.",
            400,
        )
    return best[1], best[2]


def _json_body(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise AwsError(
            "SerializationException", "The request body is not valid JSON.", 400
        ) from None
    if not isinstance(parsed, dict):
        raise AwsError("SerializationException", "The request body must be a JSON object.", 400)
    return parsed


def _form(body: bytes, content_type: str, query: Mapping[str, str]) -> dict[str, str]:
    params = dict(query)
    if content_type.startswith("application/x-www-form-urlencoded") and body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise AwsError("MalformedQueryString", "The request body is not UTF-8.", 400) from None
        params.update(parse_qsl(text, keep_blank_values=True))
    return params


def _service_of(signing_name: str | None, headers: Mapping[str, str]) -> str:
    if signing_name is not None:
        return _SERVICE_OF_SIGNING_NAME.get(signing_name, signing_name)
    target = headers.get("x-amz-target", "")
    prefix = target.partition(".")[0]
    if prefix:
        found = _json_services().get(prefix)
        if found is None:
            raise AwsError(
                "UnknownOperationException",
                f"iam-planes cannot tell which service X-Amz-Target {target!r} belongs to.",
                400,
            )
        return found
    return "s3"


def signing_name_of(headers: Mapping[str, str], raw_query: str) -> str | None:
    """The service a request's SigV4 credential scope names (None: unsigned or unreadable)."""
    authorization = headers.get("authorization") or headers.get("Authorization")
    credential = ""
    if authorization is not None:
        marker = authorization.find("Credential=")
        if marker >= 0:
            credential = authorization[marker + len("Credential=") :].split(",", 1)[0]
    else:
        for pair in raw_query.split("&"):
            name, _, value = pair.partition("=")
            if name == "X-Amz-Credential":
                credential = unquote(value)
                break
    parts = credential.strip().split("/")
    return parts[3] if len(parts) == 5 else None


def protocol_hint(signing_name: str | None, headers: Mapping[str, str]) -> tuple[str, str]:
    """The service and protocol a request's errors are rendered in, before (or when) its
    operation cannot be recognized."""
    try:
        service = _service_of(signing_name, headers)
        return service, str(service_model(service).metadata["protocol"])
    except AwsError:
        return ("dynamodb", "json") if "x-amz-target" in headers else ("s3", "rest-xml")


def route(  # noqa: PLR0917 - the parts of one HTTP request
    signing_name: str | None,
    method: str,
    raw_path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
) -> ServiceCall:
    """Recognize the service and operation of a request (``headers`` lower-cased, ``query``
    decoded); UnknownOperation (naming what was asked) when the model has no such operation."""
    service = _service_of(signing_name, headers)
    model = service_model(service)
    protocol = model.metadata["protocol"]
    signing = signing_name or model.metadata.get("signingName") or model.metadata["endpointPrefix"]
    target = headers.get("x-amz-target")
    content_type = headers.get("content-type", "")
    params: dict[str, Any]
    if target is not None and protocol == "json":
        prefix, _, operation = target.partition(".")
        if prefix != model.metadata.get("targetPrefix") or operation not in model.operation_names:
            raise UnknownOperation(
                "UnknownOperationException",
                f"{service} has no operation {target!r}.",
                400,
            )
        params = _json_body(body)
    elif protocol in ("query", "ec2", "json"):
        # SQS (awsQueryCompatible) still takes the query form of its JSON operations
        params = _form(body, content_type, query)
        operation = params.get("Action", "")
        if operation not in model.operation_names:
            raise UnknownOperation(
                "InvalidAction",
                f"iam-planes cannot map {service} operation {operation or '(none)'!r}.",
                400,
            )
        if protocol == "json":
            protocol = "query"
    else:
        operation, labels = _rest_operation(service, method, raw_path, query, headers)
        params = {**query, **labels}
        if protocol == "rest-json" and "json" in content_type:
            params.update(_json_body(body))
    return ServiceCall(service, signing, protocol, operation, params, headers, query)
