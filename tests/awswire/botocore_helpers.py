"""Typed wrappers around botocore for the awswire tests (botocore itself is untyped)."""

from __future__ import annotations

import functools
import unittest.mock
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.parsers
import botocore.serialize
import botocore.session

from awswire.wire import WireResponse

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"


@functools.cache
def operation_model(service: str, operation: str) -> Any:
    """botocore's OperationModel for an operation (cached: loading a model is slow)."""
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def serialize_query_body(service: str, operation: str, params: dict[str, Any]) -> bytes:
    """The form-encoded body botocore's own Query serializer produces for ``params``."""
    serializer = botocore.serialize.create_serializer("query", include_validation=False)
    request = serializer.serialize_to_request(params, operation_model(service, operation))
    return urlencode(request["body"], doseq=True).encode("utf-8")


def parse_with_botocore(
    protocol: str, service: str, operation: str, response: WireResponse
) -> dict[str, Any]:
    """Parse a serialized response with botocore's parser for ``protocol``."""
    parser = botocore.parsers.create_parser(protocol)
    headers = {name.lower(): value for name, value in response.headers.items()}
    raw = {"status_code": response.status, "headers": headers, "body": response.body}
    parsed: dict[str, Any] = parser.parse(raw, operation_model(service, operation).output_shape)
    return parsed


class Signed:
    """A request signed by botocore, reduced to what a server sees on the wire."""

    def __init__(self, request: Any) -> None:
        parts = urlsplit(request.url)
        self.method: str = request.method
        self.path: str = parts.path or "/"
        self.query: str = parts.query
        self.headers: list[tuple[str, str]] = [(k, v) for k, v in request.headers.items()]
        if not any(name.lower() == "host" for name, _ in self.headers):
            self.headers.append(("Host", parts.netloc))
        body = request.body or b""
        self.body: bytes = body.encode("utf-8") if isinstance(body, str) else body


def sign(
    method: str,
    url: str,
    body: bytes | dict[str, str],
    when: datetime,
    *,
    service: str = "sts",
    region: str = "us-east-1",
    headers: dict[str, str] | None = None,
    token: str | None = None,
    presign_expires: int | None = None,
) -> Signed:
    """Sign a request with botocore's SigV4Auth (or SigV4QueryAuth when presigning).

    A dict body is form-encoded by botocore, as its Query serializer hands it over.
    """
    credentials = botocore.credentials.Credentials(ACCESS_KEY, SECRET, token)
    request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=headers)
    if presign_expires is None:
        auth: Any = botocore.auth.SigV4Auth(credentials, service, region)
    else:
        auth = botocore.auth.SigV4QueryAuth(credentials, service, region, expires=presign_expires)
    naive_utc = when.astimezone(UTC).replace(tzinfo=None)
    with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=naive_utc):
        auth.add_auth(request)
    return Signed(request.prepare())
